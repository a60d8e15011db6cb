// siglip-web: SigLIP zero-shot image classification and image-text retrieval in the browser.
//
//   import { createClassifier } from 'siglip-web';
//   const clf = await createClassifier({ src: '/models/siglip-base-q8.safetensors', onProgress });
//   const results = await clf.classify(file, ['a cat', 'a dog']);   // [{label, score, logit}]
//
// Importing this module also defines <siglip-classifier> and <siglip-search>.

import { openModel } from './client.js';
import { DEFAULT_TEMPLATE, SiglipClassifier } from './siglip-classifier.js';
import { SiglipSearch } from './siglip-search.js';

export { DEFAULT_TEMPLATE, SiglipClassifier, SiglipSearch };

/**
 * Loads a model in a Web Worker: `src` is a file made by `siglip quantize`, or a Hugging Face
 * model `hf:owner/name[@revision]` (from `hub`, converted to `dtype`, q8 by default, as it
 * downloads, then cached). Calls (and elements) with the
 * same `src`, `integrity`, `variant`, `workerUrl` and `wasmUrl` share one worker and one copy of
 * the model; each `dispose()` drops one reference and the last one frees it.
 * `textMasking`: how the text tower treats padding, 'padding' (default: masked, as the
 * transformers zero-shot pipeline) or 'none' (attended to, as big_vision and open_clip).
 * @param {{src: string, integrity?: string, template?: string, textMasking?: 'padding' | 'none',
 *          variant?: 'auto' | 'simd128' | 'relaxed' | 'threads',
 *          workerUrl?: string, wasmUrl?: string, hub?: string, dtype?: 'q8' | 'q4' | 'f16' | 'f32',
 *          onProgress?: (p: {loaded: number, total: number | null, fromCache: boolean}) => void}} options
 * @returns {Promise<Classifier>}
 */
export async function createClassifier(options) {
  const { src, integrity, template = DEFAULT_TEMPLATE, textMasking = 'padding', onProgress, variant = 'auto', workerUrl, wasmUrl, hub, dtype } = options ?? {};
  if (!src) {
    const err = new Error('createClassifier needs `src`: hf:owner/name, or the URL of a model file made by `siglip quantize`');
    err.name = 'StateError';
    throw err;
  }
  const handle = openModel({
    src,
    integrity,
    variant,
    workerUrl,
    wasmUrl,
    hub,
    dtype,
    onProgress: onProgress ? ({ loaded, total, fromCache, converting = false }) => onProgress({ loaded, total, fromCache, converting }) : undefined,
  });
  try {
    return new Classifier(handle, await handle.ready, template, textMasking);
  } catch (err) {
    handle.release();
    throw err;
  }
}

/** A loaded model. Create with {@link createClassifier}. */
export class Classifier {
  #client;
  #template;

  /** @internal */
  constructor(client, loaded, template, textMasking) {
    this.#client = client;
    this.#template = template;
    /** How the text tower treats padding: 'padding' (masked; the default) or 'none'. */
    this.textMasking = textMasking;
    /** `{dtype, image_size, patch_size, embedding_dim, text_max_len, vocab_size, weight_bytes}` */
    this.info = loaded.info;
    /** Whether the model file came from the persistent cache. */
    this.fromCache = loaded.fromCache;
    /**
     * Resolves with whether the model file is in the persistent cache: a downloaded file is
     * written in the background after the classifier is ready (so it is usable sooner).
     */
    this.cached = client.cached;
    /** For an `hf:` model, the Hub commit it came from (null otherwise). */
    this.commit = loaded.commit ?? null;
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
    const { results } = await this.#client.classify(image, labels, this.#template, this.textMasking);
    return results;
  }

  /** L2-normalized image embedding. */
  async embedImage(image) {
    return (await this.#client.embedImage(image)).embedding;
  }

  /** L2-normalized text embeddings (texts used verbatim, no template), one per text. */
  embedText(texts) {
    return this.#client.textEmbeddings(texts, this.textMasking);
  }

  /**
   * Ranks images for a text query (used verbatim): `[{index, score, logit}]`, best first.
   * `images` may mix image sources and embeddings from embedImage() (which skip the vision tower).
   */
  rank(query, images) {
    return this.#client.rankImages(query, images, this.textMasking);
  }

  /**
   * Releases the model: requests still in flight reject with an AbortError, later ones with a
   * StateError. The worker and the model are freed when nothing else on the page uses them.
   */
  dispose() {
    this.#client.release();
  }
}
