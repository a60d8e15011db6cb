#!/usr/bin/env node
// Benchmark (not a test): indexing a folder of photos in the browser, images per second, this
// project's wasm builds (the <siglip-search> element: each image read, hashed, decoded as
// Pillow does, embedded, thumbnailed and stored) against transformers.js (onnxruntime-web, the
// same checkpoint exported to ONNX, q8; RawImage.fromBlob, the processor, SiglipVisionModel,
// `--tjs-batch` images per call as batched pixel_values), in the same headless Chromium,
// cross-origin isolated, alternating. Also: the renderer's peak resident set during the run.
//
//   node tests/web/index-bench.mjs [--photos DIR] [--count 200] [--variants simd128,relaxed,threads]
//        [--tjs-threads 1,2] [--tjs-batch 1,4] [--engines siglip,transformers.js] [--rounds 1]
//
// Needs the full-size random checkpoint (make_fixtures.py --full models/siglip-base-random),
// packed as q8 on first use, its ONNX export (scripts/export_onnx.py, for transformers.js) and
// tests/bench/node_modules (./build.sh bench installs it). Photos: DIR, else bench-out/photos,
// made by scripts/make_photos.py (in .venv) when missing. Writes bench-out/index-bench.json.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, option, startServer, urlPath } from './harness.mjs';
import { rendererMb } from './procs.mjs';

const list = (name, d) => option(name, d).split(',').filter(Boolean);
const ENGINES = list('--engines', 'siglip,transformers.js');
const VARIANTS = list('--variants', 'simd128,relaxed,threads');
const TJS_THREADS = list('--tjs-threads', '1,2').map(Number);
const TJS_BATCH = list('--tjs-batch', '1,4').map(Number);
const ROUNDS = Number(option('--rounds', '1'));
const COUNT = Number(option('--count', '200'));
const OUT = path.join(ROOT, 'bench-out');
mkdirSync(OUT, { recursive: true });

const CHECKPOINT = path.join(ROOT, 'models/siglip-base-random');
const MODEL = path.join(ROOT, 'models/base-q8.safetensors');
const ONNX = path.join(ROOT, 'models/siglip-base-random-onnx');
const TJS_DIST = path.join(ROOT, 'tests/bench/node_modules/@huggingface/transformers/dist');
const ORT_DIST = path.join(ROOT, 'tests/bench/node_modules/onnxruntime-web/dist');

if (!existsSync(MODEL)) {
  if (!existsSync(CHECKPOINT)) {
    console.error(`no ${CHECKPOINT}: make it with tests/fixtures/make_fixtures.py --full (see README, Tests)`);
    process.exit(2);
  }
  execFileSync(path.join(ROOT, 'target/release/siglip'), ['quantize', CHECKPOINT, '--dtype', 'q8', '-o', MODEL], { stdio: 'inherit' });
}
let photos = option('--photos', path.join(OUT, 'photos'));
if (!existsSync(photos)) {
  execFileSync(path.join(ROOT, '.venv/bin/python'), [path.join(ROOT, 'scripts/make_photos.py'), photos, '--count', String(COUNT)], { stdio: 'inherit' });
}
const files = readdirSync(photos).filter((f) => /\.(jpe?g|png|webp|gif)$/i.test(f)).sort().slice(0, COUNT);
photos = path.resolve(photos);

// A folder of exactly these files, under the server's root (transformers.js fetches them).
const FOLDER = path.join(OUT, 'index-bench-folder');
rmSync(FOLDER, { recursive: true, force: true });
mkdirSync(FOLDER, { recursive: true });
for (const f of files) copyFileSync(path.join(photos, f), path.join(FOLDER, f));

const server = await startServer({ args: ['--coi'] });

/** Samples the renderer's resident set every 500 ms while `work` runs; returns [result, peak MB]. */
async function withPeak(work) {
  let peak = rendererMb();
  const timer = setInterval(() => (peak = Math.max(peak, rendererMb())), 500);
  try {
    return [await work(), Math.max(peak, rendererMb())];
  } finally {
    clearInterval(timer);
  }
}

