// @ts-check
// Retrieval libraries in the model worker: each one a wasm Library (image embeddings as f16
// rows, searched in place) backed by the persistent store (store.js), so the page holds only
// records and the thumbnails it shows. Adding images is a background job: each image is read,
// hashed (SHA-256, so content already indexed is skipped), embedded in the worker's request
// queue (a search typed meanwhile runs between two images), thumbnailed (decoded by the
// browser off the main thread, 192 px, JPEG) and committed in one store transaction; the job can
// be paused, resumed and cancelled, and its unfinished items are recorded so that a reload can
// say what is left (and restart URLs by itself).

import { namedError } from './errors.js';
import { LibraryStore, MemoryStore, OverflowStore, isQuotaError, storageError, storageEstimate } from './store.js';

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 192;

/** @typedef {import('./protocol.js').LibraryItem} LibraryItem */
/** @typedef {import('./protocol.js').LibraryAddRequest} LibraryAddRequest */
/** @typedef {import('./protocol.js').LibraryAddReply} LibraryAddReply */
/** @typedef {import('./protocol.js').LibrarySearchRequest} LibrarySearchRequest */
/** @typedef {import('./protocol.js').LibrarySearchReply} LibrarySearchReply */

/**
 * @typedef {object} LibraryState
 * @property {string} name
 * @property {any} lib the wasm Library
 * @property {any} store a LibraryStore or MemoryStore
 * @property {object} identity
 * @property {Map<string, object>} records by id
 * @property {Map<string, string>} bySha sha256 -> id
 * @property {Map<string, string>} byFile `${name}|${size}|${mtime}` -> id
 * @property {Set<string>} thumbs ids with a stored thumbnail
 * @property {string | null} warning why the library is kept in memory, or what was skipped
 */

/** @param {string} name @param {number} size @param {number | undefined} mtime */
const fileKey = (name, size, mtime) => `${name}|${size}|${mtime ?? ''}`;

/**
 * The name and path a Blob item is recorded under: a File's own name and its path in a folder
 * picked (`webkitRelativePath`), unless the item says otherwise.
 * @param {{name?: string, path?: string, blob: Blob}} item
 */
function blobNames(item) {
  const b = /** @type {any} */ (item.blob);
  const name = item.name ?? b.name ?? 'image';
  return { name, path: item.path ?? (b.webkitRelativePath || name) };
}

/** @param {ArrayBuffer} digest */
function hex(digest) {
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A small JPEG of the image (the browser decodes it, off the main thread), or null when this
 * browser cannot make one here (no OffscreenCanvas in workers) or cannot decode the image.
 * @param {Blob} blob
 * @returns {Promise<Blob | null>}
 */
export async function makeThumbnail(blob) {
  if (typeof createImageBitmap === 'undefined' || typeof OffscreenCanvas === 'undefined') return null;
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(bitmap.width, bitmap.height));
    const [w, h] = [Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale))];
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    if (!ctx) return null;
    ctx.drawImage(bitmap, 0, 0, w, h);
    return await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.82 });
  } catch {
    return null;
  } finally {
    bitmap?.close();
  }
}

/**
 * The library handlers of the worker.
 * @param {{
 *   model: () => any,
 *   exports: () => Promise<any>,
 *   embed: (bytes: Uint8Array, maxNumPatches?: number) => {embedding: Float32Array, grid: number[]},
 *   queryEmbeddings: (text?: string, textMasking?: string) => Float32Array | null,
 *   imageEmbedding: (image: any, maxNumPatches?: number) => Float32Array,
 *   enqueue: <T>(work: () => T | Promise<T>) => Promise<T>,
 *   post: (message: any, transfer?: Transferable[]) => void,
 *   source: () => string | undefined,
 * }} ctx
 */
