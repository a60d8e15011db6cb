#!/usr/bin/env node
// A small static server for the demo and the browser tests: correct MIME types (wasm, js,
// safetensors), byte ranges (so a dropped model download can resume), optional headers
// (CSP, CORS), and fault injection for tests:
//   /__flaky/PATH   the first request for PATH is cut off halfway; later ones are served
//   /__slow/PATH    served in small chunks with pauses (to observe progress)
//   /__badrange/PATH  the first request is cut off halfway; a Range request is then answered
//                   from byte 0 (with an honest Content-Range): a server that cannot resume
//   /__norange/PATH the first request is cut off halfway; later ones ignore Range (200, whole file)
//   /__stall/PATH   the first request sends half the file, then nothing, with the connection open
//   /__hang/PATH    every request gets its headers, then nothing, with the connection open
//   /__short/PATH   the first request announces a Content-Length 1000 bytes too small (the body
//                   is cut there); later ones are served
//   /__long/PATH    the first request announces 1000 bytes more than it sends, then closes
//   /__fail<N>/PATH the first N requests for PATH get 500 (N = 0..99)
//   /__html/PATH    a 200 text/html error page instead of the file (as captive portals and
//                   misconfigured hosts answer)
//   /__requests     JSON list of the requests served so far: [{path, method, range, mode, t}] (t in ms)
//   --hub     behaves like the Hugging Face Hub for the model directories under --root: repo
//             test/<dir> is <root>/<dir>; GET /api/models/test/<dir>/revision/<rev> answers
//             {sha, siblings, gated}; /test/<dir>/resolve/<rev>/<file> serves the file (rev:
//             main or the sha), big files (*.safetensors) through a 302 to /__cdn/<dir>/<file>,
//             with X-Repo-Commit and ETag; test/gated is gated (401), other repos 401 with
//             X-Error-Code RepoNotFound (as the Hub answers anonymous clients).
//             --hub-sha SHA sets the commit (default 40 x "a").
// Usage: node scripts/serve.mjs [--root www] [--port 8080] [--host 127.0.0.1] [--cors] [--coi]
//        [--hub [--hub-sha SHA]] [--header "Name: value"]...   Prints "serving http://HOST:PORT/" when ready.
//   --coi  cross-origin isolation (COOP same-origin, COEP require-corp, and CORP on every
//          file so isolated pages elsewhere may embed them too): SharedArrayBuffer, so the
//          threads build of the wasm can run.

import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const root = path.resolve(opt('--root', 'www'));
const port = Number(opt('--port', '8080'));
const host = opt('--host', '127.0.0.1');
const cors = args.includes('--cors');
const coi = args.includes('--coi');
const hub = args.includes('--hub');
const hubSha = opt('--hub-sha', 'a'.repeat(40));
const extraHeaders = [];
args.forEach((a, i) => {
  if (a === '--header') {
    const [k, ...v] = args[i + 1].split(':');
    extraHeaders.push([k.trim(), v.join(':').trim()]);
  }
});

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp',
  '.svg': 'image/svg+xml', '.safetensors': 'application/octet-stream', '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8', '.map': 'application/json', '.webmanifest': 'application/manifest+json',
};
const flakyServed = new Set();
const badRangeServed = new Set();
// First-request faults already served, per mode: file -> count.
const faultCount = new Map();
const served = (mode, file) => {
  const key = `${mode}:${file}`;
  const n = faultCount.get(key) ?? 0;
  faultCount.set(key, n + 1);
  return n;
};
const requestLog = [];

function corsHeaders() {
  if (!cors) return {};
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'range',
    'access-control-expose-headers': 'content-length, content-range, accept-ranges, etag, x-repo-commit, x-linked-etag, x-linked-size, x-error-code',
  };
}

/** Lists a directory's files, relative, recursively. */
async function listFiles(dir, prefix = '') {
  const out = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), `${prefix}${e.name}/`)));
    else out.push(`${prefix}${e.name}`);
  }
  return out;
}

/**
 * The Hub's routes (see --hub): {json, status, headers} for an API or error answer,
 * {redirect, headers} for a 302, or {path, headers} of a file to serve.
 */
