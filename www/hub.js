// Models as Hugging Face checkpoints: `hf:<owner>/<name>[@<revision>]` from the Hub (or a
// mirror), or the URL of a folder (ending in `/`) holding one, as a static host or CDN serves it
// (what transformers.js calls a local model path). Runs in the worker. The checkpoint's small
// files are read first; `model.safetensors` (or the shards of `model.safetensors.index.json`) is
// then converted to a packed file (q8 by default) while it downloads, so memory holds the packed
// result and one tensor, never the f32 checkpoint; the packed result is cached (unless the load
// says `cache: false`), keyed by the source and dtype, and carries the version it came from (the Hub's commit; for a folder, the
// weights file's ETag or Last-Modified and size), so a changed model is converted again.
//
//   GET {hub}/api/models/{owner}/{name}/revision/{revision}  -> {sha, siblings, gated}
//   GET {hub}/{owner}/{name}/resolve/{sha}/{file}             (redirects to a CDN for big files)
//   GET {folder}{file}                                        (a folder: no listing, no API)

import { downloadFile, fetchAnswer, readCached, storeCached, forgetModel } from './loader.js';
import { namedError } from './errors.js';
import { DEFAULT_DTYPE, DEFAULT_HUB, DTYPES, isHubSource } from './protocol.js';

/**
 * The headers a cached conversion carries (beside its length and date): the version it was
 * converted from (the Hub's commit; for a folder, its weights file's validator), its `src` as
 * loaded, and for `hf:` models the hub.
 */
export const VERSION_HEADER = 'x-siglip-commit';
export const SOURCE_HEADER = 'x-siglip-src';
export const HUB_HEADER = 'x-siglip-hub';

/** `{repo, revision}` of an `hf:` source; an InputError for anything else. */
export function parseHubSource(src) {
  const m = /^hf:([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w.\-/]+))?$/.exec(src);
  if (!m) throw namedError('InputError', `"${src}" is not a Hugging Face model; write hf:owner/name or hf:owner/name@revision`);
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

/**
 * The cache key of a converted model (never fetched: a name for the Cache API).
 * @param {string} src
 * @param {{hub?: string, dtype?: string}} [options]
 */
export function hubCacheKey(src, { hub = DEFAULT_HUB, dtype = DEFAULT_DTYPE } = {}) {
  if (!isHubSource(src)) return `${src}model.safetensors?siglip-web-packed=${dtype}`;
  const { repo, revision } = parseHubSource(src);
  return `${hub.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/model.safetensors?siglip-web-packed=${dtype}`;
}

/** A fetch that names the file and says what the status means. */
async function get(url, what, { optional = false, name, method = 'GET' }) {
  let response;
  try {
    response = await fetchAnswer(url, { credentials: 'omit', method });
  } catch (err) {
    const e = namedError(
      'NetworkError',
      `could not reach ${new URL(url).origin} for ${what}: ${err.message} (offline, or the server does not send CORS headers)`,
      err,
    );
    e.unreachable = true;
    throw e;
  }
  if (response.ok) return response;
  await response.body?.cancel().catch(() => {});
  if (optional && response.status === 404) return null;
  // The Hub answers a repository that does not exist with 401 to anonymous clients.
  const code = response.headers.get('x-error-code');
  if (response.status === 404 || code === 'RepoNotFound' || code === 'RevisionNotFound' || code === 'EntryNotFound') {
    throw namedError('NetworkError', `${what}: not found (${url})`);
  }
  if (response.status === 429 || response.status >= 500) {
    // Busy or broken right now: a cached copy may stand in, as when offline.
    const e = namedError('NetworkError', `${what}: HTTP ${response.status} ${response.statusText} (${url})`);
    e.unreachable = true;
    throw e;
  }
  if (response.status === 401 || response.status === 403) {
    throw namedError(
      'AccessError',
      name.startsWith('hf:')
        ? `${what}: HTTP ${response.status}: ${name} is gated or private. The page sends no credentials: accept its terms on the Hub, ` +
            'convert it with `siglip quantize` and host the packed file yourself'
        : `${what}: HTTP ${response.status}: the server refused (the page sends no credentials)`,
    );
  }
  throw namedError('NetworkError', `${what}: HTTP ${response.status} ${response.statusText} (${url})`);
}

