// @ts-check
// The browser's persistent store of retrieval libraries: records, image embeddings, thumbnails
// and unfinished work, in IndexedDB. No DOM: the model worker owns it (the page asks the
// worker), so there is one writer.
//
// Why IndexedDB and not OPFS: a library grows one image at a time and must survive a closed
// tab at any moment; IndexedDB commits each image (record, embedding, thumbnail) in one
// transaction and works in every engine and in windows and workers alike (OPFS' synchronous
// files are fast for one big blob, but need a worker, are not transactional, and Safari's is
// recent). Loading 10,000 records and their embeddings is one getAll.
//
// Thumbnails are stored as bytes, not Blobs: Chromium keeps each stored Blob as a file of its
// own, and writing one cost time in proportion to the Blobs already stored (adding 10,000 images
// took 228 s with Blobs, the thousandth 9 s and the ten-thousandth 37 s; 70 s as bytes, 7 s per
// thousand throughout).
//
// Schema (database `siglip-web`, version STORE_VERSION):
//   libraries  {key, name, fingerprint, identity, created, updated}      key = `${name}\u0000${fingerprint}`
//   images     {library, id, name, path, size, mtime_ms, sha256, grid, added, embedding: Float32Array}
//              key [library, id]; index `bySha` [library, sha256]
//   thumbs     {library, id, bytes: ArrayBuffer, type}                    key [library, id]
//   pending    {library, seq, job, item}                                  key [library, seq]
// A library is keyed by its name *and* the model's fingerprint: the same name with another
// model is another library (their embeddings cannot be mixed).
//
// Failures never lose what is stored: a store that cannot be opened (no IndexedDB, private
// mode, a database written by a newer version) or that runs out of quota hands over to memory
// (MemoryStore, the same interface) with the reason, and a record that cannot be read is
// skipped and counted.

import { namedError } from './errors.js';

export const STORE_VERSION = 1;
const DB_NAME = 'siglip-web';
const STORES = ['libraries', 'images', 'thumbs', 'pending'];

/** A request's result as a promise. */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** A transaction's completion as a promise (rejects with its error, e.g. QuotaExceededError). */
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? namedError('StorageError', 'the browser aborted a storage transaction'));
  });
}

/** Whether an error says the storage quota is exhausted. */
export function isQuotaError(err) {
  return err?.name === 'QuotaExceededError' || /quota/i.test(err?.message ?? '');
}

/** A StorageError that says what happened and what still works. */
export function storageError(err, what) {
  const reason = isQuotaError(err)
    ? "the browser's storage for this site is full"
    : err?.name === 'VersionError'
      ? 'the library was stored by a newer version of siglip-web'
      : err?.name === 'SecurityError' || err?.name === 'InvalidStateError' || err?.name === 'NotSupportedError'
        ? 'this browser does not allow storage here (private browsing, or storage disabled)'
        : `${err?.name ?? 'Error'}: ${err?.message ?? err}`;
  const e = namedError('StorageError', `${what}: ${reason}`);
  return Object.assign(e, { reason: isQuotaError(err) ? 'quota' : err?.name === 'VersionError' ? 'version' : 'unavailable' });
}

let dbPromise = null;

/** The database (opened once per context); rejects with a StorageError. */
function database() {
  dbPromise ??= (async () => {
    if (typeof indexedDB === 'undefined') throw namedError('StorageError', 'this browser has no IndexedDB here');
    let request;
    try {
      request = indexedDB.open(DB_NAME, STORE_VERSION);
    } catch (err) {
      throw storageError(err, 'the library store could not be opened');
    }
    request.onupgradeneeded = (event) => {
      const db = request.result;
      // Version 0 -> 1: everything. Later versions add their steps here, oldest first, so a
      // store written by any older version is brought up to date in place.
      if (event.oldVersion < 1) {
        db.createObjectStore('libraries', { keyPath: 'key' });
        const images = db.createObjectStore('images', { keyPath: ['library', 'id'] });
        images.createIndex('bySha', ['library', 'sha256']);
        db.createObjectStore('thumbs', { keyPath: ['library', 'id'] });
        db.createObjectStore('pending', { keyPath: ['library', 'seq'] });
      }
    };
    let db;
    try {
      db = await done(request);
    } catch (err) {
      throw storageError(err, 'the library store could not be opened');
    }
    const missing = STORES.filter((s) => !db.objectStoreNames.contains(s));
    if (missing.length) {
      db.close();
      throw namedError('StorageError', `the library store is damaged (missing ${missing.join(', ')}); clear this site's data to start over`);
    }
    // Another tab upgrading the schema: let it, and reopen next time.
    db.onversionchange = () => {
      db.close();
      dbPromise = null;
    };
    return db;
  })();
  dbPromise.catch(() => {
    dbPromise = null;
  });
  return dbPromise;
}

