// @ts-check
// Retrieval in the page: a Library is a named, persistent collection of images embedded by one
// model, searched by text, by image ("more like this") or both. The embeddings, the store and
// the work live in the model worker (worker-library.js); the page keeps the records (names,
// sizes, hashes: a few hundred bytes each) and fetches the thumbnails it shows.
//
//   import { openLibrary } from 'siglip-web';
//   const photos = await openLibrary({ src: 'hf:google/siglip-base-patch16-224', name: 'photos' });
//   await photos.add(input.files, { onProgress: (p) => console.log(p.done, p.total) });
//   const hits = await photos.search('the dog at the beach');   // [{id, record, score, logit, cosine}]

import { namedError } from './errors.js';
import { persistStorage } from './cache.js';
import { abortable, absolute, imagePayload, openLoaded } from './client.js';

let nextJob = 1;

/**
 * Whether a query image is `{id}`, an image of the library (not an image source to embed).
 * @param {any} image
 */
export function isLibraryImage(image) {
  return typeof image === 'object' && image !== null && typeof image.id === 'string' && !(image instanceof Blob);
}

/** An image source for `add`: a File/Blob, or a URL. @typedef {Blob | string | URL} LibrarySource */

/**
 * Opens (or creates) the library `name` of a model, stored in this browser under that name and
 * the model (the same name with another model is another library). Model options are
 * createClassifier's; the model is shared with every element and classifier of the same `src`.
 * `persist: false` keeps the library in memory only. `signal` cancels opening it (an AbortError).
 * @param {any} options
 * @returns {Promise<Library>}
 */
export async function openLibrary(options) {
  const { src, name = 'default', persist = true, textMasking = 'auto', maxNumPatches, onProgress, signal, ...model } = options ?? {};
  if (!src) throw namedError('StateError', 'openLibrary needs `src`: hf:owner/name, or the URL of a model file made by `siglip quantize`');
  const { handle } = await openLoaded({ src, ...model, onProgress }, signal);
  try {
    const library = new Library(handle, name, { textMasking, maxNumPatches });
    await abortable(library.reopen(persist), signal);
    return library;
  } catch (err) {
    handle.release();
    throw err;
  }
}

/** A library of images. Create with {@link openLibrary} (or the `library` of `<siglip-search>`). */
export class Library extends EventTarget {
  #handle;
  #jobs = new Set();
  /** @type {Map<string, any>} records by id, in the order they were added */
  #records = new Map();

  /**
   * @param {any} handle a ModelHandle (client.js)
   * @param {string} name
   * @param {{textMasking?: string, maxNumPatches?: number, ownsHandle?: boolean}} [options]
   */
  constructor(handle, name, { textMasking = 'auto', maxNumPatches, ownsHandle = true } = {}) {
    super();
    this.#handle = handle;
    /** The library's name. */
    this.name = name;
    /** How query texts treat padding (see createClassifier). */
    this.textMasking = textMasking;
    /** SigLIP 2 NaFlex: the patch budget images are embedded with. */
    this.maxNumPatches = maxNumPatches;
    /** The model the embeddings belong to (the index file's `model`). */
    this.identity = null;
    /** Whether the library is stored in this browser (false: in memory only, see `warning`). */
    this.persistent = false;
    /** Why the library is not (or not entirely) stored, or what could not be read; else null. */
    this.warning = null;
    /**
     * Work an earlier visit left unfinished: `{urls, files}` (URLs can be resumed with
     * resumePending(); files must be added again, which skips those already indexed).
     */
    this.pending = { urls: 0, files: /** @type {string[]} */ ([]) };
    this.ownsHandle = ownsHandle;
  }

