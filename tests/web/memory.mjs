#!/usr/bin/env node
// Benchmark (not a test): what a second <siglip-classifier> with the same `src` costs, now
// that elements share one worker and model, against two elements that do not share (the same
// file under two URLs, as every element was before).
//
//   node tests/web/memory.mjs [MODEL]    (default models/base-q8.safetensors: a full-size
//                                         checkpoint packed by `siglip quantize`; see README)
//
// Prints the renderer's resident set (VmRSS of this browser's renderer processes, which hold
// the page and its workers) and the number of workers after each step.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, startServer, urlPath } from './harness.mjs';
import { rendererMb } from './procs.mjs';

const model = path.resolve(process.argv[2] ?? path.join(ROOT, 'models/base-q8.safetensors'));
if (!existsSync(model)) {
  console.error(`no model at ${model}: make one with \`siglip quantize\` (see the README's benchmark section)`);
  process.exit(2);
}

const server = await startServer();
const browser = await launch();
const rows = [];
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}tests/web/blank.html`);
  const settle = async () => {
    await page.evaluate(() => new Promise((r) => setTimeout(r, 1500)));
    return rendererMb();
  };
  const add = (src) =>
    page.evaluate(async (src) => {
      const el = document.createElement('siglip-classifier');
      el.load = 'eager'; // at once, without the download prompt
      el.src = src;
      document.body.append(el);
      await el.ready;
      // One image through the model, so its working memory counts too.
      await el.classify('/tests/fixtures/images/gray.png', ['a cat', 'a dog']);
    }, src);
  const clear = () => page.evaluate(() => document.querySelectorAll('siglip-classifier').forEach((e) => e.remove()));
  const src = urlPath(model);
  const measure = async (what) => rows.push({ what, mb: await settle(), workers: page.workers().length });
  await measure('no element');
  await add(src);
  await measure('1 element');
  await add(src);
  await measure('2 elements, same src (shared)');
  await clear();
  await measure('both removed');
  await add(`${src}?copy=1`);
  await add(`${src}?copy=2`);
  await measure('2 elements, different src (not shared)');
} finally {
  await browser.close();
  await server.stop();
}
console.log(`model: ${path.relative(ROOT, model)} (${(statSync(model).size / 1e6).toFixed(0)} MB)\n`);
console.log('| step | renderer RSS (MB) | workers |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${r.mb.toFixed(0)} | ${r.workers} |`);
