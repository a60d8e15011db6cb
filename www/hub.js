// Models straight from the Hugging Face Hub (or a mirror): `hf:<owner>/<name>[@<revision>]`.
// Runs in the worker. The checkpoint's small files are read first; `model.safetensors` is then
// converted to a packed file (q8 by default) while it downloads, so memory holds the packed
// result and one tensor, never the f32 checkpoint; the packed result is cached, keyed by hub,
// model, revision and dtype, and carries the commit it came from.
//
//   GET {hub}/api/models/{owner}/{name}/revision/{revision}  -> {sha, siblings, gated}
//   GET {hub}/{owner}/{name}/resolve/{sha}/{file}             (redirects to a CDN for big files)

import { downloadFile, namedError, readCached, storeCached, forgetModel } from './loader.js';

export const DEFAULT_HUB = 'https://huggingface.co';
const DTYPES = ['q8', 'q4', 'f16', 'f32'];

/** `{repo, revision}` of an `hf:` source; an InputError for anything else. */
export function parseHubSource(src) {
  const m = /^hf:([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w.\-/]+))?$/.exec(src);
  if (!m) throw namedError('InputError', `"${src}" is not a Hugging Face model; write hf:owner/name or hf:owner/name@revision`);
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? 'main' };
}

export function isHubSource(src) {
  return typeof src === 'string' && src.startsWith('hf:');
}

/** The cache key of a converted model (never fetched: a name for the Cache API). */
export function hubCacheKey(src, { hub = DEFAULT_HUB, dtype = 'q8' } = {}) {
  const { repo, revision } = parseHubSource(src);
  return `${hub.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/model.safetensors?siglip-web-packed=${dtype}`;
}

