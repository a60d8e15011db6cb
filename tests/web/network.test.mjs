// Bad networks (scripts/serve.mjs's fault modes): a server that ignores Range, a stalled
// connection, a lying Content-Length (either way), 500s, an HTML page served with 200 instead of
// the model, and a corrupt cached copy. Each case checks what the loader did (from the server's
// request log), that nothing partial or wrong stayed in the cache, and that the page then still
// loads a good model and classifies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { blankPage, OUT, packedModel, serverAndBrowser, shownError, urlPath } from './harness.mjs';

const env = serverAndBrowser();
const MODEL = path.join(OUT, path.basename(packedModel('tiny-p14', 'q8')));
const BYTES = readFileSync(MODEL);
const INTEGRITY = `sha256-${createHash('sha256').update(BYTES).digest('base64')}`;
const CACHE = 'siglip-models-v1';

/** A copy of the model only one case uses: a URL nothing has served or cached yet. */
function own(name) {
  const file = path.join(OUT, `net-${name}.safetensors`);
  copyFileSync(MODEL, file);
  return urlPath(file);
}

async function requests(file) {
  const log = await (await fetch(`${env.server.url}__requests`)).json();
  return log.filter((r) => r.path === file);
}

const openBlank = () => blankPage(env.browser, env.server);

/** Loads through the loader itself, with an integrity check: {length} or {error: {name, message}}. */
function loaderFetch(page, src, options = {}) {
  return page.evaluate(
    async ([src, integrity, options]) => {
      const { fetchModel } = await import('/www/loader.js');
      try {
        const { target, fromCache } = await fetchModel(src, { integrity, ...options });
        return { length: target.view().length, fromCache };
      } catch (err) {
        return { error: { name: err.name, message: err.message } };
      }
    },
    [src, INTEGRITY, options],
  );
}

/** createClassifier({src}) then one classify: {results} or {error: {name, message}}. */
function classifyWith(page, src) {
  return page.evaluate(async (src) => {
    const { createClassifier } = await import('/www/index.js');
    let classifier;
    try {
      classifier = await createClassifier({ src });
      const image = await (await fetch('/tests/fixtures/images/gray.png')).blob();
      const results = await classifier.classify(image, ['cat', 'dog']);
      await classifier.cached; // the background cache write ends before dispose() ends the worker
      return { results };
    } catch (err) {
      return { error: { name: err.name, message: err.message } };
    } finally {
      classifier?.dispose();
    }
  }, src);
}

/** The cache's entries for a URL path: [] or [size]. */
function cachedSizes(page, file) {
  return page.evaluate(
    async ([name, file]) => {
      const cache = await caches.open(name);
      const hit = await cache.match(new URL(file, location.href).href);
      return hit ? [(await hit.arrayBuffer()).byteLength] : [];
    },
    [CACHE, file],
  );
}

/** After a failure: the page loads a good model (a fresh URL) and classifies. */
async function stillWorks(page, name) {
  const good = await classifyWith(page, own(`${name}-after`));
  assert.equal(good.error, undefined, JSON.stringify(good.error));
  assert.deepEqual(good.results.map((r) => r.label).sort(), ['cat', 'dog']);
}

