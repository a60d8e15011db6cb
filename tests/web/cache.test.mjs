// The model cache from the page (www/cache.js): listing what is cached (packed files, converted
// folder and hf: checkpoints) with the bytes really stored, a file bigger than one entry stored in
// parts (read back whole, deleted whole), deleting one (its next load downloads again, counted
// at the server) or all, `cache: false` (loads, leaves the cache untouched), the
// site's storage figures as the browser gives them; and the elements' question before a download
// (load="on-demand", the default): shown with the right size unless the model is cached, one
// click (or Enter on the focused, labelled button) loads.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { bigVocabModel, blankPage, FIXTURES, OUT, packedModel, reference, serverAndBrowser, startServer, urlPath } from './harness.mjs';

const ref = reference('tiny-224');
const GRAY = '/tests/fixtures/images/gray.png';
const env = serverAndBrowser();
const SHA = 'a'.repeat(40);

/** A copy of the tiny-224 checkpoint as a static folder (its own path: a fresh cache key). */
function folderCheckpoint(name) {
  const dir = path.join(OUT, 'cache-test', name, 'tiny-224');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(FIXTURES, 'tiny-224'), dir, { recursive: true });
  return `${urlPath(dir)}/`;
}

const openBlank = (context) => blankPage(context, env.server);

/** Loads a model with createClassifier in `page`: what it says, once its cache write settled. */
function load(page, options) {
  return page.evaluate(
    async ({ options, GRAY, labels }) => {
      const api = await import('/www/api.js');
      const c = await api.createClassifier(options);
      const stored = await c.cached;
      const results = await c.classify(GRAY, labels);
      c.dispose();
      return { fromCache: c.fromCache, stored, top: results[0].label };
    },
    { options, GRAY, labels: ref.labels },
  );
}

/** cachedModels(), each with the bytes its cache entry really holds (read back whole). */
function list(page) {
  return page.evaluate(async () => {
    const api = await import('/www/api.js');
    const { CACHE_NAME } = await import('/www/loader.js');
    const cache = await caches.open(CACHE_NAME);
    const out = [];
    for (const m of await api.cachedModels()) {
      const stored = (await (await cache.match(m.url)).arrayBuffer()).byteLength;
      out.push({ ...m, cachedAt: m.cachedAt && m.cachedAt.getTime(), stored });
    }
    return out.sort((a, b) => (a.src < b.src ? -1 : 1));
  });
}

/** Requests for `file` the server saw: whole-file GETs (downloads) unless another method is given (Range reads of a header are not counted). */
const requests = async (server, file, method = 'GET') =>
  (await (await fetch(`${server.url}__requests`)).json()).filter((r) => r.path === file && r.method === method && r.range === null).length;