/** A fetch that names the file and says what the status means. */
async function get(url, what, { fetchImpl, optional = false, repo }) {
  let response;
  try {
    response = await fetchImpl(url, { credentials: 'omit' });
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
  if (response.status === 401 || response.status === 403) {
    throw namedError(
      'AccessError',
      `${what}: HTTP ${response.status}: hf:${repo} is gated or private. The page sends no credentials: accept its terms on the Hub, ` +
        'convert it with `siglip quantize` and host the packed file yourself',
    );
  }
  const kind = response.status === 404 ? 'not found' : `HTTP ${response.status} ${response.statusText}`;
  throw namedError('NetworkError', `${what}: ${kind} (${url})`);
}

/**
 * Loads `hf:` `src` as a packed model in a target from `sink` (wasm memory): from the cache when
 * it holds this revision's commit (or when the Hub cannot be reached), else downloaded and
 * converted (then cached).
 * @param {{hub?: string, dtype?: string, Converter: Function, sink: object, onProgress?: Function,
 *          fetchImpl?: typeof fetch}} options  `Converter`: the wasm class that converts
 * @returns {Promise<{target, fromCache: boolean, commit: string|null, timings: object}>}
 */
export async function fetchHubModel(src, { hub = DEFAULT_HUB, dtype = 'q8', Converter, sink, onProgress = () => {}, fetchImpl = fetch }) {
  if (!DTYPES.includes(dtype)) throw namedError('InputError', `unknown dtype "${dtype}"; use one of ${DTYPES.join(', ')}`);
  const { repo, revision } = parseHubSource(src);
  hub = hub.replace(/\/+$/, '');
  const key = hubCacheKey(src, { hub, dtype });
  const opts = { fetchImpl, repo };
  const t0 = performance.now();

  // Which commit the revision is now. Unreachable: whatever the cache holds will do.
  let info = null;
  let offlineError = null;
  try {
    const r = await get(`${hub}/api/models/${repo}/revision/${encodeURIComponent(revision)}`, `hf:${repo}@${revision}`, opts);
    info = await r.json().catch(() => {
      throw namedError('NetworkError', `hf:${repo}@${revision}: ${hub} did not answer with the model's metadata (JSON)`);
    });
  } catch (err) {
    if (!err.unreachable) throw err;
    offlineError = err;
  }
  const commit = typeof info?.sha === 'string' ? info.sha : null;
  const cached = await readCached(key, sink, onProgress);
  if (cached) {
    const cachedCommit = cached.headers.get('x-siglip-commit');
    if (!info || !commit || cachedCommit === commit) {
      return { target: cached.target, fromCache: true, commit: cachedCommit, timings: { readMs: performance.now() - t0 } };
    }
    cached.target.release(); // a newer commit: convert it
  }
  if (!info) throw offlineError;
  if (info.gated) {
    throw namedError(
      'AccessError',
      `hf:${repo} is gated (its files need an account that accepted its terms). The page sends no credentials: ` +
        'convert it with `siglip quantize` and host the packed file yourself',
    );
  }
  const files = new Set((info.siblings ?? []).map((s) => s.rfilename));
  const has = (f) => files.size === 0 || files.has(f);
  const base = `${hub}/${repo}/resolve/${encodeURIComponent(commit ?? revision)}/`;
  const text = async (file, optional = false) => {
    if (optional && !has(file)) return null;
    const r = await get(base + file, `hf:${repo}: ${file}`, { ...opts, optional });
    return r && r.text();
  };
  const bytes = async (file) => {
    if (!files.has(file)) return null;
    const r = await get(base + file, `hf:${repo}: ${file}`, opts);
    return new Uint8Array(await r.arrayBuffer());
  };
  if (!has('model.safetensors')) {
    const why = files.has('model.safetensors.index.json')
      ? 'its weights are sharded (model.safetensors.index.json), which the browser does not convert yet'
      : 'it has no model.safetensors';
    throw namedError('WeightsError', `hf:${repo} cannot be loaded here: ${why}; convert it with \`siglip quantize\` and host the packed file`);
  }
  const config = await text('config.json');
  const preprocessor = await text('preprocessor_config.json', true);
  const spiece = await bytes('spiece.model');
  const tokenizerJson = spiece ? await bytes('tokenizer.json') : new TextEncoder().encode(await text('tokenizer.json'));
  const tokenizerConfig = await bytes('tokenizer_config.json');
  // Refuses a wrong model or tokenizer here, before the download.
  const probe = new Converter(dtype, config, preprocessor ?? undefined, spiece ?? undefined, tokenizerJson ?? undefined, tokenizerConfig ?? undefined);
  probe.free();

  // The converting target: each allocation (a restart after a server ignored Range) starts a
  // new conversion; writes arrive in order.
  let converter = null;
  const converting = {
    allocate(length) {
      converter?.free();
      converter = new Converter(dtype, config, preprocessor ?? undefined, spiece ?? undefined, tokenizerJson ?? undefined, tokenizerConfig ?? undefined);
      let pushed = 0;
      return {
        length,
        write(chunk, offset) {
          if (offset !== pushed) throw namedError('NetworkError', `model.safetensors: bytes at ${offset}, expected ${pushed}`);
          converter.push(chunk);
          pushed += chunk.length;
        },
        view() {
          throw namedError('StateError', 'a converting download has no bytes to read back');
        },
        release() {
          converter?.free();
          converter = null;
        },
      };
    },
  };
  const progress = (p) => onProgress({ ...p, converting: true });
  const downloaded = await downloadFile(base + 'model.safetensors', { sink: converting, onProgress: progress, fetchImpl });
  const t1 = performance.now();
  let buffer;
  try {
    buffer = converter.finish();
  } finally {
    downloaded.release();
  }
  const target = sink.adopt(buffer);
  await storeCached(key, target, commit ? { 'x-siglip-commit': commit } : {});
  return { target, fromCache: false, commit, timings: { downloadMs: t1 - t0, cacheWriteMs: performance.now() - t1 } };
}

/** Drops a cached conversion (after it failed to load). */
export function forgetHubModel(src, options) {
  return forgetModel(hubCacheKey(src, options));
}
