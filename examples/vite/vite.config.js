// No Vite needs this file: run.mjs builds and serves every Vite with and without it, to check
// that the plugin keeps working for apps that use it. It keeps siglip-web out of the dev
// server's dependency pre-bundling, which is what makes a dev server work where the package is
// not in the Vite root's node_modules (hoisted in a monorepo).
import siglip from 'siglip-web/vite';

export default { plugins: [siglip()] };
