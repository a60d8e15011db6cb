// @ts-check
// The page side of the worker protocol (protocol.js describes it; siglip-worker.js answers):
// request ids, transferred buffers, real Errors, one worker and model shared by everything on
// the page that opens the same model (openModel), and turning any image source the page has
// into bytes or RGBA pixels for the worker.

import { aborted, namedError, toError } from './errors.js';
import { DEFAULT_DTYPE, DEFAULT_HUB, DISPOSED, WORKER_FILES, isCheckpointSource, isHubSource } from './protocol.js';

/** @typedef {import('./protocol.js').Requests} Requests */
/** @typedef {import('./protocol.js').RequestType} RequestType */
/** @typedef {import('./protocol.js').WorkerMessage} WorkerMessage */
/** @typedef {import('./protocol.js').ImagePayload} ImagePayload */
/** @typedef {import('./protocol.js').LoadRequest} LoadRequest */
/** @typedef {import('./protocol.js').LoadReply} LoadReply */
/** @typedef {import('./protocol.js').ProgressDetail} ProgressDetail */
/** @typedef {import('./protocol.js').TextMasking} TextMasking */
/** @typedef {import('./protocol.js').WasmVariant} WasmVariant */
/** @typedef {import('./protocol.js').StorageDtype} StorageDtype */

/**
 * The packaged worker, next to this module. The usual case is written out literally, so that
 * bundlers (webpack, Vite) see the pattern and emit the worker. Two cases need a detour:
 * - this module on another origin (the package on a CDN): started through workerAt;
 * - Vite 5-7's dev server, which pre-bundles this module into node_modules/.vite/deps/, away
 *   from the worker: the worker is taken from the package's own directory.
 * (`import.meta.url` is only looked at when it is an http(s) URL: webpack replaces it with a
 * file: URL at build time, and its own rewrite of the pattern below is what must run.)
 */
function packagedWorker() {
  const here = new URL(import.meta.url);
  if (here.protocol === 'http:' || here.protocol === 'https:') {
    // (Where the package is not under the Vite root's node_modules, e.g. hoisted in a
    // monorepo, this misses; the error then points to the plugin.)
    if (here.pathname.includes('/node_modules/.vite/deps/')) return workerAt(new URL('../../siglip-web/siglip-worker.js', here).href);
    if (here.origin !== location.origin) return workerAt(new URL('siglip-worker.js', here).href);
  }
  return { worker: new Worker(new URL('./siglip-worker.js', import.meta.url), { type: 'module' }), blob: null, url: null };
}

/**
 * A worker from `workerUrl`. Browsers only start same-origin worker scripts, so one on another
 * origin (a CDN) is imported by a tiny same-origin module (a blob URL), which needs CORS on the
 * CDN; the worker then finds its wasm relative to that URL.
 */
function workerAt(workerUrl) {
  const url = new URL(workerUrl, document.baseURI);
  if (url.origin === location.origin) return { worker: new Worker(url, { type: 'module' }), blob: null, url: url.href };
  const blob = URL.createObjectURL(new Blob([`import ${JSON.stringify(url.href)};\n`], { type: 'text/javascript' }));
  return { worker: new Worker(blob, { type: 'module' }), blob, url: url.href };
}

/** Why a worker failed, with the fix when the cause is known. */
function workerFailure(event, workerUrl, started, tried) {
  const detail = event?.message ? `: ${event.message}` : '';
  if (started) return namedError('WorkerError', `the model worker crashed${detail}`);
  if (workerUrl) return namedError('WorkerError', `the model worker failed to start (${workerUrl})${detail}`);
  const here = String(import.meta.url);
  const url = tried ?? (/^https?:/.test(here) ? new URL('siglip-worker.js', here).href : 'siglip-worker.js');
  let message = `the model worker failed to start (${url})${detail}. `;
  if (here.includes('/.vite/deps/')) {
    message +=
      "Vite's dependency pre-bundling moved siglip-web away from its worker file: add the plugin" +
      " (`import siglip from 'siglip-web/vite'; plugins: [siglip()]`) or `optimizeDeps: { exclude: ['siglip-web'] }` to vite.config";
  } else {
    message +=
      'If a bundler built this page, it did not emit the worker: run `npx siglip-web copy-worker DIST` after it' +
      ` (it copies ${WORKER_FILES.join(', ')} of siglip-web next to the bundle),` +
      ' or set workerUrl to where they are served (see Bundlers in its README)';
  }
  return namedError('WorkerError', message);
}

