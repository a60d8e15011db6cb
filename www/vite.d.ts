/** A Vite plugin for siglip-web, needed by no Vite: it keeps the package out of the dev server's dependency pre-bundling (which matters only where siglip-web is not in the Vite root's node_modules, e.g. hoisted in a monorepo). */
export default function siglip(): { name: string; config: () => { optimizeDeps: { exclude: string[] } } };
