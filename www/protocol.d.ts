// Generated from protocol.js by tests/web/protocol-dts.mjs: edit protocol.js, then run it.
/**
 * Whether a model source is a Hugging Face model, `hf:owner/name[@revision]` (hub.js), rather
 * than the URL of a packed file.
 * @param {unknown} src
 * @returns {src is string}
 */
export function isHubSource(src: unknown): src is string;
/**
 * Whether `src` is a Hugging Face checkpoint to convert as it downloads (`dtype` applies): an
 * `hf:` model, or the URL of a folder holding one (it ends in `/`).
 * @param {unknown} src
 */
export function isCheckpointSource(src: unknown): src is string;
/** The requests a worker answers. */
export const REQUEST_TYPES: readonly ["load", "classify", "score", "embedImage", "embedText", "rank", "stats", "libraryOpen", "libraryAdd", "libraryControl", "librarySearch", "libraryThumbnails", "libraryRemove", "libraryClear", "libraryExport", "libraryImport", "libraryStorage"];
/** The requests that do not wait in the worker's queue (see the header). */
export const BACKGROUND_REQUESTS: readonly ["libraryAdd", "libraryControl"];
/**
 * The wasm builds of the model (build.sh makes each from the same Rust code), best first: `auto`
 * runs the first one this page can run. Each says what it needs: `relaxed` SIMD (Chromium 114+,
 * Firefox 146+; not WebKit), and `threads`, a rayon pool of workers on shared memory (a
 * cross-origin isolated page and more than one core). `dir` is where its glue (`siglip.js`) and
 * `siglip_bg.wasm` sit in the package and under a `wasmUrl`.
 */
export const BUILDS: readonly (Readonly<{
    variant: "threads";
    dir: "pkg-threads";
    relaxed: true;
    threads: true;
}> | Readonly<{
    variant: "threads-simd128";
    dir: "pkg-threads-simd128";
    relaxed: false;
    threads: true;
}> | Readonly<{
    variant: "relaxed";
    dir: "pkg-relaxed";
    relaxed: true;
    threads: false;
}> | Readonly<{
    variant: "simd128";
    dir: "pkg";
    relaxed: false;
    threads: false;
}>)[];
/**
 * The package's worker side: the model worker, the modules it imports and the wasm builds,
 * which import only each other by relative paths. What a bundler that does not emit the worker
 * (esbuild, Rollup) must serve next to the bundle: `npx siglip-web copy-worker DIR`
 * (copy-worker.js) copies exactly these.
 */
export const WORKER_FILES: readonly string[];
/** How an exported index file stores its embeddings (docs/index-format.md). */
export const INDEX_DTYPES: readonly ["f16", "f32"];
/**
 * Which wasm build runs the model (BUILDS): `auto` picks the fastest this page can run
 * (`threads` when it is cross-origin isolated and has several cores, `threads-simd128` there
 * without relaxed SIMD, as in Safari, else `relaxed` when the browser has relaxed SIMD, else
 * `simd128`); forcing one this browser cannot run is an UnsupportedError.
 */
export const VARIANTS: readonly ["auto", "simd128", "relaxed", "threads", "threads-simd128"];
/** What an `hf:` model is converted to as it downloads. */
export const DTYPES: readonly ["q8", "q4", "f16", "f32"];
/** @type {StorageDtype} */
export const DEFAULT_DTYPE: StorageDtype;
/** The label template of classify() and <siglip-classifier> (the pipeline's default; `{}` is the label). */
export const DEFAULT_TEMPLATE: "This is a photo of {}.";
/** Where `hf:` models come from unless a `hub` is given. */
export const DEFAULT_HUB: "https://huggingface.co";
/**
 * How the text tower treats padding: `auto` as the transformers zero-shot pipeline does for the
 * checkpoint (`padding` when its tokenizer returns an attention mask, else `none`), `padding`
 * (masked as attention keys), or `none` (attended to, as big_vision and open_clip run SigLIP).
 */
