/** A Vite plugin that keeps siglip-web out of dependency pre-bundling (needed by Vite 5-7's dev server). */
export default function siglip(): { name: string; config: () => { optimizeDeps: { exclude: string[] } } };