/**
 * Loads checkpoint `src` (`hf:` or a folder URL ending in `/`) as a packed model in a target
 * from `sink` (wasm memory): from the cache when it holds the current version (or when the
 * source cannot be reached), else downloaded and converted; a converted model is cached by the
 * result's `store(source)` when the caller is ready (as fetchModel's `deferStore`: the worker
 * does it after the load); with `cache: false` the cache is neither read nor written (offline,
 * the load fails). `commit`: the Hub's commit of an `hf:` model (null for a folder).
 * @param {string} src
 * @param {{hub?: string, dtype?: string, Converter: Function, sink: object,
 *          onProgress?: (p: {loaded: number, total: number|null, fromCache: boolean, converting?: boolean}) => void, cache?: boolean}} options
 *   `Converter`: the wasm class that converts
 * @returns {Promise<{target, fromCache: boolean, commit: string|null, timings: object, store?: (source: {view(): Uint8Array|null}) => Promise<boolean>}>}
 */
export async function fetchHubModel(src, { hub = DEFAULT_HUB, dtype = DEFAULT_DTYPE, Converter, sink, onProgress = () => {}, cache = true }) {
  if (!DTYPES.includes(dtype)) throw namedError('InputError', `unknown dtype "${dtype}"; use one of ${DTYPES.join(', ')}`);
  hub = hub.replace(/\/+$/, '');
  const key = hubCacheKey(src, { hub, dtype });
  const t0 = performance.now();
  const source = isHubSource(src) ? await resolveHub(src, hub) : await resolveFolder(src);
  const { name, base, files, version, online } = source;
  const opts = { name };

  // A copy of another version is not read at all: the model changed, so it is converted again.
  const current = (headers) => !online || !version || headers.get(VERSION_HEADER) === version;
  const cached = cache ? await readCached(key, sink, onProgress, current) : null;
  if (cached) {
    const cachedVersion = cached.headers.get(VERSION_HEADER);
    return { target: cached.target, fromCache: true, commit: source.hub ? cachedVersion : null, timings: { readMs: performance.now() - t0 } };
  }
  if (!online) throw source.offlineError;
  // Checked after the cache: a copy of the current commit, cached before the model was gated, still loads.
  if (source.gated) {
    throw namedError(
      'AccessError',
      `${name} is gated (its files need an account that accepted its terms). The page sends no credentials: ` +
        'convert it with `siglip quantize` and host the packed file yourself',
    );
  }
  const has = (f) => files.size === 0 || files.has(f);
  const text = async (file, optional = false) => {
    if (optional && !has(file)) return null;
    const r = await get(base + file, `${name}: ${file}`, { ...opts, optional });
    return r && r.text();
  };
  // Without a file list (a folder, or a mirror that omits it), every optional file is asked for.
  const bytes = async (file) => {
    if (files.size > 0 && !files.has(file)) return null;
    const r = await get(base + file, `${name}: ${file}`, { ...opts, optional: files.size === 0 });
    return r && new Uint8Array(await r.arrayBuffer());
  };
  const shardIndex = source.shardIndex ?? (!has('model.safetensors') && files.has('model.safetensors.index.json') ? await text('model.safetensors.index.json') : null);
  if (!has('model.safetensors') && !shardIndex) {
    throw namedError('WeightsError', `${name} cannot be loaded here: it has no model.safetensors`);
  }
  const config = await text('config.json');
  const preprocessor = await text('preprocessor_config.json', true);
  const spiece = await bytes('spiece.model');
  const tokenizerJson = spiece ? await bytes('tokenizer.json') : new TextEncoder().encode(await text('tokenizer.json'));
  const tokenizerConfig = await bytes('tokenizer_config.json');
  const newConverter = () =>
    new Converter(dtype, config, preprocessor ?? undefined, spiece ?? undefined, tokenizerJson ?? undefined, tokenizerConfig ?? undefined);
  newConverter().free(); // refuses a wrong model or tokenizer here, before the download
  const progress = (p) => onProgress({ ...p, converting: true });
  const download = (file, sink, report) => downloadFile(base + file, { sink, onProgress: report });
  let buffer;
  if (shardIndex) {
    buffer = await convertShards({ files: shardFiles(shardIndex, name), base, newConverter, download, progress });
  } else {
    // The converting target: each allocation (a restart after a server ignored Range) starts
    // a new conversion; writes arrive in order.
    let converter = null;
    const converting = {
      allocate(length) {
        converter?.free();
        converter = newConverter();
        return streamInto(converter, length, () => {
          converter?.free();
          converter = null;
        });
      },
    };
    try {
      await download('model.safetensors', converting, progress);
      buffer = converter.finish();
    } finally {
      converter?.free(); // spent by finish, or dropped after an error
      converter = null;
    }
  }
  const t1 = performance.now();
  const target = sink.adopt(buffer);
  const result = { target, fromCache: false, commit: source.hub ? version : null, timings: { downloadMs: t1 - t0 } };
  if (!cache) return result;
  // What it is, for cache.js's list: the source as loaded, and where an `hf:` model came from.
  const headers = { [SOURCE_HEADER]: src, ...(source.hub && { [HUB_HEADER]: hub }), ...(version && { [VERSION_HEADER]: version }) };
  return { ...result, store: (bytes) => storeCached(key, bytes, headers) };
}

