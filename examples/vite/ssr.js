// The server side of a server-rendered page, as a framework's server build (Next.js, Nuxt,
// SvelteKit, Astro, Remix, Vite SSR) evaluates it in Node: it imports siglip-web (the elements'
// entry and the API-only one) and renders markup that holds the element. examples/run.mjs builds
// it with `vite build --ssr` and runs render() in Node; the browser then upgrades the element.
import { DEFAULT_TEMPLATE, SiglipClassifier, createClassifier } from 'siglip-web';
import { openLibrary } from 'siglip-web/api';

export function render() {
  const api = [typeof createClassifier, typeof openLibrary, typeof SiglipClassifier].join(',');
  return `<siglip-classifier src="model.safetensors" template="${DEFAULT_TEMPLATE}" data-api="${api}"></siglip-classifier>`;
}
