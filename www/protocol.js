// @ts-check
// The worker protocol, described once: what the page (client.js) and the model worker
// (siglip-worker.js) say to each other, and the values both of them and the elements accept.
// The worker's handlers and the client's requests are type-checked against the typedefs below
// (tests/web/types.test.mjs), and index.d.ts re-exports the public shapes from protocol.d.ts,
// which is generated from this file (`node tests/web/protocol-dts.mjs`; the test fails while
// it is stale).
//
//   page -> worker  {id, type, ...payload}: `type` one of REQUEST_TYPES, with its request's
//                   payload (Requests below). Requests run one at a time, in arrival order.
//   worker -> page  {id, ok: true, result} | {id, ok: false, error: {name, message}}: the reply,
//                   one per request (`result`: the request's reply below);
//                   {id, type: 'progress', loaded, total, fromCache, converting} while a `load` runs;
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
/** @type {StorageDtype} */
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

// ---- Values ------------------------------------------------------------------------------

/**
 * Which wasm build runs the model; `auto` picks the fastest this page can run.
 * @typedef {typeof VARIANTS[number]} WasmVariant
 */
/**
 * What an `hf:` model is converted to (default `q8`).
 * @typedef {typeof DTYPES[number]} StorageDtype
 */
/**
 * `auto`: as the transformers zero-shot pipeline does for the checkpoint: masked when its
 * tokenizer returns an attention mask, attended to when its `model_input_names` leaves it out
 * (as transformers' SigLIP and SigLIP 2 conversions save the google checkpoints);
 * `padding`: padding tokens masked; `none`: attended to, as big_vision and open_clip.
 * @typedef {typeof TEXT_MASKINGS[number]} TextMasking
 */
/** @typedef {typeof REQUEST_TYPES[number]} RequestType */

// ---- Public shapes (index.d.ts re-exports them) --------------------------------------------

/**
 * One label's result: `score = sigmoid(logit)`, independent of the other labels.
 * @typedef {object} LabelScore
 * @property {string} label
 * @property {number} score
 * @property {number} logit
 */

/**
 * One image's result for a query; `index` into the images given.
 * @typedef {object} RankedImage
 * @property {number} index
 * @property {number} score
 * @property {number} logit
 */

/**
 * What the loaded model is.
 * @typedef {object} ModelInfo
 * @property {string} dtype `f32`, `f16`, `q8` or `q4`
 * @property {'siglip' | 'siglip2'} model_type `siglip` (SigLIP, fixed-resolution SigLIP 2) or `siglip2` (SigLIP 2 NaFlex).
 * @property {number} image_size The input side in pixels; for NaFlex, the side of the trained position grid.
 * @property {number | null} max_num_patches NaFlex: the checkpoint's patch budget per image; `null` for fixed-resolution models.
 * @property {number} patch_size
 * @property {number} embedding_dim
 * @property {number} text_max_len
 * @property {number} vocab_size
 * @property {number} weight_bytes Bytes the weights occupy in memory.
 */

/**
 * The wasm build that runs.
 * @typedef {object} BuildInfo
 * @property {Exclude<WasmVariant, 'auto'>} variant
 * @property {'simd128' | 'relaxed'} simd The SIMD instruction set of the matrix kernels.
 * @property {number} threads Threads that compute (the rayon pool; 1 unless `variant` is `threads`).
 */

/**
 * A model file's download (or read from the cache) under way.
 * @typedef {object} ProgressDetail
 * @property {number} loaded
 * @property {number | null} total `null` when the server does not say.
 * @property {boolean} fromCache
 * @property {boolean} converting An `hf:` model being converted as it downloads.
 */

/**
 * A loaded model: the `load` event's detail, what `ready` resolves with.
 * @typedef {object} LoadDetail
 * @property {ModelInfo} info
 * @property {boolean} fromCache
 * @property {boolean} caching A downloaded file is being written to the persistent cache, after `load` (see `cached`).
 * @property {boolean} simd Whether the wasm uses 128-bit SIMD.
 * @property {BuildInfo} build The wasm build that runs.
 * @property {number} ms Time to fetch (or read from cache) and initialize, in milliseconds.
 * @property {{downloadMs?: number, readMs?: number, initMs: number}} timings Where that time went, in milliseconds (the cache write comes after, see `cached`).
 * @property {string | null} [commit] For an `hf:` model, the Hub commit its files came from (when the Hub said).
 */

/**
 * Whether the model file is in the persistent cache, once that is settled.
 * @typedef {object} CachedDetail
 * @property {boolean} stored False when the browser has no cache here, refused (quota), or the model was freed first.
 */

// ---- Requests and replies ------------------------------------------------------------------

/**
 * An image as the worker decodes it: encoded bytes (decoded in Rust like the reference decodes
 * files) or RGBA pixels.
 * @typedef {{kind: 'bytes', bytes: ArrayBuffer} | {kind: 'rgba', width: number, height: number, data: ArrayBuffer}} ImagePayload
 */

