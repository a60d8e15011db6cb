// The one model loader: fetch with byte progress, resume or retry a dropped download,
// optional SHA-256 integrity check, and a persistent, versioned Cache API store that only
// ever holds complete files that loaded successfully. Runs in the worker (or anywhere with
// fetch); no DOM.

/** Cache name; bump the version when the stored representation changes. */
export const CACHE_NAME = 'siglip-models-v1';

const MAX_ATTEMPTS = 4;
const PROGRESS_INTERVAL_MS = 80;

/** An error with a stable `name`, as every error this module throws. */
export function namedError(name, message, cause) {
  const err = new Error(message, cause ? { cause } : undefined);
  err.name = name;
  return err;
}

async function openCache() {
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
 * Reads a model file: from the cache if it is there, otherwise from the network.
 * @param {string} url
 * @param {{onProgress?: (p: {loaded: number, total: number|null, fromCache: boolean}) => void,
 *          integrity?: string, signal?: AbortSignal, fetchImpl?: typeof fetch}} [options]
 * @returns {Promise<{bytes: Uint8Array, fromCache: boolean}>}
 */
export async function fetchModel(url, options = {}) {
  const { onProgress = () => {}, integrity, signal } = options;
  const fetchImpl = options.fetchImpl ?? fetch;
  const key = keyFor(url);
  const cache = await openCache();
  if (cache) {
    try {
      const hit = await cache.match(key);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        if (!integrity || (await matchesIntegrity(bytes, integrity))) {
          onProgress({ loaded: bytes.length, total: bytes.length, fromCache: true });
          return { bytes, fromCache: true };
        }
        await cache.delete(key); // stale entry for another file: fetch it again
      }
    } catch {
      // An unreadable entry is as good as none.
    }
  }
  const bytes = await download(key, fetchImpl, onProgress, signal);
  if (integrity && !(await matchesIntegrity(bytes, integrity))) {
    throw namedError(
      'IntegrityError',
      `the model at ${url} does not match its integrity value ${integrity} (the file changed or is corrupt)`,
    );
  }
  return { bytes, fromCache: false };
}

/** Stores a complete, validated model file. Call only after the model loaded from `bytes`. */
export async function storeModel(url, bytes) {
  const cache = await openCache();
  if (!cache) return false;
  try {
    await cache.put(
      keyFor(url),
      new Response(bytes, {
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
      }),
    );
    return true;
  } catch {
    return false; // quota exceeded or storage disabled: the model still works, just uncached
  }
}

/** Removes a cached model (e.g. after it failed to load). */
export async function forgetModel(url) {
  const cache = await openCache();
  if (cache) {
    try {
      await cache.delete(keyFor(url));
    } catch {
      // nothing to forget
    }
  }
}

async function download(url, fetchImpl, onProgress, signal) {
  // With a known length the bytes go straight into one buffer (no second copy at the end:
  // for an 800 MB f32 model that is 800 MB less peak memory).
  let buffer = null;
  let chunks = [];
  let received = 0;
  let total = null;
  let lastReport = 0;
  let lastError = null;
  const report = (force) => {
    const now = Date.now();
    if (force || now - lastReport >= PROGRESS_INTERVAL_MS) {
      lastReport = now;
      onProgress({ loaded: received, total, fromCache: false });
    }
  };
  const origin = new URL(url).origin;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(300 * 2 ** (attempt - 1), signal);
    const headers = received > 0 ? { Range: `bytes=${received}-` } : {};
    let response;
    try {
      response = await fetchImpl(url, { headers, signal, cache: 'no-store' });
    } catch (err) {
      if (signal?.aborted) throw namedError('AbortError', 'the model download was cancelled', err);
      lastError =
        origin !== self.location.origin
          ? namedError(
              'NetworkError',
              `${err.message} (the network is down, or the server of ${origin} does not allow this page to read the model: it must send Access-Control-Allow-Origin)`,
              err,
            )
          : err;
      continue; // network down: try again
    }
    if (received > 0 && response.status === 200) {
      // The server ignored the range: start over.
      chunks = [];
      received = 0;
    } else if (!response.ok) {
      const kind = response.status === 404 ? 'not found' : `HTTP ${response.status} ${response.statusText}`;
      if (response.status >= 500 && attempt + 1 < MAX_ATTEMPTS) {
        lastError = namedError('NetworkError', `${url}: ${kind}`);
        continue;
      }
      throw namedError('NetworkError', `could not download the model from ${url}: ${kind}`);
    }
    if (total === null) {
      const length = Number(response.headers.get('content-length'));
      const encoded = response.headers.get('content-encoding');
      if (Number.isFinite(length) && length > 0 && !encoded) {
        total = received + length;
        try {
          buffer = new Uint8Array(total);
        } catch {
          throw namedError('MemoryError', `not enough memory for a ${(total / 1e6).toFixed(0)} MB model`);
        }
      }
    }
    report(true);
    try {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (buffer && received + value.length <= buffer.length) buffer.set(value, received);
        else if (buffer) throw namedError('NetworkError', `the server sent more than the ${total} bytes it announced`);
        else chunks.push(value);
        received += value.length;
        report(false);
      }
    } catch (err) {
      if (signal?.aborted) throw namedError('AbortError', 'the model download was cancelled', err);
      if (err.name === 'NetworkError') throw err;
      lastError = err;
      continue; // dropped mid-stream: resume from `received`
    }
    if (total !== null && received !== total) {
      lastError = namedError('NetworkError', `got ${received} of ${total} bytes`);
      continue;
    }
    report(true);
    return buffer ?? concat(chunks, received);
  }
  throw namedError(
    'NetworkError',
    `could not download the model from ${url} after ${MAX_ATTEMPTS} attempts: ${lastError?.message ?? 'unknown error'}`,
    lastError,
  );
}

function concat(chunks, length) {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(namedError('AbortError', 'the model download was cancelled'));
    });
  });
}

/** Checks bytes against an SRI-style `sha256-<base64>` value. */
export async function matchesIntegrity(bytes, integrity) {
  const m = /^sha256-([A-Za-z0-9+/=_-]+)$/.exec(integrity.trim());
  if (!m) throw namedError('IntegrityError', `unsupported integrity value ${integrity}; use sha256-<base64>`);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let binary = '';
  for (const b of digest) binary += String.fromCharCode(b);
  const want = m[1].replace(/-/g, '+').replace(/_/g, '/');
  return btoa(binary) === want;
}
