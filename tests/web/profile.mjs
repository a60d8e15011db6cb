#!/usr/bin/env node
// Benchmark (not a test): where one image's time goes in the browser, by kind of operation
// (the wasm build's setProfiling/takeProfile, see src/profile.rs), for a single-threaded build.
// With --text: one call embedding 8 new labels ("This is a photo of {}."; the label cache never
// answers), on the checkpoint's own text path (auto: all 64 padded tokens for a checkpoint whose
// tokenizer_config says model_input_names ["input_ids"], as the google checkpoints' do).
//
//   node tests/web/profile.mjs [simd128|relaxed] [MODEL] [RUNS] [--text] [--browser chromium|firefox|webkit]
//        (defaults: relaxed, models/base-q8.safetensors made by `siglip quantize`, 3 runs,
//        Chromium; engines.mjs drives each browser: WebKit runs simd128 only)
//
// The model is loaded in the page's own thread (no worker, no element) and a 640×480 RGBA
// frame is embedded twice unmeasured, then RUNS times with the profile on, then RUNS times with
// it off (profiling calls performance.now() around each operation, which costs a little).
// Prints each run's table: operation, total ms, share of the image, calls.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, option, startServer, urlPath } from './harness.mjs';
import { launchEngine } from './engines.mjs';

const text = process.argv.includes('--text');
const engine = option('--browser', 'chromium');
const args = process.argv.slice(2).filter((a, i, all) => a !== '--text' && a !== '--browser' && all[i - 1] !== '--browser');
const variant = args[0] ?? 'relaxed';
const model = path.resolve(args[1] ?? path.join(ROOT, 'models/base-q8.safetensors'));
const runs = Number(args[2] ?? 3);
const PKG = { simd128: 'www/pkg/siglip.js', relaxed: 'www/pkg-relaxed/siglip.js' }[variant];
if (!PKG) {
  console.error(`variant ${variant}: one of simd128, relaxed (the threads build needs a worker; see bench.mjs)`);
  process.exit(2);
}
for (const file of [model, path.join(ROOT, PKG)]) {
  if (!existsSync(file)) {
    console.error(`missing ${file} (./build.sh build; models: see the README's benchmark section)`);
    process.exit(2);
  }
}

const server = await startServer();
const browser = await launchEngine(engine);
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}tests/web/blank.html`);
  const out = await page.evaluate(
    async ({ pkg, src, runs, text }) => {
      const w = await import(pkg);
      await w.default();
      const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
      const buffer = new w.ModelBuffer(bytes.length);
      new Uint8Array(w.wasmMemory().buffer, buffer.ptr(), bytes.length).set(bytes);
      const m = w.Model.fromBuffer(buffer, false);
      const rgba = new Uint8Array(640 * 480 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) & 255));
      const labels = ['cat', 'dog', 'car', 'bowl of soup', 'person', 'mountain landscape', 'red bicycle', 'city at night'];
      let call = 0;
      const embed = text
        ? () => m.embedTexts(labels.map((l) => `This is a photo of ${l} ${call++}.`)) // new texts each call
        : () => m.embedImageRgba(640, 480, rgba);
      embed();
      embed();
      const profiled = [];
      for (let r = 0; r < runs; r++) {
        w.setProfiling(true);
        const t0 = performance.now();
        embed();
        const total = performance.now() - t0;
        profiled.push({ total, rows: JSON.parse(w.takeProfile()) });
        w.setProfiling(false);
      }
      const plain = [];
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        embed();
        plain.push(performance.now() - t0);
      }
      return { build: w.buildInfo(), profiled, plain };
    },
    { pkg: `/${PKG}`, src: urlPath(model), runs, text },
  );
  const what = text ? '8 labels' : 'image';
  console.log(`${engine}: build ${out.build}, ${path.relative(ROOT, model)}`);
  for (const { total, rows } of out.profiled) {
    console.log(`${what} ${total.toFixed(0)} ms (profiled)`);
    for (const [op, ms, calls] of rows) {
      console.log(`  ${op.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} % ${String(calls).padStart(5)} calls`);
    }
  }
  console.log(`${what}, profiling off: ${out.plain.map((t) => t.toFixed(0)).join(', ')} ms`);
} finally {
  await browser.close();
  await server.stop();
}
