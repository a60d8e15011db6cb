#!/usr/bin/env node
// Benchmark (not a test): a full-size checkpoint loaded as `hf:` from a local server that behaves
// like the Hub (scripts/serve.mjs --hub), in the page and in the CLI.
//
//   node tests/web/hub-bench.mjs [CHECKPOINT_DIR]   (default models/siglip-base-random, made by
//                                                    make_fixtures.py --full; see the README)
//
// Page: first visit (download + convert to q8 + init), the renderer's peak resident set while
// converting (sampled every 100 ms), second visit (from the cache). CLI (target/release/siglip,
// scratch HF_HOME): first `siglip info` (download into the HF cache + load), second (cached),
// with the process's peak RSS from /usr/bin/time when it is there.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launch, startServer } from './harness.mjs';
import { rendererMb } from './procs.mjs';

const dir = path.resolve(process.argv[2] ?? path.join(ROOT, 'models/siglip-base-random'));
if (!existsSync(path.join(dir, 'model.safetensors'))) {
  console.error(`no checkpoint at ${dir}: make one with tests/fixtures/make_fixtures.py --full (see the README)`);
  process.exit(2);
}
const repo = `test/${path.basename(dir)}`;
const hub = await startServer({ root: path.dirname(dir), args: ['--hub', '--cors'] });
const server = await startServer();
const rows = [];
try {
  const browser = await launch();
  const context = await browser.newContext();
  const visit = async (what) => {
    const page = await context.newPage();
    await page.goto(`${server.url}tests/web/blank.html`);
    let peak = rendererMb();
    const sampler = setInterval(() => (peak = Math.max(peak, rendererMb())), 100);
    const t0 = Date.now();
    const detail = await page.evaluate(
      async ({ src, hub }) => {
        const el = document.createElement('siglip-classifier');
        el.load = 'eager'; // at once, without the download prompt
        el.hub = hub;
        el.src = src;
        document.body.append(el);
        const d = await el.ready;
        return { fromCache: d.fromCache, dtype: d.info.dtype, timings: d.timings, commit: d.commit };
      },
      { src: `hf:${repo}`, hub: hub.url },
    );
    const ms = Date.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, rendererMb());
    rows.push({ what, seconds: ms / 1000, peakMb: peak, ...detail });
    await page.close();
  };
  await visit('page, first visit (download + convert + cache)');
  await visit('page, second visit (cache)');
  await browser.close();

  const bin = path.join(ROOT, 'target/release/siglip');
  if (!existsSync(bin)) execFileSync('cargo', ['build', '--release', '--bin', 'siglip'], { cwd: ROOT, stdio: 'inherit' });
  const home = mkdtempSync(path.join(os.tmpdir(), 'siglip-hub-bench-'));
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const cli = (what) => {
    const t0 = Date.now();
    const args = ['info', '--model', repo];
    const r = timeBin ? spawnSync(timeBin, ['-v', bin, ...args], { env: { ...process.env, HF_HOME: home, HF_ENDPOINT: hub.url.replace(/\/$/, '') }, encoding: 'utf8' })
      : spawnSync(bin, args, { env: { ...process.env, HF_HOME: home, HF_ENDPOINT: hub.url.replace(/\/$/, '') }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`siglip failed: ${r.stderr}`);
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '');
    rows.push({ what, seconds: (Date.now() - t0) / 1000, peakMb: rss ? Number(rss[1]) / 1024 : NaN });
  };
  cli('CLI, first run (download into the HF cache + load f32)');
  cli('CLI, second run (cache)');
  rmSync(home, { recursive: true, force: true });
} finally {
  await hub.stop();
  await server.stop();
}
console.log(`checkpoint: ${dir} as hf:${repo} from ${hub.url}\n`);
console.log('| step | seconds | peak RSS (MB) | notes |\n|---|---|---|---|');
for (const r of rows) {
  const notes = r.dtype ? `${r.dtype}, fromCache ${r.fromCache}, ${JSON.stringify(r.timings)}` : 'renderer: sum over renderer processes; CLI: the process';
  console.log(`| ${r.what} | ${r.seconds.toFixed(1)} | ${Number.isFinite(r.peakMb) ? r.peakMb.toFixed(0) : '–'} | ${notes} |`);
}
