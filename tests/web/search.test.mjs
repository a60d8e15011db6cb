// Retrieval in the browser: <siglip-search> over the generated gallery (scripts/make_gallery.mjs,
// 1,000 images and a few files that are not images) ranks like the transformers reference
// (tests/fixtures/gallery) for text, image and combined queries; the library is stored in the
// browser (a reload brings it back, nothing embedded again), a closed tab mid-way resumes, the
// index file round-trips between the browser and the CLI in both directions, another model's
// index is refused, and storage failures (quota, a store of a newer version, a damaged record)
// give a message and keep the gallery working in memory.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, OUT, ROOT, cli, launch, launchProfile, packedModel, readSafetensors, shownError, startServer, urlPath, watch } from './harness.mjs';
import { makeGallery } from '../../scripts/make_gallery.mjs';

const GALLERY = path.join(OUT, 'gallery');
const SMALL = path.join(OUT, 'gallery-small');
const CLI = cli();
let server;
let browser;
let model;

/** The reference index (transformers): ids -> embedding, plus its model. */
function referenceIndex(file = path.join(FIXTURES, 'gallery/reference.index.safetensors')) {
  const tensors = readSafetensors(file);
  const emb = tensors.find((t) => t.name === 'embeddings');
  const records = JSON.parse(tensors.find((t) => t.name === 'records').data.toString('utf8'));
  const dim = emb.shape[1];
  const floats = emb.dtype === 'F32'
    ? new Float32Array(emb.data.buffer.slice(emb.data.byteOffset, emb.data.byteOffset + emb.data.length))
    : null;
  const byId = new Map(records.map((r, i) => [r.id, floats ? floats.subarray(i * dim, (i + 1) * dim) : null]));
  return { records, byId, dim };
}

const queries = JSON.parse(readFileSync(path.join(FIXTURES, 'gallery/queries.json'), 'utf8'));
const queryEmbedding = (i) => queries[queries.pipeline_text_masking === 'padding' ? 'text_embeds' : 'text_embeds_unmasked'][i];
const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);

/**
 * `ids` (best first) are every image in the order of the reference cosines with `query`, but
 * for images whose reference cosines are within `tol` (the library searches f16 rows).
 */
function assertRankedLikeReference(ids, query, tol, what) {
  const ref = referenceIndex();
  assert.equal(ids.length, ref.records.length, `${what}: every image`);
  const cos = ids.map((id) => dot(ref.byId.get(id), query));
  for (let i = 1; i < cos.length; i++) assert.ok(cos[i - 1] >= cos[i] - tol, `${what}: #${i} ${ids[i - 1]} (${cos[i - 1]}) above ${ids[i]} (${cos[i]})`);
}

