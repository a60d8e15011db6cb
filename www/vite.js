// siglip-web/vite: a Vite plugin for apps that use siglip-web.
//
//   import siglip from 'siglip-web/vite';
//   export default { plugins: [siglip()] };
//
// Vite's dev server pre-bundles dependencies into node_modules/.vite/deps/, away from the
// worker and wasm files that siglip-web finds next to its modules (new URL(..., import.meta.url)),
// so the worker 404s. Vite 8 keeps them together; Vite 5-7 need the package left out of
// pre-bundling, which is all this plugin does. Production builds need nothing.

/** @returns {{name: string, config: () => object}} */
export default function siglip() {
  return {
    name: 'siglip-web',
    config: () => ({ optimizeDeps: { exclude: ['siglip-web'] } }),
  };
}