/** One worker and the requests in flight to it. */
export class SiglipClient {
  #worker;
  #blob = null;
  #nextId = 1;
  #pending = new Map();
  /** @type {Map<number, (stored: boolean) => void>} id of a load that replied caching: true -> its onCached */
  #onCached = new Map();
  #started = false; // whether the worker ever answered
  #dead = null; // the Error every request gets once the worker died or was disposed
  #onDead;

  /** @param {{workerUrl?: string, onDead?: (err: Error) => void}} [options] */
  constructor({ workerUrl, onDead } = {}) {
    this.#onDead = onDead;
    let tried;
    ({ worker: this.#worker, blob: this.#blob, url: tried } = workerUrl ? workerAt(workerUrl) : packagedWorker());
    this.#worker.onmessage = (event) => this.#onMessage(event.data);
    // A worker script that does not load, or an error nothing caught, ends the worker: every
    // request in flight and every later one fails with it (none is left waiting).
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#die(workerFailure(event, workerUrl, this.#started, tried));
    };
    this.#worker.onmessageerror = () => this.#die(namedError('WorkerError', 'a message from the model worker could not be read'));
  }

  /** False once the worker died or was disposed. */
  get alive() {
    return this.#dead === null;
  }

  /** @param {WorkerMessage} msg */
  #onMessage(msg) {
    this.#started = true;
    if (!msg) return;
    if ('type' in msg && msg.type === 'cached') {
      this.#onCached.get(msg.id)?.(msg.stored);
      this.#onCached.delete(msg.id);
      return;
    }
    const entry = this.#pending.get(msg.id);
    if (!entry) return;
    if ('type' in msg) {
      const { id, type, ...progress } = msg;
      entry.onProgress?.(progress);
      return;
    }
    this.#pending.delete(msg.id);
    if (msg.ok === false) {
      entry.reject(toError(msg.error));
      return;
    }
    if ('caching' in msg.result && msg.result.caching && entry.onCached) this.#onCached.set(msg.id, entry.onCached);
    entry.resolve(msg.result);
  }