export const TEXT_MASKINGS: readonly ["auto", "padding", "none"];
/** The AbortError of calls in flight when a classifier (or an element's model) is disposed. */
export const DISPOSED: "the classifier was disposed";
/** The AbortError of an element's `ready` (and calls waiting on it) once it let go of its model. */
export const RELEASED: "the model was released (dispose() or the element left the page)";
/**
 * Which wasm build runs the model; `auto` picks the fastest this page can run.
 */
export type WasmVariant = (typeof VARIANTS)[number];
/**
 * What an `hf:` model is converted to (default `q8`).
 */
export type StorageDtype = (typeof DTYPES)[number];
/**
 * `auto`: as the transformers zero-shot pipeline does for the checkpoint: masked when its
 * tokenizer returns an attention mask, attended to when its `model_input_names` leaves it out
 * (as transformers' SigLIP and SigLIP 2 conversions save the google checkpoints);
 * `padding`: padding tokens masked; `none`: attended to, as big_vision and open_clip.
 */
export type TextMasking = (typeof TEXT_MASKINGS)[number];
export type RequestType = (typeof REQUEST_TYPES)[number];
/**
 * One label's result: `score = sigmoid(logit)`, independent of the other labels.
 */
export type LabelScore = {
    label: string;
    score: number;
    logit: number;
};
/**
 * One image's result for a query; `index` into the images given.
 */
export type RankedImage = {
    index: number;
    score: number;
    logit: number;
};
/**
 * What the loaded model is.
 */
export type ModelInfo = {
    /**
     * `f32`, `f16`, `q8` or `q4`
     */
    dtype: string;
    /**
     * `siglip` (SigLIP, fixed-resolution SigLIP 2) or `siglip2` (SigLIP 2 NaFlex).
     */
    model_type: "siglip" | "siglip2";
    /**
     * The input side in pixels; for NaFlex, the side of the trained position grid.
     */
    image_size: number;
    /**
     * NaFlex: the checkpoint's patch budget per image; `null` for fixed-resolution models.
     */
    max_num_patches: number | null;
    patch_size: number;
    embedding_dim: number;
    text_max_len: number;
    vocab_size: number;
    /**
     * Bytes the weights occupy in memory.
     */
    weight_bytes: number;
    /**
     * `sha256:<hex>` of the checkpoint's one-dimensional tensors: the same for every dtype of one checkpoint (docs/index-format.md).
     */
    fingerprint: string;
    /**
     * As stored in the checkpoint (a log): a label's logit is `exp(logit_scale) * cos + logit_bias` for the cosine of two normalized embeddings, its score the sigmoid of that.
     */
    logit_scale: number;
    logit_bias: number;
};
/**
 * The wasm build that runs.
 */
export type BuildInfo = {
    variant: Exclude<WasmVariant, "auto">;
    /**
     * The SIMD instruction set of the matrix kernels.
     */
    simd: "simd128" | "relaxed";
    /**
     * Threads that compute (the rayon pool; 1 unless `variant` is `threads` or `threads-simd128`).
     */
    threads: number;
};
/**
 * A model file's download (or read from the cache) under way.
 */
export type ProgressDetail = {
    loaded: number;
    /**
     * `null` when the server does not say.
     */
    total: number | null;
    fromCache: boolean;
    /**
     * An `hf:` model being converted as it downloads.
     */
    converting: boolean;
};
/**
 * A loaded model: the `load` event's detail, what `ready` resolves with.
 */
export type LoadDetail = {
    info: ModelInfo;
    fromCache: boolean;
    /**
     * A downloaded file is being written to the persistent cache, after `load` (see `cached`).
     */
    caching: boolean;
    /**
     * Whether the wasm uses 128-bit SIMD.
     */
    simd: boolean;
    /**
     * The wasm build that runs.
     */
    build: BuildInfo;
    /**
     * Time to fetch (or read from cache) and initialize, in milliseconds.
     */
    ms: number;
    /**
     * Where that time went, in milliseconds (the cache write comes after, see `cached`).
     */
    timings: {
        downloadMs?: number;
        readMs?: number;
        initMs: number;
    };
    /**
     * For an `hf:` model, the Hub commit its files came from (when the Hub said).
     */
    commit?: string | null;
};
/**
 * Whether the model file is in the persistent cache, once that is settled.
 */