/**
 * Loads a model, replacing any the worker holds. A worker runs one wasm build, started by its
 * first `load`.
 * @typedef {object} LoadRequest
 * @property {string} url An absolute URL of a packed file, or `hf:owner/name[@revision]` (hub.js).
 * @property {string} [integrity] `sha256-<base64>` a packed file must match.
 * @property {WasmVariant} [variant] Default `auto`.
 * @property {string} [wasmUrl] A directory laid out like the package (`pkg/siglip_bg.wasm`, `pkg-relaxed/…`, `pkg-threads/…`); default: next to each build's glue.
 * @property {string} [hub] `hf:` only: where it comes from (default DEFAULT_HUB).
 * @property {StorageDtype} [dtype] `hf:` only: what it is converted to (default DEFAULT_DTYPE).
 */
/**
 * The reply to `load`: the public LoadDetail, and the worker's WebAssembly memory size after the
 * load (for benchmarks).
 * @typedef {LoadDetail & {wasmMemoryBytes: number}} LoadReply
 */

/**
 * The image tower, then the text tower for the labels (each label's embedding cached per
 * template and masking mode).
 * @typedef {object} ClassifyRequest
 * @property {ImagePayload} image
 * @property {string[]} labels
 * @property {string} [template] `{}` is the label; default: the last one set, at first `This is a photo of {}.`
 * @property {TextMasking} [textMasking] Default `auto`.
 * @property {number} [maxNumPatches] SigLIP 2 NaFlex's patch budget per image (default: the checkpoint's); other models ignore it.
 */
/**
 * @typedef {object} ClassifyReply
 * @property {LabelScore[]} results Highest score first.
 * @property {Float32Array} embedding The image's (L2-normalized), for `score`.
 * @property {[number, number]} grid `[rows, columns]` of patches the image became (NaFlex: its own aspect ratio).
 * @property {number} ms
 */

/**
 * The text tower only: labels scored against an image embedding from `classify` or `embedImage`.
 * @typedef {object} ScoreRequest
 * @property {Float32Array} embedding
 * @property {string[]} labels
 * @property {string} [template]
 * @property {TextMasking} [textMasking]
 */
/**
 * @typedef {object} ScoreReply
 * @property {LabelScore[]} results Highest score first.
 * @property {number} ms
 */

/**
 * @typedef {object} EmbedImageRequest
 * @property {ImagePayload} image
 * @property {number} [maxNumPatches]
 */
/**
 * @typedef {object} EmbedImageReply
 * @property {Float32Array} embedding L2-normalized.
 * @property {[number, number]} grid
 * @property {number} ms
 */

/**
 * Texts used verbatim (no template).
 * @typedef {object} EmbedTextRequest
 * @property {string[]} texts
 * @property {TextMasking} [textMasking]
 */
/**
 * @typedef {object} EmbedTextReply
 * @property {Float32Array} embeddings The texts' L2-normalized embeddings, concatenated (`texts.length` x `dim`).
 * @property {number} dim
 * @property {number} ms
 */

/**
 * Ranks image embeddings for a query (used verbatim).
 * @typedef {object} RankRequest
 * @property {string} query
 * @property {Float32Array} embeddings Image embeddings, concatenated.
 * @property {TextMasking} [textMasking]
 */
/**
 * @typedef {object} RankReply
 * @property {RankedImage[]} ranking Best first.
 * @property {number} ms
 */

/** @typedef {Record<string, never>} StatsRequest */
/**
 * Memory figures, for benchmarks.
 * @typedef {object} StatsReply
 * @property {number} wasmMemoryBytes The worker's WebAssembly memory.
 * @property {number} cachedTexts Text embeddings the model keeps.
 */

/**
 * Every request type's payload and reply.
 * @typedef {object} Requests
 * @property {{payload: LoadRequest, reply: LoadReply}} load
 * @property {{payload: ClassifyRequest, reply: ClassifyReply}} classify
 * @property {{payload: ScoreRequest, reply: ScoreReply}} score
 * @property {{payload: EmbedImageRequest, reply: EmbedImageReply}} embedImage
 * @property {{payload: EmbedTextRequest, reply: EmbedTextReply}} embedText
 * @property {{payload: RankRequest, reply: RankReply}} rank
 * @property {{payload: StatsRequest, reply: StatsReply}} stats
 */

// ---- Messages --------------------------------------------------------------------------------

/**
 * A request as posted to the worker.
 * @typedef {{[T in RequestType]: {id: number, type: T} & Requests[T]['payload']}[RequestType]} RequestMessage
 */

/**
 * An error as it crosses from the worker to the page (errors.js: plainError, toError).
 * @typedef {{name: string, message: string}} PlainError
 */

/**
 * The one reply to a request.
 * @typedef {{id: number, ok: true, result: Requests[RequestType]['reply']} | {id: number, ok: false, error: PlainError}} ReplyMessage
 */
/** @typedef {{id: number, type: 'progress'} & ProgressDetail} ProgressMessage */
/** @typedef {{id: number, type: 'cached', ms: number} & CachedDetail} CachedMessage */
/** @typedef {ReplyMessage | ProgressMessage | CachedMessage} WorkerMessage */
