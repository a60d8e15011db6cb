// siglip-web/vite: a Vite plugin for apps that use siglip-web.
//
//   import siglip from 'siglip-web/vite';
//   export default { plugins: [siglip()] };
//
// Two settings:
// - `worker.format: 'es'`: the model worker loads one of three wasm builds with a dynamic
//   import, and the threads build starts workers of its own; Vite 5-7 bundle workers as IIFE by
//   default, which cannot split code, so their production build fails without it.
// - `optimizeDeps.exclude`: the dev server's dependency pre-bundling moves the package's modules
//   to node_modules/.vite/deps/, away from the worker they start. (siglip-web also finds its
//   worker there without the plugin; excluding it is the setup Vite documents for such packages.)

/** @returns {{name: string, config: () => object}} */
export default function siglip() {
  return {
    name: 'siglip-web',
    config: () => ({ optimizeDeps: { exclude: ['siglip-web'] }, worker: { format: 'es' } }),
  };
}
