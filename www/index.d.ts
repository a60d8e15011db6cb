// Type declarations for siglip-web. The shapes that cross the worker protocol (results, model
// info, load and progress details, and the lists of variants, dtypes and masking modes) are
// defined once, in protocol.js, whose declarations (protocol.d.ts) are generated from it.

import type {
  BuildInfo, CachedDetail, LabelScore, LibraryAddReply, LibraryIdentity, LibraryPending, LibraryProgress, LibraryRecord,
  LibraryStorageReply, LoadDetail, ModelInfo, ProgressDetail, RankedImage, StorageDtype, TextMasking, WasmVariant,
} from './protocol.js';

export type {
  BuildInfo, CachedDetail, LabelScore, LibraryIdentity, LibraryPending, LibraryProgress, LibraryRecord, LoadDetail, ModelInfo,
  ProgressDetail, RankedImage, StorageDtype, TextMasking, WasmVariant,
};

/** Anything an image can be given as. Encoded files (Blob, File, URL, bytes) are decoded in
 * the worker exactly like the reference decodes files; decoded sources are read as RGBA. */
export type ImageSource =
  | Blob
  | File
  | string
  | URL
  | ArrayBuffer
  | ArrayBufferView
  | ImageData
  | ImageBitmap
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | HTMLVideoElement
  | VideoFrame;

export interface ResultDetail {
  results: LabelScore[];
  ms: number;
  /** `[rows, columns]` of patches the image became (NaFlex: its own aspect ratio); absent when only labels were re-scored. */
  grid?: [number, number];
}

/** One image's result in `<siglip-search>`'s `result` event and `rank()`. */
export interface SearchRanked extends RankedImage {
  /** The image's id in the library. */
  id: string;
  cosine: number;
}

export interface SearchResultDetail {
  /** The text query ('' for an image query alone). */
  query: string;
  /** The name of the image searched by ("more like this"), or null. */
  image: string | null;
  /** The images shown, best first; `index` into the library's images in the order added. */
  ranking: SearchRanked[];
  ms: number;
}

export interface ErrorDetail {
  /** `name` is one of WeightsError, TensorError, ConfigError, TokenizerError, ImageError,
   * InputError, ComputeError, MemoryError, NetworkError, IntegrityError, AccessError (a gated or
   * private `hf:` model), CameraError, StateError, WorkerError (the worker did not start or
   * crashed), UnsupportedError (a `variant` this browser cannot run, or a model loaded outside a
   * browser page), IndexError (an index file that cannot be read), ModelMismatchError (an index
   * made with another model), StorageError
   * (this browser's storage refused: the library goes on in memory). (`AbortError`, of calls cut
   * short by `dispose()` or an AbortSignal, is not shown or dispatched.) */
  error: Error;
}

export interface CreateClassifierOptions {
  /** URL of a model file made by `siglip quantize` (may be cross-origin with CORS); a Hugging
   * Face model `hf:owner/name[@revision]`; or the URL of a folder (ending in `/`) holding a
   * Hugging Face checkpoint (`config.json`, the tokenizer files, `model.safetensors` or a sharded
   * `model.safetensors.index.json`), as a static host or CDN serves it. Checkpoints are converted
   * to `dtype` as they download, then cached. */
  src: string;
  /** Where `hf:` models come from (default `https://huggingface.co`). */
  hub?: string;
  /** What a checkpoint (`hf:` or a folder) is converted to (default `q8`). */
  dtype?: StorageDtype;
  /** `sha256-<base64>`: the file must match before it is used. */
  integrity?: string;
  /** Label template; `{}` is the label. Default `This is a photo of {}.` */
  template?: string;
  /** How the text tower treats padding: as the transformers pipeline does for the checkpoint (default `auto`), masked, or attended to as big_vision and open_clip do. */
  textMasking?: TextMasking;
  /** SigLIP 2 NaFlex: the patch budget per image (default: the checkpoint's); other models ignore it. */
  maxNumPatches?: number;
  /** Which wasm build to run (default `auto`); forcing one this browser cannot run is an error. */
  variant?: WasmVariant;
  /** URL of `siglip-worker.js` when it is not next to the package's modules (a CDN, another path). */
  workerUrl?: string;
  /** URL of a directory laid out like the package (`pkg/siglip_bg.wasm`, `pkg-relaxed/…`, `pkg-threads/…`, `pkg-threads-simd128/…`). */
  wasmUrl?: string;
  /** Default true. `false`: the persistent model cache is neither read nor written (downloaded on
   * every load). A model opened with and without the cache is loaded twice: the two never share
   * a worker. */
  cache?: boolean;
  onProgress?: (progress: ProgressDetail) => void;
  /** Cancels the load (an AbortError); the download stops unless something else on the page loads the same model. */
  signal?: AbortSignal;
}