  /** @param {string} type @param {object} payload @param {any} [options] */
  #call(type, payload, options) {
    return this.#handle.request(type, { name: this.name, ...payload }, options);
  }

  /** (Re)opens the library in the worker and reads its records. @internal */
  async reopen(persist = true) {
    const r = await this.#call('libraryOpen', { persist });
    this.identity = r.identity;
    this.#setStorage(r.persistent, r.warning);
    this.pending = r.pending;
    this.#records = new Map(r.records.map((rec) => [rec.id, rec]));
    return this;
  }

  #setStorage(persistent, warning) {
    const changed = persistent !== this.persistent || warning !== this.warning;
    this.persistent = persistent;
    this.warning = warning ?? null;
    if (changed) this.dispatchEvent(new CustomEvent('storage', { detail: { persistent, warning: this.warning } }));
  }

  /** Number of images. */
  get size() {
    return this.#records.size;
  }

  /** Every record (`{id, name, path, size, mtime_ms, sha256, grid}`), in the order added. */
  records() {
    return [...this.#records.values()];
  }

  /** The record of an id, or undefined. @param {string} id */
  get(id) {
    return this.#records.get(id);
  }

  /**
   * Adds images (Files, Blobs, URLs; a folder's files from `<input webkitdirectory>`): each is
   * hashed and skipped when its content is indexed already, else embedded, thumbnailed and
   * stored. Resolves with `{added, skipped, failed: [{name, error}]}`. `signal` cancels (the
   * images done are kept; rejects with an AbortError carrying `result`); `onProgress` gets
   * `{done, total, added, skipped, failed, perSecond, etaSeconds, paused, record}` per image.
   * @param {Iterable<LibrarySource> | ArrayLike<LibrarySource>} sources
   * @param {{signal?: AbortSignal, onProgress?: (p: any) => void}} [options]
   */
  async add(sources, { signal, onProgress } = {}) {
    const items = [];
    for (const s of Array.from(/** @type {any} */ (sources))) {
      if (s instanceof Blob) {
        const type = s.type;
        if (type && !type.startsWith('image/')) continue; // not an image: skipped, as the CLI does
        items.push({ kind: 'blob', blob: s });
      } else if (typeof s === 'string' || s instanceof URL) items.push({ kind: 'url', url: /** @type {string} */ (absolute(String(s))) });
      else throw namedError('InputError', 'add() takes Files, Blobs and URLs');
    }
    return this.#run({ items }, signal, onProgress);
  }

  /**
   * Resumes the URLs an earlier visit left unfinished (see `pending`).
   * @param {{signal?: AbortSignal, onProgress?: (p: any) => void}} [options]
   */
  resumePending({ signal, onProgress } = {}) {
    return this.#run({ resumePending: true }, signal, onProgress);
  }

  async #run(payload, signal, onProgress) {
    if (signal?.aborted) throw namedError('AbortError', 'adding images was cancelled');
    const job = nextJob++;
    this.#jobs.add(job);
    const cancel = () => this.#control(job, 'cancel');
    signal?.addEventListener('abort', cancel, { once: true });
    const progress = (/** @type {any} */ p) => {
      if (p.record && !this.#records.has(p.record.id)) {
        this.#records.set(p.record.id, p.record);
        this.dispatchEvent(new CustomEvent('add', { detail: { record: p.record } }));
      }
      if (p.persistent !== undefined) this.#setStorage(p.persistent, p.warning);
      const { id: _id, type: _type, job: _job, persistent: _p, warning: _w, ...detail } = p;
      this.dispatchEvent(new CustomEvent('progress', { detail }));
      onProgress?.(detail);
    };
    try {
      const result = await this.#call('libraryAdd', { ...payload, job, maxNumPatches: this.maxNumPatches }, { onProgress: progress });
      if (payload.resumePending) this.pending = { ...this.pending, urls: 0 };
      if (result.cancelled) {
        const err = namedError('AbortError', 'adding images was cancelled');
        Object.assign(err, { result });
        throw err;
      }
      return result;
    } finally {
      signal?.removeEventListener('abort', cancel);
      this.#jobs.delete(job);
    }
  }

  #control(job, action) {
    return this.#handle.request('libraryControl', { job, action }).catch(() => {});
  }

  /** Pauses the images being added (they resume with resume()). */
  pause() {
    for (const job of this.#jobs) this.#control(job, 'pause');
  }

  resume() {
    for (const job of this.#jobs) this.#control(job, 'resume');
  }

  /** Cancels the images being added (those done are kept; `add` rejects with an AbortError). */
  cancel() {
    for (const job of this.#jobs) this.#control(job, 'cancel');
  }

  /** Whether images are being added. */
  get busy() {
    return this.#jobs.size > 0;
  }

  /**
   * The best matches, best first: `[{id, record, score, logit, cosine}]`. `query` is a text, or
   * `{text?, image?}` where `image` is an image source or `{id}` of an image in the library
   * (both: their embeddings are summed). `score` is SigLIP's sigmoid(exp(logit_scale) * cosine
   * + logit_bias).
   * `signal` cancels it (an AbortError).
   * @param {string | {text?: string, image?: any}} query
   * @param {{topK?: number, signal?: AbortSignal}} [options]
   */
  async search(query, { topK = 50, signal } = {}) {
    const { text, image } = typeof query === 'string' ? { text: query, image: undefined } : query ?? {};
    let payload = image;
    let transfer = [];
    if (image && !isLibraryImage(image)) {
      ({ payload, transfer } = await imagePayload(image, signal));
    }
    const r = await this.#call('librarySearch', { text: text || undefined, image: payload, topK, textMasking: this.textMasking, maxNumPatches: this.maxNumPatches }, { transfer, signal });
    return r.hits.map((/** @type {any} */ h) => ({ ...h, record: this.#records.get(h.id) }));
  }

  /**
   * Thumbnails (small JPEGs) of these ids: a Map id -> Blob for those that have one.
   * @param {string[]} ids
   * @param {{signal?: AbortSignal}} [options]
   */
  async thumbnails(ids, { signal } = {}) {
    const { thumbnails } = await this.#call('libraryThumbnails', { ids }, { signal });
    return new Map(Object.entries(thumbnails));
  }

  /** Removes images by id. @param {string | string[]} ids */
  async remove(ids) {
    const list = Array.isArray(ids) ? ids : [ids];
    const r = await this.#call('libraryRemove', { ids: list });
    for (const id of list) this.#records.delete(id);
    this.dispatchEvent(new CustomEvent('remove', { detail: { ids: list } }));
    return r.removed;
  }

  /** Removes every image (from the store too). */
  async clear() {
    await this.#call('libraryClear', {});
    this.#records.clear();
    this.pending = { urls: 0, files: [] };
    this.dispatchEvent(new CustomEvent('clear'));
  }

  /**
   * The library as an index file (docs/index-format.md), the one `siglip search` reads:
   * embeddings as `dtype` (`f16`, half the size, or `f32`), thumbnails included. `signal`
   * cancels it (an AbortError).
   * @param {{dtype?: 'f16' | 'f32', thumbnails?: boolean, signal?: AbortSignal}} [options]
   * @returns {Promise<Blob>}
   */
  async export({ dtype = 'f16', thumbnails = true, signal } = {}) {
    const { bytes } = await this.#call('libraryExport', { dtype, thumbnails }, { signal });
    return new Blob([bytes], { type: 'application/octet-stream' });
  }

  /**
   * Adds the images of an index file (made by `siglip index`, or exported from another
   * browser) that the library lacks: `{added, skipped}`. A file made with another model is a
   * ModelMismatchError; a damaged one an IndexError.
   * @param {Blob | ArrayBuffer | ArrayBufferView} file
   */
  async import(file) {
    const bytes = file instanceof Blob
      ? await file.arrayBuffer()
      : ArrayBuffer.isView(file)
        ? file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength)
        : file.slice(0);
    const r = await this.#call('libraryImport', { bytes }, { transfer: [bytes] });
    for (const rec of r.records) {
      this.#records.set(rec.id, rec);
      this.dispatchEvent(new CustomEvent('add', { detail: { record: rec } }));
    }
    this.#setStorage(r.persistent, r.warning);
    return { added: r.added, skipped: r.skipped };
  }

  /** `{persistent, persisted, usage, quota}`: whether the library is stored, and the site's storage. */
  storage() {
    return this.#call('libraryStorage', {});
  }

  /**
   * Asks the browser to keep this site's storage (`navigator.storage.persist()`: not evicted
   * under storage pressure, nor by Safari after 7 days without a visit). Resolves with whether
   * it will.
   */
  persist() {
    return persistStorage();
  }

  /** Lets the model go (when this library opened it): work in flight rejects with an AbortError. */
  dispose() {
    if (this.ownsHandle) this.#handle.release();
  }
}