async function benchSiglip(variant) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}www/search.html?load=eager&no-sw&variant=${variant}&model=${urlPath(MODEL)}`);
    const el = page.locator('siglip-search');
    const loaded = await el.evaluate((e) => e.ready);
    await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
    const [result, peak] = await withPeak(async () => {
      const indexed = el.evaluate((e) => new Promise((r) => e.addEventListener('indexed', (ev) => r(ev.detail), { once: true })));
      const t0 = Date.now();
      await el.locator('input.folder').setInputFiles(FOLDER);
      const detail = await indexed;
      return { ...detail, seconds: (Date.now() - t0) / 1000 };
    });
    const row = {
      engine: 'siglip', variant, threads: loaded.build.threads, batch: 1, images: result.added, seconds: result.seconds,
      images_per_second: result.added / result.seconds, renderer_peak_mb: peak, failed: result.failed.length,
    };
    if (!row.images) throw new Error(`nothing was indexed: ${JSON.stringify(result)}`);
    return row;
  } finally {
    await browser.close();
  }
}

async function benchTjs(threads, batch) {
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}tests/bench/blank.html`);
    const urls = files.map((f) => urlPath(path.join(FOLDER, f)));
    const [result, peak] = await withPeak(() => page.evaluate(async (c) => {
      const tjs = await (await import(c.setup)).loadTransformers(c);
      const processor = await tjs.AutoProcessor.from_pretrained(c.model);
      const vision = await tjs.SiglipVisionModel.from_pretrained(c.model, { dtype: 'q8', device: 'wasm' });
      const t0 = performance.now();
      let n = 0;
      for (let at = 0; at < c.urls.length; at += c.batch) {
        const chunk = c.urls.slice(at, at + c.batch);
        // As an indexer reads files: the bytes, then the image.
        const images = await Promise.all(chunk.map(async (u) => tjs.RawImage.fromBlob(await (await fetch(u)).blob())));
        const { pixel_values } = await processor(images);
        const { pooler_output } = await vision({ pixel_values });
        n += pooler_output.dims[0];
      }
      return { images: n, seconds: (performance.now() - t0) / 1000, isolated: self.crossOriginIsolated };
    }, {
      lib: urlPath(path.join(TJS_DIST, 'transformers.js')), setup: urlPath(path.join(ROOT, 'tests/web/tjs-page.mjs')), wasmPaths: `${urlPath(ORT_DIST)}/`,
      modelRoot: `${urlPath(path.dirname(ONNX))}/`, model: path.basename(ONNX), threads, batch, urls,
    }));
    return {
      engine: 'transformers.js', variant: `ort-wasm-${threads}t`, threads, batch, images: result.images, seconds: result.seconds,
      images_per_second: result.images / result.seconds, renderer_peak_mb: peak,
    };
  } finally {
    await browser.close();
  }
}

const configs = [
  ...(ENGINES.includes('siglip') ? VARIANTS.map((variant) => () => benchSiglip(variant)) : []),
  ...(ENGINES.includes('transformers.js') ? TJS_THREADS.flatMap((t) => TJS_BATCH.map((b) => () => benchTjs(t, b))) : []),
];
const rows = [];
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [...configs].reverse() : configs;
  for (const run of order) {
    const row = { round, ...(await run()) };
    console.log(JSON.stringify(row));
    rows.push(row);
  }
}
await server.stop();

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const keys = [...new Set(rows.map((r) => `${r.engine}|${r.variant}|${r.batch}`))];
const table = keys.map((k) => {
  const rs = rows.filter((r) => `${r.engine}|${r.variant}|${r.batch}` === k);
  return { ...rs[0], images_per_second: median(rs.map((r) => r.images_per_second)), renderer_peak_mb: median(rs.map((r) => r.renderer_peak_mb)) };
});
const tjs = (threads) => Math.max(...table.filter((r) => r.engine === 'transformers.js' && r.threads === threads).map((r) => r.images_per_second));
console.log(`\n${files.length} photos (${COUNT} asked), ${ROUNDS} round(s); ratio = images/s ÷ the best transformers.js row with that many threads`);
console.log('| engine | variant | threads | images per call | images/s | ÷ tjs 1t | ÷ tjs 2t | renderer peak MB |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of table) {
  const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  console.log(`| ${r.engine} | ${r.variant} | ${r.threads} | ${r.batch} | ${f(r.images_per_second)} | ${f(r.images_per_second / tjs(1))} | ${f(r.images_per_second / tjs(2))} | ${f(r.renderer_peak_mb, 0)} |`);
}
writeFileSync(path.join(OUT, 'index-bench.json'), JSON.stringify({ date: new Date().toISOString(), photos: files.length, rows, table }, null, 2));