/**
 * What an `hf:` model is now, from the Hub's API: `{name, base, files, version (the commit),
 * online, offlineError, gated, hub: true}`; unreachable, `online` is false (the cache may stand in).
 */
async function resolveHub(src, hub) {
  const { repo, revision } = parseHubSource(src);
  const name = `hf:${repo}`;
  let info = null;
  let offlineError = null;
  try {
    const r = await get(`${hub}/api/models/${repo}/revision/${encodeURIComponent(revision)}`, `${name}@${revision}`, { name });
    info = await r.json().catch(() => {
      const e = namedError('NetworkError', `${name}@${revision}: ${hub} did not answer with the model's metadata (JSON)`);
      e.unreachable = true; // a captive portal or a proxy's page: as good as offline
      throw e;
    });
  } catch (err) {
    if (!err.unreachable) throw err;
    offlineError = err;
  }
  const version = typeof info?.sha === 'string' ? info.sha : null;
  const files = new Set((info?.siblings ?? []).map((s) => s.rfilename));
  const base = `${hub}/${repo}/resolve/${encodeURIComponent(version ?? revision)}/`;
  return { name, base, files, version, online: !!info, offlineError, gated: !!info?.gated, hub: true };
}

/**
 * What a checkpoint folder (`url` ends in `/`) holds now, with no listing: `model.safetensors`
 * (asked for first, with HEAD: the common case costs no failed request), else a sharded
 * checkpoint's `model.safetensors.index.json` (its text kept); the version is that file's ETag,
 * or its Last-Modified and size. Unreachable, `online` is false (the cache may stand in).
 * Limits: a sharded folder is versioned by its index alone (new shards under an unchanged index
 * are not noticed); a cross-origin host whose ETag is not exposed (CORS) and that sends no
 * Last-Modified gives no version, and the cached conversion is then kept.
 */
async function resolveFolder(url) {
  const name = url;
  const opts = { name, optional: true };
  try {
    const single = await get(`${url}model.safetensors`, `${name}: model.safetensors`, { ...opts, method: 'HEAD' });
    const index = single ? null : await get(`${url}model.safetensors.index.json`, `${name}: model.safetensors.index.json`, opts);
    const weights = single ?? index;
    if (!weights) {
      throw namedError('WeightsError', `${name} holds neither model.safetensors nor model.safetensors.index.json (a Hugging Face checkpoint folder)`);
    }
    const h = weights.headers;
    const validator = h.get('etag') ?? (h.get('last-modified') ? `${h.get('last-modified')} ${h.get('content-length') ?? ''}`.trim() : null);
    const shardIndex = index ? await index.text() : null;
    const version = validator && `${index ? 'index' : 'file'} ${validator}`;
    return { name, base: url, files: new Set(), version, online: true, shardIndex, hub: false };
  } catch (err) {
    if (!err.unreachable) throw err;
    return { name, base: url, files: new Set(), version: null, online: false, offlineError: err, hub: false };
  }
}

