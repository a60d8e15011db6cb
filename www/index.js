// siglip-web: SigLIP zero-shot image classification and image-text retrieval in the browser.
//
//   import { createClassifier } from 'siglip-web';
//   const clf = await createClassifier({ src: '/models/siglip-base-q8.safetensors', onProgress });
//   const results = await clf.classify(file, ['a cat', 'a dog']);   // [{label, score, logit}]
//
// Importing this module also defines <siglip-classifier> and <siglip-search>.

import { SiglipClient } from './client.js';
import { DEFAULT_TEMPLATE, SiglipClassifier } from './siglip-classifier.js';
import { SiglipSearch } from './siglip-search.js';

export { DEFAULT_TEMPLATE, SiglipClassifier, SiglipSearch };

/**
 * Loads a model (a file made by `siglip quantize`) in a Web Worker.
 * @param {{src: string, integrity?: string, template?: string, variant?: 'auto' | 'simd128' | 'relaxed' | 'threads',
 *          onProgress?: (p: {loaded: number, total: number | null, fromCache: boolean}) => void}} options
 * @returns {Promise<Classifier>}
 */
export async function createClassifier(options) {
  const { src, integrity, template = DEFAULT_TEMPLATE, onProgress, variant = 'auto' } = options ?? {};
  if (!src) {
    const err = new Error('createClassifier needs `src`: the URL of a model file made by `siglip quantize`');
    err.name = 'StateError';
    throw err;
  }
  const client = new SiglipClient();
  try {
    const loaded = await client.load(src, {
      integrity,
      variant,
      onProgress: onProgress ? ({ loaded, total, fromCache }) => onProgress({ loaded, total, fromCache }) : undefined,
    });
    return new Classifier(client, loaded, template);
  } catch (err) {
    client.dispose();
    throw err;
  }
}

/** A loaded model. Create with {@link createClassifier}. */
export class Classifier {
  #client;
  #template;

  /** @internal */
  constructor(client, loaded, template) {
    this.#client = client;
    this.#template = template;
    /** `{dtype, image_size, patch_size, embedding_dim, text_max_len, vocab_size, weight_bytes}` */
    this.info = loaded.info;
    /** Whether the model file came from the persistent cache. */
    this.fromCache = loaded.fromCache;
    /** The wasm build that runs: `{variant: 'simd128'|'relaxed'|'threads', simd: 'simd128'|'relaxed', threads}` */
    this.build = loaded.build;
  }

  /** The label template; `{}` is the label. */
  get template() {
    return this.#template;
  }
  set template(value) {
    this.#template = value;
  }

  /** Scores labels for an image: `[{label, score, logit}]`, highest score first. */
  async classify(image, labels) {
    const { results } = await this.#client.classify(image, labels, this.#template);
    return results;
  }

  /** L2-normalized image embedding. */
  async embedImage(image) {
    return (await this.#client.embedImage(image)).embedding;
  }

  /** L2-normalized text embeddings (texts used verbatim, no template), one per text. */
  embedText(texts) {
    return this.#client.textEmbeddings(texts);
  }

  /**
   * Ranks images for a text query (used verbatim): `[{index, score, logit}]`, best first.
   * `images` may mix image sources and embeddings from embedImage() (which skip the vision tower).
   */
  rank(query, images) {
    return this.#client.rankImages(query, images);
  }

  /** Terminates the worker and frees the model. */
  dispose() {
    this.#client.dispose();
  }
}