  #die(err) {
    if (this.#dead) return;
    this.#dead = err;
    this.#worker.terminate();
    if (this.#blob) URL.revokeObjectURL(this.#blob);
    for (const entry of this.#pending.values()) entry.reject(err);
    this.#pending.clear();
    for (const settle of this.#onCached.values()) settle(false);
    this.#onCached.clear();
    this.#onDead?.(err);
  }

  /**
   * @template {RequestType} T
   * @param {T} type
   * @param {Requests[T]['payload']} payload
   * @param {Transferable[]} [transfer]
   * @param {(p: ProgressDetail) => void} [onProgress]
   * @param {(stored: boolean) => void} [onCached]
   * @returns {Promise<Requests[T]['reply']>}
   */
  #request(type, payload, transfer = [], onProgress, onCached) {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress, onCached });
      this.#worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  /**
   * Loads a model into the worker (replacing any model it holds; a worker runs one wasm build,
   * chosen by its first load). URLs are absolute (see modelIdentity).
   * `onCached(stored)` is called once the model file's place in the persistent cache is
   * settled: at once with true when it was read from there, else after the load resolved
   * (the download is cached in the background) with whether it was written.
   * @param {LoadRequest} request
   * @param {{onProgress?: (p: ProgressDetail) => void, onCached?: (stored: boolean) => void}} [callbacks]
   * @returns {Promise<LoadReply>}
   */
  load(request, { onProgress, onCached } = {}) {
    /** @param {boolean} stored */
    const settled = (stored) => {
      onCached?.(stored);
      onCached = null;
    };
    const loading = this.#request('load', request, [], onProgress, settled);
    loading.then(
      (r) => r.caching || settled(r.fromCache),
      () => settled(false),
    );
    return loading;
  }

  // The other requests, one method each (protocol.js says what each does and answers).
  // `textMasking`: one of TEXT_MASKINGS (default 'auto'); `maxNumPatches`: SigLIP 2 NaFlex's patch
  // budget per image (default: the checkpoint's; other models ignore it).

  /** The image tower, then the labels scored: `{results, embedding, grid, ms}`. `signal` stops fetching a URL. */
  async classify(image, labels, template, textMasking, maxNumPatches, signal) {
    const { payload, transfer } = await imagePayload(image, signal);
    return this.#request('classify', { image: payload, labels: [...labels], template, textMasking, maxNumPatches }, transfer);
  }

  /** Scores labels for an image embedding from classify()/embedImage(): text tower only. */
  score(embedding, labels, template, textMasking) {
    return this.#request('score', { embedding, labels: [...labels], template, textMasking });
  }

  /** `{embedding, grid, ms}`. `signal` stops fetching a URL. */
  async embedImage(image, maxNumPatches, signal) {
    const { payload, transfer } = await imagePayload(image, signal);
    return this.#request('embedImage', { image: payload, maxNumPatches }, transfer);
  }

  /** `{embeddings, dim}`: the texts' embeddings concatenated (the worker's reply). */
  embedText(texts, textMasking) {
    return this.#request('embedText', { texts: [...texts], textMasking });
  }

  /**
   * Ranks image embeddings for a query (used verbatim): `{ranking: [{index, score, logit}], ms}`,
   * best first.
   * @param {string} query
   * @param {Float32Array[]} embeddings
   * @param {TextMasking} [textMasking]
   */
  rank(query, embeddings, textMasking) {
    const flat = new Float32Array(embeddings.reduce((n, e) => n + e.length, 0));
    let offset = 0;
    for (const e of embeddings) {
      flat.set(e, offset);
      offset += e.length;
    }
    return this.#request('rank', { query, embeddings: flat, textMasking });
  }

  /** `{wasmMemoryBytes, cachedTexts}`: the worker's wasm memory size and cached text embeddings (for benchmarks). */
  stats() {
    return this.#request('stats', {});
  }

  /**
   * Any request of the protocol (the library's, library.js): its reply.
   * @template {RequestType} T
   * @param {T} type
   * @param {Requests[T]['payload']} payload
   * @param {{transfer?: Transferable[], onProgress?: (p: any) => void}} [options]
   * @returns {Promise<Requests[T]['reply']>}
   */
  request(type, payload, { transfer = [], onProgress } = {}) {
    return this.#request(type, payload, transfer, onProgress);
  }

  /** Terminates the worker; requests in flight fail with an AbortError. */
  dispose() {
    this.#die(namedError('AbortError', DISPOSED));
  }
}

// ---- One model per page ----------------------------------------------------------------

/**
 * The options that decide which model is loaded (what openModel takes, with a progress
 * listener). `src` is a packed file's URL or `hf:owner/name[@revision]` (a Hub model, from
 * `hub`, converted to `dtype` as it downloads).
 * @typedef {object} ModelOptions
 * @property {string} src
 * @property {string} [integrity]
 * @property {WasmVariant} [variant]
 * @property {string} [workerUrl]
 * @property {string} [wasmUrl]
 * @property {string} [hub]
 * @property {StorageDtype} [dtype]
 * @property {boolean} [cache] false: the persistent model cache is neither read nor written.
 */

/**
 * Throws an UnsupportedError outside a browser page: the model runs in a Web Worker. Importing
 * the package anywhere is fine (a server-side render imports it); loading a model is not.
 */
function requireBrowser() {
  if (typeof Worker === 'undefined' || typeof document === 'undefined') {
    throw namedError(
      'UnsupportedError',
      'siglip-web loads models in a browser page (it needs Web Workers and a document): in a server-side render, load it on the client (e.g. in onMount, useEffect or a client-only component)',
    );
  }
}

/**
 * `url` made absolute against the page (undefined stays undefined).
 * @param {string | undefined} url
 */
export const absolute = (url) => (url ? new URL(url, document.baseURI).href : undefined);

/**
 * What identifies a model on the page: the options that decide what is loaded, as the load uses
 * them (URLs made absolute against the page, `wasmUrl` a directory, defaults filled in; `hub`
 * only for `hf:` models and `dtype` only for checkpoints, `hf:` or a folder, the only ones they
 * change; `cache: false` too, so that a load without the cache never shares a model read from it
 * or leaves one for a load that wants it cached). Everything opened with the same
 * `key` shares one worker and one model (openModel); an element loads again when its key
 * changes. Throws (a TypeError) for a URL that cannot be parsed.
 * @param {ModelOptions} options
 * @returns {{key: string, request: LoadRequest, workerUrl: string | undefined}}
 */
export function modelIdentity({ src, integrity, variant = 'auto', workerUrl, wasmUrl, hub, dtype, cache = true }) {
  const hubModel = isHubSource(src);
  const url = hubModel ? src : absolute(src);
  // Decided on the URL the worker gets (as the worker decides it): a folder ends in `/`.
  const checkpoint = isCheckpointSource(url);
  let wasm = absolute(wasmUrl);
  if (wasm && !wasm.endsWith('/')) wasm += '/';
  /** @type {LoadRequest} */
  const request = {
    url,
    integrity: integrity || undefined,
    variant,
    wasmUrl: wasm,
    hub: hubModel ? (hub ? absolute(hub) : DEFAULT_HUB).replace(/\/+$/, '') : undefined,
    dtype: checkpoint ? dtype ?? DEFAULT_DTYPE : undefined,
    cache: cache === false ? false : undefined,
  };
  const worker = absolute(workerUrl);
  const key = JSON.stringify([request.url, request.integrity, request.variant, worker, request.wasmUrl, request.hub, request.dtype, request.cache]);
  return { key, request, workerUrl: worker };
}

/**
 * `promise`, or an AbortError as soon as `signal` fires (what it was doing goes on).
 * @template T
 * @param {Promise<T>} promise
 * @param {AbortSignal} [signal]
 * @returns {Promise<T>}
 */
export function abortable(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(aborted(signal));
  let onAbort;
  const stopped = new Promise((_, reject) => {
    onAbort = () => reject(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, stopped]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * Open models by what identifies them.
 * @type {Map<string, Shared>}
 * @typedef {{key: string, client: SiglipClient, refs: number, listeners: Set<(p: ProgressDetail) => void>,
 *   loaded: Promise<LoadReply>, progress: ProgressDetail | null, cached: Promise<boolean>}} Shared
 */
const models = new Map();

/**
 * Whether a model is open on the page (loading or loaded) under these options' identity: opening
 * it again shares it, with no download.
 * @param {ModelOptions} options
 */
export function isModelOpen(options) {
  return models.has(modelIdentity(options).key);
}

/**
 * openModel, then its load: `{handle, loaded}` (the load's reply). The handle is released when
 * the load fails or `signal` fires first (the download stops unless another user shares it).
 * @param {ModelOptions & {onProgress?: (p: ProgressDetail) => void}} options
 * @param {AbortSignal} [signal]
 */
export async function openLoaded(options, signal) {
  const handle = openModel(options);
  try {
    return { handle, loaded: await abortable(handle.ready, signal) };
  } catch (err) {
    handle.release();
    throw err;
  }
}

/**
 * A use of a model that everything on the page opening the same model (see modelIdentity)
 * shares: one worker, one download, one copy in memory. Each `openModel` is one reference;
 * {@link ModelHandle.release} drops it and the last one terminates the worker.
 * @param {ModelOptions & {onProgress?: (p: ProgressDetail) => void}} options
 */
export function openModel({ onProgress, ...options }) {
  requireBrowser();
  const { key, request, workerUrl } = modelIdentity(options);
  let shared = models.get(key);
  if (!shared) {
    const forget = () => {
      if (models.get(key) === shared) models.delete(key);
    };
    /** @type {Set<(p: ProgressDetail) => void>} */
    const listeners = new Set();
    const client = new SiglipClient({ workerUrl, onDead: forget });
    let onCached;
    /** @type {Promise<boolean>} */
    const cached = new Promise((resolve) => (onCached = resolve));
    shared = { key, client, refs: 0, listeners, loaded: null, progress: null, cached };
    /** @param {ProgressDetail} p */
    const onLoadProgress = (p) => {
      shared.progress = p;
      listeners.forEach((l) => l(p));
    };
    shared.loaded = client.load(request, { onProgress: onLoadProgress, onCached });
    // A model that failed to load is not shared: the next open tries again.
    shared.loaded.catch(() => {
      forget();
      client.dispose();
    });
    models.set(key, shared);
  }
  return new ModelHandle(shared, onProgress);
}

/**
 * One reference to a shared model (see {@link openModel}), with the worker client's methods;
 * calls wait for the load.
 */
export class ModelHandle {
  #shared;
  #onProgress;
  #pending = new Set();
  #released = false;

  /**
   * @param {Shared} shared
   * @param {(p: ProgressDetail) => void} [onProgress]
   */
  constructor(shared, onProgress) {
    this.#shared = shared;
    this.#onProgress = onProgress;
    shared.refs++;
    if (onProgress) {
      shared.listeners.add(onProgress);
      // Joining a load under way or done: the latest progress, so a progress bar starts right.
      const last = shared.progress;
      if (last) queueMicrotask(() => this.#released || onProgress(last));
    }
    /** Resolves with the load result, or rejects with why the model could not be loaded. */
    this.ready = shared.loaded;
    /**
     * Resolves with whether the model file is in the persistent cache, once that is settled:
     * a downloaded file is written after `ready` (in the background), a cached one already is.
     */
    this.cached = shared.cached;
  }

  /** False once released, or once the worker behind it died. */
  get alive() {
    return !this.#released && this.#shared.client.alive;
  }

  /**
   * Runs `fn(client)` after the load: a StateError at once if this handle was released, an
   * AbortError if it is released meanwhile or if `signal` fires. An aborted call rejects at
   * once and its reply, if the worker already has the request, is dropped when it comes (the
   * worker finishes that step: a call cannot interrupt wasm mid-way), so the model stays usable.
   * @template R
   * @param {(client: SiglipClient) => Promise<R>} fn
   * @param {AbortSignal} [signal]
   * @returns {Promise<R>}
   */
  #use(fn, signal) {
    if (this.#released) return Promise.reject(namedError('StateError', 'this model was released (dispose() was called)'));
    if (signal?.aborted) return Promise.reject(aborted(signal));
    const run = new Promise((resolve, reject) => {
      const entry = { reject };
      this.#pending.add(entry);
      this.#shared.loaded
        .then(() => {
          if (this.#released) throw namedError('AbortError', DISPOSED);
          if (signal?.aborted) throw aborted(signal);
          return fn(this.#shared.client);
        })
        .then(resolve, reject)
        .finally(() => this.#pending.delete(entry));
    });
    return abortable(run, signal);
  }

  // Each takes a last optional AbortSignal (see #use).
  classify(image, labels, template, textMasking, maxNumPatches, signal) { return this.#use((c) => c.classify(image, labels, template, textMasking, maxNumPatches, signal), signal); }
  score(embedding, labels, template, textMasking, signal) { return this.#use((c) => c.score(embedding, labels, template, textMasking), signal); }
  embedImage(image, maxNumPatches, signal) { return this.#use((c) => c.embedImage(image, maxNumPatches, signal), signal); }
  embedText(texts, textMasking, signal) { return this.#use((c) => c.embedText(texts, textMasking), signal); }
  stats() { return this.#use((c) => c.stats()); }

  /**
   * Any request of the protocol, after the load (see SiglipClient.request); `signal` as in #use.
   * @template {RequestType} T
   * @param {T} type
   * @param {Requests[T]['payload']} payload
   * @param {{transfer?: Transferable[], onProgress?: (p: any) => void, signal?: AbortSignal}} [options]
   * @returns {Promise<Requests[T]['reply']>}
   */
  request(type, payload, { signal, ...options } = {}) {
    return this.#use((c) => c.request(type, payload, options), signal);
  }

  /**
   * L2-normalized embeddings of texts (used verbatim), one Float32Array per text.
   * @param {string | string[]} texts
   * @param {TextMasking} [textMasking]
   * @param {AbortSignal} [signal]
   */
  async textEmbeddings(texts, textMasking, signal) {
    const list = Array.isArray(texts) ? texts : [texts];
    const { embeddings, dim } = await this.embedText(list, textMasking, signal);
    return list.map((_, i) => embeddings.slice(i * dim, (i + 1) * dim));
  }

  /**
   * Ranks images for a query (used verbatim): `[{index, score, logit}]`, best first. Images are
   * sources or embeddings (Float32Array, which skip the image tower); the others are embedded
   * one by one (stopping if released or if `signal` fires), then all are ranked in one request.
   * @param {string} query
   * @param {Iterable<any>} images
   * @param {TextMasking} [textMasking]
   * @param {number} [maxNumPatches]
   * @param {AbortSignal} [signal]
   */
  async rankImages(query, images, textMasking, maxNumPatches, signal) {
    const embeddings = [];
    for (const image of images) embeddings.push(image instanceof Float32Array ? image : (await this.embedImage(image, maxNumPatches, signal)).embedding);
    return (await this.#use((c) => c.rank(query, embeddings, textMasking), signal)).ranking;
  }

  /**
   * Drops this reference: its requests still in flight reject with an AbortError (the others'
   * are untouched), and the last reference terminates the worker and frees the model.
   */
  release() {
    if (this.#released) return;
    this.#released = true;
    const aborted = namedError('AbortError', DISPOSED);
    for (const entry of this.#pending) entry.reject(aborted);
    this.#pending.clear();
    const shared = this.#shared;
    if (this.#onProgress) shared.listeners.delete(this.#onProgress);
    if (--shared.refs === 0) {
      if (models.get(shared.key) === shared) models.delete(shared.key);
      shared.client.dispose();
    }
  }
}

let scratch = null;
function scratchContext(width, height) {
  scratch ??= typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
  // Resizing reallocates the canvas: only when the size changes (webcam frames keep theirs).
  if (scratch.width !== width || scratch.height !== height) {
    scratch.width = width;
    scratch.height = height;
  }
  return scratch.getContext('2d', { willReadFrequently: true });
}

/** @typedef {{payload: ImagePayload, transfer: Transferable[]}} Payload */

/**
 * `owned`: the ImageData is ours (read from the scratch canvas), so its buffer moves as is.
 * @param {ImageData} imageData
 * @returns {Payload}
 */
function rgbaPayload(imageData, owned = false) {
  // The caller's ImageData is copied, since transferring detaches it.
  const data = owned ? imageData.data : new Uint8Array(imageData.data.buffer.slice(0));
  return {
    payload: { kind: 'rgba', width: imageData.width, height: imageData.height, data: data.buffer },
    transfer: [data.buffer],
  };
}

/**
 * Turns an image source into what the worker decodes: encoded bytes (Blob, File, URL string,
 * ArrayBuffer) go to Rust untouched, so they are decoded like the reference decodes files;
 * already-decoded sources (ImageData, ImageBitmap, <img>, <canvas>, <video>) become RGBA.
 * `signal` cancels fetching a URL (an AbortError).
 * @param {any} image
 * @param {AbortSignal} [signal]
 * @returns {Promise<Payload>}
 */
export async function imagePayload(image, signal) {
  if (image == null) throw namedError('ImageError', 'no image given');
  if (typeof image === 'string' || image instanceof URL) {
    let response;
    try {
      response = await fetch(image, { signal });
    } catch (err) {
      if (signal?.aborted) throw aborted(signal);
      throw namedError('NetworkError', `could not fetch the image ${image}: ${err.message}`);
    }
    if (!response.ok) throw namedError('NetworkError', `could not fetch the image ${image}: HTTP ${response.status}`);
    try {
      image = await response.blob();
    } catch (err) {
      if (signal?.aborted) throw aborted(signal);
      throw namedError('NetworkError', `could not read the image ${image}: ${err.message}`);
    }
  }
  if (image instanceof Blob) {
    const bytes = await image.arrayBuffer();
    return { payload: { kind: 'bytes', bytes }, transfer: [bytes] };
  }
  if (image instanceof ArrayBuffer || ArrayBuffer.isView(image)) {
    const src = image instanceof ArrayBuffer ? new Uint8Array(image) : new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
    const bytes = src.slice().buffer;
    return { payload: { kind: 'bytes', bytes }, transfer: [bytes] };
  }
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) return rgbaPayload(image);
  let width;
  let height;
  if (typeof HTMLVideoElement !== 'undefined' && image instanceof HTMLVideoElement) {
    [width, height] = [image.videoWidth, image.videoHeight];
  } else if (typeof HTMLImageElement !== 'undefined' && image instanceof HTMLImageElement) {
    if (!image.complete) await image.decode();
    [width, height] = [image.naturalWidth, image.naturalHeight];
  } else if (
    (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) ||
    (typeof HTMLCanvasElement !== 'undefined' && image instanceof HTMLCanvasElement) ||
    (typeof OffscreenCanvas !== 'undefined' && image instanceof OffscreenCanvas) ||
    (typeof VideoFrame !== 'undefined' && image instanceof VideoFrame)
  ) {
    const frame = /** @type {any} */ (image); // (a VideoFrame has display sizes only)
    [width, height] = [frame.width ?? frame.displayWidth, frame.height ?? frame.displayHeight];
  } else {
    throw namedError('ImageError', 'unsupported image source; use a Blob, File, URL, ImageData, ImageBitmap, <img>, <canvas> or <video>');
  }
  if (!width || !height) throw namedError('ImageError', 'the image has no pixels yet (not loaded, or a video with no frame)');
  const ctx = scratchContext(width, height);
  ctx.clearRect(0, 0, width, height); // as a fresh canvas: an image with alpha is drawn over nothing
  ctx.drawImage(image, 0, 0, width, height);
  return rgbaPayload(ctx.getImageData(0, 0, width, height), true);
}