async function hubRoute(pathname, origin) {
  // As the Hub answers anonymous clients: 401 for a gated repo and for one that does not exist
  // (it does not say which repos exist), 404 for a missing revision or file.
  const notFound = (code, error) => ({
    status: code === 'GatedRepo' || code === 'RepoNotFound' ? 401 : 404,
    error,
    headers: { 'x-error-code': code },
  });
  const repoDir = async (owner, name) => {
    if (owner !== 'test') return null;
    const dir = path.join(root, name === 'gated' ? 'tiny-224' : name);
    const stat = await fs.stat(dir).catch(() => null);
    return stat?.isDirectory() && !name.startsWith('.') ? dir : null;
  };
  let m = /^\/api\/models\/([^/]+)\/([^/]+)\/revision\/([^/]+)$/.exec(pathname);
  if (m) {
    const dir = await repoDir(m[1], m[2]);
    if (!dir) return notFound('RepoNotFound', 'Repository not found');
    if (m[3] !== 'main' && m[3] !== hubSha) return notFound('RevisionNotFound', 'Invalid rev id');
    const siblings = (await listFiles(dir)).map((rfilename) => ({ rfilename }));
    return { json: { id: `${m[1]}/${m[2]}`, sha: hubSha, gated: m[2] === 'gated' ? 'manual' : false, siblings } };
  }
  m = /^\/([^/_][^/]*)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(pathname);
  if (m) {
    const [, owner, name, rev, file] = m;
    const dir = await repoDir(owner, name);
    if (!dir) return notFound('RepoNotFound', 'Repository not found');
    if (name === 'gated') return notFound('GatedRepo', 'Access to this model is restricted');
    if (rev !== 'main' && rev !== hubSha) return notFound('RevisionNotFound', 'Invalid rev id');
    const stat = await fs.stat(path.join(dir, path.normalize(file))).catch(() => null);
    if (!stat?.isFile()) return notFound('EntryNotFound', 'Entry not found');
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers = { 'x-repo-commit': hubSha, etag };
    if (file.endsWith('.safetensors')) {
      // Absolute, as the Hub's redirects to its CDN are (clients read the commit and ETag from the 302).
      return { redirect: `${origin}/__cdn/${name}/${file}`, headers: { ...headers, 'x-linked-etag': etag, 'x-linked-size': String(stat.size) } };
    }
    return { path: `/${path.relative(root, dir)}/${file}`, headers };
  }
  m = /^\/__cdn\/([^/]+)\/(.+)$/.exec(pathname);
  if (m) return { path: `/${m[1]}/${m[2]}`, headers: {} };
  return notFound('RepoNotFound', 'Repository not found');
}