export function libraryHandlers(ctx) {
  /** @type {Map<string, LibraryState>} */
  const libraries = new Map();
  /** @type {Map<number, {paused: boolean, cancelled: boolean, wake: (() => void) | null}>} */
  const jobs = new Map();

  /** @param {string} name */
  function need(name) {
    const state = libraries.get(name);
    if (!state) throw namedError('StateError', `the library "${name}" is not open`);
    return state;
  }

  /**
   * Stores an image; on a full quota (or any storage failure) the library goes on in memory,
   * with what is already stored kept, and says so once.
   * @param {LibraryState} state
   */
  async function save(state, record, embedding, thumbnail) {
    try {
      await state.store.put(record, embedding, thumbnail);
    } catch (err) {
      if (!state.store.persistent) throw err;
      const why = storageError(err, 'storing an image failed').message;
      const stored = state.records.size - 1;
      state.warning = `${isQuotaError(err) ? "The browser's storage for this site is full" : why}: the ${stored} image${stored === 1 ? '' : 's'} stored before ${stored === 1 ? 'is' : 'are'} kept, new ones are kept in memory only until this page closes (export the library to keep them).`;
      // Everything from now on lives in memory; what was stored stays stored (and searchable).
      state.store = new OverflowStore(state.store);
      await state.store.put(record, embedding, thumbnail);
    }
  }

  /**
   * One image of a job: `{status: 'added'|'skipped', record}`, or throws why it failed.
   * @param {LibraryState} state
   * @param {LibraryItem} item
   * @param {number | undefined} maxNumPatches
   */
  async function addOne(state, item, maxNumPatches) {
    let blob;
    let { name, path } = /** @type {{name?: string, path?: string}} */ (item);
    if (item.kind === 'url') {
      const url = item.url;
      name ??= decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
      path ??= url;
      let response;
      try {
        response = await fetch(url);
      } catch (err) {
        throw namedError('NetworkError', `could not fetch ${url}: ${err?.message ?? err}`);
      }
      if (!response.ok) throw namedError('NetworkError', `could not fetch ${url}: HTTP ${response.status}`);
      blob = await response.blob();
    } else {
      blob = item.blob;
      ({ name, path } = blobNames(item));
    }
    const mtime = /** @type {any} */ (blob).lastModified;
    // Indexed already (the same file, or the same content elsewhere): at most the thumbnail is
    // missing (an index imported from the CLI has none).
    const skipped = async (id) => {
      if (!state.thumbs.has(id)) {
        const thumb = await makeThumbnail(blob);
        if (thumb) {
          await state.store.putThumbnail(id, thumb).catch(() => {});
          state.thumbs.add(id);
        }
      }
      return { status: 'skipped', record: state.records.get(id) };
    };
    const known = mtime !== undefined ? state.byFile.get(fileKey(path ?? '', blob.size, mtime)) : undefined;
    if (known) return skipped(known);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
    const existing = state.bySha.get(sha256);
    if (existing) return skipped(existing);
    const thumbnail = makeThumbnail(blob); // the browser decodes it while the model runs
    const { embedding, grid } = await ctx.enqueue(() => ctx.embed(bytes, maxNumPatches));
    const record = { id: sha256.slice(0, 16), name, path, size: blob.size, sha256, grid: [grid[0], grid[1]] };
    if (mtime !== undefined) Object.assign(record, { mtime_ms: mtime });
    const thumb = await thumbnail;
    state.lib.insert(JSON.stringify(record), embedding);
    remember(state, record, !!thumb);
    await save(state, record, embedding, thumb);
    return { status: 'added', record };
  }

  /** @param {LibraryState} state */
  function remember(state, record, thumb) {
    state.records.set(record.id, record);
    state.bySha.set(record.sha256, record.id);
    state.byFile.set(fileKey(record.path ?? record.name, record.size, record.mtime_ms), record.id);
    if (thumb) state.thumbs.add(record.id);
  }

  /** @param {LibraryState} state @param {string[]} ids */
  function forget(state, ids) {
    for (const id of ids) {
      const r = state.records.get(id);
      if (!r) continue;
      state.records.delete(id);
      state.bySha.delete(r.sha256);
      state.byFile.delete(fileKey(r.path ?? r.name, r.size, r.mtime_ms));
      state.thumbs.delete(id);
    }
  }

  /** A description of an item that survives a reload (no file contents). */
  function describe(item) {
    if (item.kind === 'url') return { kind: 'url', url: item.url, name: item.name ?? null };
    const b = /** @type {any} */ (item.blob);
    return { kind: 'file', name: item.name ?? b.name ?? null, path: item.path ?? (b.webkitRelativePath || null), size: b.size, mtime: b.lastModified ?? null };
  }

  /**
   * The unfinished work still to do: file entries of earlier jobs whose file is indexed now, or
   * was tried again since (`tried`: its key; an unreadable file fails each time), are done and
   * dropped.
   * @param {LibraryState} state
   * @param {Set<string>} [tried]
   */
  async function reconcile(state, tried = new Set()) {
    const pending = await state.store.pending().catch(() => []);
    const indexed = pending.filter((p) => {
      if (p.item.kind !== 'file') return false;
      const key = fileKey(p.item.path ?? p.item.name ?? '', p.item.size, p.item.mtime ?? undefined);
      return state.byFile.has(key) || tried.has(key);
    });
    if (indexed.length) await state.store.donePending(indexed.map((p) => p.seq)).catch(() => {});
    const done = new Set(indexed.map((p) => p.seq));
    return pending.filter((p) => !done.has(p.seq));
  }

  function pendingSummary(pending) {
    const urls = pending.filter((p) => p.item.kind === 'url').length;
    const files = pending.filter((p) => p.item.kind === 'file').map((p) => p.item.path ?? p.item.name);
    return { urls, files };
  }

  return {
    /** Opens the library `name` of the loaded model (stored under that name and the model). */
    async libraryOpen({ name = 'default', persist = true }) {
      const m = ctx.model();
      const { Library } = await ctx.exports();
      /** @param {LibraryState} s */
      const opened = async (s) => ({ identity: s.identity, records: [...s.records.values()], persistent: s.store.persistent, warning: s.warning, pending: pendingSummary(await reconcile(s)) });
      if (libraries.has(name)) return opened(need(name));
      const lib = new Library(m, ctx.source());
      const identity = JSON.parse(lib.identity());
      let store;
      let warning = null;
      if (persist) {
        try {
          store = await LibraryStore.open(name, identity);
        } catch (err) {
          store = new MemoryStore();
          warning = `${err?.message ?? err}; the library is kept in memory only`;
        }
      } else store = new MemoryStore();
      /** @type {LibraryState} */
      const state = { name, lib, store, identity, records: new Map(), bySha: new Map(), byFile: new Map(), thumbs: new Set(), warning };
      let images = [];
      let damaged = 0;
      try {
        ({ images, damaged } = await store.load(identity.embedding_dim));
      } catch (err) {
        state.warning = storageError(err, 'the stored library could not be read').message;
      }
      let unreadable = damaged;
      for (const { record, embedding } of images) {
        try {
          lib.insert(JSON.stringify(record), embedding);
          remember(state, record, false);
        } catch {
          unreadable++;
        }
      }
      if (unreadable) {
        const note = `${unreadable} stored image${unreadable === 1 ? '' : 's'} could not be read and ${unreadable === 1 ? 'was' : 'were'} left out`;
        state.warning = state.warning ? `${state.warning}; ${note}` : note;
      }
      for (const id of await store.thumbnailIds().catch(() => [])) state.thumbs.add(id);
      libraries.set(name, state);
      return opened(state);
    },

    /**
     * Adds images in the background; replies when the job ends (or is cancelled) with
     * `{added, skipped, failed: [{name, error}], cancelled}`; posts progress for every image.
     */
    /**
     * @param {LibraryAddRequest} request
     * @param {number} id
     * @returns {Promise<LibraryAddReply>}
     */
    async libraryAdd({ name = 'default', items, job, maxNumPatches, resumePending = false }, id) {
      const state = need(name);
      const control = { paused: false, cancelled: false, wake: /** @type {(() => void) | null} */ (null) };
      jobs.set(job, control);
      let work = (items ?? []).map((item) => ({ item, seq: /** @type {number | null} */ (null) }));
      try {
        if (resumePending) {
          const pending = (await state.store.pending()).filter((p) => p.item.kind === 'url');
          work = pending.map((p) => ({ item: { kind: 'url', url: p.item.url, name: p.item.name ?? undefined }, seq: p.seq }));
        } else {
          const seqs = await state.store.addPending(job, work.map((w) => describe(w.item))).catch(() => null);
          if (seqs) work.forEach((w, i) => (w.seq = seqs[i]));
        }
      } catch {
        // Unfinished work is only a convenience: indexing goes on without it.
      }
      const total = work.length;
      const summary = { added: 0, skipped: 0, failed: /** @type {{name: string, error: {name: string, message: string}}[]} */ ([]), cancelled: false };
      const started = performance.now();
      let embeddedMs = 0;
      /** @type {Set<string>} the files this job tried, whatever came of them */
      const tried = new Set();
      for (const [i, { item, seq }] of work.entries()) {
        while (control.paused && !control.cancelled) {
          ctx.post({ id, type: 'progress', job, paused: true, done: i, total, added: summary.added, skipped: summary.skipped, failed: summary.failed.length });
          await new Promise((resolve) => (control.wake = () => resolve(undefined)));
        }
        if (control.cancelled) {
          summary.cancelled = true;
          await state.store.donePending(work.slice(i).map((w) => w.seq).filter((s) => s !== null)).catch(() => {});
          break;
        }
        const t0 = performance.now();
        let record = null;
        try {
          const r = await addOne(state, item, maxNumPatches);
          if (r.status === 'added') {
            summary.added++;
            embeddedMs += performance.now() - t0;
          } else summary.skipped++;
          record = r.record ?? null;
        } catch (err) {
          const label = item.kind === 'url' ? item.url : blobNames(item).path;
          summary.failed.push({ name: label, error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) } });
        }
        if (seq !== null) await state.store.donePending([seq]).catch(() => {});
        if (item.kind === 'blob') tried.add(fileKey(blobNames(item).path, item.blob.size, /** @type {any} */ (item.blob).lastModified));
        const done = i + 1;
        const perSecond = summary.added ? summary.added / (embeddedMs / 1000) : null;
        const elapsed = (performance.now() - started) / 1000;
        const etaSeconds = done < total ? (elapsed / done) * (total - done) : 0;
        ctx.post({
          id, type: 'progress', job, done, total, added: summary.added, skipped: summary.skipped, failed: summary.failed.length,
          perSecond, etaSeconds, record, paused: false, persistent: state.store.persistent, warning: state.warning,
        });
      }
      jobs.delete(job);
      await reconcile(state, tried);
      return summary;
    },

    /** Pauses, resumes or cancels a running add job (answered at once, outside the queue). */
    libraryControl({ job, action }) {
      const control = jobs.get(job);
      if (!control) return { known: false };
      if (action === 'pause') control.paused = true;
      else if (action === 'resume') control.paused = false;
      else if (action === 'cancel') control.cancelled = true;
      else throw namedError('InputError', `unknown action "${action}"; use pause, resume or cancel`);
      if (!control.paused || control.cancelled) control.wake?.();
      return { known: true };
    },

    /** `{hits: [{id, score, logit, cosine}], total, ms}`: the best `topK` for text, image or both. */
    /**
     * @param {LibrarySearchRequest} request
     * @returns {Promise<LibrarySearchReply>}
     */
    librarySearch({ name = 'default', text, image, topK = 50, textMasking, maxNumPatches }) {
      const state = need(name);
      const started = performance.now();
      const t = text ? ctx.queryEmbeddings(text, textMasking) : null;
      let i = null;
      if (image && 'id' in image) {
        i = state.lib.embedding(image.id);
        if (!i) throw namedError('InputError', `no image with id ${image.id} in the library "${name}"`);
      } else if (image) i = ctx.imageEmbedding(image, maxNumPatches);
      return ctx.exports().then(({ combineQuery }) => {
        const q = combineQuery(t ?? undefined, i ?? undefined);
        const hits = JSON.parse(state.lib.search(q, Math.max(0, Math.floor(topK))));
        return { hits: hits.map(({ id, score, logit, cosine }) => ({ id, score, logit, cosine })), total: state.lib.len(), ms: performance.now() - started };
      });
    },

    /** Thumbnails of the ids asked for that have one: `{thumbnails: {id: Blob}}`. */
    async libraryThumbnails({ name = 'default', ids }) {
      const state = need(name);
      /** @type {Record<string, Blob>} */
      const thumbnails = {};
      for (const id of ids ?? []) {
        const blob = await state.store.thumbnail(id).catch(() => null);
        if (blob) thumbnails[id] = blob;
        else state.thumbs.delete(id);
      }
      return { thumbnails };
    },

    async libraryRemove({ name = 'default', ids }) {
      const state = need(name);
      const list = (ids ?? []).filter((id) => state.records.has(id));
      const removed = state.lib.remove(list);
      forget(state, list);
      await state.store.remove(list).catch((err) => {
        throw storageError(err, 'the images were removed here but not from storage');
      });
      return { removed };
    },

    async libraryClear({ name = 'default' }) {
      const state = need(name);
      const { Library } = await ctx.exports();
      state.lib.free();
      state.lib = new Library(ctx.model(), ctx.source());
      forget(state, [...state.records.keys()]);
      await state.store.clear().catch((err) => {
        throw storageError(err, 'the library was cleared here but not in storage');
      });
      return {};
    },

    /** The library as an index file (docs/index-format.md): `{bytes}` (transferred). */
    async libraryExport({ name = 'default', dtype = 'f16', thumbnails = true }) {
      const state = need(name);
      const { Library } = await ctx.exports();
      const out = new Library(ctx.model(), ctx.source(), dtype);
      try {
        // The stored f32 embeddings (the live rows are f16), and the thumbnails.
        const { images } = await state.store.load(state.identity.embedding_dim);
        for (const { record, embedding } of images) {
          if (!state.records.has(record.id)) continue;
          const blob = thumbnails ? await state.store.thumbnail(record.id).catch(() => null) : null;
          const thumb = blob ? new Uint8Array(await blob.arrayBuffer()) : undefined;
          out.insert(JSON.stringify(record), embedding, thumb);
        }
        const bytes = out.toFile(dtype);
        return { bytes, count: out.len(), transfer: [bytes.buffer] };
      } finally {
        out.free();
      }
    },

    /**
     * Adds an index file's images (made by the CLI, or exported elsewhere) that the library
     * lacks: `{added, skipped}`; a file made with another model is a ModelMismatchError.
     */
    async libraryImport({ name = 'default', bytes }) {
      const state = need(name);
      const { Library } = await ctx.exports();
      const file = Library.fromFile(ctx.model(), new Uint8Array(bytes));
      let added = 0;
      let skipped = 0;
      const records = [];
      try {
        for (const record of JSON.parse(file.records())) {
          if (state.records.has(record.id)) {
            skipped++;
            continue;
          }
          const embedding = file.embedding(record.id);
          const thumbBytes = file.thumbnail(record.id);
          const thumb = thumbBytes ? new Blob([thumbBytes], { type: 'image/jpeg' }) : null;
          const { thumbnail: _t, ...plain } = record;
          state.lib.insert(JSON.stringify(plain), embedding);
          remember(state, plain, !!thumb);
          await save(state, plain, embedding, thumb);
          records.push(plain);
          added++;
        }
      } finally {
        file.free();
      }
      return { added, skipped, records, persistent: state.store.persistent, warning: state.warning };
    },

    /** `{persistent, persisted, usage, quota}` of the library's storage. */
    async libraryStorage({ name = 'default' }) {
      const state = need(name);
      return { persistent: state.store.persistent, warning: state.warning, ...(await storageEstimate()) };
    },

    /** Closes every library (the model changed). */
    closeLibraries() {
      for (const s of libraries.values()) s.lib.free();
      libraries.clear();
      for (const c of jobs.values()) {
        c.cancelled = true;
        c.wake?.();
      }
    },
  };
}
