// The one model loader: fetch with byte progress, resume or retry a dropped download,
// optional SHA-256 integrity check, and a persistent, versioned Cache API store. Runs in the
// worker (or anywhere with fetch); no DOM.
//
// Memory: the bytes are written straight into a target the caller allocates once the size is
// known (the worker gives wasm memory), so a model file exists once in memory, not three times.
// The cache is then filled from that target in 1 MB pieces (bounded memory), a big file as
// several entries of at most CACHE_PART_BYTES (see storeCached), and an entry whose model fails
// to load is deleted again (forgetModel).

import { namedError } from './errors.js';

/** Cache name; bump the version when the stored representation changes. */
export const CACHE_NAME = 'siglip-models-v1';

const MAX_ATTEMPTS = 4;
const PROGRESS_INTERVAL_MS = 80;
/** An attempt that receives no byte for this long is abandoned (and resumed or retried). */
export const STALL_TIMEOUT_MS = 30000;
/** The start of a body that is printed in errors (an HTML page served instead of a model). */
const SNIPPET_CHARS = 120;

/**
 * Where downloaded bytes go. The default keeps them in a JS Uint8Array.
 * `length` is the size the target was allocated for; `write` gets the bytes in order (a resumed
 * download continues at the offset where the last one stopped); `view()` reads them back (a
 * target that converts as it goes may instead give the converted bytes once done);
 * `release()` frees a target that will not be used (wasm memory is not left to the GC).
 * @typedef {{length: number, write(chunk: Uint8Array, offset: number): void, view(): Uint8Array, release(): void}} Target
 * @typedef {{allocate(length: number): Target}} Sink
 */
const arraySink = {
  allocate(length) {
    let bytes;
    try {
      bytes = new Uint8Array(length);
    } catch {
      throw namedError('MemoryError', `not enough memory for a ${(length / 1e6).toFixed(0)} MB model file`);
    }
    return { length, write: (chunk, offset) => bytes.set(chunk, offset), view: () => bytes, release: () => {} };
  },
};

/** The body length a response announces, or null when it is unknown (or compressed). */
function contentLength(response) {
  const length = Number(response.headers.get('content-length'));
  return Number.isFinite(length) && length > 0 && !response.headers.get('content-encoding') ? length : null;
}

/** Progress reports at most every PROGRESS_INTERVAL_MS, unless forced. */
function throttled(onProgress, fromCache) {
  let last = 0;
  return (loaded, total, force = false) => {
    const now = Date.now();
    if (force || now - last >= PROGRESS_INTERVAL_MS) {
      last = now;
      onProgress({ loaded, total, fromCache });
    }
  };
}

