// The worker protocol, described once: what the page (client.js) and the model worker
// (siglip-worker.js) say to each other, and the values both of them and the elements accept.
//
//   page -> worker  {id, type, ...payload}, `type` one of REQUEST_TYPES:
//     load       {url, integrity?, variant?, wasmUrl?, hub?, dtype?}
//                -> {info, fromCache, caching, simd, build, ms, timings, commit, wasmMemoryBytes}
//                url: an absolute URL of a packed file, or hf:owner/name[@revision] (hub.js: from
//                `hub`, converted to `dtype`); variant: one of VARIANTS; wasmUrl: a directory laid
//                out like the package; build: {variant, simd, threads} of the wasm that runs;
//                caching: a downloaded file is being written to the cache, after the reply (the
//                model is usable meanwhile); commit: an hf: model's Hub commit; wasmMemoryBytes:
//                the worker's WebAssembly memory after the load
//     classify   {image, labels, template?, textMasking?, maxNumPatches?} -> {results: [{label, score, logit}], embedding, grid, ms}
//     score      {embedding, labels, template?, textMasking?} -> {results, ms}   (text tower only, cached labels)
//     embedImage {image, maxNumPatches?} -> {embedding: Float32Array, grid, ms}
//     embedText  {texts, textMasking?} -> {embeddings: Float32Array (n x dim), dim, ms}
//     rank       {query, embeddings: Float32Array, textMasking?} -> {ranking: [{index, score, logit}], ms}
//     stats      {} -> {wasmMemoryBytes, cachedTexts}
//   where image = {kind: 'bytes', bytes: ArrayBuffer} | {kind: 'rgba', width, height, data: ArrayBuffer};
//   textMasking: one of TEXT_MASKINGS; maxNumPatches: SigLIP 2 NaFlex's patch budget per image
//   (default: the checkpoint's; other models ignore it); grid: [rows, columns] of patches the
//   image became. Requests run one at a time, in arrival order.
//   worker -> page  {id, ok: true, result} | {id, ok: false, error: {name, message}}: the reply,
//                   one per request;
//                   {id, type: 'progress', loaded, total, fromCache, converting?} while a `load` runs;
//                   {id, type: 'cached', stored, ms} after a `load` replied with `caching: true`.
// A worker is never asked to let go of its model: the page's last user of a model terminates
// the worker (client.js), which frees everything.

/** The requests a worker answers. */
export const REQUEST_TYPES = Object.freeze(/** @type {const} */ (['load', 'classify', 'score', 'embedImage', 'embedText', 'rank', 'stats']));

/**
 * Which wasm build runs the model: `auto` picks the fastest this page can run (`threads` when it
 * is cross-origin isolated and has several cores, else `relaxed` when the browser has relaxed
 * SIMD, else `simd128`); forcing one this browser cannot run is an UnsupportedError.
 */
export const VARIANTS = Object.freeze(/** @type {const} */ (['auto', 'simd128', 'relaxed', 'threads']));

/** What an `hf:` model is converted to as it downloads. */
export const DTYPES = Object.freeze(/** @type {const} */ (['q8', 'q4', 'f16', 'f32']));
export const DEFAULT_DTYPE = 'q8';

/** Where `hf:` models come from unless a `hub` is given. */
export const DEFAULT_HUB = 'https://huggingface.co';

/**
 * How the text tower treats padding: `auto` as the transformers zero-shot pipeline does for the
 * checkpoint (`padding` when its tokenizer returns an attention mask, else `none`), `padding`
 * (masked as attention keys), or `none` (attended to, as big_vision and open_clip run SigLIP).
 */
export const TEXT_MASKINGS = Object.freeze(/** @type {const} */ (['auto', 'padding', 'none']));

/** The AbortError of calls in flight when a classifier (or an element's model) is disposed. */
export const DISPOSED = 'the classifier was disposed';
/** The AbortError of an element's `ready` (and calls waiting on it) once it let go of its model. */
export const RELEASED = 'the model was released (dispose() or the element left the page)';

/**
 * Whether a model source is a Hugging Face model, `hf:owner/name[@revision]` (hub.js), rather
 * than the URL of a packed file.
 * @param {unknown} src
 * @returns {src is string}
 */
export function isHubSource(src) {
  return typeof src === 'string' && src.startsWith('hf:');
}
