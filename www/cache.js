// @ts-check
// The model cache, from the page: what is cached (the loader's Cache API cache, CACHE_NAME, which
// the page opens as the worker does: same origin), deleting one model or all, what loading a model
// would download (for <siglip-classifier load="on-demand">), and the site's storage (persist,
// estimate). No DOM is touched at import; the page's cache is the worker's, so a model deleted
// here is downloaded again by its next load (one loaded already stays usable).
//
//   import { cachedModels, deleteCachedModel } from 'siglip-web/api';
//   for (const m of await cachedModels()) console.log(m.src, m.dtype, m.bytes, m.commit);
//   await deleteCachedModel({ src: 'hf:google/siglip-base-patch16-224' });   // as it was loaded

import { modelIdentity } from './client.js';
import { HUB_HEADER, SOURCE_HEADER, VERSION_HEADER, hubCacheKey, parseHubSource, readHeader, shardFiles } from './hub.js';
import { BYTES_HEADER, CACHE_NAME, deleteCached, fetchAnswer, isPartKey, openCache } from './loader.js';
import { isCheckpointSource, isHubSource } from './protocol.js';
import { storageEstimate } from './store.js';

export { storageEstimate };

/** @typedef {import('./protocol.js').StorageDtype} StorageDtype */
/** @typedef {import('./client.js').ModelOptions} ModelOptions */

/**
 * One cached model.
 * @typedef {object} CachedModel
 * @property {string} src What to load it by: a packed file's URL, `hf:owner/name[@revision]`, or a checkpoint folder's URL.
 * @property {string | undefined} hub For an `hf:` model, the hub it came from.
 * @property {StorageDtype | undefined} dtype For a checkpoint, what it was converted to.
 * @property {number} bytes What the cache holds for it (the packed file).
 * @property {string | null} commit For an `hf:` model, the Hub commit it was converted from.
 * @property {string | null} version For a checkpoint, the version it was converted from (the commit, or a folder's ETag or Last-Modified); null for a packed file.
 * @property {Date | null} cachedAt When it was cached (null for entries written before this was recorded).
 * @property {string} url The cache entry's key (a packed file's URL; a name for a conversion).
 */

/** Where a cached conversion's key says it came from, for entries without SOURCE_HEADER. */
function sourceOfKey(url) {
  const u = new URL(url);
  const dtype = /** @type {StorageDtype} */ (u.searchParams.get('siglip-web-packed'));
  if (!dtype) return null;
  const base = url.slice(0, url.indexOf('model.safetensors?'));
  const hf = /^(.*)\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/$/.exec(base);
  return { src: hf ? `hf:${hf[2]}${hf[3] === 'main' ? '' : `@${decodeURIComponent(hf[3])}`}` : base, hub: hf?.[1], dtype };
}

/**
 * The models in the persistent cache, with their sizes and versions. Empty where the browser has
 * no cache for this page (plain http on another host than localhost; storage disabled).
 * @returns {Promise<CachedModel[]>}
 */
export async function cachedModels() {
  const cache = await openCache();
  if (!cache) return [];
  const out = [];
  for (const request of await cache.keys()) {
    if (isPartKey(request.url)) continue; // a piece of a big file, listed by its head entry
    const response = await cache.match(request);
    if (!response) continue;
    const h = response.headers;
    const parsed = sourceOfKey(request.url);
    const src = h.get(SOURCE_HEADER) ?? parsed?.src ?? request.url;
    const hub = isHubSource(src) ? h.get(HUB_HEADER) ?? parsed?.hub : undefined;
    const version = parsed ? h.get(VERSION_HEADER) : null;
    const declared = h.get(BYTES_HEADER) ?? h.get('content-length'); // a file in parts, or one entry
    const bytes = declared !== null && Number.isFinite(Number(declared)) ? Number(declared) : (await response.blob()).size;
    const date = h.get('date');
    out.push({
      src,
      hub,
      dtype: parsed?.dtype,
      bytes,
      commit: isHubSource(src) ? version : null,
      version,
      cachedAt: date ? new Date(date) : null,
      url: request.url,
    });
  }
  return out;
}

/**
 * The cache key a load request (modelIdentity's) reads and writes, as the worker computes it.
 * @param {import('./protocol.js').LoadRequest} request
 */
function cacheKey(request) {
  return isCheckpointSource(request.url) ? hubCacheKey(request.url, { hub: request.hub, dtype: request.dtype }) : request.url;
}

/**
 * Deletes the cached copy of a model, named as it is loaded: `src`, and for checkpoints `dtype`
 * (default `q8`) and for `hf:` models `hub`. Resolves with whether there was one. Its next load
 * downloads it again; a model loaded already stays usable.
 * @param {Pick<ModelOptions, 'src' | 'hub' | 'dtype'>} options
 */