/** `[library, lowest, highest]` bounds for a compound key's library part. */
function ofLibrary(key) {
  return IDBKeyRange.bound([key], [key, []]);
}

/** A record as stored, checked: the fields a library needs, an embedding of `dim` floats. */
function checkRecord(value, dim) {
  const e = value?.embedding;
  const embedding = e instanceof Float32Array ? e : e instanceof ArrayBuffer ? new Float32Array(e) : null;
  if (!embedding || embedding.length !== dim || typeof value.id !== 'string' || typeof value.sha256 !== 'string') return null;
  let norm = 0;
  for (const v of embedding) norm += v * v;
  if (!(Math.abs(Math.sqrt(norm) - 1) < 1e-2)) return null;
  const { library: _library, embedding: _embedding, added, ...record } = value;
  return { record, embedding, added: added ?? 0 };
}

/** One library in IndexedDB. Open with {@link LibraryStore.open}. */
export class LibraryStore {
  persistent = true;

  constructor(db, key, meta) {
    this.db = db;
    this.key = key;
    this.meta = meta;
  }

  /** Opens (or creates) the library `name` for the model with this identity. */
  static async open(name, identity) {
    const db = await database();
    const key = `${name}\u0000${identity.fingerprint}`;
    const tx = db.transaction('libraries', 'readwrite');
    const libraries = tx.objectStore('libraries');
    let meta = await done(libraries.get(key));
    if (!meta) {
      meta = { key, name, fingerprint: identity.fingerprint, identity, created: Date.now(), updated: Date.now() };
      libraries.put(meta);
    }
    try {
      await committed(tx);
    } catch (err) {
      throw storageError(err, `the library "${name}" could not be created`);
    }
    return new LibraryStore(db, key, meta);
  }

  /**
   * Every stored image as `{record, embedding}`, and how many stored entries could not be
   * read (skipped, kept in the store untouched).
   */
  async load(dim) {
    const tx = this.db.transaction('images');
    const all = await done(tx.objectStore('images').getAll(ofLibrary(this.key)));
    const images = [];
    let damaged = 0;
    for (const value of all) {
      const checked = checkRecord(value, dim);
      if (checked) images.push(checked);
      else damaged++;
    }
    images.sort((a, b) => a.added - b.added); // in the order they were added
    return { images, damaged };
  }

  /** Stores one image (record, embedding, thumbnail) in one transaction. */
  async put(record, embedding, thumbnail) {
    const bytes = thumbnail ? await thumbnail.arrayBuffer() : null;
    const tx = this.db.transaction(['images', 'thumbs', 'libraries'], 'readwrite');
    tx.objectStore('images').put({ ...record, library: this.key, embedding: new Float32Array(embedding), added: Date.now() });
    if (bytes) tx.objectStore('thumbs').put({ library: this.key, id: record.id, bytes, type: thumbnail.type });
    tx.objectStore('libraries').put({ ...this.meta, updated: Date.now() });
    await committed(tx);
  }

  /** Stores a thumbnail for an image already stored. */
  async putThumbnail(id, blob) {
    const bytes = await blob.arrayBuffer();
    const tx = this.db.transaction('thumbs', 'readwrite');
    tx.objectStore('thumbs').put({ library: this.key, id, bytes, type: blob.type });
    await committed(tx);
  }

  async thumbnail(id) {
    const tx = this.db.transaction('thumbs');
    const t = await done(tx.objectStore('thumbs').get([this.key, id]));
    return t?.bytes ? new Blob([t.bytes], { type: t.type }) : null;
  }

  /** The ids that have a thumbnail. */
  async thumbnailIds() {
    const tx = this.db.transaction('thumbs');
    return (await done(tx.objectStore('thumbs').getAllKeys(ofLibrary(this.key)))).map((k) => k[1]);
  }

  async remove(ids) {
    const tx = this.db.transaction(['images', 'thumbs'], 'readwrite');
    for (const id of ids) {
      tx.objectStore('images').delete([this.key, id]);
      tx.objectStore('thumbs').delete([this.key, id]);
    }
    await committed(tx);
  }

  /** Removes every image of this library (and its unfinished work); the library stays. */
  async clear() {
    const tx = this.db.transaction(['images', 'thumbs', 'pending'], 'readwrite');
    for (const s of ['images', 'thumbs', 'pending']) tx.objectStore(s).delete(ofLibrary(this.key));
    await committed(tx);
  }