export type CachedDetail = {
    /**
     * False when the browser has no cache here, refused (quota), or the model was freed first.
     */
    stored: boolean;
};
/**
 * An image as the worker decodes it: encoded bytes (decoded in Rust like the reference decodes
 * files) or RGBA pixels.
 */
export type ImagePayload = {
    kind: "bytes";
    bytes: ArrayBuffer;
} | {
    kind: "rgba";
    width: number;
    height: number;
    data: ArrayBuffer;
};
/**
 * Loads a model, replacing any the worker holds. A worker runs one wasm build, started by its
 * first `load`.
 */
export type LoadRequest = {
    /**
     * An absolute URL of a packed file, or `hf:owner/name[@revision]` (hub.js).
     */
    url: string;
    /**
     * `sha256-<base64>` a packed file must match.
     */
    integrity?: string;
    /**
     * Default `auto`.
     */
    variant?: WasmVariant;
    /**
     * A directory laid out like the package (`pkg/siglip_bg.wasm`, `pkg-relaxed/…`, `pkg-threads/…`, `pkg-threads-simd128/…`: BUILDS); default: next to each build's glue.
     */
    wasmUrl?: string;
    /**
     * `hf:` only: where it comes from (default DEFAULT_HUB).
     */
    hub?: string;
    /**
     * `hf:` only: what it is converted to (default DEFAULT_DTYPE).
     */
    dtype?: StorageDtype;
    /**
     * Default true; false: the persistent model cache is neither read nor written.
     */
    cache?: boolean;
};
/**
 * The reply to `load`: the public LoadDetail, and the worker's WebAssembly memory size after the
 * load (for benchmarks).
 */
export type LoadReply = LoadDetail & {
    wasmMemoryBytes: number;
};
/**
 * The image tower, then the text tower for the labels (each label's embedding cached per
 * template and masking mode).
 */
export type ClassifyRequest = {
    image: ImagePayload;
    labels: string[];
    /**
     * `{}` is the label; default: the last one set, at first `This is a photo of {}.`
     */
    template?: string;
    /**
     * Default `auto`.
     */
    textMasking?: TextMasking;
    /**
     * SigLIP 2 NaFlex's patch budget per image (default: the checkpoint's); other models ignore it.
     */
    maxNumPatches?: number;
};
export type ClassifyReply = {
    /**
     * Highest score first.
     */
    results: LabelScore[];
    /**
     * The image's (L2-normalized), for `score`.
     */
    embedding: Float32Array;
    /**
     * `[rows, columns]` of patches the image became (NaFlex: its own aspect ratio).
     */
    grid: [number, number];
    ms: number;
};
/**
 * The text tower only: labels scored against an image embedding from `classify` or `embedImage`.
 */
export type ScoreRequest = {
    embedding: Float32Array;
    labels: string[];
    template?: string;
    textMasking?: TextMasking;
};
export type ScoreReply = {
    /**
     * Highest score first.
     */
    results: LabelScore[];
    ms: number;
};
export type EmbedImageRequest = {
    image: ImagePayload;
    maxNumPatches?: number;
};
export type EmbedImageReply = {
    /**
     * L2-normalized.
     */
    embedding: Float32Array;
    grid: [number, number];
    ms: number;
};
/**
 * Texts used verbatim (no template).
 */
export type EmbedTextRequest = {
    texts: string[];
    textMasking?: TextMasking;
};
export type EmbedTextReply = {
    /**
     * The texts' L2-normalized embeddings, concatenated (`texts.length` x `dim`).
     */
    embeddings: Float32Array;
    dim: number;
    ms: number;
};
/**
 * Ranks image embeddings for a query (used verbatim).
 */
export type RankRequest = {
    query: string;
    /**
     * Image embeddings, concatenated.
     */
    embeddings: Float32Array;
    textMasking?: TextMasking;
};
export type RankReply = {
    /**
     * Best first.
     */
    ranking: RankedImage[];
    ms: number;
};
export type StatsRequest = Record<string, never>;
/**
 * Memory figures, for benchmarks.
 */