export async function deleteCachedModel(options) {
  const cache = await openCache();
  return cache ? deleteCached(cache, cacheKey(modelIdentity(options).request)) : false;
}

/** Deletes every cached model (nothing else: libraries of images stay). Resolves with whether there was a cache. */
export async function clearModelCache() {
  try {
    return typeof caches !== 'undefined' && (await caches.delete(CACHE_NAME));
  } catch {
    return false;
  }
}

/**
 * Asks the browser to keep this site's storage, cached models and libraries
 * (`navigator.storage.persist()`: not evicted under storage pressure, nor by Safari after 7 days
 * without a visit). Resolves with whether it will; browsers may decide without asking the user
 * (Chromium grants it to installed or much-used sites).
 * @returns {Promise<boolean>}
 */
export async function persistStorage() {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined; // (none in Node)
  return (await storage?.persist?.().catch(() => false)) ?? false;
}

/**
 * Bytes per checkpoint parameter after conversion, measured on google/siglip-base-patch16-224
 * (docs/format.md, "Measured": 813.0 MB of f32 parameters became 421.4 / 238.6 / 141.0 MB): a
 * packed model keeps some tensors in f32 (norms, biases, embeddings, the pooling head), so this is
 * an estimate for other models.
 */
const PACKED_BYTES_PER_PARAMETER = { f32: 4, f16: (4 * 421.4) / 813.0, q8: (4 * 238.6) / 813.0, q4: (4 * 141.0) / 813.0 };
/** Bytes per element of the dtypes checkpoints are stored in. */
const ELEMENT_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I8: 1, U8: 1 };

/**
 * What loading a model would download: nothing when it is cached (`cached: true`; any version:
 * the load checks for a newer one), else `{name, from, bytes, dtype, convertedBytes}`: its name
 * (`owner/name` for `hf:`, else the file or folder name), the host it comes from, the download's
 * size (null when the server does not say), and for a checkpoint what it is converted to and
 * about how big that is. A few small requests: HEAD for a file's size, a checkpoint's
 * safetensors header (two Range requests) for its parameters, or a sharded index's `total_size`.
 * A network failure is no error: what cannot be learnt is null (a malformed `src` rejects, as
 * its load would).
 * @param {ModelOptions} options
 * @returns {Promise<{cached: boolean, name: string, from: string, bytes: number | null, dtype: StorageDtype | null, convertedBytes: number | null}>}
 */
export async function plannedDownload(options) {
  const { request } = modelIdentity(options);
  const { url, hub, dtype } = request;
  const cache = request.cache === false ? null : await openCache();
  const cached = !!(cache && (await cache.match(cacheKey(request)).catch(() => undefined)));
  let name;
  let base;
  if (isHubSource(url)) {
    const { repo, revision } = parseHubSource(url);
    name = repo;
    base = `${hub}/${repo}/resolve/${encodeURIComponent(revision)}/`;
  } else {
    name = decodeURIComponent(new URL(url).pathname.replace(/\/$/, '').split('/').pop() || url);
    base = url;
  }
  const from = new URL(base).host;
  const plan = { cached, name, from, bytes: null, dtype: dtype ?? null, convertedBytes: null };
  if (cached) return plan;
  const size = (response) => {
    const n = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length'));
    return response.ok && n > 0 && !response.headers.get('content-encoding') ? n : null;
  };
  try {
    if (!dtype) {
      plan.bytes = size(await fetchAnswer(url, { method: 'HEAD', credentials: 'omit' }));
      return plan;
    }
    let weights = `${base}model.safetensors`;
    const single = await fetchAnswer(weights, { method: 'HEAD', credentials: 'omit' });
    if (single.ok) {
      plan.bytes = size(single);
    } else {
      const index = await (await fetchAnswer(`${base}model.safetensors.index.json`, { credentials: 'omit' })).json();
      const total = Number(index?.metadata?.total_size);
      plan.bytes = total > 0 ? total : null;
      weights = base + shardFiles(JSON.stringify(index), name)[0];
    }
    if (plan.bytes === null) return plan;
    // The parameters: the weights' size over their element size (the header's largest tensor's dtype).
    const tensors = Object.values((await readHeader(weights)).tensors);
    const largest = tensors.reduce((a, t) => (t.data_offsets[1] - t.data_offsets[0] > a.data_offsets[1] - a.data_offsets[0] ? t : a));
    const parameters = plan.bytes / (ELEMENT_BYTES[largest.dtype] ?? 4);
    plan.convertedBytes = Math.round(parameters * PACKED_BYTES_PER_PARAMETER[dtype]);
  } catch {
    // offline, no CORS, an unexpected answer: the size stays unknown
  }
  return plan;
}
