#!/usr/bin/env node
// Soak run (a script, not a test; `./build.sh soak [MINUTES]`): long use in one page, with the
// renderer's resident set and the worker's wasm memory sampled every 30 s.
//   1. 1,000 scoring calls with random label sets (1-8 labels from a pool of 600, so the
//      label cache fills; its bound is TEXT_CACHE_CAPACITY in src/classifier.rs) for one image
//      embedded once (what relabeling does; the vision tower is exercised by 2 and 3),
//   2. 200 create/remove cycles of <siglip-classifier> and of <siglip-search> (each classifies
//      or ranks once; one handle keeps the shared model open meanwhile),
//   3. MINUTES (default 30) of webcam live mode on Chromium's fake camera.
// Passes when no error was seen and, in each phase, memory after warm-up (its first third) grew
// by at most 5 % by its end. Prints a table; writes bench-out/soak.json.
//
//   node tests/web/soak.mjs [--minutes M] [--calls N] [--cycles N] [MODEL]
//   (MODEL: default models/base-q8.safetensors, the full-size random checkpoint; see README)

import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, startServer, urlPath, watch } from './harness.mjs';
import { rendererMb } from './procs.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [v] = args.splice(i, 2).slice(1);
  return Number(v);
};
const minutes = opt('--minutes', 30);
const calls = opt('--calls', 1000);
const cycles = opt('--cycles', 200);
const model = path.resolve(args[0] ?? path.join(ROOT, 'models/base-q8.safetensors'));
if (!existsSync(model)) {
  console.error(`no model at ${model}: make one with \`siglip quantize\` (see the README's benchmark section)`);
  process.exit(2);
}
const SAMPLE_MS = 30000;
const GROWTH_LIMIT = 0.05;

const server = await startServer();
const browser = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
const page = await browser.newPage();
const problems = watch(page);
page.on('console', (m) => {
  if (m.type() === 'warning') problems.push(`console warning: ${m.text()}`);
});
await page.goto(`${server.url}tests/web/blank.html`);

const samples = []; // {phase, t, rendererMb, wasmMb, cachedTexts}
const t0 = Date.now();
async function sample(phase) {
  const stats = await page.evaluate(() => window.keeper.stats());
  const row = {
    phase,
    t: Math.round((Date.now() - t0) / 1000),
    rendererMb: Math.round(rendererMb()),
    wasmMb: Math.round(stats.wasmMemoryBytes / 2 ** 20),
    cachedTexts: stats.cachedTexts,
  };
  samples.push(row);
  console.log(`${String(row.t).padStart(5)} s  ${phase.padEnd(8)} renderer ${row.rendererMb} MB, wasm ${row.wasmMb} MB, ${row.cachedTexts} cached texts`);
}
/** Runs `step(i)` for i = 0.. until `more(i)` is false, sampling every SAMPLE_MS. */
async function phase(name, more, step) {
  await sample(name);
  let next = Date.now() + SAMPLE_MS;
  for (let i = 0; more(i); i++) {
    await step(i);
    if (Date.now() >= next) {
      await sample(name);
      next += SAMPLE_MS;
    }
  }
  await sample(name);
}