export type StatsReply = {
    /**
     * The worker's WebAssembly memory.
     */
    wasmMemoryBytes: number;
    /**
     * Text embeddings the model keeps.
     */
    cachedTexts: number;
};
/**
 * One image of a library (docs/index-format.md's record): `id` is the first 16 hex digits of
 * `sha256`, the same in the CLI and every browser.
 */
export type LibraryRecord = {
    id: string;
    /**
     * The file's name.
     */
    name: string;
    /**
     * Where it came from: a folder picked's relative path, or a URL.
     */
    path?: string;
    /**
     * Bytes.
     */
    size: number;
    /**
     * The file's modification time (ms since the epoch), when known.
     */
    mtime_ms?: number;
    /**
     * Of the file's bytes, lowercase hex.
     */
    sha256: string;
    /**
     * `[rows, columns]` of patches the image became.
     */
    grid: [number, number];
};
/**
 * The model a library's embeddings belong to (the index file's `model`).
 */
export type LibraryIdentity = {
    model_type: "siglip" | "siglip2";
    embedding_dim: number;
    /**
     * `sha256:<hex>`, one per checkpoint whatever its dtype.
     */
    fingerprint: string;
    /**
     * Where the model was loaded from.
     */
    source?: string;
    dtype: string;
    image_size: number;
    patch_size: number;
    max_num_patches?: number;
    /**
     * A score is `sigmoid(exp(logit_scale) * cosine + logit_bias)`.
     */
    logit_scale: number;
    logit_bias: number;
};
/**
 * Work an earlier visit left unfinished: URLs (resumable) and the files of a folder (to add again).
 */
export type LibraryPending = {
    urls: number;
    files: string[];
};
/**
 * An image to add: a File or Blob, or a URL the worker fetches.
 */
export type LibraryItem = {
    kind: "blob";
    blob: Blob;
    name?: string;
    path?: string;
} | {
    kind: "url";
    url: string;
    name?: string;
};
export type LibraryOpenRequest = {
    name: string;
    /**
     * Default true; false keeps it in memory only.
     */
    persist?: boolean;
};
export type LibraryOpenReply = {
    identity: LibraryIdentity;
    /**
     * In the order they were added.
     */
    records: LibraryRecord[];
    /**
     * Whether it is stored in this browser.
     */
    persistent: boolean;
    /**
     * Why it is not (entirely) stored, or what could not be read.
     */
    warning: string | null;
    pending: LibraryPending;
};
export type LibraryAddRequest = {
    name: string;
    /**
     * Chosen by the page, for libraryControl.
     */
    job: number;
    items?: LibraryItem[];
    /**
     * Instead of `items`: the URLs an earlier visit left unfinished.
     */
    resumePending?: boolean;
    maxNumPatches?: number;
};
/**
 * Per image of an add job.
 */
export type LibraryProgress = {
    job: number;
    done: number;
    total: number;
    added: number;
    /**
     * Indexed already (same content).
     */
    skipped: number;
    failed: number;
    paused: boolean;
    /**
     * Images embedded per second of embedding.
     */
    perSecond?: number | null;
    etaSeconds?: number;
    /**
     * The image just done.
     */
    record?: LibraryRecord | null;
    persistent?: boolean;
    warning?: string | null;
};
export type LibraryAddReply = {
    added: number;
    skipped: number;
    failed: {
        name: string;
        error: PlainError;
    }[];
    cancelled: boolean;
};
export type LibraryControlRequest = {
    job: number;
    action: "pause" | "resume" | "cancel";
};
export type LibraryControlReply = {
    known: boolean;
};
/**
 * Text, image or both (their normalized sum); `image` an image or `{id}` of one in the library.
 */
export type LibrarySearchRequest = {
    name: string;
    text?: string;
    image?: ImagePayload | {
        id: string;
    };
    /**
     * Default 50.
     */
    topK?: number;
    textMasking?: TextMasking;
    maxNumPatches?: number;
};
/**
 * One match: `score = sigmoid(logit)`, `logit = exp(logit_scale) * cosine + logit_bias`.
 */