before(async () => {
  rmSync(GALLERY, { recursive: true, force: true });
  rmSync(SMALL, { recursive: true, force: true });
  makeGallery(GALLERY);
  makeGallery(SMALL, { count: 150, seed: 2, junk: false });
  model = urlPath(packedModel('tiny-224', 'f32'));
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh browser profile's page on the search demo, its library open. */
async function searchPage(context, page = undefined) {
  page ??= await context.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}www/search.html?load=eager&no-sw&model=${model}`);
  const el = page.locator('siglip-search');
  await el.evaluate((e) => e.ready);
  await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
  return { page, el, problems };
}

/** Adds a folder through the element's folder picker; resolves with the `indexed` detail. */
async function addFolder(el, dir) {
  const indexed = el.evaluate((e) => new Promise((r) => e.addEventListener('indexed', (ev) => r(ev.detail), { once: true })));
  await el.locator('input.folder').setInputFiles(dir);
  return indexed;
}

test('a folder is indexed and searched like the reference, and is back after a reload with nothing embedded again', async () => {
  const context = await browser.newContext();
  const { page, el, problems } = await searchPage(context);
  const result = await addFolder(el, GALLERY);
  assert.equal(result.added, 1000);
  assert.equal(result.skipped, 0);
  assert.deepEqual(result.failed.map((f) => f.name), ['gallery/a/broken.png'], 'not-images are skipped, a broken image fails alone');
  assert.equal(result.failed[0].error.name, 'ImageError');

  // Records as the CLI writes them: the same ids (content hashes) and paths as the reference.
  const ref = referenceIndex();
  const records = await el.evaluate((e) => e.libraryObject.records());
  assert.equal(records.length, 1000);
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const r of ref.records) {
    const got = byId.get(r.id);
    assert.ok(got, `${r.path} indexed`);
    assert.deepEqual([got.sha256, got.size, got.path, got.grid], [r.sha256, r.size, `gallery/${r.path}`, r.grid]);
  }

  // Text queries, an image query ("more like this") and both: every image, in the reference order.
  for (const [i, text] of queries.texts.entries()) {
    const ranking = await el.evaluate((e, q) => e.rank(q), text);
    assertRankedLikeReference(ranking.map((r) => r.id), queryEmbedding(i), 2e-3, text);
    for (const r of ranking.slice(0, 20)) assert.ok(Math.abs(r.cosine - dot(ref.byId.get(r.id), queryEmbedding(i))) < 2e-3);
  }
  const own = ref.records.find((r) => r.name === 'img-0005.png').id;
  const byImage = await el.evaluate((e, id) => e.search({ image: { id } }, { topK: 1000 }), own);
  assert.equal(byImage[0].id, own, 'an image finds itself first');
  assertRankedLikeReference(byImage.map((h) => h.id), Array.from(ref.byId.get(own)), 2e-3, 'image query');
  const both = await el.evaluate((e, [text, id]) => e.search({ text, image: { id } }, { topK: 1000 }), [queries.texts[1], own]);
  const sum = queryEmbedding(1).map((v, k) => v + ref.byId.get(own)[k]);
  const norm = Math.hypot(...sum);
  assertRankedLikeReference(both.map((h) => h.id), sum.map((v) => v / norm), 2e-3, 'text + image query');

  // The gallery shows one page of results, thumbnails for those alone; clicking one searches by it.
  const shown = await el.evaluate(async (e) => {
    const got = new Promise((r) => e.addEventListener('result', (ev) => r(ev.detail), { once: true }));
    e.shadowRoot.querySelector('.item .thumb').click();
    const detail = await got;
    await new Promise((r) => setTimeout(r, 300));
    return { detail, items: e.shadowRoot.querySelectorAll('.item').length, images: e.shadowRoot.querySelectorAll('.item img').length };
  });
  assert.equal(shown.items, 60);
  assert.ok(shown.images >= 55 && shown.images <= 60, `${shown.images} thumbnails`);
  assert.ok(shown.detail.image && shown.detail.ranking[0].cosine > 0.999, 'more like this: the image first');
  await page.screenshot({ path: path.join(OUT, 'search.png'), fullPage: true });

  // Reload: the library is back from the browser's storage; the folder again embeds nothing.
  await page.reload();
  await el.evaluate((e) => e.ready);
  await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
  assert.equal(await el.evaluate((e) => e.size), 1000);
  assert.equal(await el.evaluate((e) => e.libraryObject.persistent), true);
  const again = await addFolder(el, GALLERY);
  assert.deepEqual([again.added, again.skipped], [0, 1000]);
  const afterReload = await el.evaluate((e, q) => e.rank(q), queries.texts[0]);
  assertRankedLikeReference(afterReload.map((r) => r.id), queryEmbedding(0), 2e-3, 'after a reload');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a tab closed mid-way: the images done are kept and the rest resumes', async () => {
  const context = await browser.newContext();
  let { page, el } = await searchPage(context);
  await el.evaluate((e) => {
    window.__done = 0;
    e.addEventListener('indexing', (ev) => (window.__done = ev.detail.done));
  });
  await el.locator('input.folder').setInputFiles(GALLERY);
  await page.waitForFunction(() => window.__done >= 150, null, { timeout: 120000 });
  await page.close(); // the worker dies with the tab, mid-way

  ({ page, el } = await searchPage(context));
  const kept = await el.evaluate((e) => e.size);
  assert.ok(kept >= 150 && kept < 1000, `${kept} images kept`);
  const warning = await el.evaluate((e) => e.shadowRoot.querySelector('.warning').textContent);
  assert.match(warning, /of an earlier visit were not indexed yet: add their folder again/);
  const resumed = await addFolder(el, GALLERY);
  assert.equal(resumed.added + resumed.skipped, 1000);
  assert.equal(resumed.skipped, kept, 'nothing done before is embedded again');
  assert.equal(await el.evaluate((e) => e.size), 1000);
  // Done: the next visit has nothing left to ask for.
  await page.reload();
  await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
  assert.deepEqual(await el.evaluate((e) => e.libraryObject.pending), { urls: 0, files: [] });
  assert.equal(await el.evaluate((e) => e.shadowRoot.querySelector('.warning').hidden), true);

  // URLs resume by themselves: added, cut short, the next visit finishes them.
  await el.evaluate((e) => e.clear());
  const top = readdirSync(GALLERY).filter((f) => f.endsWith('.png')).slice(0, 40);
  const urls = top.map((f) => `${server.url}__slow/${path.relative(ROOT, GALLERY)}/${f}`);
  await el.evaluate((e, list) => {
    window.__done = 0;
    e.addEventListener('indexing', (ev) => (window.__done = ev.detail.done));
    e.addImages(list).catch(() => {});
  }, urls);
  await page.waitForFunction(() => window.__done >= 3, null, { timeout: 60000 });
  await page.close();
  ({ page, el } = await searchPage(context));
  await page.waitForFunction(() => document.querySelector('siglip-search').size === 40, null, { timeout: 120000 });
  await context.close();
});

test('index files: browser export -> CLI search, CLI index -> browser import, another model refused', async () => {
  const dir = path.join(OUT, 'index-files');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const context = await browser.newContext();
  const { page, el } = await searchPage(context);
  await addFolder(el, GALLERY);

  // The browser's export (f32) read by the CLI: the same ranking as the browser's.
  const exported = await el.evaluate(async (e) => [...new Uint8Array(await (await e.exportIndex({ dtype: 'f32' })).arrayBuffer())]);
  const exportedFile = path.join(dir, 'browser.index.safetensors');
  writeFileSync(exportedFile, Buffer.from(exported));
  const fromBrowser = referenceIndex(exportedFile);
  const ref = referenceIndex();
  let worst = 0;
  for (const r of ref.records) {
    const a = fromBrowser.byId.get(r.id);
    const b = ref.byId.get(r.id);
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]));
  }
  assert.ok(worst < 1e-5, `exported embeddings within ${worst} of transformers'`);
  const tensors = readSafetensors(exportedFile).map((t) => t.name);
  assert.ok(tensors.includes('thumbnails'), 'thumbnails exported');
  const cli = (args) => JSON.parse(execFileSync(CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const tiny = path.join(FIXTURES, 'tiny-224');
  const cliHits = cli(['search', exportedFile, queries.texts[2], '--top', '1000', '--json', '-m', tiny]);
  assertRankedLikeReference(cliHits.map((h) => h.id), queryEmbedding(2), 1e-5, 'CLI on the browser export');

  // The CLI's index of the same folder, imported into a fresh browser: the same library, without
  // thumbnails until the folder is added, which then embeds nothing.
  const cliIndex = path.join(dir, 'cli.index.safetensors');
  execFileSync(CLI, ['index', GALLERY, '-o', cliIndex, '-m', path.join(ROOT, decodeURIComponent(model))], { stdio: 'ignore' });
  const fresh = await browser.newContext();
  const b = await searchPage(fresh);
  const imported = await b.el.evaluate(async (e, bytes) => e.importIndex(new Uint8Array(bytes)), [...readFileSync(cliIndex)]);
  assert.deepEqual(imported, { added: 1000, skipped: 0 });
  const ranking = await b.el.evaluate((e, q) => e.rank(q), queries.texts[3]);
  assertRankedLikeReference(ranking.map((r) => r.id), queryEmbedding(3), 2e-3, 'browser on the CLI index');
  assert.equal(await b.el.evaluate((e) => e.shadowRoot.querySelectorAll('.item img').length), 0, 'the CLI writes no thumbnails');
  const added = await addFolder(b.el, GALLERY);
  assert.deepEqual([added.added, added.skipped], [0, 1000]);
  await b.page.waitForFunction(() => document.querySelector('siglip-search').shadowRoot.querySelectorAll('.item img').length >= 55);

  // Another model's index is refused with a clear error; a damaged one too; the library is intact.
  const other = path.join(dir, 'other.index.safetensors');
  execFileSync(CLI, ['index', path.join(GALLERY, 'img-0001.png'), '-o', other, '-m', path.join(FIXTURES, 'tiny-p14')], { stdio: 'ignore' });
  for (const [file, name, message] of [
    [other, 'ModelMismatchError', /this index was made with .* cannot be compared/],
    [cliIndex, 'IndexError', /truncated, corrupt or not an index/],
  ]) {
    const bytes = readFileSync(file);
    const cut = file === cliIndex ? bytes.subarray(0, bytes.length >> 1) : bytes;
    const err = await b.el.evaluate((e, data) => e.importIndex(new Uint8Array(data)).then(() => null, (x) => ({ name: x.name, message: x.message })), [...cut]);
    assert.equal(err?.name, name, JSON.stringify(err));
    assert.match(err.message, message);
    assert.match(await shownError(b.el), message);
  }
  assert.equal(await b.el.evaluate((e) => e.size), 1000);
  await fresh.close();
  await page.close();
  await context.close();
});

test('storage failures: a full quota, a store of a newer version and a damaged record keep the gallery working', async () => {
  // A quota that holds some of the images: the rest stay in memory, searchable, with a message.
  // (In a profile's default context: DevTools' quota override does not reach other contexts.)
  const profile = path.join(OUT, 'quota-profile');
  rmSync(profile, { recursive: true, force: true });
  const context = await launchProfile(profile);
  const first = context.pages()[0] ?? (await context.newPage());
  const cdp = await context.newCDPSession(first);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 120_000 });
  let { page, el } = await searchPage(context, first);
  const result = await addFolder(el, SMALL);
  assert.equal(result.added, 150);
  const state = await el.evaluate((e) => ({ size: e.size, persistent: e.libraryObject.persistent, warning: e.shadowRoot.querySelector('.warning').textContent }));
  assert.equal(state.size, 150);
  assert.equal(state.persistent, false);
  assert.match(state.warning, /storage for this site is full: the \d+ images stored before are kept, new ones are kept in memory only/);
  assert.equal((await el.evaluate((e) => e.rank('stripes'))).length, 150, 'every image searchable');
  await page.reload();
  await el.evaluate((e) => e.ready);
  await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
  const stored = await el.evaluate((e) => e.size);
  assert.ok(stored > 0 && stored < 150, `${stored} images were stored before the quota ran out`);
  await context.close();

  // A store written by a newer version: the library works in memory, and says why.
  const newer = await browser.newContext();
  const p1 = await newer.newPage();
  await p1.goto(`${server.url}www/search.html?load=eager&no-sw`);
  await p1.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open('siglip-web', 99);
    r.onsuccess = () => resolve(r.result.close());
    r.onerror = () => reject(r.error);
  }));
  await p1.close();
  ({ page, el } = await searchPage(newer));
  assert.equal(await el.evaluate((e) => e.libraryObject.persistent), false);
  assert.match(await el.evaluate((e) => e.shadowRoot.querySelector('.warning').textContent), /stored by a newer version.*memory only/);
  const r2 = await addFolder(el, SMALL);
  assert.equal(r2.added, 150);
  await newer.close();

  // A damaged record is left out with a note; the others load.
  const damaged = await browser.newContext();
  ({ page, el } = await searchPage(damaged));
  await addFolder(el, SMALL);
  await page.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open('siglip-web');
    r.onsuccess = () => {
      const tx = r.result.transaction('images', 'readwrite');
      const store = tx.objectStore('images');
      store.openCursor().onsuccess = (ev) => {
        const cursor = ev.target.result;
        cursor.update({ ...cursor.value, embedding: new Float32Array(3) });
      };
      tx.oncomplete = () => resolve(r.result.close());
      tx.onerror = () => reject(tx.error);
    };
  }));
  await page.reload();
  await el.evaluate((e) => e.ready);
  await page.waitForFunction(() => document.querySelector('siglip-search').libraryObject);
  assert.equal(await el.evaluate((e) => e.size), 149);
  assert.match(await el.evaluate((e) => e.shadowRoot.querySelector('.warning').textContent), /1 stored image could not be read and was left out/);
  await damaged.close();
});
