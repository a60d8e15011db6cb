// @ts-check
// siglip-web: SigLIP zero-shot image classification and image-text retrieval in the browser.
// The JS API (api.js, also `siglip-web/api`) plus the elements <siglip-classifier> and
// <siglip-search>, defined on import where the page has custom elements (importing this in
// Node or a server-side render defines nothing and throws nothing).
//
//   import { createClassifier, openLibrary } from 'siglip-web';   // see api.js
//   <siglip-classifier src="hf:google/siglip-base-patch16-224" labels="a cat, a dog">

export * from './api.js';
export { SiglipClassifier } from './siglip-classifier.js';
export { SiglipSearch } from './siglip-search.js';