/** A download target that pushes each chunk, in order, into a wasm Converter. */
function streamInto(converter, length, release) {
  let pushed = 0;
  return {
    length,
    write(chunk, offset) {
      if (offset !== pushed) throw namedError('NetworkError', `model weights: bytes at ${offset}, expected ${pushed}`);
      converter.push(chunk);
      pushed += chunk.length;
    },
    view() {
      throw namedError('StateError', 'a converting download has no bytes to read back');
    },
    release,
  };
}

/** The shard files a `model.safetensors.index.json` names, in order. */
export function shardFiles(indexJson, name) {
  let map;
  try {
    map = JSON.parse(indexJson).weight_map;
  } catch {
    map = null;
  }
  const files = map && typeof map === 'object' ? [...new Set(Object.values(map))] : [];
  if (!files.length || !files.every((f) => typeof f === 'string' && /^[\w.-]+\.safetensors$/.test(f))) {
    throw namedError('WeightsError', `${name}: model.safetensors.index.json has no usable weight_map`);
  }
  return files.sort();
}

/** The first `length` bytes of a file (a Range request; a server that ignores it is cut off). */
async function readPrefix(url, length) {
  const response = await fetchAnswer(url, { headers: { Range: `bytes=0-${length - 1}` }, credentials: 'omit', cache: 'no-store' });
  if (!response.ok) throw namedError('NetworkError', `${url}: HTTP ${response.status}`);
  const out = new Uint8Array(length);
  let got = 0;
  const reader = response.body.getReader();
  while (got < length) {
    const { done, value } = await reader.read();
    if (done) break;
    out.set(value.subarray(0, length - got), got);
    got += Math.min(value.length, length - got);
  }
  await reader.cancel().catch(() => {});
  if (got < length) throw namedError('WeightsError', `${url}: the file ends inside its header`);
  return out;
}

/**
 * The header of the safetensors file at `url`, read with two small Range requests: `{bytes}`
 * (the length and the JSON, as the file starts) and `{tensors}` (name -> {dtype, shape,
 * data_offsets}, without `__metadata__`).
 * @returns {Promise<{bytes: Uint8Array, tensors: Record<string, {dtype: string, shape: number[], data_offsets: [number, number]}>}>}
 */
export async function readHeader(url, file = url) {
  const n = Number(new DataView((await readPrefix(url, 8)).buffer).getBigUint64(0, true));
  if (!(n > 0 && n < 1e8)) throw namedError('WeightsError', `${file}: not a safetensors file`);
  const bytes = await readPrefix(url, 8 + n);
  const { __metadata__: _, ...tensors } = JSON.parse(new TextDecoder().decode(bytes.subarray(8)));
  return { bytes, tensors };
}

/**
 * A sharded checkpoint: every shard's header first (two small Range requests each), so the
 * packed buffer is planned once; then each shard streamed into the same converter.
 */
async function convertShards({ files, base, newConverter, download, progress }) {
  const converter = newConverter();
  try {
    const sizes = [];
    for (const file of files) {
      const { bytes, tensors } = await readHeader(base + file, file);
      converter.addShardHeader(bytes);
      let end = 0;
      for (const t of Object.values(tensors)) end = Math.max(end, t.data_offsets?.[1] ?? 0);
      sizes.push(bytes.length + end);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    let before = 0;
    for (const [i, file] of files.entries()) {
      const sink = {
        allocate(length) {
          converter.beginShard(i); // from the start again after a restart
          return streamInto(converter, length, () => {});
        },
      };
      await download(file, sink, (p) => progress({ ...p, loaded: before + p.loaded, total }));
      before += sizes[i];
    }
    return converter.finish();
  } finally {
    converter.free();
  }
}

/** Drops a cached conversion (after it failed to load). */
export function forgetHubModel(src, options) {
  return forgetModel(hubCacheKey(src, options));
}
