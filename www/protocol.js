// @ts-check
// The worker protocol, described once: what the page (client.js) and the model worker
// (siglip-worker.js) say to each other, and the values both of them and the elements accept.
// The worker's handlers and the client's requests are type-checked against the typedefs below
// (tests/web/types.test.mjs), and index.d.ts re-exports the public shapes from protocol.d.ts,
// which is generated from this file (`node tests/web/protocol-dts.mjs`; the test fails while
// it is stale).
//
//   page -> worker  {id, type, ...payload}: `type` one of REQUEST_TYPES, with its request's
//                   payload (Requests below). Requests run one at a time, in arrival order,
//                   except BACKGROUND_REQUESTS: a library's `libraryAdd` runs beside them (each
//                   image's embedding queued among the others, so a search typed meanwhile
//                   waits for one image, not the whole job) and `libraryControl` at once.
//   worker -> page  {id, ok: true, result} | {id, ok: false, error: {name, message}}: the reply,
//                   one per request (`result`: the request's reply below);
//                   {id, type: 'progress', loaded, total, fromCache, converting} while a `load` runs;
//                   {id, type: 'progress', job, done, total, ...} per image of a `libraryAdd`;
//                   {id, type: 'cached', stored, ms} after a `load` replied with `caching: true`.
// A worker is never asked to let go of its model: the page's last user of a model terminates
// the worker (client.js), which frees everything.

/** The requests a worker answers. */
export const REQUEST_TYPES = Object.freeze(/** @type {const} */ ([
  'load', 'classify', 'score', 'embedImage', 'embedText', 'rank', 'stats',
  'libraryOpen', 'libraryAdd', 'libraryControl', 'librarySearch', 'libraryThumbnails', 'libraryRemove', 'libraryClear',
  'libraryExport', 'libraryImport', 'libraryStorage',
]));

/** The requests that do not wait in the worker's queue (see the header). */
export const BACKGROUND_REQUESTS = Object.freeze(/** @type {const} */ (['libraryAdd', 'libraryControl']));

/**
 * The wasm builds of the model (build.sh makes each from the same Rust code), best first: `auto`
 * runs the first one this page can run. Each says what it needs: `relaxed` SIMD (Chromium 114+,
 * Firefox 146+; not WebKit), and `threads`, a rayon pool of workers on shared memory (a
 * cross-origin isolated page and more than one core). `dir` is where its glue (`siglip.js`) and
 * `siglip_bg.wasm` sit in the package and under a `wasmUrl`.
 */
export const BUILDS = Object.freeze([
  Object.freeze({ variant: 'threads', dir: 'pkg-threads', relaxed: true, threads: true }),
  Object.freeze({ variant: 'threads-simd128', dir: 'pkg-threads-simd128', relaxed: false, threads: true }),
  Object.freeze({ variant: 'relaxed', dir: 'pkg-relaxed', relaxed: true, threads: false }),
  Object.freeze({ variant: 'simd128', dir: 'pkg', relaxed: false, threads: false }),
]);

/**
 * The package's worker side: the model worker, the modules it imports and the wasm builds,
 * which import only each other by relative paths. What a bundler that does not emit the worker
 * (esbuild, Rollup) must serve next to the bundle: `npx siglip-web copy-worker DIR`
 * (copy-worker.js) copies exactly these.
 */
export const WORKER_FILES = Object.freeze([
  'siglip-worker.js', 'protocol.js', 'errors.js', 'loader.js', 'hub.js', 'worker-library.js', 'store.js',
  ...BUILDS.map((b) => b.dir),
]);

/** How an exported index file stores its embeddings (docs/index-format.md). */
export const INDEX_DTYPES = Object.freeze(/** @type {const} */ (['f16', 'f32']));

/**
 * Which wasm build runs the model (BUILDS): `auto` picks the fastest this page can run
 * (`threads` when it is cross-origin isolated and has several cores, `threads-simd128` there
 * without relaxed SIMD, as in Safari, else `relaxed` when the browser has relaxed SIMD, else
 * `simd128`); forcing one this browser cannot run is an UnsupportedError.
 */
export const VARIANTS = Object.freeze(/** @type {const} */ (['auto', 'simd128', 'relaxed', 'threads', 'threads-simd128']));

/** What an `hf:` model is converted to as it downloads. */
export const DTYPES = Object.freeze(/** @type {const} */ (['q8', 'q4', 'f16', 'f32']));
/** @type {StorageDtype} */
export const DEFAULT_DTYPE = 'q8';
/** The label template of classify() and <siglip-classifier> (the pipeline's default; `{}` is the label). */
export const DEFAULT_TEMPLATE = 'This is a photo of {}.';

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

