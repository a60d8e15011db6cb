// Image-text retrieval: <siglip-search> ranks a gallery against the reference, embeds each
// image once, and re-ranks as the query changes with one text embedding per query.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FIXTURES, OUT, packedModel, reference, serverAndBrowser, urlPath, watch } from './harness.mjs';

const ref = reference('tiny-224');
const FILES = ['alpha.png', 'gray.png', 'wide.png', 'lossless.webp', 'animated.gif'];
const env = serverAndBrowser();


test('the gallery is ranked like the reference, images embedded once, one text per query', async () => {
  const page = await env.browser.newPage();
  const problems = watch(page);
  // Count requests to the worker by type.
  await page.addInitScript(() => {
    window.__requests = [];
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (msg, ...rest) {
      window.__requests.push(msg?.type);
      return post.call(this, msg, ...rest);
    };
  });
  await page.goto(`${env.server.url}www/search.html?no-sw&model=${urlPath(packedModel('tiny-224', 'f32'))}`);
  const el = page.locator('siglip-search');
  await el.evaluate((e) => e.ready);
  await el.locator('input.files').setInputFiles(FILES.map((f) => path.join(FIXTURES, 'images', f)));
  await page.waitForFunction((n) => document.querySelector('siglip-search').shadowRoot.querySelectorAll('.item:not(.pending)').length === n, FILES.length);

  // Queries are used verbatim: the templated texts have reference logits for every image.
  for (const q of [0, 3, 1]) {
    const query = ref.texts[q];
    const ranking = await el.evaluate(async (e, query) => {
      const got = new Promise((resolve) => e.addEventListener('result', (ev) => resolve(ev.detail), { once: true }));
      const input = e.shadowRoot.querySelector('input[type=search]');
      input.value = query;
      input.dispatchEvent(new Event('input'));
      return (await got).ranking;
    }, query);
    assert.equal(ranking.length, FILES.length);
    for (const r of ranking) {
      const want = ref.images.find((i) => i.file === FILES[r.index]).logits[q];
      assert.ok(Math.abs(r.logit - want) <= 1e-4, `${FILES[r.index]} for ${query}: ${r.logit} vs ${want}`);
    }
    const logits = ranking.map((r) => r.logit);
    assert.deepEqual(logits, [...logits].sort((a, b) => b - a));
    // The gallery shows them in that order.
    const shown = await el.evaluate((e) => [...e.shadowRoot.querySelectorAll('.item')].map((li) => Number(li.dataset.index)));
    assert.deepEqual(shown, ranking.map((r) => r.index));
  }
  const requests = await page.evaluate(() => window.__requests);
  assert.equal(requests.filter((t) => t === 'embedImage').length, FILES.length, 'each image embedded once');
  assert.equal(requests.filter((t) => t === 'rank').length, 3, 'one rank (one text embedding) per query');

  // rank() from the API agrees.
  const api = await el.evaluate((e, q) => e.rank(q), ref.texts[0]);
  assert.equal(api.length, FILES.length);
  await page.screenshot({ path: path.join(OUT, 'search.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