/** The model cache, or null where there is none (cache.js opens it from the page too). */
export async function openCache() {
  // caches can be missing (http: on a non-localhost origin) or throw (opaque origins,
  // storage disabled): then we simply do without a cache.
  try {
    if (typeof caches === 'undefined') return null;
    return await caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

/** Absolute URL for a cache key, so that the page and the worker agree. */
function keyFor(url) {
  return new URL(url, self.location.href).href;
}

/**
 * Reads a cached file into a target from `sink`: `{target, headers}`, or null when it is not
 * cached, when `accept(headers)` turns it down (before any byte is read), or when it is
 * unreadable (it is then deleted).
 */
export async function readCached(key, sink, onProgress = () => {}, accept = () => true) {
  const cache = await openCache();
  if (!cache) return null;
  let hit = null;
  try {
    hit = await cache.match(key);
  } catch {
    // An unreadable entry is as good as none.
  }
  if (!hit || !accept(hit.headers)) return null;
  let target = null;
  try {
    const report = throttled(onProgress, true);
    target = await readAll(await joinedParts(cache, key, hit), sink, 0, null, report);
    report(target.length, target.length, true);
    return { target, headers: hit.headers };
  } catch (err) {
    target?.release();
    if (err.name === 'MemoryError') throw err;
    await forgetModel(key);
    return null;
  }
}

/**
 * Reads a model file: from the cache if it is there, otherwise from the network (and then
 * into the cache). With `deferStore`, a downloaded file is not cached here: the result's
 * `store(source)` does it when the caller is ready (after the model is up), from `source`
 * (`{view()}`, see storeCached). With `cache: false` the cache is neither read nor written.
 * @param {string} url
 * @param {{onProgress?: (p: {loaded: number, total: number|null, fromCache: boolean}) => void,
 *          integrity?: string, sink?: Sink, stallTimeout?: number, deferStore?: boolean, cache?: boolean}} [options]
 * @returns {Promise<{target: Target, fromCache: boolean, timings: object, store?: (source: {view(): Uint8Array|null}) => Promise<boolean>}>}
 */
export async function fetchModel(url, options = {}) {
  const { onProgress = () => {}, integrity, sink = arraySink, stallTimeout, deferStore = false, cache = true } = options;
  const key = keyFor(url);
  const t = performance.now();
  const cached = cache ? await readCached(key, sink, onProgress) : null;
  if (cached) {
    const timings = { readMs: performance.now() - t };
    if (!integrity || (await matchesIntegrity(cached.target.view(), integrity))) return { target: cached.target, fromCache: true, timings };
    cached.target.release();
    await forgetModel(url); // stale: fetch it again
  }
  const t0 = performance.now();
  const target = await downloadFile(key, { sink, onProgress, stallTimeout });
  const t1 = performance.now();
  if (integrity && !(await matchesIntegrity(target.view(), integrity))) {
    target.release();
    throw namedError(
      'IntegrityError',
      `the model at ${url} does not match its integrity value ${integrity} (the file changed or is corrupt)`,
    );
  }
  if (!cache) return { target, fromCache: false, timings: { downloadMs: t1 - t0 } };
  const store = (source) => storeCached(key, source);
  if (deferStore) return { target, fromCache: false, timings: { downloadMs: t1 - t0 }, store };
  await store(target);
  return { target, fromCache: false, timings: { downloadMs: t1 - t0, cacheWriteMs: performance.now() - t1 } };
}

const STORE_CHUNK = 1 << 20;
/**
 * The largest cache entry written: a bigger file is stored as several entries (its parts, at
 * keys with `siglip-web-part=N`) and a head entry with no body that carries the file's headers,
 * its length and PARTS_HEADER. WebKit holds a whole entry's body in the writing process while it
 * stores it: one 240 MB entry raised WebKitGTK's peak by 0.9-1.1 GB, 32 MB parts by 0.4 GB.
 */
export const CACHE_PART_BYTES = 16 << 20;
/** On a head entry: how many parts hold the file, and its length. */
export const PARTS_HEADER = 'x-siglip-parts';
export const BYTES_HEADER = 'x-siglip-bytes';
const PART_PARAM = 'siglip-web-part';

/** The key of part `i` of the file cached at `key`. */
function partKey(key, i) {
  const u = new URL(key);
  u.searchParams.set(PART_PARAM, String(i));
  return u.href;
}

/** Whether a cache key is a part of a file rather than a file (cache.js lists only files). */
export function isPartKey(key) {
  return new URL(key).searchParams.has(PART_PARAM);
}

/**
 * A cached entry's body as one response: the entry itself, or for a head entry (PARTS_HEADER)
 * its parts read one after another, with the head's headers. A missing part fails the read.
 * @param {Cache} cache
 * @param {string} key
 * @param {Response} hit
 */
async function joinedParts(cache, key, hit) {
  if (!hit.headers.has(PARTS_HEADER)) return hit;
  const parts = Number(hit.headers.get(PARTS_HEADER));
  if (!Number.isInteger(parts) || parts < 1) throw namedError('WeightsError', `a cached file with ${parts} parts`);
  let i = 0;
  let reader = null;
  const body = new ReadableStream({
    async pull(controller) {
      for (;;) {
        if (!reader) {
          if (i === parts) return controller.close();
          const part = await cache.match(partKey(key, i++));
          if (!part?.body) return controller.error(namedError('WeightsError', `part ${i} of ${parts} of a cached file is missing`));
          reader = part.body.getReader();
        }
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        reader = null;
      }
    },
  });
  const headers = new Headers(hit.headers);
  headers.set('content-length', hit.headers.get(BYTES_HEADER) ?? '');
  return new Response(body, { headers });
}

/**
 * Writes a complete file to the cache, streamed from `source` in small pieces, with `headers`
 * stored beside it (read back by readCached and cache.js), and its length and date; a file of
 * more than CACHE_PART_BYTES as parts, then the head entry that makes them visible. `source.view()`
 * is asked again for every piece (wasm memory may have grown meanwhile); when it answers null
 * (the file was freed), the write is abandoned and nothing is cached (parts written are deleted).
 * Resolves with whether the file was cached: false without a cache, over quota, or abandoned.
 * @param {string} key
 * @param {{view(): Uint8Array|null}} source
 * @returns {Promise<boolean>}
 */
export async function storeCached(key, source, headers = {}) {
  const cache = await openCache();
  const first = cache && source.view();
  if (!first) return false;
  const length = first.length;
  /** A response streaming bytes `start..end` of the file. */
  const slice = (start, end, extra = {}) => {
    let offset = start;
    const body = new ReadableStream({
      pull(controller) {
        if (offset >= end) {
          controller.close();
          return;
        }
        const view = source.view();
        if (!view) {
          controller.error(namedError('AbortError', 'the model was freed before it was cached'));
          return;
        }
        const stop = Math.min(offset + STORE_CHUNK, end);
        controller.enqueue(view.slice(offset, stop));
        offset = stop;
      },
    });
    return new Response(body, { headers: { ...extra, 'content-type': 'application/octet-stream', 'content-length': String(end - start) } });
  };
  // `date`: when it was cached (cache.js lists it).
  const date = new Date().toUTCString();
  try {
    await deleteCached(cache, key); // a stale copy's parts would outlive it
    if (length <= CACHE_PART_BYTES) {
      await cache.put(key, slice(0, length, { ...headers, date }));
      return true;
    }
    const parts = Math.ceil(length / CACHE_PART_BYTES);
    for (let i = 0; i < parts; i++) {
      await cache.put(partKey(key, i), slice(i * CACHE_PART_BYTES, Math.min((i + 1) * CACHE_PART_BYTES, length)));
    }
    const head = { ...headers, date, [PARTS_HEADER]: String(parts), [BYTES_HEADER]: String(length) };
    await cache.put(key, new Response(null, { headers: head }));
    return true;
  } catch {
    // quota exceeded, storage disabled, or abandoned: the model still works, just uncached
    await deleteCached(cache, key).catch(() => {});
    return false;
  }
}

/**
 * Deletes the file cached at `key` and its parts (up to the first missing one: parts are
 * written in order). Resolves with whether the file or a part was there.
 * @param {Cache} cache
 * @param {string} key
 */
export async function deleteCached(cache, key) {
  let found = await cache.delete(key);
  for (let i = 0; await cache.delete(partKey(key, i)); i++) found = true;
  return found;
}

/** Removes a cached model (after it failed to load or verify). */
export async function forgetModel(url) {
  const cache = await openCache();
  if (cache) {
    try {
      await deleteCached(cache, keyFor(url));
    } catch {
      // nothing to forget
    }
  }
}

/**
 * Writes into a target. Its own errors (a converting target refusing the bytes) are marked:
 * they are about the file, not the connection, so the download is not retried.
 */
function writeTo(target, chunk, offset) {
  try {
    target.write(chunk, offset);
  } catch (err) {
    throw Object.assign(err instanceof Error ? err : namedError('WeightsError', String(err)), { final: true });
  }
}

/**
 * The first bytes of a download, checked: a model file is binary, so a body that starts like a
 * web page (an error or sign-in page served with 200) is refused with what it says.
 */
function checkStart(chunk, response, url) {
  // A safetensors file: an 8-byte header length, then its JSON header.
  if (chunk.length > 8 && chunk[8] === 0x7b) return;
  const type = response.headers.get('content-type') ?? '';
  const head = new TextDecoder('utf-8', { fatal: false }).decode(chunk.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart();
  if (!/^text\/html\b/i.test(type) && !/^<[!?a-z]/i.test(head)) return;
  const text = head.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
  throw Object.assign(
    namedError(
      'WeightsError',
      `${url} answered with a web page (${type || 'no content type'}) instead of a model file: "${text}". ` +
        'Check the URL; a host may need sign-in, or serve its error page with status 200.',
    ),
    { final: true },
  );
}

/**
 * Reads a whole response body into a target from `sink`; reports (loaded, total). With `url`
 * (a download, not the cache), the first bytes must not be a web page (checkStart).
 */
async function readAll(response, sink, start, target, progress, url = null) {
  const length = contentLength(response);
  const total = length === null ? null : start + length;
  let chunks = null;
  if (!target) {
    if (total !== null) target = sink.allocate(total);
    else chunks = [];
  }
  let received = start;
  const read = pieces(response.body);
  for (;;) {
    const { done, value } = await read();
    if (done) break;
    if (url && received === 0 && value.length) checkStart(value, response, url);
    if (chunks) {
      chunks.push(value.slice()); // the piece's buffer is reused by the next read
    } else {
      if (received + value.length > target.length) {
        throw namedError('NetworkError', 'the server sent more bytes than it announced');
      }
      writeTo(target, value, received);
    }
    received += value.length;
    progress(received, total);
  }
  if (chunks) {
    target = sink.allocate(received);
    let offset = 0;
    for (const c of chunks) {
      writeTo(target, c, offset);
      offset += c.length;
    }
  } else if (total !== null && received !== total) {
    throw namedError('NetworkError', `got ${received} of ${total} bytes`);
  }
  return target;
}

const READ_PIECE = 1 << 20;

/**
 * Reads a body piece by piece: into one reused 1 MiB buffer where the stream allows it (a
 * BYOB reader; fetch and Cache API bodies in Chromium), so a 240 MB download leaves no
 * garbage chunks behind (they held ~100 MB of renderer memory until the next GC); else the
 * stream's own chunks. A piece is valid until the next read.
 * @returns {() => Promise<{done: boolean, value?: Uint8Array}>}
 */
function pieces(body) {
  let reader;
  try {
    reader = body.getReader({ mode: 'byob' });
  } catch {
    reader = body.getReader(); // not a byte stream
    return () => reader.read();
  }
  let buffer = new ArrayBuffer(READ_PIECE);
  return async () => {
    const result = await reader.read(new Uint8Array(buffer));
    if (result.value) buffer = result.value.buffer; // the same memory, handed back
    return result;
  };
}

/**
 * Downloads a file into a target from `sink`, with byte progress; a dropped or stalled
 * connection (no byte for `stallTimeout` ms) resumes with a Range request, 5xx answers and
 * network failures are retried with backoff.
 * @param {string} url
 * @param {{sink?: Sink, onProgress?: Function, stallTimeout?: number}} [options]
 * @returns {Promise<Target>}
 */
export async function downloadFile(url, { sink = arraySink, onProgress = () => {}, stallTimeout = STALL_TIMEOUT_MS } = {}) {
  let target = null;
  let received = 0;
  let lastError = null;
  const report = throttled(onProgress, false);
  const origin = new URL(url).origin;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(300 * 2 ** (attempt - 1));
    const headers = received > 0 ? { Range: `bytes=${received}-` } : {};
    const watchdog = stallWatchdog(stallTimeout);
    try {
      let response;
      try {
        response = await fetch(url, { headers, signal: watchdog.signal, cache: 'no-store' });
      } catch (err) {
        lastError = watchdog.stalled
          ? stalledError(url, stallTimeout)
          : origin !== self.location.origin
            ? namedError(
                'NetworkError',
                `${err.message} (the network is down, or the server of ${origin} does not allow this page to read the model: it must send Access-Control-Allow-Origin)`,
                err,
              )
            : err;
        continue; // network down: try again
      }
      if (received > 0 && response.status === 200) {
        received = 0; // the server ignored the range: start over
      } else if (received > 0 && response.status === 206 && !resumesAt(response, received, target)) {
        // A range other than the one asked for: its bytes cannot be placed. Start over.
        await response.body?.cancel().catch(() => {});
        lastError = namedError('NetworkError', `${url}: the server answered a resume with the wrong byte range`);
        received = 0;
        continue;
      } else if (received > 0 && response.status === 416) {
        // Nothing after `received`: the first answer announced more bytes than the file has
        // (a lying Content-Length). Start over, with a target of the right size.
        await response.body?.cancel().catch(() => {});
        const size = /^bytes \*\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1];
        lastError = namedError(
          'NetworkError',
          `${url}: the server announced ${target?.length ?? 'more'} bytes, but the file has ${size ?? received}`,
        );
        received = 0;
        continue;
      } else if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        const kind = response.status === 404 ? 'not found' : `HTTP ${response.status} ${response.statusText}`.trim();
        if (response.status >= 500 && attempt + 1 < MAX_ATTEMPTS) {
          lastError = namedError('NetworkError', `${url}: ${kind}`);
          continue;
        }
        throw namedError('NetworkError', `could not download the model from ${url}: ${kind}${response.status >= 500 ? ` (after ${MAX_ATTEMPTS} attempts)` : ''}`);
      }
      const start = received;
      if (start === 0) {
        target?.release(); // a restart (the server ignored the range) needs a fresh target
        target = null;
        const length = contentLength(response);
        target = length === null ? null : sink.allocate(length); // kept across a resume
      }
      try {
        target = await readAll(
          response,
          sink,
          start,
          target,
          (loaded, total) => {
            watchdog.fed();
            received = loaded;
            report(loaded, total);
          },
          url,
        );
      } catch (err) {
        if (err.name === 'MemoryError' || err.final) {
          target?.release();
          throw err;
        }
        lastError = watchdog.stalled ? stalledError(url, stallTimeout) : err;
        if (!target) received = 0; // length unknown: nothing to resume into, start over
        continue; // dropped mid-stream: resume from `received`
      }
      report(received, received, true);
      return target;
    } finally {
      watchdog.stop();
    }
  }
  target?.release();
  throw namedError(
    'NetworkError',
    `could not download the model from ${url} after ${MAX_ATTEMPTS} attempts: ${lastError?.message ?? 'unknown error'}`,
    lastError,
  );
}

