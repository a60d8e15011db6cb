// The demo page under its strict Content-Security-Policy, integrity checks, cross-origin
// models with and without CORS, label text never parsed as HTML, and offline after one visit.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, OUT, launch, packedModel, shownError, startServer, urlPath, watch } from './harness.mjs';

let server;
let browser;
const modelFile = packedModel('tiny-224', 'q8');
const model = urlPath(modelFile);

before(async () => {
  server = await startServer();
  browser = await launch(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(context, url) {
  const page = await context.newPage();
  const problems = watch(page);
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(url);
  return { page, problems };
}

test('the demo pages run under a strict CSP with no violations (and the CSP is enforced)', async () => {
  const context = await browser.newContext();
  const { page, problems } = await openPage(context, `${server.url}www/index.html?load=eager&no-sw&model=${model}&labels=cat,dog`);
  const el = page.locator('siglip-classifier');
  await el.evaluate((e) => e.ready);
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'images/alpha.png'));
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 2);
  await el.getByRole('button', { name: 'Start camera' }).click();
  await el.getByRole('button', { name: 'Classify frame' }).click();
  await el.getByRole('button', { name: 'Stop camera' }).click();
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]').content);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violations');

  // Proof the policy is live: an injected inline script is refused.
  const ran = await page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.head.append(s);
    await new Promise((r) => setTimeout(r, 50));
    return window.__inline === true;
  });
  assert.equal(ran, false);
  assert.ok((await page.evaluate(() => window.__csp)).some((v) => v.startsWith('script-src')));

  // The search page too.
  const search = await openPage(context, `${server.url}www/search.html?load=eager&no-sw&model=${model}`);
  await search.page.locator('siglip-search').evaluate((e) => e.ready);
  await search.page.locator('siglip-search input.files').setInputFiles([path.join(FIXTURES, 'images/gray.png')]);
  await search.page.waitForFunction(() => document.querySelector('siglip-search').shadowRoot.querySelectorAll('.item:not(.pending)').length === 1);
  assert.deepEqual(await search.page.evaluate(() => window.__csp), []);
  assert.deepEqual([...problems, ...search.problems].filter((p) => !/Content Security Policy|inline/.test(p)), []);
  await context.close();
});

test('integrity: a matching hash loads, a mismatch is a clear error', async () => {
  const hash = `sha256-${createHash('sha256').update(readFileSync(modelFile)).digest('base64')}`;
  const context = await browser.newContext();
  const { page } = await openPage(context, `${server.url}tests/web/blank.html`);
  const result = await page.evaluate(
    async ({ model, hash }) => {
      const make = (integrity) => {
        const el = document.createElement('siglip-classifier');
        el.load = 'eager'; // at once, without the download prompt
        el.integrity = integrity;
        el.src = model;
        document.body.append(el);
        return el;
      };
      const good = await make(hash).ready;
      const bad = make('sha256-' + btoa('x'.repeat(32)));
      const error = await new Promise((resolve) => bad.addEventListener('error', (e) => resolve(e.detail.error)));
      const shown = bad.shadowRoot.querySelector('.error').textContent;
      // The same element with the right hash loads and classifies.
      bad.integrity = hash;
      await bad.ready;
      const after = await bad.classify('/tests/fixtures/images/gray.png', ['cat', 'dog']);
      const shownAfter = bad.shadowRoot.querySelector('.error').hidden ? '' : 'shown';
      return { dtype: good.info.dtype, name: error.name, message: error.message, shown, after: after.map((r) => r.label).sort(), shownAfter };
    },
    { model, hash },
  );
  assert.equal(result.dtype, 'q8');
  assert.equal(result.name, 'IntegrityError');
  assert.match(result.message, /does not match its integrity/);
  assert.equal(result.shown, result.message);
  assert.deepEqual(result.after, ['cat', 'dog']);
  assert.equal(result.shownAfter, '');
  await context.close();
});

