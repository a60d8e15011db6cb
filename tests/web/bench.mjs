// Browser benchmark: the full-size random google/siglip-base-patch16-224 checkpoint, packed
// as q8 and f32, in headless Chromium on this machine. Prints a table and writes JSON.
//
//   ./build.sh bench [--runs 5] [--labels 8] [--live-seconds 10] [--dtypes q8,f32]
//
// Needs models/siglip-base-random (tests/fixtures/make_fixtures.py --full); packs it on first use.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, startServer, urlPath } from './harness.mjs';

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const RUNS = Number(arg('--runs', '5'));
const N_LABELS = Number(arg('--labels', '8'));
const LIVE_SECONDS = Number(arg('--live-seconds', '10'));
const DTYPES = arg('--dtypes', 'q8,f32').split(',');
const HF = path.join(ROOT, 'models/siglip-base-random');
const OUT_DIR = path.join(ROOT, 'bench-out');

function packed(dtype) {
  const file = path.join(ROOT, `models/base-${dtype}.safetensors`);
  if (!existsSync(file)) {
    if (!existsSync(HF)) {
      console.error(`missing ${HF}: run .venv/bin/python tests/fixtures/make_fixtures.py --full models/siglip-base-random`);
      process.exit(2);
    }
    execFileSync(path.join(ROOT, 'target/release/siglip'), ['quantize', HF, '--dtype', dtype, '-o', file], { stdio: 'inherit' });
  }
  return file;
}

/** Peak resident set (VmHWM) of Chromium renderer processes, in bytes. */
function rendererPeakRss() {
  let peak = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom') || !cmd.includes('--type=renderer')) continue;
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // the process went away
    }
  }
  return peak;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchOne(server, dtype) {
  const file = packed(dtype);
  const size = readFileSync(file).length;
  const browser = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}tests/web/blank.html`);
    const src = urlPath(file);
    const result = await page.evaluate(
      async ({ src, runs, nLabels }) => {
        const el = document.createElement('siglip-classifier');
        const t0 = performance.now();
        const loaded = new Promise((resolve, reject) => {
          el.addEventListener('load', (e) => resolve(e.detail));
          el.addEventListener('error', (e) => reject(e.detail.error));
        });
        el.setAttribute('src', src);
        document.body.append(el);
        const detail = await loaded;
        const loadMs = performance.now() - t0;
        const words = ['cat', 'dog', 'car', 'tree', 'red house', 'two birds on a wire', 'a bowl of soup', 'mountain lake'];
        const labels = Array.from({ length: nLabels }, (_, i) => `${words[i % words.length]} ${i}`);
        let t = performance.now();
        await el.embedText(labels.map((l) => `This is a photo of ${l}.`));
        const textMsPerLabel = (performance.now() - t) / labels.length;
        // A 640x480 photo-like test image, as a PNG blob.
        const canvas = new OffscreenCanvas(640, 480);
        const ctx = canvas.getContext('2d');
        const grad = ctx.createLinearGradient(0, 0, 640, 480);
        grad.addColorStop(0, '#3b6cf6');
        grad.addColorStop(1, '#f6a33b');
        ctx.fillStyle = grad;
        ctx.fillRect(0, 0, 640, 480);
        ctx.fillStyle = '#222';
        ctx.beginPath();
        ctx.arc(320, 240, 120, 0, 7);
        ctx.fill();
        const blob = await canvas.convertToBlob({ type: 'image/png' });
        el.labels = labels;
        await el.classify(blob); // labels now cached (template "This is a photo of {}.")
        const imageMs = [];
        for (let i = 0; i < runs + 1; i++) {
          t = performance.now();
          await el.classify(blob);
          imageMs.push(performance.now() - t);
        }
        const { wasmMemoryBytes } = await el.client.stats();
        return { detail, loadMs, textMsPerLabel, imageMs, wasmMemoryBytes };
      },
      { src, runs: RUNS, nLabels: N_LABELS },
    );
    // Live mode on the fake webcam.
    const el = page.locator('siglip-classifier');
    await el.getByRole('button', { name: 'Start camera' }).click();
    await el.getByRole('button', { name: 'Live' }).click();
    await page.waitForFunction(() => Number(document.querySelector('siglip-classifier').dataset.fps) > 0, null, { timeout: 120000 });
    await page.waitForTimeout(LIVE_SECONDS * 1000);
    const fps = Number(await el.evaluate((e) => e.dataset.fps));
    await el.getByRole('button', { name: 'Stop camera' }).click();
    return {
      dtype,
      file_mb: size / 1e6,
      load_init_s: result.loadMs / 1000,
      worker_load_s: result.detail.ms / 1000,
      load_phases_ms: result.detail.timings,
      simd: result.detail.simd,
      text_per_label_ms: result.textMsPerLabel,
      image_first_ms: result.imageMs[0],
      image_median_ms: median(result.imageMs.slice(1)),
      image_runs_ms: result.imageMs,
      live_fps: fps,
      renderer_peak_rss_mb: rendererPeakRss() / 1e6,
      wasm_memory_mb: result.wasmMemoryBytes / 1e6,
    };
  } finally {
    await browser.close();
  }
}

const server = await startServer();
const rows = [];
try {
  for (const dtype of DTYPES) rows.push(await benchOne(server, dtype));
} finally {
  await server.stop();
}
const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
const report = { date: new Date().toISOString(), chromium: chromiumVersion, threads: 1, rows };
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(path.join(OUT_DIR, 'browser-bench.json'), JSON.stringify(report, null, 2));
const fmt = (x, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
console.log(`\n${chromiumVersion}, 1 wasm thread, full-size random base-224, local HTTP\n`);
console.log('| dtype | file MB | cold load+init s | text ms/label | image first ms | image median ms | live fps | renderer peak MB | wasm memory MB |');
console.log('|-------|---------|------------------|---------------|----------------|-----------------|----------|------------------|----------------|');
for (const r of rows) {
  console.log(`| ${r.dtype} | ${fmt(r.file_mb)} | ${fmt(r.load_init_s, 2)} | ${fmt(r.text_per_label_ms)} | ${fmt(r.image_first_ms)} | ${fmt(r.image_median_ms)} | ${fmt(r.live_fps, 2)} | ${fmt(r.renderer_peak_rss_mb)} | ${fmt(r.wasm_memory_mb)} |`);
}
for (const r of rows) console.log(`load phases (${r.dtype}, ms): ${JSON.stringify(r.load_phases_ms)}`);
console.log(`\nwrote ${path.relative(ROOT, path.join(OUT_DIR, 'browser-bench.json'))}`);