test('cachedModels lists packed files and converted checkpoints with the bytes stored and their versions; deleteCachedModel and clearModelCache remove them', async () => {
  const hub = await startServer({ root: FIXTURES, args: ['--hub', '--cors'] });
  const context = await env.browser.newContext();
  try {
    const packed = urlPath(packedModel('tiny-224'));
    const folder = folderCheckpoint('list');
    const { page, problems } = await openBlank(context);
    const started = Date.now() - 1000;
    assert.deepEqual(await list(page), []);
    for (const options of [{ src: packed }, { src: folder, dtype: 'f32' }, { src: 'hf:test/tiny-224', hub: hub.url }]) {
      const out = await load(page, options);
      assert.deepEqual([out.fromCache, out.stored], [false, true], JSON.stringify(options));
    }
    const origin = env.server.url.replace(/\/$/, '');
    const [hf, folderEntry, packedEntry] = await list(page);
    // A packed file: its URL, its own size on disk.
    assert.equal(packedEntry.src, origin + packed);
    assert.equal(packedEntry.bytes, statSync(path.join(OUT, path.basename(packed))).size);
    assert.equal(packedEntry.bytes, packedEntry.stored);
    assert.equal(packedEntry.dtype, undefined);
    assert.equal(packedEntry.commit, null);
    assert.equal(packedEntry.version, null);
    assert.ok(packedEntry.cachedAt >= started && packedEntry.cachedAt <= Date.now(), `cachedAt ${packedEntry.cachedAt}`);
    // A folder: the conversion's bytes, the weights' validator as its version.
    assert.equal(folderEntry.src, origin + folder);
    assert.equal(folderEntry.dtype, 'f32');
    assert.equal(folderEntry.bytes, folderEntry.stored);
    assert.match(folderEntry.version, /^file /);
    assert.equal(folderEntry.commit, null);
    // hf: named as it was loaded, with its hub and commit; q8 by default (smaller than f32).
    assert.equal(hf.src, 'hf:test/tiny-224');
    assert.equal(hf.hub, hub.url.replace(/\/$/, ''));
    assert.equal(hf.dtype, 'q8');
    assert.equal(hf.commit, SHA);
    assert.equal(hf.bytes, hf.stored);
    assert.ok(hf.bytes < folderEntry.bytes, `q8 ${hf.bytes} < f32 ${folderEntry.bytes}`);

    // Deleting one (named as it is loaded): its next load downloads again; the others stay.
    const before = await requests(env.server, packed);
    assert.equal(await page.evaluate(async (src) => (await import('/www/api.js')).deleteCachedModel({ src }), packed), true);
    assert.equal(await page.evaluate(async (src) => (await import('/www/api.js')).deleteCachedModel({ src }), packed), false);
    assert.deepEqual((await list(page)).map((m) => m.src), ['hf:test/tiny-224', origin + folder]);
    const reloaded = await load(page, { src: packed });
    assert.deepEqual([reloaded.fromCache, reloaded.stored], [false, true]);
    assert.equal((await load(page, { src: packed })).fromCache, true);
    assert.equal(await requests(env.server, packed), before + 1, 'downloaded once more, then read from the cache');
    // A checkpoint by src, hub and dtype (another dtype is another entry).
    const deleted = await page.evaluate(
      async (hub) => {
        const api = await import('/www/api.js');
        return [await api.deleteCachedModel({ src: 'hf:test/tiny-224', hub, dtype: 'f32' }), await api.deleteCachedModel({ src: 'hf:test/tiny-224', hub })];
      },
      hub.url,
    );
    assert.deepEqual(deleted, [false, true]);
    assert.deepEqual((await list(page)).map((m) => m.src), [origin + folder, origin + packed]);

    // Everything.
    assert.equal(await page.evaluate(async () => (await import('/www/api.js')).clearModelCache()), true);
    assert.deepEqual(await list(page), []);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await hub.stop();
  }
});

