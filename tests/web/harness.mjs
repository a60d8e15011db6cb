// Shared browser-test plumbing: the static server, Chromium via playwright-core, fixture models.

import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const OUT = path.join(ROOT, 'target/web-test');
export const FIXTURES = path.join(ROOT, 'tests/fixtures');
mkdirSync(OUT, { recursive: true });

/** Starts scripts/serve.mjs on a free port; resolves to {url, stop}. */
export async function startServer({ root = ROOT, args = [], port = 0 } = {}) {
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/serve.mjs'), '--root', root, '--port', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /serving (http:\/\/\S+)/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(); // stopped already
        child.on('exit', resolve);
        child.kill();
      }),
  };
}

/**
 * For a test file: registers hooks that start the static server on ROOT and Chromium before its
 * tests and stop them after. Returns `{server, browser}`, filled in when the tests run.
 */
export function serverAndBrowser(launchArgs = []) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launch(launchArgs);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** How every test and benchmark starts Chromium: the system's binary, these flags and `extraArgs`. */
const chromiumOptions = (extraArgs) => ({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });

export async function launch(extraArgs = []) {
  return chromium.launch(chromiumOptions(extraArgs));
}

/**
 * Chromium with a profile in `dir` (its default browser context, where DevTools' storage
 * overrides, such as Storage.overrideQuotaForOrigin, take effect): a BrowserContext.
 */
export async function launchProfile(dir, extraArgs = []) {
  return chromium.launchPersistentContext(dir, chromiumOptions(extraArgs));
}

let cliBuilt = false;

/**
 * The `siglip` CLI the tests run: target/release/siglip, brought up to date by cargo once per
 * test process; or SIGLIP_CLI, a binary built elsewhere (a git worktree of this repository
 * borrowing the main checkout's, so that it need not build one), used as is.
 */
export function cli() {
  if (process.env.SIGLIP_CLI) return process.env.SIGLIP_CLI;
  if (!cliBuilt) {
    execFileSync('cargo', ['build', '--release', '--bin', 'siglip'], { cwd: ROOT, stdio: 'inherit' });
    cliBuilt = true;
  }
  return path.join(ROOT, 'target/release/siglip');
}

/**
 * Packs a fixture checkpoint with the CLI into target/web-test, again whenever the fixture or
 * the CLI changed since (cargo brings the CLI up to date once per test process).
 */
export function packedModel(name, dtype = 'f32') {
  const out = path.join(OUT, `${name}-${dtype}.safetensors`);
  const bin = cli();
  const dir = path.join(FIXTURES, name);
  const inputs = [bin, ...readdirSync(dir).map((f) => path.join(dir, f))];
  const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    execFileSync(bin, ['quantize', dir, '--dtype', dtype, '-o', out], { stdio: 'inherit' });
  }
  return out;
}

/** The tensors of a safetensors file, in header order: [{name, dtype, shape, data}]. */
export function readSafetensors(file) {
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  delete header.__metadata__;
  return Object.entries(header).map(([name, { dtype, shape, data_offsets: [a, b] }]) => ({
    name, dtype, shape, data: bytes.subarray(8 + n + a, 8 + n + b),
  }));
}

/** Writes tensors ({name, dtype, shape, data}) as a safetensors file, in the order given. */
function writeSafetensors(file, tensors) {
  const header = {};
  let offset = 0;
  for (const { name, dtype, shape, data } of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length] };
    offset += data.length;
  }
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - ((8 + json.length) % 8)) % 8, 0x20)]);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([size, json, ...tensors.map((t) => t.data)]));
}

/** Copies a fixture checkpoint's files (not its folders) into `dir`, except those in `skip`. */
function copyFixtureFiles(src, dir, skip) {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src)) {
    if (!skip.includes(f) && !statSync(path.join(src, f)).isDirectory()) copyFileSync(path.join(src, f), path.join(dir, f));
  }
}