  /** Work not finished yet: `[{seq, job, item}]`, oldest first. */
  async pending() {
    const tx = this.db.transaction('pending');
    return (await done(tx.objectStore('pending').getAll(ofLibrary(this.key)))).map(({ seq, job, item }) => ({ seq, job, item }));
  }

  /** Records work to do (`items`: plain descriptions); returns their sequence numbers. */
  async addPending(job, items) {
    const tx = this.db.transaction('pending', 'readwrite');
    const store = tx.objectStore('pending');
    const last = await done(store.openCursor(ofLibrary(this.key), 'prev'));
    let seq = (last?.value?.seq ?? 0) + 1;
    const seqs = items.map((item) => {
      store.put({ library: this.key, seq, job, item });
      return seq++;
    });
    await committed(tx);
    return seqs;
  }

  async donePending(seqs) {
    if (!seqs.length) return;
    const tx = this.db.transaction('pending', 'readwrite');
    for (const seq of seqs) tx.objectStore('pending').delete([this.key, seq]);
    await committed(tx);
  }
}

/** The same interface in memory: what a library uses when nothing can be stored. */
export class MemoryStore {
  persistent = false;
  #images = new Map();
  #thumbs = new Map();
  #pending = new Map();
  #seq = 0;

  async load() {
    return { images: [...this.#images.values()], damaged: 0 };
  }

  async put(record, embedding, thumbnail) {
    this.#images.set(record.id, { record, embedding: new Float32Array(embedding) });
    if (thumbnail) this.#thumbs.set(record.id, thumbnail);
  }

  async putThumbnail(id, blob) {
    this.#thumbs.set(id, blob);
  }

  async thumbnail(id) {
    return this.#thumbs.get(id) ?? null;
  }

  async thumbnailIds() {
    return [...this.#thumbs.keys()];
  }

  async remove(ids) {
    for (const id of ids) {
      this.#images.delete(id);
      this.#thumbs.delete(id);
    }
  }

  async clear() {
    this.#images.clear();
    this.#thumbs.clear();
    this.#pending.clear();
  }

  async pending() {
    return [...this.#pending.values()];
  }

  async addPending(job, items) {
    return items.map((item) => {
      const seq = ++this.#seq;
      this.#pending.set(seq, { seq, job, item });
      return seq;
    });
  }

  async donePending(seqs) {
    for (const seq of seqs) this.#pending.delete(seq);
  }
}

/**
 * A library whose storage ran out (quota) or failed mid-way: what was stored stays readable and
 * removable there, new images live in memory, and both are one library.
 *
 * Pending work is in both: the stored's sequence numbers are positive (IndexedDB's, from 1) and
 * the memory's are given out here as negative numbers, so that finishing one never deletes the
 * other's with the same number (a stored hint of unfinished work would be lost).
 */
export class OverflowStore {
  persistent = false;

  constructor(stored) {
    this.stored = stored;
    this.memory = new MemoryStore();
  }

  async load(dim) {
    const before = await this.stored.load(dim).catch(() => ({ images: [], damaged: 0 }));
    const after = await this.memory.load();
    return { images: [...before.images, ...after.images], damaged: before.damaged };
  }

  put(record, embedding, thumbnail) {
    return this.memory.put(record, embedding, thumbnail);
  }

  putThumbnail(id, blob) {
    return this.memory.putThumbnail(id, blob);
  }

  async thumbnail(id) {
    return (await this.memory.thumbnail(id)) ?? (await this.stored.thumbnail(id).catch(() => null));
  }

  async thumbnailIds() {
    return [...(await this.stored.thumbnailIds().catch(() => [])), ...(await this.memory.thumbnailIds())];
  }

  async remove(ids) {
    await this.memory.remove(ids);
    await this.stored.remove(ids);
  }

  async clear() {
    await this.memory.clear();
    await this.stored.clear();
  }

  async pending() {
    const inMemory = (await this.memory.pending()).map((p) => ({ ...p, seq: -p.seq }));
    return [...(await this.stored.pending().catch(() => [])), ...inMemory];
  }

  async addPending(job, items) {
    return (await this.memory.addPending(job, items)).map((seq) => -seq);
  }

  async donePending(seqs) {
    await this.memory.donePending(seqs.filter((seq) => seq < 0).map((seq) => -seq));
    await this.stored.donePending(seqs.filter((seq) => seq > 0)).catch(() => {});
  }
}

/** What the browser says about this site's storage: `{persisted, usage, quota}` (nulls when unknown). */
export async function storageEstimate() {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  const [persisted, estimate] = await Promise.all([
    storage?.persisted?.().catch(() => null) ?? null,
    storage?.estimate?.().catch(() => null) ?? null,
  ]);
  return { persisted, usage: estimate?.usage ?? null, quota: estimate?.quota ?? null };
}