const src = urlPath(model);
const started = Date.now();
await page.evaluate(async (src) => {
  // A handle on the shared model (what createClassifier and the elements use), for its stats().
  await import('/www/index.js');
  const { openModel } = await import('/www/client.js');
  window.keeper = openModel({ src });
  await window.keeper.ready;
  window.image = await (await fetch('/tests/fixtures/images/gray.png')).blob();
  window.embedding = (await window.keeper.embedImage(window.image)).embedding;
}, src);
console.log(`model ${path.relative(ROOT, model)} (${(statSync(model).size / 1e6).toFixed(0)} MB) loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);

// 1. Random label sets.
await page.evaluate(() => {
  const words = ['red', 'small', 'old', 'shiny', 'wet', 'striped', 'wooden', 'blue', 'tiny', 'happy'];
  const things = ['cat', 'dog', 'car', 'tree', 'house', 'boat', 'cup', 'shoe', 'lamp', 'bird'];
  let seed = 12345; // xorshift32: the same label sets every run
  window.rand = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  window.pool = Array.from({ length: 600 }, (_, i) => `${words[i % 10]} ${things[Math.floor(i / 10) % 10]} ${Math.floor(i / 100)}`);
});
await phase('labels', (i) => i < calls, () =>
  page.evaluate(async () => {
    const labels = [...new Set(Array.from({ length: 1 + window.rand(8) }, () => window.pool[window.rand(window.pool.length)]))];
    const { results } = await window.keeper.score(window.embedding, labels);
    if (results.length !== labels.length) throw new Error('wrong result count');
  }),
);

// 2. Element create/remove cycles (the shared model stays open through `keeper`).
await phase('elements', (i) => i < cycles, (i) =>
  page.evaluate(async ([src, i]) => {
    for (const tag of ['siglip-classifier', 'siglip-search']) {
      const el = document.createElement(tag);
      el.load = 'eager'; // at once, without the download prompt
      el.setAttribute('src', src);
      if (tag === 'siglip-classifier') el.setAttribute('labels', `cat,dog,cycle ${i % 7}`);
      document.body.append(el);
      await el.ready;
      if (tag === 'siglip-classifier') await el.classify(window.image);
      else await el.rank('a cat', [window.image]);
      el.remove();
    }
  }, [src, i]),
);
await page.waitForTimeout(3000);
const workers = page.workers().length;

// 3. Webcam live mode.
await page.evaluate((src) => {
  const el = document.createElement('siglip-classifier');
  el.load = 'eager'; // at once, without the download prompt
  el.id = 'live';
  el.setAttribute('src', src);
  el.setAttribute('labels', 'a person,a cat,a test pattern');
  document.body.append(el);
  window.frames = 0;
  el.addEventListener('result', () => window.frames++);
}, src);
await page.evaluate(() => document.getElementById('live').ready);
await page.locator('#live').getByRole('button', { name: 'Start camera' }).click();
await page.locator('#live').getByRole('button', { name: 'Live' }).click();
const liveEnd = Date.now() + minutes * 60000;
await phase('webcam', () => Date.now() < liveEnd, () => page.waitForTimeout(1000));
const frames = await page.evaluate(() => window.frames);
const live = await page.evaluate(() => {
  const root = document.getElementById('live').shadowRoot;
  const e = root.querySelector('.error');
  return { error: e.hidden ? '' : e.textContent, on: root.querySelector('.live').getAttribute('aria-pressed') === 'true' };
});
if (live.error) problems.push(`live: ${live.error}`);
if (!live.on) problems.push('live mode stopped by itself');
if (frames === 0) problems.push('no webcam frame was classified');

await browser.close();
await server.stop();

// Growth per phase: end against the first sample after its first third.
const summary = [];
for (const name of ['labels', 'elements', 'webcam']) {
  const rows = samples.filter((s) => s.phase === name);
  const warm = rows[Math.min(rows.length - 1, Math.ceil(rows.length / 3))];
  const end = rows.at(-1);
  const growth = (k) => (end[k] - warm[k]) / warm[k];
  summary.push({
    phase: name,
    seconds: end.t - rows[0].t,
    start: rows[0],
    warm,
    end,
    rendererGrowth: growth('rendererMb'),
    wasmGrowth: growth('wasmMb'),
    peakRendererMb: Math.max(...rows.map((r) => r.rendererMb)),
  });
}
const pass = problems.length === 0 && summary.every((s) => s.rendererGrowth <= GROWTH_LIMIT && s.wasmGrowth <= GROWTH_LIMIT);
mkdirSync(path.join(ROOT, 'bench-out'), { recursive: true });
writeFileSync(
  path.join(ROOT, 'bench-out/soak.json'),
  JSON.stringify({ model: path.relative(ROOT, model), minutes, calls, cycles, frames, workersAfterCycles: workers, problems, summary, samples, pass }, null, 2),
);
const pct = (x) => `${(x * 100).toFixed(1)} %`;
console.log(`\nmodel ${path.relative(ROOT, model)}; ${calls} scoring calls, ${cycles} cycles of each element, ${minutes} min webcam (${frames} frames, ${(frames / (minutes * 60)).toFixed(2)} fps)`);
console.log(`workers after the element cycles: ${workers} (the shared model's)\n`);
console.log('| phase | s | renderer MB start / after warm-up / end (peak) | growth | wasm MB start / warm / end | growth | cached texts at end |');
console.log('|---|---|---|---|---|---|---|');
for (const s of summary) {
  console.log(
    `| ${s.phase} | ${s.seconds} | ${s.start.rendererMb} / ${s.warm.rendererMb} / ${s.end.rendererMb} (${s.peakRendererMb}) | ${pct(s.rendererGrowth)} | ` +
      `${s.start.wasmMb} / ${s.warm.wasmMb} / ${s.end.wasmMb} | ${pct(s.wasmGrowth)} | ${s.end.cachedTexts} |`,
  );
}
console.log(problems.length ? `\nproblems:\n${problems.join('\n')}` : '\nno errors');
console.log(pass ? 'PASS: memory flat after warm-up (<= 5 %), no errors' : 'FAIL');
process.exit(pass ? 0 : 1);
