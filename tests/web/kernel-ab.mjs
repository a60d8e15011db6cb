#!/usr/bin/env node
// Benchmark (not a test): the q8 kernels of two single-threaded wasm builds, paired. Each round
// runs every build's kernelBench in a fresh browser, in alternating order, so drift in the
// machine's speed falls on both; prints the median GMAC/s per shape and precision, the ratio
// B/A, and every round's figure.
//
//   node tests/web/kernel-ab.mjs A_DIR B_DIR [--rounds 3] [--ms 800]
//
// A_DIR, B_DIR: directories holding a wasm-bindgen `siglip.js` (e.g. www/pkg-relaxed and the
// same build of another commit: `git worktree add ../old <commit>`, then in it
// `./build.sh build` or, for one variant, `SIGLIP_VARIANTS=relaxed ./build.sh build`).
// The threads build needs a worker pool; compare its kernels through the single-threaded builds.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { launch, option, startServer } from './harness.mjs';

const argv = process.argv.slice(2);
const rounds = Number(option('--rounds', '3'));
const ms = Number(option('--ms', '800'));
const dirs = argv.filter((a, i) => !a.startsWith('--') && !argv[i - 1]?.startsWith('--')).map((d) => path.resolve(d));
if (dirs.length !== 2 || dirs.some((d) => !existsSync(path.join(d, 'siglip.js')))) {
  console.error('usage: node tests/web/kernel-ab.mjs A_DIR B_DIR [--rounds 3] [--ms 800] (each DIR holds siglip.js)');
  process.exit(2);
}

// Both builds are served from the filesystem root, so they may live anywhere.
const server = await startServer({ root: '/' });
const results = {}; // "int7 197x768x3072" -> [[A figures], [B figures]]
const kernels = []; // the kernel names each build reported
try {
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 ? [1, 0] : [0, 1]) {
      const browser = await launch();
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}${path.join(dirs[which], 'siglip.js').slice(1)}`);
        const rows = await page.evaluate(
          async ([url, ms]) => {
            const m = await import(url);
            await m.default();
            return JSON.parse(m.kernelBench(ms));
          },
          [`/${path.join(dirs[which], 'siglip.js').slice(1)}`, ms],
        );
        for (const row of rows.filter((x) => x.precision !== 'f32')) {
          const key = `${row.precision} ${row.m}x${row.k}x${row.n}`;
          (results[key] ??= [[], []])[which].push(row.gmacs);
          (kernels[which] ??= new Set()).add(row.kernel);
        }
      } finally {
        await browser.close();
      }
    }
  }
} finally {
  await server.stop();
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`A: ${dirs[0]} (${[...(kernels[0] ?? [])].join(', ')})\nB: ${dirs[1]} (${[...(kernels[1] ?? [])].join(', ')})\n${rounds} rounds, GMAC/s (median, then each round)`);
for (const [key, [a, b]] of Object.entries(results)) {
  const f = (v) => v.map((x) => x.toFixed(1)).join(' ');
  const ratio = a.length && b.length ? (median(b) / median(a)).toFixed(3) : '-';
  console.log(`${key.padEnd(22)} A ${a.length ? median(a).toFixed(1) : '-'} B ${b.length ? median(b).toFixed(1) : '-'} B/A ${ratio}   [A ${f(a)}] [B ${f(b)}]`);
}