const server = createServer(async (req, res) => {
  try {
    let url = new URL(req.url, 'http://x');
    let pathname = decodeURIComponent(url.pathname);
    if (pathname === '/__requests') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(requestLog));
      return;
    }
    let mode = null;
    let failures = 0;
    const fault = /^\/__(flaky|slow|badrange|norange|stall|hang|short|long|html|fail(\d{1,2}))\//.exec(pathname);
    if (fault) {
      mode = fault[2] === undefined ? fault[1] : 'fail';
      failures = Number(fault[2] ?? 0);
      pathname = pathname.slice(fault[0].length - 1);
    }
    requestLog.push({ path: pathname, method: req.method, range: req.headers.range ?? null, mode, t: Date.now() });
    const hubHeaders = {};
    if (hub && req.method === 'OPTIONS') {
      res.writeHead(204, corsHeaders()).end();
      return;
    }
    if (hub) {
      const answer = await hubRoute(pathname, `http://${req.headers.host}`);
      if (answer.json || answer.status) {
        const h = { 'content-type': 'application/json', 'cache-control': 'no-cache', ...corsHeaders(), ...answer.headers };
        res.writeHead(answer.status ?? 200, h).end(JSON.stringify(answer.json ?? { error: answer.error }));
        return;
      }
      if (answer.redirect) {
        res.writeHead(302, { location: answer.redirect, ...corsHeaders(), ...answer.headers }).end();
        return;
      }
      pathname = answer.path;
      Object.assign(hubHeaders, answer.headers);
    }
    let file = path.join(root, path.normalize(pathname));
    if (!file.startsWith(root)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    let stat = await fs.stat(file).catch(() => null);
    if (stat?.isDirectory()) {
      file = path.join(file, 'index.html');
      stat = await fs.stat(file).catch(() => null);
    }
    const headers = { 'cache-control': 'no-cache', 'accept-ranges': 'bytes' };
    if (coi) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
      headers['cross-origin-resource-policy'] = 'cross-origin';
    }
    for (const [k, v] of extraHeaders) headers[k] = v;
    Object.assign(headers, corsHeaders(), hubHeaders);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, headers).end();
      return;
    }
    if (!stat) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (mode === 'fail' && served(mode, file) < failures) {
      res.writeHead(500, { ...headers, 'content-type': 'text/plain' }).end('internal server error');
      return;
    }
    if (mode === 'html') {
      const page = '<!DOCTYPE html>\n<html><head><title>Sign in to continue</title></head><body><h1>Sign in</h1></body></html>\n';
      res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(page)) }).end(page);
      return;
    }
    headers['content-type'] = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    // The validators static hosts send (a checkpoint folder's cached conversion is checked by them).
    headers['last-modified'] ??= new Date(stat.mtimeMs).toUTCString();
    headers.etag ??= `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    let start = 0;
    let end = stat.size - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const first = ['norange', 'stall', 'short', 'long'].includes(mode) && served(mode, file) === 0;
    if (range && mode === 'norange') {
      // Serves the whole file, as a server without range support does.
    } else if (range && mode === 'badrange' && badRangeServed.has(file)) {
      // Ignores the requested offset: the same length, but from the start of the file.
      end = Math.min(end, Math.max(0, end - Number(range[1])));
      status = 206;
      headers['content-range'] = `bytes 0-${end}/${stat.size}`;
    } else if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start > end) {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${stat.size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${stat.size}`;
    }
    headers['content-length'] = String(end - start + 1);
    if (first && mode === 'short') headers['content-length'] = String(Math.max(1, end - start + 1 - 1000));
    if (first && mode === 'long') headers['content-length'] = String(end - start + 1 + 1000);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (mode === 'hang') {
      res.flushHeaders(); // headers sent; the body never comes
      return;
    }
    if (first && (mode === 'norange' || mode === 'stall')) {
      const half = start + Math.floor((end - start + 1) / 2);
      const stream = createReadStream(file, { start, end: half });
      stream.on('data', (chunk) => res.write(chunk));
      // norange: the connection drops; stall: it stays open and silent (until the client gives up).
      if (mode === 'norange') stream.on('end', () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    if (first && mode === 'short') {
      const stream = createReadStream(file, { start, end: start + Number(headers['content-length']) - 1 });
      stream.pipe(res);
      return;
    }
    if (first && mode === 'long') {
      const stream = createReadStream(file, { start, end });
      stream.on('data', (chunk) => res.write(chunk));
      stream.on('end', () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    const cutOff = mode === 'flaky' ? flakyServed : mode === 'badrange' ? badRangeServed : null;
    if (cutOff && !cutOff.has(file)) {
      cutOff.add(file);
      const half = start + Math.floor((end - start + 1) / 2);
      const stream = createReadStream(file, { start, end: half });
      stream.on('data', (chunk) => res.write(chunk));
      stream.on('end', () => setTimeout(() => res.socket?.destroy(), 50));
      return;
    }
    const stream = createReadStream(file, { start, end, highWaterMark: mode === 'slow' ? 64 * 1024 : 1 << 20 });
    if (mode === 'slow') {
      stream.on('data', (chunk) => {
        stream.pause();
        res.write(chunk);
        setTimeout(() => stream.resume(), 20);
      });
      stream.on('end', () => res.end());
    } else {
      stream.pipe(res);
    }
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});

server.listen(port, host, () => {
  const address = server.address();
  console.log(`serving http://${host}:${address.port}/ from ${root}`);
});
