#!/usr/bin/env node
// Benchmark (not a test): exact search in the browser, one thread, per single-threaded wasm
// build: the wasm's `searchBench` (src/index.rs `bench`: top 100 over random normalized rows of
// 768, stored f32 and f16), ms per query at each row count. A size that does not fit the wasm
// memory is left out. Natively: `siglip bench-search`.
//
//   node tests/web/search-bench.mjs [--rows 10000,100000,1000000] [--ms 1000]

import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, option, startServer, urlPath } from './harness.mjs';

const ROWS = option('--rows', '10000,100000,1000000').split(',').map(Number);
const MS = Number(option('--ms', '1000'));

const server = await startServer();
console.log('| build | rows | dtype | ms per query | M rows/s | MB |');
console.log('|---|---|---|---|---|---|');
for (const build of ['pkg', 'pkg-relaxed']) {
  const js = path.join(ROOT, 'www', build, 'siglip.js');
  if (!existsSync(js)) continue;
  for (const rows of ROWS) {
    // A fresh page per size: each gets the whole wasm memory.
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}tests/bench/blank.html`);
      const result = await page.evaluate(async ([url, rows, ms]) => {
        const m = await import(url);
        await m.default();
        return JSON.parse(m.searchBench(new Uint32Array([rows]), 768, ms));
      }, [urlPath(js), rows, MS]);
      for (const r of result) console.log(`| ${build} | ${r.rows} | ${r.dtype} | ${r.ms_per_query.toFixed(2)} | ${r.mrows_per_second.toFixed(1)} | ${r.mb.toFixed(0)} |`);
      if (result.length < 2) console.log(`| ${build} | ${rows} | ${['f32', 'f16'].filter((d) => !result.some((r) => r.dtype === d)).join(', ')} | does not fit the wasm memory | | |`);
    } finally {
      await browser.close();
    }
  }
}
await server.stop();