/**
 * Whether `src` is a Hugging Face checkpoint to convert as it downloads (`dtype` applies): an
 * `hf:` model, or the URL of a folder holding one (it ends in `/`).
 * @param {unknown} src
 */
export function isCheckpointSource(src) {
  return isHubSource(src) || (typeof src === 'string' && src.endsWith('/'));
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
 * @property {string} fingerprint `sha256:<hex>` of the checkpoint's one-dimensional tensors: the same for every dtype of one checkpoint (docs/index-format.md).
 * @property {number} logit_scale As stored in the checkpoint (a log): a label's logit is `exp(logit_scale) * cos + logit_bias` for the cosine of two normalized embeddings, its score the sigmoid of that.
 * @property {number} logit_bias
 */

/**
 * The wasm build that runs.
 * @typedef {object} BuildInfo
 * @property {Exclude<WasmVariant, 'auto'>} variant
 * @property {'simd128' | 'relaxed'} simd The SIMD instruction set of the matrix kernels.
 * @property {number} threads Threads that compute (the rayon pool; 1 unless `variant` is `threads` or `threads-simd128`).
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
 * @property {string} [wasmUrl] A directory laid out like the package (`pkg/siglip_bg.wasm`, `pkg-relaxed/…`, `pkg-threads/…`, `pkg-threads-simd128/…`: BUILDS); default: next to each build's glue.
 * @property {string} [hub] `hf:` only: where it comes from (default DEFAULT_HUB).
 * @property {StorageDtype} [dtype] `hf:` only: what it is converted to (default DEFAULT_DTYPE).
 * @property {boolean} [cache] Default true; false: the persistent model cache is neither read nor written.
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


// ---- Retrieval libraries (worker-library.js) -----------------------------------------------

/**
 * One image of a library (docs/index-format.md's record): `id` is the first 16 hex digits of
 * `sha256`, the same in the CLI and every browser.
 * @typedef {object} LibraryRecord
 * @property {string} id
 * @property {string} name The file's name.
 * @property {string} [path] Where it came from: a folder picked's relative path, or a URL.
 * @property {number} size Bytes.
 * @property {number} [mtime_ms] The file's modification time (ms since the epoch), when known.
 * @property {string} sha256 Of the file's bytes, lowercase hex.
 * @property {[number, number]} grid `[rows, columns]` of patches the image became.
 */

/**
 * The model a library's embeddings belong to (the index file's `model`).
 * @typedef {object} LibraryIdentity
 * @property {'siglip' | 'siglip2'} model_type
 * @property {number} embedding_dim
 * @property {string} fingerprint `sha256:<hex>`, one per checkpoint whatever its dtype.
 * @property {string} [source] Where the model was loaded from.
 * @property {string} dtype
 * @property {number} image_size
 * @property {number} patch_size
 * @property {number} [max_num_patches]
 * @property {number} logit_scale A score is `sigmoid(exp(logit_scale) * cosine + logit_bias)`.
 * @property {number} logit_bias
 */

/**
 * Work an earlier visit left unfinished: URLs (resumable) and the files of a folder (to add again).
 * @typedef {{urls: number, files: string[]}} LibraryPending
 */

/**
 * An image to add: a File or Blob, or a URL the worker fetches.
 * @typedef {{kind: 'blob', blob: Blob, name?: string, path?: string} | {kind: 'url', url: string, name?: string}} LibraryItem
 */

/**
 * @typedef {object} LibraryOpenRequest
 * @property {string} name
 * @property {boolean} [persist] Default true; false keeps it in memory only.
 */
/**
 * @typedef {object} LibraryOpenReply
 * @property {LibraryIdentity} identity
 * @property {LibraryRecord[]} records In the order they were added.
 * @property {boolean} persistent Whether it is stored in this browser.
 * @property {string | null} warning Why it is not (entirely) stored, or what could not be read.
 * @property {LibraryPending} pending
 */

/**
 * @typedef {object} LibraryAddRequest
 * @property {string} name
 * @property {number} job Chosen by the page, for libraryControl.
 * @property {LibraryItem[]} [items]
 * @property {boolean} [resumePending] Instead of `items`: the URLs an earlier visit left unfinished.
 * @property {number} [maxNumPatches]
 */
/**
 * Per image of an add job.
 * @typedef {object} LibraryProgress
 * @property {number} job
 * @property {number} done
 * @property {number} total
 * @property {number} added
 * @property {number} skipped Indexed already (same content).
 * @property {number} failed
 * @property {boolean} paused
 * @property {number | null} [perSecond] Images embedded per second of embedding.
 * @property {number} [etaSeconds]
 * @property {LibraryRecord | null} [record] The image just done.
 * @property {boolean} [persistent]
 * @property {string | null} [warning]
 */
/**
 * @typedef {object} LibraryAddReply
 * @property {number} added
 * @property {number} skipped
 * @property {{name: string, error: PlainError}[]} failed
 * @property {boolean} cancelled
 */

/**
 * @typedef {object} LibraryControlRequest
 * @property {number} job
 * @property {'pause' | 'resume' | 'cancel'} action
 */
/** @typedef {{known: boolean}} LibraryControlReply */

/**
 * Text, image or both (their normalized sum); `image` an image or `{id}` of one in the library.
 * @typedef {object} LibrarySearchRequest
 * @property {string} name
 * @property {string} [text]
 * @property {ImagePayload | {id: string}} [image]
 * @property {number} [topK] Default 50.
 * @property {TextMasking} [textMasking]
 * @property {number} [maxNumPatches]
 */
/**
 * One match: `score = sigmoid(logit)`, `logit = exp(logit_scale) * cosine + logit_bias`.
 * @typedef {object} LibraryHit
 * @property {string} id
 * @property {number} score
 * @property {number} logit
 * @property {number} cosine
 */
/**
 * @typedef {object} LibrarySearchReply
 * @property {LibraryHit[]} hits Best first.
 * @property {number} total Images searched.
 * @property {number} ms
 */

/** @typedef {{name: string, ids: string[]}} LibraryThumbnailsRequest */
/** @typedef {{thumbnails: Record<string, Blob>}} LibraryThumbnailsReply */
/** @typedef {{name: string, ids: string[]}} LibraryRemoveRequest */
/** @typedef {{removed: number}} LibraryRemoveReply */
/** @typedef {{name: string}} LibraryClearRequest */
/** @typedef {Record<string, never>} LibraryClearReply */
/**
 * @typedef {object} LibraryExportRequest
 * @property {string} name
 * @property {typeof INDEX_DTYPES[number]} [dtype] Default f16.
 * @property {boolean} [thumbnails] Default true.
 */
/** @typedef {{bytes: Uint8Array, count: number}} LibraryExportReply */
/** @typedef {{name: string, bytes: ArrayBuffer}} LibraryImportRequest */
/**
 * @typedef {object} LibraryImportReply
 * @property {number} added
 * @property {number} skipped
 * @property {LibraryRecord[]} records The records added.
 * @property {boolean} persistent
 * @property {string | null} warning
 */
/** @typedef {{name: string}} LibraryStorageRequest */
/**
 * @typedef {object} LibraryStorageReply
 * @property {boolean} persistent Whether the library is stored in this browser.
 * @property {string | null} warning
 * @property {boolean | null} persisted Whether the browser keeps this site's storage (`navigator.storage.persisted()`).
 * @property {number | null} usage Bytes this site stores.
 * @property {number | null} quota Bytes it may store.
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
 * @property {{payload: LibraryOpenRequest, reply: LibraryOpenReply}} libraryOpen
 * @property {{payload: LibraryAddRequest, reply: LibraryAddReply}} libraryAdd
 * @property {{payload: LibraryControlRequest, reply: LibraryControlReply}} libraryControl
 * @property {{payload: LibrarySearchRequest, reply: LibrarySearchReply}} librarySearch
 * @property {{payload: LibraryThumbnailsRequest, reply: LibraryThumbnailsReply}} libraryThumbnails
 * @property {{payload: LibraryRemoveRequest, reply: LibraryRemoveReply}} libraryRemove
 * @property {{payload: LibraryClearRequest, reply: LibraryClearReply}} libraryClear
 * @property {{payload: LibraryExportRequest, reply: LibraryExportReply}} libraryExport
 * @property {{payload: LibraryImportRequest, reply: LibraryImportReply}} libraryImport
 * @property {{payload: LibraryStorageRequest, reply: LibraryStorageReply}} libraryStorage
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
/** @typedef {{id: number, type: 'progress'} & (ProgressDetail | LibraryProgress)} ProgressMessage */
/** @typedef {{id: number, type: 'cached', ms: number} & CachedDetail} CachedMessage */
/** @typedef {ReplyMessage | ProgressMessage | CachedMessage} WorkerMessage */