/**
 * The last argument of every call that computes: `signal` cancels it. The call rejects with an
 * AbortError at once and the model stays usable (the worker finishes the step it is in, at most
 * one image or one batch of labels, and its answer is dropped).
 */
export interface CallOptions {
  signal?: AbortSignal;
}

export declare const DEFAULT_TEMPLATE: string;

/** The tasks `pipeline()` runs. */
export declare const PIPELINE_TASKS: readonly ['zero-shot-image-classification', 'image-feature-extraction', 'feature-extraction'];
export type PipelineTask = (typeof PIPELINE_TASKS)[number] | 'embeddings';

/** Embeddings as transformers.js returns them: float32 rows, `dims` `[rows, dim]`, row-major `data`. */
export declare class Tensor {
  private constructor();
  readonly type: 'float32';
  readonly data: Float32Array;
  readonly dims: number[];
  readonly size: number;
  tolist(): number[][];
}

/** Load progress with transformers.js' statuses (one file reported: the weights). */
export type PipelineProgress =
  | { status: 'initiate' | 'download' | 'done'; name: string; file: string }
  | { status: 'progress'; name: string; file: string; progress: number; loaded: number; total: number; fromCache: boolean; converting: boolean }
  | { status: 'progress_total'; name: string; progress: number; loaded: number; total: number; files: Record<string, { loaded: number; total: number }>; fromCache: boolean; converting: boolean }
  | { status: 'ready'; task: string; model: string };

export interface PipelineOptions extends Omit<CreateClassifierOptions, 'src' | 'dtype' | 'template' | 'onProgress'> {
  /** What a checkpoint is converted to: `q8` (default; also `int8`, `uint8`), `q4`, `fp16`, `fp32` (or our names), `auto`. */
  dtype?: 'auto' | 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | StorageDtype;
  /** `'wasm'` (or `'cpu'`, `'auto'`): siglip-web runs on the CPU. */
  device?: 'wasm' | 'cpu' | 'auto';
  /** A Hub revision (branch, tag or commit) for `owner/name` models. */
  revision?: string;
  progress_callback?: (progress: PipelineProgress) => void;
}

interface PipelineBase {
  readonly task: PipelineTask;
  /** The model's `src`. */
  readonly model: string;
  readonly info: ModelInfo;
  readonly build: BuildInfo;
  dispose(): void;
}

