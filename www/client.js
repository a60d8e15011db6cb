// The page side of the worker protocol (see siglip-worker.js): request ids, transferred
// buffers, real Errors, a load promise shared by concurrent callers, and turning any image
// source the page has into bytes or RGBA pixels for the worker.

/** Rebuilds a real Error (with its name) from the worker's `{name, message}`. */
function toError(e) {
  const err = new Error(e?.message ?? 'unknown error');
  err.name = e?.name ?? 'Error';
  return err;
}

export class SiglipClient {
  #worker;
  #nextId = 1;
  #pending = new Map();
  #load = null; // {url, integrity, promise}
  #disposed = false;

  constructor() {
    this.#worker = new Worker(new URL('./siglip-worker.js', import.meta.url), { type: 'module' });
    this.#worker.onmessage = (event) => this.#onMessage(event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault?.();
      this.#failAll(toError({ name: 'WorkerError', message: event.message || 'the model worker failed to start' }));
    };
  }

  #onMessage(msg) {
    const entry = this.#pending.get(msg?.id);
    if (!entry) return;
    if (msg.type === 'progress') {
      entry.onProgress?.(msg);
      return;
    }
    this.#pending.delete(msg.id);
    if (msg.ok) entry.resolve(msg.result);
    else entry.reject(toError(msg.error));
  }

  #failAll(err) {
    for (const entry of this.#pending.values()) entry.reject(err);
    this.#pending.clear();
  }

  #request(type, payload = {}, transfer = [], onProgress) {
    if (this.#disposed) return Promise.reject(toError({ name: 'StateError', message: 'this classifier was disposed' }));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  /**
   * Loads a model file once: calls for the same URL and options while (or after) it loads share
   * one promise. `variant` picks the wasm build ('auto', 'simd128', 'relaxed', 'threads'); a
   * worker runs one build, chosen by its first load.
   * @returns {Promise<{info: object, fromCache: boolean, simd: boolean, build: {variant: string, simd: string, threads: number}, ms: number}>}
   */
  load(url, { integrity, onProgress, variant = 'auto' } = {}) {
    const absolute = new URL(url, document.baseURI).href;
    const same = this.#load;
    if (same && same.url === absolute && same.integrity === integrity && same.variant === variant) {
      if (onProgress) same.listeners.add(onProgress);
      return same.promise;
    }
    const listeners = new Set(onProgress ? [onProgress] : []);
    const promise = this.#request('load', { url: absolute, integrity, variant }, [], (p) => {
      for (const l of listeners) l(p);
    });
    const entry = { url: absolute, integrity, variant, promise, listeners };
    this.#load = entry;
    promise.catch(() => {
      if (this.#load === entry) this.#load = null; // a failed load can be retried
    });
    return promise;
  }

  async classify(image, labels, template) {
    const { payload, transfer } = await imagePayload(image);
    return this.#request('classify', { image: payload, labels: [...labels], template }, transfer);
  }

  /** Scores labels for an image embedding from classify()/embedImage(): text tower only. */
  score(embedding, labels, template) {
    return this.#request('score', { embedding, labels: [...labels], template });
  }

  async embedImage(image) {
    const { payload, transfer } = await imagePayload(image);
    return this.#request('embedImage', { image: payload }, transfer);
  }

  /** `{embeddings, dim}`: the texts' embeddings concatenated (the worker's reply). */
  embedText(texts) {
    return this.#request('embedText', { texts: [...texts] });
  }

  /** L2-normalized embeddings of texts (used verbatim), one Float32Array per text. */
  async textEmbeddings(texts) {
    const list = Array.isArray(texts) ? texts : [texts];
    const { embeddings, dim } = await this.embedText(list);
    return list.map((_, i) => embeddings.slice(i * dim, (i + 1) * dim));
  }

  /**
   * Ranks images for a query (used verbatim): `[{index, score, logit}]`, best first. Images are
   * sources or embeddings (Float32Array, which skip the image tower).
   */
  async rankImages(query, images) {
    const embeddings = [];
    for (const image of images) {
      embeddings.push(image instanceof Float32Array ? image : (await this.embedImage(image)).embedding);
    }
    const flat = new Float32Array(embeddings.reduce((n, e) => n + e.length, 0));
    let offset = 0;
    for (const e of embeddings) {
      flat.set(e, offset);
      offset += e.length;
    }
    return (await this.#request('rank', { query, embeddings: flat })).ranking;
  }

  /** `{wasmMemoryBytes}`: the size of the worker's wasm memory (for benchmarks). */
  stats() {
    return this.#request('stats');
  }

  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#worker.terminate();
    this.#failAll(toError({ name: 'AbortError', message: 'the classifier was disposed' }));
    this.#load = null;
  }
}

let scratch = null;
function scratchContext(width, height) {
  scratch ??= typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
  scratch.width = width;
  scratch.height = height;
  return scratch.getContext('2d', { willReadFrequently: true });
}

function rgbaPayload(imageData) {
  const data = new Uint8Array(imageData.data.buffer.slice(0)); // a copy we may transfer
  return {
    payload: { kind: 'rgba', width: imageData.width, height: imageData.height, data: data.buffer },
    transfer: [data.buffer],
  };
}

/**
 * Turns an image source into what the worker decodes: encoded bytes (Blob, File, URL string,
 * ArrayBuffer) go to Rust untouched, so they are decoded like the reference decodes files;
 * already-decoded sources (ImageData, ImageBitmap, <img>, <canvas>, <video>) become RGBA.
 */
export async function imagePayload(image) {
  if (image == null) throw toError({ name: 'ImageError', message: 'no image given' });
  if (typeof image === 'string' || image instanceof URL) {
    let response;
    try {
      response = await fetch(image);
    } catch (err) {
      throw toError({ name: 'NetworkError', message: `could not fetch the image ${image}: ${err.message}` });
    }
    if (!response.ok) throw toError({ name: 'NetworkError', message: `could not fetch the image ${image}: HTTP ${response.status}` });
    image = await response.blob();
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
    [width, height] = [image.width ?? image.displayWidth, image.height ?? image.displayHeight];
  } else {
    throw toError({ name: 'ImageError', message: 'unsupported image source; use a Blob, File, URL, ImageData, ImageBitmap, <img>, <canvas> or <video>' });
  }
  if (!width || !height) throw toError({ name: 'ImageError', message: 'the image has no pixels yet (not loaded, or a video with no frame)' });
  const ctx = scratchContext(width, height);
  ctx.drawImage(image, 0, 0, width, height);
  return rgbaPayload(ctx.getImageData(0, 0, width, height));
}
