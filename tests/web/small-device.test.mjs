// A tab with little memory, as on phones (300-500 MB for WebAssembly): Chromium started with
// V8's own cap on wasm memory (--wasm-max-mem-pages; 1200 pages = 75 MB), and a model file
// bigger than that (the tiny fixture with a 400,000-row token table: 104 MB). The load fails
// with a MemoryError that says how far memory got and what smaller file to try; nothing is
// cached; the same element then loads a model that fits and classifies.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { OUT, bigVocabModel, launch, packedModel, shownError, startServer, urlPath, watch } from './harness.mjs';

const PAGES = 1200;
let server;
let hub;
let browser;
const big = bigVocabModel(400000);
const small = urlPath(packedModel('tiny-224', 'q8'));

before(async () => {
  server = await startServer();
  hub = await startServer({ root: OUT, args: ['--hub', '--cors'] });
  browser = await launch([`--js-flags=--wasm-max-mem-pages=${PAGES}`]);
});

after(async () => {
  await browser?.close();
  await hub?.stop();
  await server?.stop();
});

test('a model too big for the tab: a MemoryError saying how much it needed and what to try; the page keeps working', async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}tests/web/blank.html`);
  const load = (attrs) =>
    page.evaluate(async (attrs) => {
      await import('/www/siglip-classifier.js');
      let el = document.querySelector('siglip-classifier');
      if (!el) {
        el = document.createElement('siglip-classifier');
        el.load = 'eager'; // at once, without the download prompt
        el.setAttribute('labels', 'cat,dog');
        document.body.append(el);
      }
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      try {
        const { info } = await el.ready;
        const results = await el.classify('/tests/fixtures/images/gray.png');
        return { info, results };
      } catch (err) {
        return { error: { name: err.name, message: err.message } };
      }
    }, attrs);

  // A packed file (104 MB) against a 75 MB cap.
  const failed = await load({ src: urlPath(big) });
  assert.equal(failed.error?.name, 'MemoryError', JSON.stringify(failed));
  assert.match(
    failed.error.message,
    /not enough memory for a 104 MB model file \(this worker's WebAssembly memory, \d+ MB now, could not grow by that much; phones often allow a tab 300-500 MB\)\. Try a smaller file of the same model: `siglip quantize --dtype q4`/,
  );
  assert.match(await shownError(page.locator('siglip-classifier')), /not enough memory for a 104 MB model file/);
  const cached = await page.evaluate(async (file) => {
    const cache = await caches.open('siglip-models-v1');
    return (await cache.keys()).map((r) => r.url).filter((u) => u.endsWith(file));
  }, path.basename(big));
  assert.deepEqual(cached, [], 'nothing cached');

  // The same from the Hub, converted to f32: the suggestion is the dtype.
  const hubFailed = await load({ hub: hub.url, dtype: 'f32', src: `hf:test/${path.basename(big).replace('-f32.safetensors', '')}` });
  assert.equal(hubFailed.error?.name, 'MemoryError', JSON.stringify(hubFailed));
  assert.match(hubFailed.error.message, /could not grow by that much; .*Try dtype "q4" \(the dtype attribute or option\): about half the size of f32\./);

  // The element then loads a model that fits, and classifies.
  const good = await load({ src: small, dtype: 'q8' });
  assert.equal(good.error, undefined, JSON.stringify(good.error));
  assert.deepEqual(good.results.map((r) => r.label).sort(), ['cat', 'dog']);
  assert.equal(await shownError(page.locator('siglip-classifier')), '');
  assert.deepEqual(problems, []);
  await page.close();
});
