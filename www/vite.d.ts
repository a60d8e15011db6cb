/** A Vite plugin for siglip-web: ES-module workers (needed by Vite 5-7's production build) and no dependency pre-bundling of the package. */
export default function siglip(): { name: string; config: () => { optimizeDeps: { exclude: string[] }; worker: { format: 'es' } } };