test('a model bigger than one cache entry is stored in parts: listed once with its size, read back whole (the reference scores), deleted with its parts', async () => {
  // tiny-224 with a 100,000-row token table (rows the tokenizer never uses): 26 MB, two parts.
  const file = bigVocabModel(100000);
  const src = urlPath(file);
  const context = await env.browser.newContext();
  try {
    const { page, problems } = await openBlank(context);
    const entries = () =>
      page.evaluate(async (name) => {
        const { CACHE_NAME } = await import('/www/loader.js');
        const cache = await caches.open(CACHE_NAME);
        const out = [];
        for (const r of await cache.keys()) {
          if (r.url.includes(name)) out.push({ url: r.url, bytes: (await (await cache.match(r)).arrayBuffer()).byteLength });
        }
        return out;
      }, path.basename(file));
    const first = await load(page, { src });
    assert.deepEqual([first.fromCache, first.stored], [false, true]);
    const { CACHE_PART_BYTES } = await import('../../www/loader.js');
    const size = statSync(file).size;
    const parts = Math.ceil(size / CACHE_PART_BYTES);
    assert.ok(parts >= 2, `${size} bytes in ${parts} parts`);
    const stored = await entries();
    assert.equal(stored.length, parts + 1, 'the parts and the head entry');
    assert.equal(stored.reduce((n, e) => n + e.bytes, 0), size, 'the parts hold the file');
    assert.ok(stored.every((e) => e.bytes <= CACHE_PART_BYTES));
    const listed = await page.evaluate(async () => (await import('/www/api.js')).cachedModels());
    assert.deepEqual(listed.map((m) => [m.src.endsWith(src), m.bytes]), [[true, size]], 'listed once, with its size');

    const again = await page.evaluate(
      async ({ src, GRAY, labels }) => {
        const api = await import('/www/api.js');
        const c = await api.createClassifier({ src });
        const results = await c.classify(GRAY, labels);
        c.dispose();
        return { fromCache: c.fromCache, results };
      },
      { src, GRAY, labels: ref.labels },
    );
    assert.equal(again.fromCache, true);
    const want = ref.images.find((i) => i.file === 'gray.png').scores;
    for (const r of again.results) assert.ok(Math.abs(r.score - want[ref.labels.indexOf(r.label)]) <= 1e-4, `${r.label}: ${r.score}`);

    assert.equal(await page.evaluate(async (src) => (await import('/www/api.js')).deleteCachedModel({ src }), src), true);
    assert.deepEqual(await entries(), [], 'no part left behind');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('cache: false loads without reading or writing the cache; a model opened with and without it is two loads, each as asked', async () => {
  const context = await env.browser.newContext();
  try {
    const packed = urlPath(packedModel('tiny-224'));
    const folder = folderCheckpoint('no-cache');
    const { page, problems } = await openBlank(context);
    const first = await load(page, { src: packed });
    assert.deepEqual([first.fromCache, first.stored], [false, true]);
    const cached = await list(page);
    assert.equal(cached.length, 1);

    // A cached model: downloaded anyway, the cached copy untouched (same bytes, same date).
    const before = await requests(env.server, packed);
    const fresh = await load(page, { src: packed, cache: false });
    assert.equal(fresh.fromCache, false);
    assert.equal(fresh.stored, false);
    assert.equal(await requests(env.server, packed), before + 1);
    // A checkpoint: converted and used, never stored.
    const converted = await load(page, { src: folder, cache: false });
    assert.equal(converted.fromCache, false);
    assert.equal(converted.stored, false);
    assert.deepEqual(await list(page), cached);

    // The same model with and without the cache at once: two loads, each as asked.
    const both = await page.evaluate(async (src) => {
      const api = await import('/www/api.js');
      const [a, b] = await Promise.all([api.createClassifier({ src }), api.createClassifier({ src, cache: false })]);
      const out = [a.fromCache, b.fromCache, await b.cached];
      a.dispose();
      b.dispose();
      return out;
    }, packed);
    assert.deepEqual(both, [true, false, false]);

    // The element's attribute (without the cache, every load is a download: eager, not asked).
    const el = await page.evaluate(async (src) => {
      const el = document.createElement('siglip-classifier');
      el.setAttribute('cache', 'false');
      el.setAttribute('load', 'eager');
      el.src = src;
      document.body.append(el);
      const detail = await el.ready;
      const out = { property: el.cache, fromCache: detail.fromCache, stored: await el.cached };
      el.remove();
      return out;
    }, packed);
    assert.deepEqual(el, { property: false, fromCache: false, stored: false });
    assert.deepEqual(await list(page), cached);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('storageEstimate and persistStorage give the browser\'s own figures and answer', async () => {
  const context = await env.browser.newContext();
  try {
    const { page } = await openBlank(context);
    const out = await page.evaluate(async () => {
      const api = await import('/www/api.js');
      const ours = await api.storageEstimate();
      const theirs = await navigator.storage.estimate();
      return {
        ours,
        theirs: { usage: theirs.usage, quota: theirs.quota },
        persisted: await navigator.storage.persisted(),
        persist: [await api.persistStorage(), await navigator.storage.persist()],
        library: typeof api.Library.prototype.persist,
      };
    });
    assert.equal(out.ours.quota, out.theirs.quota);
    assert.equal(out.ours.usage, out.theirs.usage);
    assert.ok(out.ours.quota > 0);
    assert.equal(out.ours.persisted, out.persisted);
    assert.equal(out.persist[0], out.persist[1]);
  } finally {
    await context.close();
  }
});

/** A classifier element for `src` (and `attrs`) on a fresh page: what it shows and dispatches. */
async function element(context, src, attrs = {}) {
  const { page, problems } = await openBlank(context);
  await page.evaluate(
    ({ src, attrs }) => {
      const el = document.createElement('siglip-classifier');
      window.events = [];
      for (const type of ['prompt', 'load']) el.addEventListener(type, (e) => window.events.push({ type, detail: e.detail }));
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      el.setAttribute('src', src);
      document.body.append(el);
      window.el = el;
    },
    { src, attrs },
  );
  return { page, problems };
}

const settle = (page) => page.evaluate(() => Promise.race([window.el.ready.then(() => 'ready'), new Promise((r) => setTimeout(() => r('waiting'), 1500))]));
const askShown = (page) => page.evaluate(() => !window.el.shadowRoot.querySelector('.ask').hidden);
const mb = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`);

test('an element asks before downloading a model that is not cached (size, from where, converted to what) and loads on one click', async () => {
  const hub = await startServer({ root: FIXTURES, args: ['--hub', '--cors'] });
  const noCors = await startServer({ root: FIXTURES, args: ['--hub'] });
  const context = await env.browser.newContext();
  try {
    const packed = urlPath(packedModel('tiny-224'));
    const packedBytes = statSync(path.join(OUT, path.basename(packed))).size;
    const host = new URL(env.server.url).host;
    const [downloads, heads] = [await requests(env.server, packed), await requests(env.server, packed, 'HEAD')];
    const { page, problems } = await element(context, packed);
    assert.equal(await settle(page), 'waiting', 'no load before the click');
    assert.equal(await askShown(page), true);
    assert.equal(await requests(env.server, packed), downloads, 'nothing downloaded');
    assert.equal(await requests(env.server, packed, 'HEAD'), heads + 1, 'its size asked for');
    const prompt = await page.evaluate(() => window.events);
    assert.equal(prompt.length, 1);
    assert.deepEqual(prompt[0].detail, {
      name: path.basename(packed), from: host, bytes: packedBytes, dtype: null, convertedBytes: null,
      text: `${path.basename(packed)} from ${host}: ${mb(packedBytes)}`,
    });
    // Moved within the page, it keeps asking: no second question, still nothing downloaded.
    await page.evaluate(() => document.body.append(Object.assign(document.createElement('div'), { id: 'box' })));
    await page.evaluate(() => document.getElementById('box').append(window.el));
    assert.equal(await settle(page), 'waiting');
    assert.equal(await page.evaluate(() => window.events.length), 1);
    assert.equal(await askShown(page), true);
    const button = page.getByRole('button', { name: `Download the model (${mb(packedBytes)})` });
    assert.equal(await button.getAttribute('aria-describedby'), 'ask-text');
    assert.equal(await page.locator('siglip-classifier .ask-text').textContent(), prompt[0].detail.text);
    // Keyboard: the first tab stop, Enter loads.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => window.el.shadowRoot.activeElement?.className), 'primary ask-button');
    await page.keyboard.press('Enter');
    assert.equal(await settle(page), 'ready');
    assert.equal(await askShown(page), false);
    assert.equal(await page.evaluate(() => window.el.cached), true);
    assert.equal(await requests(env.server, packed), downloads + 1);
    assert.deepEqual(problems, []);

    // Cached now: no question, loaded at once from the cache.
    const again = await element(context, packed);
    assert.equal(await settle(again.page), 'ready');
    assert.deepEqual(await again.page.evaluate(() => window.events.map((e) => [e.type, e.detail.fromCache])), [['load', true]]);
    assert.equal(await askShown(again.page), false);

    // Checkpoints: the weights' size, and about what they become (the f32 tiny-224 as q8:
    // its parameters, 4 bytes each, times 238.6/813.0 of an f32 file, docs/format.md).
    const weights = statSync(path.join(FIXTURES, 'tiny-224/model.safetensors')).size;
    const q8 = Math.round(weights * (238.6 / 813.0));
    const folder = folderCheckpoint('ask');
    const cases = [
      [folder, {}, `tiny-224 from ${host}: ${mb(weights)}, converted to q8 (about ${mb(q8)}) on this device`],
      ['hf:test/tiny-224', { hub: hub.url, dtype: 'q8' }, `test/tiny-224 from ${new URL(hub.url).host}: ${mb(weights)}, converted to q8 (about ${mb(q8)}) on this device`],
      // A hub that does not let the page read its answers: nothing known but the name.
      ['hf:test/tiny-224', { hub: noCors.url, dtype: 'f16' }, `test/tiny-224 from ${new URL(noCors.url).host}: size unknown, converted to f16 on this device`],
    ];
    for (const [src, attrs, text] of cases) {
      const { page } = await element(context, src, attrs);
      assert.equal(await settle(page), 'waiting', src);
      assert.equal(await page.locator('siglip-classifier .ask-text').textContent(), text);
      assert.deepEqual(await page.evaluate(() => window.events.map((e) => e.type)), ['prompt']);
      await page.close();
    }
    // One click on the folder's loads it (and converts it).
    const click = await element(context, folder);
    await click.page.getByRole('button', { name: /^Download the model/ }).click();
    assert.equal(await settle(click.page), 'ready');

    // load="eager" loads at once; set on an asking element, it loads too; so does a call.
    const eager = await element(context, folderCheckpoint('eager'), { load: 'eager' });
    assert.equal(await settle(eager.page), 'ready');
    assert.deepEqual(await eager.page.evaluate(() => window.events.map((e) => e.type)), ['load']);
    const later = await element(context, folderCheckpoint('later'));
    assert.equal(await settle(later.page), 'waiting');
    await later.page.evaluate(() => window.el.setAttribute('load', 'eager'));
    assert.equal(await settle(later.page), 'ready');
    const called = await element(context, folderCheckpoint('called'));
    assert.equal(await settle(called.page), 'waiting');
    const top = await called.page.evaluate(async ({ GRAY, labels }) => (await window.el.classify(GRAY, labels))[0].label, { GRAY, labels: ref.labels });
    assert.ok(ref.labels.includes(top));
    assert.equal(await askShown(called.page), false);

    // Two elements asking for one model: one click loads it for both, with one download.
    const shared = folderCheckpoint('shared');
    const weightsPath = `${shared}model.safetensors`;
    const gets = await requests(env.server, weightsPath);
    const two = await openBlank(context);
    await two.page.evaluate(async (src) => {
      await import('/www/siglip-search.js');
      window.els = ['siglip-classifier', 'siglip-search'].map((tag) => {
        const el = document.createElement(tag);
        el.src = src;
        document.body.append(el);
        return el;
      });
    }, shared);
    await two.page.waitForFunction(() => window.els.every((el) => !el.shadowRoot.querySelector('.ask').hidden));
    await two.page.locator('siglip-search').getByRole('button', { name: /^Download the model/ }).click();
    const both = await two.page.evaluate(() =>
      Promise.race([Promise.all(window.els.map((el) => el.ready.then((d) => d.fromCache))), new Promise((r) => setTimeout(() => r('waiting'), 5000))]),
    );
    assert.deepEqual(both, [false, false]);
    assert.equal(await two.page.evaluate(() => window.els.every((el) => el.shadowRoot.querySelector('.ask').hidden)), true);
    assert.equal(await requests(env.server, weightsPath), gets + 1);
  } finally {
    await context.close();
    await hub.stop();
    await noCors.stop();
  }
});
