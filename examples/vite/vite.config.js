// Vite 8 needs no configuration. Vite 5-7 work without it too (the worker is found in the
// package's directory), but the plugin keeps siglip-web out of dependency pre-bundling, which
// is the setup Vite documents for packages with workers.
import siglip from 'siglip-web/vite';

export default { plugins: [siglip()] };
