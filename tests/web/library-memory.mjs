#!/usr/bin/env node
// Benchmark (not a test): the renderer's memory as a <siglip-search> library grows, to show it is
// bounded by what is shown, not by the library. For each COUNT: a generated gallery
// (scripts/make_gallery.mjs) added through the folder picker of the search page, the renderer's
// peak resident set while it is indexed, then after a reload with the library back from
// IndexedDB; the worker's wasm memory; what the browser stores.
//
//   node tests/web/library-memory.mjs [--counts 1000,10000] [--model PATH]
//
// The default model is the tiny test checkpoint (fast: the figures are about the library, not the
// model; a full-size model adds its constant ~260 MB of wasm memory). Writes
// bench-out/library-memory.json.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, option, packedModel, startServer, urlPath } from './harness.mjs';
import { rendererMb } from './procs.mjs';
import { makeGallery } from '../../scripts/make_gallery.mjs';

const COUNTS = option('--counts', '1000,10000').split(',').map(Number);
const model = option('--model', null) ? path.resolve(option('--model')) : packedModel('tiny-224', 'f32');
const OUT = path.join(ROOT, 'bench-out');
mkdirSync(OUT, { recursive: true });

const server = await startServer();
const rows = [];
for (const count of COUNTS) {
  const dir = path.join(OUT, `gallery-${count}`);
  if (!existsSync(dir)) makeGallery(dir, { count, junk: false });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}www/search.html?load=eager&no-sw&model=${urlPath(model)}`);
    const el = page.locator('siglip-search');
    await el.evaluate((e) => e.ready);
    await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
    const before = rendererMb();
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rendererMb())), 500);
    const t0 = Date.now();
    const indexed = el.evaluate((e) => new Promise((r) => e.addEventListener('indexed', (ev) => r(ev.detail), { once: true })));
    await el.locator('input.folder').setInputFiles(dir);
    const result = await indexed;
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(timer);
    const afterIndexing = rendererMb();
    await page.reload();
    await el.evaluate((e) => e.ready);
    await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
    await page.waitForTimeout(2000);
    const afterReload = rendererMb();
    const stats = await el.evaluate(async (e) => ({
      size: e.size,
      wasm: (await e.client.stats()).wasmMemoryBytes,
      storage: await e.libraryObject.storage(),
      images: e.shadowRoot.querySelectorAll('.item img').length,
    }));
    const row = {
      count, added: result.added, seconds, renderer_before_mb: before, renderer_peak_mb: peak, renderer_after_indexing_mb: afterIndexing,
      renderer_after_reload_mb: afterReload, wasm_memory_mb: stats.wasm / 1e6, stored_mb: stats.storage.usage / 1e6, images_shown: stats.images,
      size_after_reload: stats.size,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
  } finally {
    await browser.close();
  }
}
await server.stop();
console.log('\n| images | indexing s | renderer before MB | peak while indexing MB | after reload MB | wasm memory MB | stored MB |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.count} | ${r.seconds.toFixed(0)} | ${r.renderer_before_mb.toFixed(0)} | ${r.renderer_peak_mb.toFixed(0)} | ${r.renderer_after_reload_mb.toFixed(0)} | ${r.wasm_memory_mb.toFixed(0)} | ${r.stored_mb.toFixed(1)} |`);
}
writeFileSync(path.join(OUT, 'library-memory.json'), JSON.stringify({ date: new Date().toISOString(), model: path.relative(ROOT, model), rows }, null, 2));
