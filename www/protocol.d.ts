// Generated from protocol.js by tests/web/protocol-dts.mjs: edit protocol.js, then run it.
/**
 * Whether a model source is a Hugging Face model, `hf:owner/name[@revision]` (hub.js), rather
 * than the URL of a packed file.
 * @param {unknown} src
 * @returns {src is string}
 */
export function isHubSource(src: unknown): src is string;
/** The requests a worker answers. */
export const REQUEST_TYPES: readonly ["load", "classify", "score", "embedImage", "embedText", "rank", "stats"];
/**
 * Which wasm build runs the model: `auto` picks the fastest this page can run (`threads` when it
 * is cross-origin isolated and has several cores, else `relaxed` when the browser has relaxed
 * SIMD, else `simd128`); forcing one this browser cannot run is an UnsupportedError.
 */
export const VARIANTS: readonly ["auto", "simd128", "relaxed", "threads"];
/** What an `hf:` model is converted to as it downloads. */
export const DTYPES: readonly ["q8", "q4", "f16", "f32"];
/** @type {StorageDtype} */
export const DEFAULT_DTYPE: StorageDtype;
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
     * Threads that compute (the rayon pool; 1 unless `variant` is `threads`).
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
     * A directory laid out like the package (`pkg/siglip_bg.wasm`, `pkg-relaxed/…`, `pkg-threads/…`); default: next to each build's glue.
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
} & ProgressDetail;
export type CachedMessage = {
    id: number;
    type: "cached";
    ms: number;
} & CachedDetail;
export type WorkerMessage = ReplyMessage | ProgressMessage | CachedMessage;
