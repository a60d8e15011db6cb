// siglip-web/vite: a Vite plugin for apps that use siglip-web. No Vite needs it: dev servers and
// production builds of Vite 5, 7 and 8 work with no plugin and no configuration (the project's
// examples/ test them). It is kept, working, for apps that use it:
//
//   import siglip from 'siglip-web/vite';
//   export default { plugins: [siglip()] };
//
// It sets one thing, `optimizeDeps.exclude`: the dev server's dependency pre-bundling moves the
// package's modules to node_modules/.vite/deps/, away from the worker they start. siglip-web
// finds its worker in node_modules/siglip-web/ then, except where the package is installed
// elsewhere (hoisted out of the Vite root in a monorepo): there the plugin is what makes the
// dev server work. (It used to set `worker.format: 'es'` for Vite 5-7's production builds,
// which failed without; the worker no longer splits code, so their default IIFE workers do.)

/** @returns {{name: string, config: () => object}} */
export default function siglip() {
  return {
    name: 'siglip-web',
    config: () => ({ optimizeDeps: { exclude: ['siglip-web'] } }),
  };
}