test('a server that ignores Range: the resume gets the whole file (200) and the loader starts over', async () => {
  const { page, problems } = await openBlank();
  const file = own('norange');
  const got = await loaderFetch(page, `/__norange${file}`);
  assert.deepEqual(got, { length: BYTES.length, fromCache: false }); // integrity checked
  const ranges = (await requests(file)).map((r) => r.range);
  assert.equal(ranges.length, 2);
  assert.equal(ranges[0], null);
  assert.match(ranges[1], /^bytes=[1-9]\d*-$/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a stalled connection times out, and the download resumes; one that always stalls fails with a clear error', async () => {
  const { page, problems } = await openBlank();
  const file = own('stall');
  const t0 = Date.now();
  const got = await loaderFetch(page, `/__stall${file}`, { stallTimeout: 1500 });
  assert.deepEqual(got, { length: BYTES.length, fromCache: false });
  assert.ok(Date.now() - t0 >= 1500, 'waited for the stall timeout');
  const ranges = (await requests(file)).map((r) => r.range);
  assert.equal(ranges.length, 2);
  assert.match(ranges[1] ?? '', /^bytes=[1-9]\d*-$/, 'the retry resumes where the stall began');
  assert.deepEqual(await cachedSizes(page, `/__stall${file}`), [BYTES.length]);

  // Every attempt stalls: four attempts, then an error that says so.
  const hang = own('hang');
  const failed = await loaderFetch(page, `/__hang${hang}`, { stallTimeout: 400 });
  assert.equal(failed.error?.name, 'NetworkError');
  assert.match(failed.error.message, /after 4 attempts: .*no data for 0\.4 s \(the connection stalled\)/);
  assert.equal((await requests(hang)).length, 4);
  assert.deepEqual(await cachedSizes(page, `/__hang${hang}`), []);
  assert.deepEqual(problems, []);
  await stillWorks(page, 'stall');
  await page.close();
});

test('a Content-Length larger than the file: the resume finds nothing more (416) and it starts over; a smaller one: a clear error, nothing cached', async () => {
  const { page, problems } = await openBlank();
  const long = own('long');
  const got = await loaderFetch(page, `/__long${long}`);
  assert.deepEqual(got, { length: BYTES.length, fromCache: false }); // the right length, integrity checked
  const ranges = (await requests(long)).map((r) => r.range);
  assert.deepEqual(ranges, [null, `bytes=${BYTES.length}-`, null]);

  // Too small: the body is cut where the header says, so the file is 1000 bytes short. Without
  // an integrity value only the model's own layout can tell; it does, and nothing is kept.
  const short = own('short');
  const failed = await classifyWith(page, `/__short${short}`);
  assert.equal(failed.error?.name, 'WeightsError', JSON.stringify(failed.error));
  assert.match(failed.error.message, /the file is truncated, corrupt or not a safetensors file/);
  assert.deepEqual(await cachedSizes(page, `/__short${short}`), []);
  // The same URL again (the server now tells the truth): it loads.
  const again = await classifyWith(page, `/__short${short}`);
  assert.equal(again.error, undefined, JSON.stringify(again.error));
  assert.deepEqual(await cachedSizes(page, `/__short${short}`), [BYTES.length]);
  assert.deepEqual(problems.filter((p) => !p.startsWith('http 416')), []);
  await page.close();
});

test('500s are retried with growing pauses; a server that keeps failing gets a clear error after 4 attempts', async () => {
  const { page, problems } = await openBlank();
  const flaky = own('fail2');
  const got = await loaderFetch(page, `/__fail2${flaky}`);
  assert.deepEqual(got, { length: BYTES.length, fromCache: false });
  const times = (await requests(flaky)).map((r) => r.t);
  assert.equal(times.length, 3);
  const gaps = [times[1] - times[0], times[2] - times[1]];
  assert.ok(gaps[0] >= 250 && gaps[1] >= 550 && gaps[1] > gaps[0], `backoff gaps ${gaps}`);

  const down = own('fail99');
  const failed = await classifyWith(page, `/__fail99${down}`);
  assert.equal(failed.error?.name, 'NetworkError');
  assert.match(failed.error.message, /HTTP 500.*after 4 attempts/);
  assert.equal((await requests(down)).length, 4);
  assert.deepEqual(await cachedSizes(page, `/__fail99${down}`), []);
  assert.deepEqual(problems.filter((p) => !p.startsWith('http 500')), []);
  await stillWorks(page, 'fail');
  await page.close();
});

test('an HTML page served with 200 instead of the model: a clear error naming what came, not retried, not cached', async () => {
  const { page, problems } = await openBlank();
  const file = own('html');
  const failed = await loaderFetch(page, `/__html${file}`);
  assert.equal(failed.error?.name, 'WeightsError');
  assert.match(failed.error.message, /answered with a web page \(text\/html; charset=utf-8\) instead of a model file: "Sign in to continue Sign in"/);
  assert.equal((await requests(file)).length, 1);
  assert.deepEqual(await cachedSizes(page, `/__html${file}`), []);

  // The element shows it, and then loads a good model.
  const shown = await page.evaluate(async (src) => {
    await import('/www/siglip-classifier.js');
    const el = document.createElement('siglip-classifier');
    el.load = 'eager'; // at once, without the download prompt
    el.setAttribute('src', src);
    document.body.append(el);
    try {
      await el.ready;
      return 'loaded';
    } catch (err) {
      return err.name;
    }
  }, `/__html${own('html-element')}`);
  assert.equal(shown, 'WeightsError');
  assert.match(await shownError(page.locator('siglip-classifier')), /web page/);
  await page.evaluate((src) => document.querySelector('siglip-classifier').setAttribute('src', src), own('html-element-good'));
  await page.evaluate(() => document.querySelector('siglip-classifier').ready);
  assert.equal(await shownError(page.locator('siglip-classifier')), '');
  assert.deepEqual(problems, []);
  await stillWorks(page, 'html');
  await page.close();
});

test('a cached copy that does not parse is deleted and fetched again', async () => {
  const { page, problems } = await openBlank();
  const file = own('corrupt-cache');
  // A cache entry of the right size whose header is garbage (as a disk error or an old build's
  // file would be).
  await page.evaluate(
    async ([name, file, length]) => {
      const bytes = new Uint8Array(length);
      bytes.fill(0xab);
      const cache = await caches.open(name);
      await cache.put(new URL(file, location.href).href, new Response(bytes, { headers: { 'content-length': String(length) } }));
    },
    [CACHE, file, BYTES.length],
  );
  const got = await classifyWith(page, file);
  assert.equal(got.error, undefined, JSON.stringify(got.error));
  assert.equal((await requests(file)).length, 1, 'fetched from the network once');
  // What the cache holds now is the real file.
  const digest = await page.evaluate(
    async ([name, file]) => {
      const hit = await (await caches.open(name)).match(new URL(file, location.href).href);
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await hit.arrayBuffer()));
      return btoa(String.fromCharCode(...d));
    },
    [CACHE, file],
  );
  assert.equal(`sha256-${digest}`, INTEGRITY);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a deferred cache write: nothing cached until store() runs, then the whole file; a source freed midway leaves nothing', async () => {
  const { page, problems } = await openBlank();
  const file = own('deferred');
  const got = await page.evaluate(
    async ([name, src]) => {
      const { fetchModel, storeCached } = await import('/www/loader.js');
      const cache = await caches.open(name);
      const has = async (key) => !!(await cache.match(new URL(key, location.href).href));
      const { target, fromCache, timings, store } = await fetchModel(src, { deferStore: true });
      const before = await has(src);
      const stored = await store(target);
      const hit = await cache.match(new URL(src, location.href).href);
      const same = hit && new Uint8Array(await hit.arrayBuffer()).every((b, i) => b === target.view()[i]);
      // 3 MiB, written 1 MiB at a time; the source is gone after its first piece.
      const big = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 255);
      let asked = 0;
      const freed = await storeCached(new URL('/freed-midway', location.href).href, { view: () => (++asked <= 2 ? big : null) });
      const whole = await storeCached(new URL('/whole', location.href).href, { view: () => big });
      const wholeHit = await cache.match(new URL('/whole', location.href).href);
      const wholeSame = wholeHit && new Uint8Array(await wholeHit.arrayBuffer()).every((b, i) => b === big[i]);
      return { fromCache, timings, before, stored, same, freed, asked, freedCached: await has('/freed-midway'), whole, wholeSame };
    },
    [CACHE, file],
  );
  assert.equal(got.fromCache, false);
  assert.equal(got.timings.cacheWriteMs, undefined);
  assert.equal(got.before, false, 'nothing cached before store()');
  assert.equal(got.stored, true);
  assert.equal(got.same, true, 'the cached bytes are the file');
  assert.equal(got.freed, false);
  assert.equal(got.asked, 3, 'abandoned at the second piece');
  assert.equal(got.freedCached, false, 'nothing partial cached');
  assert.equal(got.whole, true);
  assert.equal(got.wholeSame, true);
  assert.deepEqual(problems, []);
  await page.close();
});