test('cross-origin models: work with CORS headers, fail clearly without', async () => {
  const withCors = await startServer({ root: OUT, args: ['--cors'] });
  const withoutCors = await startServer({ root: OUT });
  try {
    const context = await browser.newContext();
    const { page } = await openPage(context, `${server.url}www/index.html?load=eager&no-sw&model=${model}&labels=cat,dog`);
    const el = page.locator('siglip-classifier');
    await el.evaluate((e) => e.ready);
    const name = path.basename(modelFile);
    const ok = await el.evaluate(async (e, src) => {
      e.src = src;
      const d = await e.ready;
      return d.info.dtype;
    }, `${withCors.url}${name}`);
    assert.equal(ok, 'q8');
    const err = await el.evaluate(async (e, src) => {
      const got = new Promise((resolve) => e.addEventListener('error', (ev) => resolve(ev.detail.error.message), { once: true }));
      e.src = src;
      return got;
    }, `${withoutCors.url}${name}`);
    assert.match(err, /Access-Control-Allow-Origin/);
    assert.match(await shownError(el), /Access-Control-Allow-Origin/);
    // The same element then loads a same-origin model and classifies.
    const after = await el.evaluate(async (e, src) => {
      e.src = src;
      await e.ready;
      return (await e.classify('/tests/fixtures/images/gray.png')).map((r) => r.label).sort();
    }, model);
    assert.deepEqual(after, ['cat', 'dog']);
    assert.equal(await shownError(el), '');
    await context.close();
  } finally {
    await withCors.stop();
    await withoutCors.stop();
  }
});

test('label text is never inserted as HTML', async () => {
  const context = await browser.newContext();
  const { page } = await openPage(context, `${server.url}www/index.html?load=eager&no-sw&model=${model}`);
  const evil = '<img src=x onerror="window.__xss=1"><b>bold</b>';
  const out = await page.evaluate(async (evil) => {
    const el = document.querySelector('siglip-classifier');
    await el.ready;
    el.labels = [evil, 'cat'];
    await el.classify('/tests/fixtures/images/gray.png');
    await new Promise((r) => setTimeout(r, 100));
    const root = el.shadowRoot;
    return {
      xss: window.__xss === 1,
      imgs: root.querySelectorAll('.results img, .chips img, .results b, .chips b').length,
      shown: [...root.querySelectorAll('.result .name')].map((n) => n.textContent),
    };
  }, evil);
  assert.equal(out.xss, false);
  assert.equal(out.imgs, 0);
  assert.ok(out.shown.includes(evil), 'shown literally');
  await context.close();
});

test('offline: after one visit, the page and its model load with the server stopped', async () => {
  const own = await startServer();
  const context = await browser.newContext();
  const url = `${own.url}www/index.html?load=eager&model=${model}&labels=cat,dog`;
  const { page, problems } = await openPage(context, url);
  // The service worker reloads the page once, when it takes control, to isolate it.
  await page.waitForFunction(() => !!navigator.serviceWorker.controller && self.crossOriginIsolated, null, { timeout: 30000 });
  await page.locator('siglip-classifier').evaluate((e) => e.ready);
  assert.equal(await page.locator('siglip-classifier').evaluate((e) => e.cached), true, 'the model file was cached after the load');
  assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'service worker controls the page');
  await own.stop();

  await page.reload();
  const el = page.locator('siglip-classifier');
  const detail = await el.evaluate((e) => e.ready);
  assert.equal(detail.fromCache, true);
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'images/alpha.png'));
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 2);
  assert.equal(await shownError(el), '');
  assert.deepEqual(problems, []);
  await context.close();
});

test('offline on a host that sends COOP/COEP: after one visit (no reload), the threads build starts with the server stopped', async () => {
  // The worker imports all three builds' glue and the threads glue its pool-worker script; the
  // first visit's worker started before the service worker took control, so they must have
  // been cached at install.
  const own = await startServer({ args: ['--coi'] });
  const context = await browser.newContext();
  const { page, problems } = await openPage(context, `${own.url}www/index.html?load=eager&model=${model}&labels=cat,dog`);
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 30000 });
  const el = page.locator('siglip-classifier');
  assert.equal((await el.evaluate((e) => e.ready)).build.variant, 'threads');
  assert.equal(await el.evaluate((e) => e.cached), true, 'the model file was cached after the load');
  await own.stop();

  await page.reload();
  const detail = await el.evaluate((e) => e.ready);
  assert.equal(detail.fromCache, true);
  assert.equal(detail.build.variant, 'threads');
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'images/alpha.png'));
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 2);
  assert.equal(await shownError(el), '');
  assert.deepEqual(problems, []);
  await context.close();
});