/**
 * An abort signal that fires when `fed()` has not been called for `ms` (from its creation
 * and after each call): a connection that stays open but sends nothing.
 */
function stallWatchdog(ms) {
  const controller = new AbortController();
  const watchdog = { signal: controller.signal, stalled: false };
  let timer = null;
  watchdog.fed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      watchdog.stalled = true;
      controller.abort();
    }, ms);
  };
  watchdog.stop = () => clearTimeout(timer);
  watchdog.fed();
  return watchdog;
}

/**
 * fetch() that gives up when no answer (status and headers) comes within STALL_TIMEOUT_MS:
 * for the small requests around a download (the Hub's API, configs, headers).
 */
export async function fetchAnswer(url, init = {}) {
  const watchdog = stallWatchdog(STALL_TIMEOUT_MS);
  try {
    return await fetch(url, { ...init, signal: watchdog.signal });
  } catch (err) {
    throw watchdog.stalled ? stalledError(url, STALL_TIMEOUT_MS) : err;
  } finally {
    watchdog.stop();
  }
}

function stalledError(url, ms) {
  return namedError('NetworkError', `${url}: no data for ${ms / 1000} s (the connection stalled)`);
}

/** Whether a 206 answer continues the download at `offset` (Content-Range `bytes offset-…/total`). */
function resumesAt(response, offset, target) {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  if (!m || Number(m[1]) !== offset) return false;
  const length = target?.length;
  return m[3] === '*' || length === undefined || Number(m[3]) === length;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Checks bytes against an SRI-style `sha256-<base64>` value. */
export async function matchesIntegrity(bytes, integrity) {
  const m = /^sha256-([A-Za-z0-9+/=_-]+)$/.exec(integrity.trim());
  if (!m) throw namedError('IntegrityError', `unsupported integrity value ${integrity}; use sha256-<base64>`);
  // WebCrypto refuses views of shared memory (the threads build's wasm memory): hash a copy.
  const shared = typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', shared ? bytes.slice() : bytes));
  let binary = '';
  for (const b of digest) binary += String.fromCharCode(b);
  const want = m[1].replace(/-/g, '+').replace(/_/g, '/');
  return btoa(binary) === want;
}