export interface ZeroShotImageClassificationPipeline extends PipelineBase {
  (image: ImageSource | RawImageLike, candidate_labels: readonly string[], options?: ZeroShotOptions): Promise<Array<{ score: number; label: string }>>;
  (images: ReadonlyArray<ImageSource | RawImageLike>, candidate_labels: readonly string[], options?: ZeroShotOptions): Promise<Array<Array<{ score: number; label: string }>>>;
}
export interface ZeroShotOptions extends CallOptions {
  /** Default `This is a photo of {}.` (transformers' pipeline's). */
  hypothesis_template?: string;
  top_k?: number;
}
export interface ImageFeatureExtractionPipeline extends PipelineBase {
  (images: ImageSource | RawImageLike | ReadonlyArray<ImageSource | RawImageLike>, options?: CallOptions): Promise<Tensor>;
}
export interface FeatureExtractionPipeline extends PipelineBase {
  (texts: string | readonly string[], options?: CallOptions & { normalize?: true; pooling?: string }): Promise<Tensor>;
}
/** transformers.js' RawImage (or anything shaped like it): 8-bit pixels, 1 to 4 channels. */
export interface RawImageLike {
  data: ArrayLike<number>;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * A transformers.js-style pipeline on a SigLIP model (`owner/name`, `hf:owner/name[@rev]`, a packed
 * file's URL or a checkpoint folder's URL ending in `/`), run in a Web Worker.
 */
export declare function pipeline(task: 'zero-shot-image-classification', model: string, options?: PipelineOptions): Promise<ZeroShotImageClassificationPipeline>;
export declare function pipeline(task: 'image-feature-extraction', model: string, options?: PipelineOptions): Promise<ImageFeatureExtractionPipeline>;
export declare function pipeline(task: 'feature-extraction' | 'embeddings', model: string, options?: PipelineOptions): Promise<FeatureExtractionPipeline>;

/** A model in the persistent cache (see {@link cachedModels}). */
export interface CachedModel {
  /** What to load it by: a packed file's URL, `hf:owner/name[@revision]`, or a checkpoint folder's URL. */
  src: string;
  /** For an `hf:` model, the hub it came from. */
  hub: string | undefined;
  /** For a checkpoint, what it was converted to. */
  dtype: StorageDtype | undefined;
  /** Bytes the cache holds for it (the packed file). */
  bytes: number;
  /** For an `hf:` model, the Hub commit it was converted from. */
  commit: string | null;
  /** For a checkpoint, the version it was converted from (the commit, or a folder's ETag or Last-Modified); null for a packed file. */
  version: string | null;
  /** When it was cached (null for entries written before this was recorded). */
  cachedAt: Date | null;
  /** The cache entry's key (a packed file's URL; a name for a conversion). */
  url: string;
}

/** What loading a model would download (see {@link plannedDownload}); the `prompt` event's detail adds `text`. */
export interface PlannedDownload {
  /** `owner/name` for `hf:`, else the file's or folder's name. */
  name: string;
  /** The host it comes from. */
  from: string;
  /** The download's size; null when the server does not say. */
  bytes: number | null;
  /** For a checkpoint, what it is converted to on this device. */
  dtype: StorageDtype | null;
  /** About how big the converted model is (an estimate from the checkpoint's parameters). */
  convertedBytes: number | null;
}

/** This site's storage, as the browser reports it (null where it does not). */
export interface StorageEstimate {
  /** `navigator.storage.persisted()`: whether the browser keeps this site's storage under pressure. */
  persisted: boolean | null;
  /** Bytes this site stores (models, libraries, the demo's offline files). */
  usage: number | null;
  /** Bytes it may store. */
  quota: number | null;
}

/** The models in the persistent cache, with their sizes and versions (empty where the page has no Cache API). */
export declare function cachedModels(): Promise<CachedModel[]>;
/** Deletes a model's cached copy, named as it is loaded (`src`; `dtype`, default `q8`, for checkpoints; `hub` for `hf:`). Resolves with whether there was one; its next load downloads it again. */
export declare function deleteCachedModel(options: Pick<CreateClassifierOptions, 'src' | 'hub' | 'dtype'>): Promise<boolean>;
/** Deletes every cached model (libraries of images stay). */
export declare function clearModelCache(): Promise<boolean>;
/** What loading a model would download: `{cached: true}` when it is cached (any version), else its size, host and conversion (null where the server does not say: it never rejects for a network failure). */
export declare function plannedDownload(options: CreateClassifierOptions): Promise<PlannedDownload & { cached: boolean }>;
/** Asks the browser to keep this site's storage (`navigator.storage.persist()`); resolves with whether it will. */
export declare function persistStorage(): Promise<boolean>;
/** `navigator.storage.estimate()` and `persisted()`. */
export declare function storageEstimate(): Promise<StorageEstimate>;

export interface OpenLibraryOptions extends Omit<CreateClassifierOptions, 'template'> {
  /** The library's name (default `default`): stored in this browser under it and the model. */
  name?: string;
  /** Default true; false keeps the library in memory only. */
  persist?: boolean;
}

/** One search result. `score = sigmoid(logit)`, `logit = exp(logit_scale) * cosine + logit_bias`. */
export interface LibraryHit {
  id: string;
  record: LibraryRecord;
  score: number;
  logit: number;
  cosine: number;
}

/** `add`'s result: images added, skipped (content indexed already), and those that could not be read. */
export type LibraryAddResult = LibraryAddReply;

/** Opens (or creates) a named library of images embedded by a model, stored in this browser. */
export declare function openLibrary(options: OpenLibraryOptions): Promise<Library>;

/** A persistent, searchable library of images (one model). Create with {@link openLibrary}. */
export declare class Library extends EventTarget {
  private constructor();
  readonly name: string;
  /** How query texts treat padding (default `auto`). */
  textMasking: TextMasking;
  /** SigLIP 2 NaFlex: the patch budget images are embedded with. */
  maxNumPatches: number | undefined;
  /** The model the embeddings belong to (the index file's `model`). */
  readonly identity: LibraryIdentity;
  /** Whether the library is stored in this browser (false: in memory only, see `warning`). */
  readonly persistent: boolean;
  /** Why it is not (entirely) stored, or what could not be read; else null. */
  readonly warning: string | null;
  /** Work an earlier visit left unfinished (see resumePending). */
  readonly pending: LibraryPending;
  readonly size: number;
  /** Whether images are being added. */
  readonly busy: boolean;
  /** Every record, in the order added. */
  records(): LibraryRecord[];
  get(id: string): LibraryRecord | undefined;
  /** Adds images (Files, Blobs, URLs); content already indexed is skipped. `signal` cancels (done images are kept). */
  add(
    sources: Iterable<Blob | string | URL> | ArrayLike<Blob | string | URL>,
    options?: { signal?: AbortSignal; onProgress?: (progress: Omit<LibraryProgress, 'job' | 'persistent' | 'warning'>) => void },
  ): Promise<LibraryAddResult>;
  /** Resumes the URLs an earlier visit left unfinished. */
  resumePending(options?: { signal?: AbortSignal; onProgress?: (progress: LibraryProgress) => void }): Promise<LibraryAddResult>;
  pause(): void;
  resume(): void;
  cancel(): void;
  /** Best matches first, for a text, an image (a source, or `{id}` of one in the library) or both. */
  search(query: string | { text?: string; image?: ImageSource | { id: string } }, options?: { topK?: number } & CallOptions): Promise<LibraryHit[]>;
  /** Small JPEG thumbnails of these ids (those that have one). */
  thumbnails(ids: readonly string[], options?: CallOptions): Promise<Map<string, Blob>>;
  remove(ids: string | readonly string[]): Promise<number>;
  clear(): Promise<void>;
  /** The library as an index file (docs/index-format.md), which `siglip search` reads. */
  export(options?: { dtype?: 'f16' | 'f32'; thumbnails?: boolean } & CallOptions): Promise<Blob>;
  /** Adds an index file's images the library lacks (from `siglip index`, or another browser). */
  import(file: Blob | ArrayBuffer | ArrayBufferView): Promise<{ added: number; skipped: number }>;
  /** Whether the library is stored, and this site's storage figures. */
  storage(): Promise<LibraryStorageReply>;
  /** Asks the browser to keep this site's storage (`navigator.storage.persist()`). */
  persist(): Promise<boolean>;
  /** Lets the model go (when this library opened it). */
  dispose(): void;
}

/** Loads a model in a Web Worker; calls with the same options share one worker and model. */
export declare function createClassifier(options: CreateClassifierOptions): Promise<Classifier>;

export declare class Classifier {
  private constructor();
  readonly info: ModelInfo;
  readonly fromCache: boolean;
  /** Whether the model file is in the persistent cache, once settled: a downloaded file is written in the background after the classifier is ready. */
  readonly cached: Promise<boolean>;
  /** For an `hf:` model, the Hub commit it came from. */
  readonly commit: string | null;
  /** The wasm build that runs. */
  readonly build: BuildInfo;
  template: string;
  /** How the text tower treats padding (default `auto`); each mode has its own label cache. */
  textMasking: TextMasking;
  /** SigLIP 2 NaFlex: the patch budget per image (`undefined`: the checkpoint's); other models ignore it. */
  maxNumPatches: number | undefined;
  /** `[rows, columns]` of patches the last image given to classify() or embedImage() became. */
  readonly lastGrid: [number, number] | null;
  /** Scores labels (templated) for an image, highest score first. */
  classify(image: ImageSource, labels: readonly string[], options?: CallOptions): Promise<LabelScore[]>;
  /** L2-normalized image embedding. */
  embedImage(image: ImageSource, options?: CallOptions): Promise<Float32Array>;
  /** L2-normalized text embeddings (texts used verbatim). */
  embedText(texts: string | readonly string[], options?: CallOptions): Promise<Float32Array[]>;
  /** Ranks images (sources or embeddings) for a query, best first. */
  rank(query: string, images: ReadonlyArray<ImageSource | Float32Array>, options?: CallOptions): Promise<RankedImage[]>;
  /** Releases the model; the worker is freed when nothing else on the page uses it. */
  dispose(): void;
}

/** The element's own events (they shadow the generic `progress`, `load` and `error`). */
interface SiglipElementEventMap {
  progress: CustomEvent<ProgressDetail>;
  load: CustomEvent<LoadDetail>;
  /** After `load`: whether the model file is now in the persistent cache (written in the background when it was downloaded). */
  cached: CustomEvent<CachedDetail>;
  /** `load="on-demand"`: the model is not cached, so the element shows what it would download and waits for a click. `text` is the sentence shown. */
  prompt: CustomEvent<PlannedDownload & { text: string }>;
  error: CustomEvent<ErrorDetail>;
}

declare class SiglipElementBase extends HTMLElement {
  /** A packed model's URL, `hf:owner/name[@revision]`, or a checkpoint folder's URL ending in `/` (attribute `src`). */
  src: string;
  /** Where `hf:` models come from (attribute `hub`, default `https://huggingface.co`). */
  hub: string | undefined;
  /** What a checkpoint (`hf:` or a folder) is converted to (attribute `dtype`, default `q8`). */
  dtype: StorageDtype;
  /** Optional `sha256-<base64>` (attribute `integrity`). */
  integrity: string | undefined;
  /** Which wasm build to run (attribute `variant`, default `auto`); changing it reloads. */
  variant: WasmVariant;
  /** How the text tower treats padding (attribute `text-masking`, default `auto`); does not reload. */
  textMasking: TextMasking;
  /** SigLIP 2 NaFlex's patch budget per image (attribute `max-num-patches`, default: the checkpoint's); does not reload; other models ignore it. */
  maxNumPatches: number | undefined;
  /** URL of `siglip-worker.js` (attribute `worker-url`), when not next to the package's modules. */
  workerUrl: string | undefined;
  /** Directory of the package's `pkg/`, `pkg-relaxed/`, `pkg-threads/` and `pkg-threads-simd128/` wasm files (attribute `wasm-url`). */
  wasmUrl: string | undefined;
  /** Whether the persistent model cache is used (attribute `cache`; `"false"` neither reads nor writes it; default true); changing it reloads. */
  cache: boolean;
  /** When the model loads (attribute `load`): `on-demand` (default) loads a cached model at once and otherwise asks first (see the `prompt` event); `eager` loads at once. Setting `eager` while the element asks loads. */
  load: 'eager' | 'on-demand';
  /** Settles with the load of the current `src`; stays rejected after a failure until a new load starts. */
  readonly ready: Promise<LoadDetail>;
  /** Whether the current model's file is in the persistent cache, once settled (a downloaded file is written in the background after `load`). */
  readonly cached: Promise<boolean>;
  /** Releases the model (and stops the webcam); the element loads again when used. */
  dispose(): void;
}

export interface SiglipClassifierEventMap extends SiglipElementEventMap {
  result: CustomEvent<ResultDetail>;
}

/** `<siglip-classifier src labels template integrity variant>` */
export declare class SiglipClassifier extends SiglipElementBase {
  /** Labels (attribute `labels`: comma-separated). */
  labels: string[];
  /** Label template (attribute `template`); default `This is a photo of {}.` */
  template: string;
  classify(image: ImageSource, labels?: readonly string[], options?: CallOptions): Promise<LabelScore[]>;
  embedImage(image: ImageSource, options?: CallOptions): Promise<Float32Array>;
  embedText(texts: string | readonly string[], options?: CallOptions): Promise<Float32Array[]>;
  rank(query: string, images: ReadonlyArray<ImageSource | Float32Array>, options?: CallOptions): Promise<RankedImage[]>;
  addEventListener<K extends keyof SiglipClassifierEventMap>(
    type: K,
    listener: (this: SiglipClassifier, ev: SiglipClassifierEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

export interface SiglipSearchEventMap extends SiglipElementEventMap {
  result: CustomEvent<SearchResultDetail>;
  /** The library of the loaded model is open (its images are back after a reload). */
  library: CustomEvent<{ name: string; size: number; persistent: boolean; warning: string | null }>;
  /** Per image while images are added. */
  indexing: CustomEvent<Omit<LibraryProgress, 'job' | 'persistent' | 'warning'>>;
  /** Images were added (or the adding was cancelled). */
  indexed: CustomEvent<LibraryAddResult>;
}

/** `<siglip-search src library query …>`: a photo library kept in this browser, searched by text, image or both. */
export declare class SiglipSearch extends SiglipElementBase {
  /** The text query (attribute `query`). */
  query: string;
  /** The library's name (attribute `library`, default `default`). */
  library: string;
  /** Images shown at first and per "Show more" (attribute `page-size`, default 60). */
  pageSize: number;
  /** Number of images in the library. */
  readonly size: number;
  /** The Library behind the element, once its model is loaded. */
  readonly libraryObject: Library | null;
  /** Adds images; content already indexed is skipped. */
  addImages(images: Iterable<ImageSource>): Promise<LibraryAddResult>;
  /** Ranks every image for a text query (default: the current one), best first. */
  rank(query?: string): Promise<SearchRanked[]>;
  /** Searches without changing what is shown. */
  search(query: string | { text?: string; image?: ImageSource | { id: string } }, options?: { topK?: number } & CallOptions): Promise<LibraryHit[]>;
  /** Shows the images most like one (`{id}` of the library's, or an image). */
  searchByImage(image: ImageSource | { id: string }): Promise<LibraryHit[]>;
  /** Removes images by id (`remove()` is the DOM's: it takes the element off the page). */
  removeImages(ids: string | readonly string[]): Promise<number>;
  clear(): Promise<void>;
  exportIndex(options?: { dtype?: 'f16' | 'f32'; thumbnails?: boolean } & CallOptions): Promise<Blob>;
  importIndex(file: Blob | ArrayBuffer | ArrayBufferView): Promise<{ added: number; skipped: number }>;
  pause(): void;
  resume(): void;
  addEventListener<K extends keyof SiglipSearchEventMap>(
    type: K,
    listener: (this: SiglipSearch, ev: SiglipSearchEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'siglip-classifier': SiglipClassifier;
    'siglip-search': SiglipSearch;
  }
}
