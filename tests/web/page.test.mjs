// The demo page and <siglip-classifier> in headless Chromium: file input, classify(), webcam
// live mode, progress, the cached second load, and bad input.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  FIXTURES, OUT, launch, packedModel, reference, shownError, shownResults, startServer, urlPath, watch,
} from './harness.mjs';

let server;
let browser;
const ref = reference('tiny-224');
const f32Model = urlPath(packedModel('tiny-224', 'f32'));
const q8Model = urlPath(packedModel('tiny-224', 'q8'));
const LABELS = ['cat', 'Two DOGS!!', '日本 猫', 'emoji 🐱 label'];

function refScores(file, labels) {
  const img = ref.images.find((i) => i.file === file);
  return Object.fromEntries(labels.map((l) => [l, img.scores[ref.labels.indexOf(l)]]));
}

before(async () => {
  server = await startServer();
  browser = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function demoPage(model = f32Model, labels = LABELS) {
  const page = await browser.newPage();
  const problems = watch(page);
  // no-sw: the service worker's one isolation reload is tested in variants.test.mjs.
  const q = new URLSearchParams({ 'no-sw': '', model, labels: labels.join(','), load: 'eager' });
  await page.goto(`${server.url}www/index.html?${q}`);
  const el = page.locator('siglip-classifier');
  const detail = await el.evaluate((e) => e.ready);
  return { page, el, detail, problems };
}

test('demo page: a file chosen in the element is classified with the reference scores', async () => {
  const { page, el, detail, problems } = await demoPage();
  assert.equal(detail.info.dtype, 'f32');
  assert.equal(detail.simd, true, 'the shipped wasm must be built with simd128');
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'images/alpha.png'));
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 4);
  const shown = await shownResults(el);
  const want = refScores('alpha.png', LABELS);
  const sorted = [...LABELS].sort((a, b) => want[b] - want[a]);
  assert.deepEqual(shown.map((r) => r.label), sorted, 'sorted by score, highest first');
  for (const r of shown) {
    const pct = want[r.label] * 100;
    const tol = pct >= 10 ? 0.051 : 0.0051;
    assert.ok(Math.abs(r.percent - pct) <= tol, `${r.label}: shown ${r.percent}%, reference ${pct}%`);
    assert.ok(Math.abs(r.width - pct) < 0.01, 'bar width is the score');
  }
  const status = await el.evaluate((e) => e.shadowRoot.querySelector('.result-text').textContent);
  assert.match(status, /classified in \d+ ms/);
  await page.screenshot({ path: path.join(OUT, 'classified.png'), fullPage: true });

  // Drag and drop, then paste: each shows that image's reference scores.
  for (const [how, file] of [['drop', 'gray.png'], ['paste', 'wide.png']]) {
    const b64 = readFileSync(path.join(FIXTURES, 'images', file)).toString('base64');
    await el.evaluate(
      async (e, { how, file, b64 }) => {
        const { give } = await import('/tests/web/bench-page.mjs');
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        await give(e, how, new File([bytes], file, { type: 'image/png' }));
      },
      { how, file, b64 },
    );
    const want = refScores(file, LABELS);
    for (const r of await shownResults(el)) {
      const pct = want[r.label] * 100;
      assert.ok(Math.abs(r.percent - pct) <= (pct >= 10 ? 0.051 : 0.0051), `${how} ${file} ${r.label}: ${r.percent} vs ${pct}`);
    }
    if (how === 'drop') await page.screenshot({ path: path.join(OUT, 'dropped.png'), fullPage: true });
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('SigLIP 2 (fixed resolution) in the page: the pipeline\'s scores, unmasked by default, masked on request', async () => {
  // Gemma tokenizer (case kept, <eos> appended, <pad> = 0), bilinear resize to 256 px, and the
  // pipeline's text masking for it: none, since SigLIP 2's tokenizer returns no attention mask.
  const ref2 = reference('tiny-siglip2-256');
  const model = urlPath(packedModel('tiny-siglip2-256', 'f32'));
  const { page, el, detail, problems } = await demoPage(model, ['cat']);
  assert.equal(detail.info.image_size, 256);
  const labels = ref2.labels; // SigLIP's labels and Gemma's: case, <eos>, added tokens, bytes
  const out = await el.evaluate(async (e, labels) => {
    const res = {};
    for (const file of ['gray.png', 'photo.jpg', 'exif-rotated.jpg']) {
      const blob = await (await fetch(`/tests/fixtures/images/${file}`)).blob();
      res[`auto ${file}`] = await e.classify(blob, labels);
      e.textMasking = 'padding';
      res[`padding ${file}`] = await e.classify(blob, labels);
      e.textMasking = 'none';
      res[`none ${file}`] = await e.classify(blob, labels);
      e.textMasking = null;
    }
    return res;
  }, labels);
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  for (const [key, results] of Object.entries(out)) {
    const [mode, file] = key.split(' ');
    const img = ref2.images.find((i) => i.file === file);
    const logits = mode === 'padding' ? img.logits : img.logits_unmasked;
    assert.equal(results.length, labels.length);
    for (const r of results) {
      const i = labels.indexOf(r.label);
      assert.ok(Math.abs(r.logit - logits[i]) <= 1e-4, `${key} ${r.label}: logit ${r.logit} vs ${logits[i]}`);
      assert.ok(Math.abs(r.score - sigmoid(logits[i])) <= 1e-4, `${key} ${r.label}`);
      if (mode !== 'padding') assert.ok(Math.abs(r.score - img.scores[i]) <= 1e-4, `${key}: the pipeline's score`);
    }
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('SigLIP 2 NaFlex in the page: each image keeps its aspect ratio within the patch budget, the grid is shown, the pipeline\'s scores', async () => {
  const refN = reference('tiny-siglip2-naflex');
  const model = urlPath(packedModel('tiny-siglip2-naflex', 'f32'));
  const { page, el, detail, problems } = await demoPage(model, ['cat']);
  assert.equal(detail.info.model_type, 'siglip2');
  assert.equal(detail.info.max_num_patches, 64);
  const labels = refN.labels;
  const cases = [
    ['wide.png', '/tests/fixtures/images/wide.png', undefined],
    ['tall.png', '/tests/fixtures/images-naflex/tall.png', undefined],
    ['large.jpg', '/tests/fixtures/images-naflex/large.jpg', undefined],
    ['tall.png', '/tests/fixtures/images-naflex/tall.png', 16],
    ['large.jpg', '/tests/fixtures/images-naflex/large.jpg', 150],
  ];
  const out = await el.evaluate(async (e, { labels, cases, src }) => {
    const res = [];
    for (const [, url, budget] of cases) {
      e.maxNumPatches = budget;
      const got = new Promise((resolve) => e.addEventListener('result', (ev) => resolve(ev.detail), { once: true }));
      const results = await e.classify(await (await fetch(url)).blob(), labels);
      const { grid } = await got;
      res.push({ results, grid, status: e.shadowRoot.querySelector('.result-text').textContent });
    }
    e.maxNumPatches = -3;
    const bad = await e.classify('/tests/fixtures/images/gray.png', labels).then(() => null, (err) => [err.name, err.message]);
    e.maxNumPatches = null;
    // The same element afterwards, at the checkpoint's budget.
    const afterBad = await e.classify('/tests/fixtures/images-naflex/tall.png', labels);
    // The JS API: a budget per classifier, and the grid of the last image.
    const { createClassifier } = await import('/www/index.js');
    const c = await createClassifier({ src, maxNumPatches: 150 });
    await c.classify('/tests/fixtures/images/wide.png', labels);
    const api = { grid: c.lastGrid, info: c.info.model_type };
    c.dispose();
    return { res, bad, api, afterBad };
  }, { labels, cases, src: model });
  out.res.forEach(({ results, grid, status }, k) => {
    const [file, , budget = 64] = cases[k];
    const want = refN.images.find((i) => i.file === file && i.max_num_patches === budget);
    assert.deepEqual(grid, want.grid, `${file} at ${budget}`);
    assert.ok(status.includes(`Grid: ${want.grid[0]} × ${want.grid[1]} patches.`), status);
    for (const r of results) {
      const i = labels.indexOf(r.label);
      assert.ok(Math.abs(r.score - want.scores[i]) <= 1e-4, `${file} at ${budget} ${r.label}: ${r.score} vs ${want.scores[i]}`);
    }
  });
  assert.deepEqual(out.bad, ['InputError', 'maxNumPatches must be a positive whole number, not -3']);
  const tall = refN.images.find((i) => i.file === 'tall.png' && i.max_num_patches === 64);
  for (const r of out.afterBad) assert.ok(Math.abs(r.score - tall.scores[labels.indexOf(r.label)]) <= 1e-4, `after the bad budget: ${r.label}`);
  assert.deepEqual(out.api, { grid: refN.images.find((i) => i.file === 'wide.png' && i.max_num_patches === 150).grid, info: 'siglip2' });
  assert.deepEqual(problems, []);
  await page.close();
});

test('classify() takes blobs, URLs and decoded images and matches the reference', async () => {
  const { page, el, problems } = await demoPage();
  const labels = ref.labels; // includes commas, non-ASCII and a 500-character label
  const results = await el.evaluate(async (e, labels) => {
    const out = {};
    const blob = await (await fetch('/tests/fixtures/images/gray.png')).blob();
    out.blob = await e.classify(blob, labels);
    out.url = await e.classify('/tests/fixtures/images/lossless.webp', labels);
    // JPEGs decode to Pillow's exact pixels in the wasm too (src/jpeg.rs), EXIF rotation included.
    out.jpeg = await e.classify('/tests/fixtures/images/photo.jpg', labels);
    out.exif = await e.classify(await (await fetch('/tests/fixtures/images/exif-rotated.jpg')).blob(), labels);
    out.bitmap = await e.classify(await createImageBitmap(blob), labels);
    const emb = await e.embedImage(blob);
    const texts = await e.embedText(['This is a photo of cat.']);
    out.dims = [emb.length, texts[0].length, Math.hypot(...emb)];
    return out;
  }, labels);
  for (const [key, file] of [['blob', 'gray.png'], ['url', 'lossless.webp'], ['bitmap', 'gray.png'], ['jpeg', 'photo.jpg'], ['exif', 'exif-rotated.jpg']]) {
    const want = refScores(file, labels);
    assert.equal(results[key].length, labels.length);
    for (const r of results[key]) {
      assert.ok(Math.abs(r.score - want[r.label]) <= 1e-4, `${key} ${r.label}: ${r.score} vs ${want[r.label]}`);
    }
    const scores = results[key].map((r) => r.score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  }
  assert.equal(results.dims[0], 64);
  assert.equal(results.dims[1], 64);
  assert.ok(Math.abs(results.dims[2] - 1) < 1e-5, 'embeddings are L2-normalized');
  assert.deepEqual(problems, []);
  await page.close();
});

test('text masking: padding masked (the pipeline) or attended to (big_vision), from the API and the element', async () => {
  const { page, el, problems } = await demoPage();
  const labels = ref.labels;
  const img = ref.images.find((i) => i.file === 'gray.png');
  const logitsOf = (results) => Object.fromEntries(results.map((r) => [r.label, r.logit]));
  const got = await el.evaluate(async (e, [labels, src]) => {
    const { createClassifier } = await import('/www/index.js');
    const blob = await (await fetch('/tests/fixtures/images/gray.png')).blob();
    const c = await createClassifier({ src, textMasking: 'none' }); // shares the element's model
    const out = { none: await c.classify(blob, labels) };
    c.textMasking = 'padding';
    out.padding = await c.classify(blob, labels);
    c.textMasking = 'none';
    out.noneAgain = await c.classify(blob, labels);
    out.stats = await (await e.requireModel()).stats();
    e.textMasking = 'none';
    out.element = await e.classify(blob, labels);
    c.textMasking = 'sideways';
    out.bad = await c.classify(blob, labels).then(() => null, (err) => [err.name, err.message]);
    c.textMasking = 'padding';
    out.afterBad = await c.classify(blob, labels);
    e.textMasking = null;
    out.elementDefault = await e.classify(blob, labels);
    c.dispose();
    return out;
  }, [labels, f32Model]);
  const check = (results, want, what) => {
    const logits = logitsOf(results);
    labels.forEach((l, i) => assert.ok(Math.abs(logits[l] - want[i]) <= 1e-4, `${what} ${l}: ${logits[l]} vs ${want[i]}`));
  };
  check(got.none, img.logits_unmasked, 'none');
  check(got.noneAgain, img.logits_unmasked, 'none again');
  check(got.element, img.logits_unmasked, 'element none');
  check(got.padding, img.logits, 'padding');
  check(got.elementDefault, img.logits, 'element default');
  check(got.afterBad, img.logits, 'padding after the bad mode');
  // The two modes differ on this fixture (or the test would prove nothing), and both stay cached.
  assert.ok(labels.some((l, i) => Math.abs(img.logits[i] - img.logits_unmasked[i]) > 1e-3));
  assert.equal(got.stats.cachedTexts, 2 * labels.length);
  assert.deepEqual(got.bad, ['InputError', 'unknown textMasking "sideways"; use one of auto, padding, none']);
  assert.deepEqual(problems, []);
  await page.close();
});

test('webcam: live mode reclassifies frames and shows fps', async () => {
  const { page, el, problems } = await demoPage(q8Model);
  await el.getByRole('button', { name: 'Start camera' }).click();
  await el.getByRole('button', { name: 'Live' }).click();
  await page.waitForFunction(() => Number(document.querySelector('siglip-classifier').dataset.fps) > 0, null, { timeout: 30000 });
  const fpsText = await el.evaluate((e) => e.shadowRoot.querySelector('.fps').textContent);
  assert.match(fpsText, /fps$/);
  assert.equal((await shownResults(el)).length, LABELS.length);
  await page.screenshot({ path: path.join(OUT, 'webcam-live.png') });
  await el.getByRole('button', { name: 'Stop camera' }).click();
  const tracks = await el.evaluate((e) => e.shadowRoot.querySelector('video').srcObject);
  assert.equal(tracks, null, 'camera released');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a denied camera is a clear error, and files still work', async () => {
  const denied = await launch([]);
  const context = await denied.newContext();
  const page = await context.newPage();
  const q = new URLSearchParams({ 'no-sw': '', model: f32Model, labels: 'cat,dog', load: 'eager' });
  await page.goto(`${server.url}www/index.html?${q}`);
  const el = page.locator('siglip-classifier');
  await el.evaluate((e) => e.ready);
  await el.getByRole('button', { name: 'Start camera' }).click();
  await page.waitForFunction(() => !document.querySelector('siglip-classifier').shadowRoot.querySelector('.error').hidden, null, { timeout: 20000 });
  assert.match(await shownError(el), /camera/i);
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'images/gray.png'));
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 2);
  assert.deepEqual((await shownResults(el)).map((r) => r.label).sort(), ['cat', 'dog']);
  assert.equal(await shownError(el), '');
  await denied.close();
});

test('progress events, a resumed download, and the cached second load without the file', async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}tests/web/blank.html`);
  // A copy only this test uses, so deleting it later proves the cache serves it.
  const own = path.join(OUT, 'tiny-p14-cache-test.safetensors');
  copyFileSync(path.join(OUT, path.basename(packedModel('tiny-p14', 'q8'))), own);
  const size = readFileSync(own).length;
  const load = (src) =>
    page.evaluate(async (src) => {
      document.body.replaceChildren();
      const el = document.createElement('siglip-classifier');
      el.load = 'eager'; // at once, without the download prompt
      const events = [];
      el.addEventListener('progress', (e) => events.push(e.detail));
      const loaded = new Promise((resolve) => el.addEventListener('load', (e) => resolve(e.detail)));
      const cached = new Promise((resolve) => el.addEventListener('cached', (e) => resolve(e.detail.stored)));
      el.setAttribute('src', src);
      el.setAttribute('labels', 'cat,dog');
      document.body.append(el);
      const detail = await loaded;
      const statusAtLoad = el.shadowRoot.querySelector('.result-text').textContent;
      const stored = await cached; // a download is cached in the background after load
      const status = el.shadowRoot.querySelector('.result-text').textContent;
      const blob = await (await fetch('/tests/fixtures/images/alpha.png')).blob();
      const results = await el.classify(blob);
      return { detail, events, results, stored, statusAtLoad, status };
    }, src);

  // Slow first load: several progress events, increasing, ending at the file size.
  const first = await load(`/__slow${urlPath(own)}`);
  assert.equal(first.detail.fromCache, false);
  assert.equal(first.detail.caching, true);
  assert.equal(first.detail.timings.cacheWriteMs, undefined, 'the cache write is not part of the load');
  assert.equal(first.stored, true);
  assert.match(first.statusAtLoad, /^Model ready \(q8, \d+ ms\); saving it for offline use…$/);
  assert.match(first.status, /^Model ready \(q8, \d+ ms\); saved for offline use\.$/);
  assert.ok(first.events.length >= 3, `only ${first.events.length} progress events`);
  const loadedSeq = first.events.map((e) => e.loaded);
  assert.deepEqual(loadedSeq, [...loadedSeq].sort((a, b) => a - b));
  assert.equal(first.events.at(-1).loaded, size);
  assert.equal(first.events.at(-1).total, size);

  // The connection drops halfway: the loader resumes with a Range request.
  const flaky = await load(`/__flaky${urlPath(own)}`);
  assert.equal(flaky.detail.fromCache, false);
  assert.equal(flaky.events.at(-1).loaded, size);
  assert.equal(flaky.results.length, 2);

  // Second visit with the file gone from the server: the model comes from the cache.
  rmSync(own);
  await page.reload();
  const second = await load(`/__slow${urlPath(own)}`);
  assert.equal(second.detail.fromCache, true);
  assert.equal(second.detail.caching, false);
  assert.equal(second.stored, true, 'cached: at once for a model read from the cache');
  assert.match(second.status, /^Model ready \(q8, \d+ ms, from cache\)\.$/);
  assert.deepEqual(second.results.map((r) => r.label).sort(), ['cat', 'dog']);
  assert.deepEqual(problems.filter((p) => !p.includes('404')), []);
  await page.close();
});

test('a dropped download resumes with a Range request; a wrong range is refused and it starts over', async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}tests/web/blank.html`);
  const model = path.join(OUT, path.basename(packedModel('tiny-p14', 'q8')));
  const bytes = readFileSync(model);
  const integrity = `sha256-${createHash('sha256').update(bytes).digest('base64')}`;
  const requests = async (file) =>
    (await (await fetch(`${server.url}__requests`)).json()).filter((r) => r.path === urlPath(file)).map((r) => r.range);
  for (const mode of ['flaky', 'badrange']) {
    // A copy per mode: a URL nothing has cached or served yet.
    const own = path.join(OUT, `tiny-p14-${mode}-test.safetensors`);
    copyFileSync(model, own);
    const length = await page.evaluate(
      async ([src, integrity]) => {
        const { fetchModel } = await import('/www/loader.js');
        const { target } = await fetchModel(src, { integrity }); // an IntegrityError if a byte is wrong
        return target.view().length;
      },
      [`/__${mode}${urlPath(own)}`, integrity],
    );
    assert.equal(length, bytes.length);
    const ranges = await requests(own);
    assert.equal(ranges[0], null);
    assert.match(ranges[1] ?? '', /^bytes=[1-9]\d*-$/, `${mode}: the second request resumes with a Range`);
    if (mode === 'flaky') assert.equal(ranges.length, 2);
    // The server answered the Range from byte 0: the loader refused it and fetched it all.
    else assert.deepEqual(ranges.slice(2), [null]);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('removing an element frees its worker; moving it does not', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.url}tests/web/blank.html`);
  const closed = [];
  const workers = [];
  page.on('worker', (w) => {
    workers.push(w);
    w.on('close', () => closed.push(w));
  });
  for (const tag of ['siglip-classifier', 'siglip-search']) {
    const before = workers.length;
    await page.evaluate(
      async ([tag, src]) => {
        await import(`/www/${tag}.js`);
        const el = document.createElement(tag);
        el.load = 'eager'; // at once, without the download prompt
        el.setAttribute('src', src);
        el.id = 'subject';
        document.body.append(el);
        await el.ready;
        // Moved within the page: the same worker keeps the model.
        const box = document.createElement('div');
        document.body.append(box);
        box.append(el);
        await new Promise((r) => setTimeout(r, 200));
        await el.ready;
      },
      [tag, q8Model],
    );
    assert.equal(workers.length, before + 1, `${tag}: one worker`);
    assert.equal(closed.length, before, `${tag}: moving the element kept its worker`);
    await page.evaluate(() => document.getElementById('subject').remove());
    await page.waitForFunction(() => true); // let the removal's timer run
    for (let i = 0; i < 50 && closed.length === before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(closed.length, before + 1, `${tag}: removing the element terminated its worker`);
  }
  await page.close();
});

test('bad input: clear errors in the element, which keeps working', async () => {
  const { page, el } = await demoPage();
  const waitError = (re) =>
    page.waitForFunction(
      (src) => new RegExp(src).test(document.querySelector('siglip-classifier').shadowRoot.querySelector('.error').textContent),
      re.source,
      { timeout: 20000 },
    );
  const good = path.join(FIXTURES, 'images/alpha.png');

  // Not an image.
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'tiny-224/config.json'));
  await waitError(/not a supported image/);
  await el.locator('input[type=file]').setInputFiles(good);
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelector('.error').hidden);
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 4);
  const want = refScores('alpha.png', LABELS);
  for (const r of await shownResults(el)) {
    const pct = want[r.label] * 100;
    assert.ok(Math.abs(r.percent - pct) <= (pct >= 10 ? 0.051 : 0.0051), `after a bad file, ${r.label}: ${r.percent} vs ${pct}`);
  }

  // No labels.
  const noLabels = await el.evaluate(async (e) => {
    e.labels = [];
    try {
      await e.classify('/tests/fixtures/images/alpha.png');
      return 'no error';
    } catch (err) {
      return `${err.name}: ${err.message}`;
    }
  });
  assert.match(noLabels, /InputError: no labels/);
  await waitError(/no labels/);

  // A truncated model file, then a URL that 404s: clear errors, `error` events.
  const truncated = path.join(OUT, 'truncated.safetensors');
  writeFileSync(truncated, readFileSync(path.join(OUT, 'tiny-224-q8.safetensors')).subarray(0, 300000));
  for (const [src, re] of [[urlPath(truncated), /truncated|corrupt/], ['/missing/model.safetensors', /not found/]]) {
    const err = await el.evaluate(async (e, src) => {
      const got = new Promise((resolve) => e.addEventListener('error', (ev) => resolve(`${ev.detail.error.name}: ${ev.detail.error.message}`), { once: true }));
      e.src = src;
      return got;
    }, src);
    assert.match(err, re);
    await waitError(re);
  }

  // And back to a good model: it works again.
  const results = await el.evaluate(async (e, model) => {
    e.src = model;
    e.labels = ['cat', 'Two DOGS!!'];
    await e.ready;
    return e.classify('/tests/fixtures/images/alpha.png');
  }, f32Model);
  const want2 = refScores('alpha.png', ['cat', 'Two DOGS!!']);
  assert.deepEqual(results.map((r) => r.label).sort(), ['Two DOGS!!', 'cat']);
  for (const r of results) assert.ok(Math.abs(r.score - want2[r.label]) <= 1e-4, `${r.label}: ${r.score} vs ${want2[r.label]}`);
  assert.equal(await shownError(el), '');
  await page.close();
});