export type LibraryHit = {
    id: string;
    score: number;
    logit: number;
    cosine: number;
};
export type LibrarySearchReply = {
    /**
     * Best first.
     */
    hits: LibraryHit[];
    /**
     * Images searched.
     */
    total: number;
    ms: number;
};
export type LibraryThumbnailsRequest = {
    name: string;
    ids: string[];
};
export type LibraryThumbnailsReply = {
    thumbnails: Record<string, Blob>;
};
export type LibraryRemoveRequest = {
    name: string;
    ids: string[];
};
export type LibraryRemoveReply = {
    removed: number;
};
export type LibraryClearRequest = {
    name: string;
};
export type LibraryClearReply = Record<string, never>;
export type LibraryExportRequest = {
    name: string;
    /**
     * Default f16.
     */
    dtype?: (typeof INDEX_DTYPES)[number];
    /**
     * Default true.
     */
    thumbnails?: boolean;
};
export type LibraryExportReply = {
    bytes: Uint8Array;
    count: number;
};
export type LibraryImportRequest = {
    name: string;
    bytes: ArrayBuffer;
};
export type LibraryImportReply = {
    added: number;
    skipped: number;
    /**
     * The records added.
     */
    records: LibraryRecord[];
    persistent: boolean;
    warning: string | null;
};
export type LibraryStorageRequest = {
    name: string;
};
export type LibraryStorageReply = {
    /**
     * Whether the library is stored in this browser.
     */
    persistent: boolean;
    warning: string | null;
    /**
     * Whether the browser keeps this site's storage (`navigator.storage.persisted()`).
     */
    persisted: boolean | null;
    /**
     * Bytes this site stores.
     */
    usage: number | null;
    /**
     * Bytes it may store.
     */
    quota: number | null;
};
/**
 * Every request type's payload and reply.
 */
export type Requests = {
    load: {
        payload: LoadRequest;
        reply: LoadReply;
    };
    classify: {
        payload: ClassifyRequest;
        reply: ClassifyReply;
    };
    score: {
        payload: ScoreRequest;
        reply: ScoreReply;
    };
    embedImage: {
        payload: EmbedImageRequest;
        reply: EmbedImageReply;
    };
    embedText: {
        payload: EmbedTextRequest;
        reply: EmbedTextReply;
    };
    rank: {
        payload: RankRequest;
        reply: RankReply;
    };
    stats: {
        payload: StatsRequest;
        reply: StatsReply;
    };
    libraryOpen: {
        payload: LibraryOpenRequest;
        reply: LibraryOpenReply;
    };
    libraryAdd: {
        payload: LibraryAddRequest;
        reply: LibraryAddReply;
    };
    libraryControl: {
        payload: LibraryControlRequest;
        reply: LibraryControlReply;
    };
    librarySearch: {
        payload: LibrarySearchRequest;
        reply: LibrarySearchReply;
    };
    libraryThumbnails: {
        payload: LibraryThumbnailsRequest;
        reply: LibraryThumbnailsReply;
    };
    libraryRemove: {
        payload: LibraryRemoveRequest;
        reply: LibraryRemoveReply;
    };
    libraryClear: {
        payload: LibraryClearRequest;
        reply: LibraryClearReply;
    };
    libraryExport: {
        payload: LibraryExportRequest;
        reply: LibraryExportReply;
    };
    libraryImport: {
        payload: LibraryImportRequest;
        reply: LibraryImportReply;
    };
    libraryStorage: {
        payload: LibraryStorageRequest;
        reply: LibraryStorageReply;
    };
};
/**
 * A request as posted to the worker.
 */
export type RequestMessage = { [T in RequestType]: {
    id: number;
    type: T;
} & Requests[T]["payload"]; }[RequestType];
/**
 * An error as it crosses from the worker to the page (errors.js: plainError, toError).
 */
export type PlainError = {
    name: string;
    message: string;
};
/**
 * The one reply to a request.
 */
export type ReplyMessage = {
    id: number;
    ok: true;
    result: Requests[RequestType]["reply"];
} | {
    id: number;
    ok: false;
    error: PlainError;
};
export type ProgressMessage = {
    id: number;
    type: "progress";
} & (ProgressDetail | LibraryProgress);
export type CachedMessage = {
    id: number;
    type: "cached";
    ms: number;
} & CachedDetail;
export type WorkerMessage = ReplyMessage | ProgressMessage | CachedMessage;