/**
 * A fixture checkpoint stored sharded, as big checkpoints are: its tensors split in two
 * safetensors files plus `model.safetensors.index.json`, beside its other files, in
 * target/web-test/sharded/<name>-sharded/. Returns the folder holding that directory.
 */
export function shardedFixture(name) {
  const root = path.join(OUT, 'sharded');
  const dir = path.join(root, `${name}-sharded`);
  const src = path.join(FIXTURES, name);
  copyFixtureFiles(src, dir, ['model.safetensors']);
  const tensors = readSafetensors(path.join(src, 'model.safetensors')).sort((a, b) => (a.name < b.name ? -1 : 1));
  const parts = [tensors.slice(0, tensors.length >> 1), tensors.slice(tensors.length >> 1)];
  const weightMap = {};
  parts.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(path.join(dir, file), part);
    for (const t of part) weightMap[t.name] = file;
  });
  const totalSize = tensors.reduce((n, t) => n + t.data.length, 0);
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }));
  return root;
}

/**
 * The tiny-224 fixture with its token table grown to `vocab` rows (copies of its 500 real
 * ones; the tokenizer never reaches the rest), packed as f32: a model file of any size, for
 * tests of what a tab without enough memory does. Returns the packed file's path.
 */
export function bigVocabModel(vocab) {
  const out = path.join(OUT, `tiny-224-vocab${vocab}-f32.safetensors`);
  if (existsSync(out)) return out;
  const src = path.join(FIXTURES, 'tiny-224');
  const dir = path.join(OUT, `tiny-224-vocab${vocab}`);
  copyFixtureFiles(src, dir, ['model.safetensors', 'config.json']);
  const config = JSON.parse(readFileSync(path.join(src, 'config.json'), 'utf8'));
  const rows = config.text_config.vocab_size;
  config.text_config.vocab_size = vocab;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tensors = readSafetensors(path.join(src, 'model.safetensors')).map((t) => {
    if (t.name !== 'text_model.embeddings.token_embedding.weight') return t;
    const grown = Buffer.alloc((t.data.length / rows) * vocab);
    for (let at = 0; at < grown.length; at += t.data.length) t.data.copy(grown, at, 0, Math.min(t.data.length, grown.length - at));
    return { ...t, shape: [vocab, t.shape[1]], data: grown };
  });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  execFileSync(cli(), ['quantize', dir, '--dtype', 'f32', '-o', out], { stdio: 'inherit' });
  return out;
}

export function reference(name) {
  return JSON.parse(readFileSync(path.join(FIXTURES, name, 'reference.json'), 'utf8'));
}

/**
 * A benchmark script's `--name value` option from its command line, or `fallback`.
 * @param {string} name
 * @param {string | null} fallback
 */
export function option(name, fallback) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Path of a file relative to ROOT as a URL path. */
export function urlPath(file) {
  return '/' + path.relative(ROOT, file).split(path.sep).join('/');
}

/**
 * A fresh page of `target` (a browser or a browser context) on `server`'s blank page, watched
 * (see watch): `{page, problems}`.
 */
export async function blankPage(target, server) {
  const page = await target.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}tests/web/blank.html`);
  return { page, problems };
}

/** Collects console errors and page errors, to assert a clean run. */
export function watch(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Failed loads are reported below, with their URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`http ${r.status()} ${r.url()}`);
  });
  return problems;
}

/** The results shown in a <siglip-classifier>: [{label, percent}] in display order. */
export async function shownResults(locator) {
  return locator.evaluate((el) =>
    [...el.shadowRoot.querySelectorAll('.result')].map((li) => ({
      label: li.querySelector('.name').textContent,
      percent: parseFloat(li.querySelector('.pct').textContent),
      width: parseFloat(li.querySelector('.bar').style.width),
    })),
  );
}

export async function shownError(locator) {
  return locator.evaluate((el) => {
    const e = el.shadowRoot.querySelector('.error');
    return e.hidden ? '' : e.textContent;
  });
}
