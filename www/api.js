// @ts-check
// siglip-web/api: the JS API without the elements, safe to import anywhere (Node, a server-side
// render, a worker): nothing here touches the DOM until a model is loaded, and loading one
// outside a browser page is an UnsupportedError. `siglip-web` re-exports all of it and adds
// <siglip-classifier> and <siglip-search>.
//
//   import { createClassifier } from 'siglip-web/api';
//   const clf = await createClassifier({ src: '/models/siglip-base-q8.safetensors', onProgress });
//   const results = await clf.classify(file, ['a cat', 'a dog']);   // [{label, score, logit}]
//
//   import { openLibrary } from 'siglip-web/api';                  // retrieval (library.js)
//   const photos = await openLibrary({ src: 'hf:google/siglip-base-patch16-224', name: 'photos' });
//   await photos.add(folderInput.files);
//   const hits = await photos.search('receipts');                  // [{id, record, score, ...}]

import { openLoaded } from './client.js';
import { namedError } from './errors.js';
import { DEFAULT_TEMPLATE } from './protocol.js';

export { DEFAULT_TEMPLATE };
export { Library, openLibrary } from './library.js';
export { PIPELINE_TASKS, Tensor, pipeline } from './pipeline.js';
export { cachedModels, clearModelCache, deleteCachedModel, persistStorage, plannedDownload, storageEstimate } from './cache.js';

/**
 * Loads a model in a Web Worker: `src` is a file made by `siglip quantize`, a Hugging Face
 * model `hf:owner/name[@revision]` (from `hub`), or the URL of a folder (ending in `/`) holding a
 * Hugging Face checkpoint; checkpoints are converted to `dtype` (q8 by default) as they
 * download, then cached. Calls (and elements) with the same `src`, `integrity`, `variant`,
 * `workerUrl`, `wasmUrl` and, for checkpoints, `dtype` (and `hub` for `hf:`) share one worker and one copy
 * of the model (modelIdentity in client.js); each `dispose()` drops one reference and the last
 * one frees it.
 * `textMasking`: how the text tower treats padding (protocol.js: TEXT_MASKINGS; default 'auto').
 * `maxNumPatches`: SigLIP 2 NaFlex's patch budget per image (default: the checkpoint's).
 * `signal`: an AbortSignal that cancels the load (an AbortError; the download stops unless
 * something else on the page is loading the same model).
 * @param {import('./index.js').CreateClassifierOptions} options
 * @returns {Promise<Classifier>}
 */
export async function createClassifier(options) {
  const { src, integrity, template = DEFAULT_TEMPLATE, textMasking = 'auto', maxNumPatches, onProgress, variant = 'auto', workerUrl, wasmUrl, hub, dtype, cache, signal } = options ?? {};
  if (!src) throw namedError('StateError', 'createClassifier needs `src`: hf:owner/name, or the URL of a model file made by `siglip quantize`');
  const { handle, loaded } = await openLoaded(
    {
      src,
      integrity,
      variant,
      workerUrl,
      wasmUrl,
      hub,
      dtype,
      cache,
      onProgress: onProgress ? ({ loaded, total, fromCache, converting }) => onProgress({ loaded, total, fromCache, converting }) : undefined,
    },
    signal,
  );
  const classifier = new Classifier(handle, loaded, template, textMasking);
  classifier.maxNumPatches = maxNumPatches;
  return classifier;
}

/** A loaded model. Create with {@link createClassifier}. */
export class Classifier {
  #client;
  #template;

  /**
   * @internal
   * @param {import('./client.js').ModelHandle} client
   * @param {import('./protocol.js').LoadReply} loaded
   * @param {string} template
   * @param {import('./protocol.js').TextMasking} textMasking
   */
  constructor(client, loaded, template, textMasking) {
    this.#client = client;
    this.#template = template;
    /** How the text tower treats padding (TEXT_MASKINGS): 'auto' (the pipeline's; the default), 'padding' (masked) or 'none'. */
    this.textMasking = textMasking;
    /** SigLIP 2 NaFlex: the patch budget per image (undefined: the checkpoint's); others ignore it. */
    this.maxNumPatches = undefined;
    /** `[rows, columns]`: the grid of patches the last image given to classify() or embedImage() became. */
    this.lastGrid = null;
    /** What the model is (ModelInfo in protocol.js). */
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
    /** The wasm build that runs (BuildInfo in protocol.js). */
    this.build = loaded.build;
  }

  /** The label template; `{}` is the label. */
  get template() {
    return this.#template;
  }
  set template(value) {
    this.#template = value;
  }

  // Every call takes `{signal}`: an AbortSignal that cancels it (an AbortError at once; the
  // model stays usable, see ModelHandle in client.js).

  /**
   * Scores labels for an image: `[{label, score, logit}]`, highest score first.
   * @param {any} image
   * @param {Iterable<string>} labels
   * @param {{signal?: AbortSignal}} [options]
   */
  async classify(image, labels, { signal } = {}) {
    const { results, grid } = await this.#client.classify(image, labels, this.#template, this.textMasking, this.maxNumPatches, signal);
    this.lastGrid = grid;
    return results;
  }

  /**
   * L2-normalized image embedding.
   * @param {any} image
   * @param {{signal?: AbortSignal}} [options]
   */
  async embedImage(image, { signal } = {}) {
    const { embedding, grid } = await this.#client.embedImage(image, this.maxNumPatches, signal);
    this.lastGrid = grid;
    return embedding;
  }

  /**
   * L2-normalized text embeddings (texts used verbatim, no template), one per text.
   * @param {string | string[]} texts
   * @param {{signal?: AbortSignal}} [options]
   */
  embedText(texts, { signal } = {}) {
    return this.#client.textEmbeddings(texts, this.textMasking, signal);
  }

  /**
   * Ranks images for a text query (used verbatim): `[{index, score, logit}]`, best first.
   * `images` may mix image sources and embeddings from embedImage() (which skip the vision tower).
   * @param {string} query
   * @param {Iterable<any>} images
   * @param {{signal?: AbortSignal}} [options]
   */
  rank(query, images, { signal } = {}) {
    return this.#client.rankImages(query, images, this.textMasking, this.maxNumPatches, signal);
  }

  /**
   * Releases the model: requests still in flight reject with an AbortError, later ones with a
   * StateError. The worker and the model are freed when nothing else on the page uses them.
   */
  dispose() {
    this.#client.release();
  }
}
