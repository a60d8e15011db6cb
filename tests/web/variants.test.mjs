// The four wasm builds and the worker's choice between them: threads on a cross-origin
// isolated page (COOP/COEP from the server, or from the service worker on a host without
// them), relaxed SIMD without isolation, simd128 and threads-simd128 (WebKit's threaded build)
// when forced; all give the reference scores. Shared memory sized to what the engine grants,
// and a single-threaded build with a console note where it grants none.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { launch, packedModel, reference, startServer, urlPath, watch } from './harness.mjs';

const ref = reference('tiny-224');
const modelFile = packedModel('tiny-224', 'f32');
const model = urlPath(modelFile);
const integrity = `sha256-${createHash('sha256').update(readFileSync(modelFile)).digest('base64')}`;
const IMAGES = ['gray.png', 'alpha.png', 'lossless.webp'];
let plain;
let isolated;
let browser;

before(async () => {
  plain = await startServer();
  isolated = await startServer({ args: ['--coi'] });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await plain?.stop();
  await isolated?.stop();
});

/** Opens the demo page, records CSP violations, waits for the model: {page, detail, problems}. */
async function demo(server, query) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const q = new URLSearchParams({ model, labels: 'cat,dog', load: 'eager', ...query });
  await page.goto(`${server.url}www/index.html?${q}`);
  const detail = await page.locator('siglip-classifier').evaluate((e) => e.ready);
  return { context, page, detail, problems };
}

/** Classifies the fixture images with the reference labels in the page; checks the scores. */
async function assertReferenceScores(page, what) {
  const out = await page.evaluate(async ({ images, labels }) => {
    const el = document.querySelector('siglip-classifier');
    const results = {};
    for (const file of images) results[file] = await el.classify(`/tests/fixtures/images/${file}`, labels);
    return results;
  }, { images: IMAGES, labels: ref.labels });
  for (const file of IMAGES) {
    const want = ref.images.find((i) => i.file === file).scores;
    assert.equal(out[file].length, ref.labels.length);
    for (const r of out[file]) {
      const w = want[ref.labels.indexOf(r.label)];
      assert.ok(Math.abs(r.score - w) <= 1e-4, `${what} ${file} ${r.label}: ${r.score} vs ${w}`);
    }
  }
}

test('feature detection: the hand-written SIMD and relaxed-SIMD modules validate in Chromium', async () => {
  const page = await browser.newPage();
  await page.goto(`${plain.url}tests/web/blank.html`);
  const v = await page.evaluate(() => {
    const head = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0];
    const ok = (bytes) => WebAssembly.validate(new Uint8Array(bytes));
    return {
      simd: ok([...head, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11]),
      relaxed: ok([...head, 10, 11, 1, 9, 0, 65, 0, 253, 17, 253, 129, 2, 11]),
      // The same with an opcode that does not exist: must not validate, or the check is void.
      bogus: ok([...head, 10, 11, 1, 9, 0, 65, 0, 253, 17, 253, 255, 3, 11]),
    };
  });
  assert.deepEqual(v, { simd: true, relaxed: true, bogus: false });
  // And the worker carries exactly these bytes.
  const worker = await (await fetch(`${plain.url}www/siglip-worker.js`)).text();
  assert.ok(worker.includes('10, 8, 1, 6, 0, 65, 0, 253, 17, 11]'));
  assert.ok(worker.includes('10, 11, 1, 9, 0, 65, 0, 253, 17, 253, 129, 2, 11]'));
  await page.close();
});

test('cross-origin isolated (COOP/COEP): the threads build runs with a pool, under the CSP', async () => {
  const { context, page, detail, problems } = await demo(isolated, { 'no-sw': '' });
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  assert.equal(detail.build.variant, 'threads');
  assert.equal(detail.build.simd, 'relaxed');
  assert.ok(detail.build.threads >= 2, `a pool of ${detail.build.threads} threads`);
  await assertReferenceScores(page, 'threads');
  await page.waitForFunction(() => /wasm: threads, relaxed SIMD, \d+ threads/.test(document.getElementById('build-info').textContent));
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violations (the pool workers are same-origin)');
  assert.deepEqual(problems, []);
  await context.close();
});

test('not isolated: auto falls back to the relaxed build, which gives the same scores', async () => {
  const { context, page, detail, problems } = await demo(plain, { 'no-sw': '' });
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
  assert.deepEqual(detail.build, { variant: 'relaxed', simd: 'relaxed', threads: 1 });
  await assertReferenceScores(page, 'relaxed');
  // Forcing threads here is a clear error, shown in the element.
  const err = await page.evaluate(async () => {
    const el = document.querySelector('siglip-classifier');
    const got = new Promise((resolve) => el.addEventListener('error', (ev) => resolve(ev.detail.error), { once: true }));
    el.variant = 'threads';
    const e = await got;
    return { name: e.name, message: e.message, isError: e instanceof Error };
  });
  assert.deepEqual([err.name, err.isError], ['UnsupportedError', true]);
  assert.match(err.message, /not cross-origin isolated/);
  // Back to auto: the element loads again and gives the reference scores.
  const build = await page.evaluate(async () => {
    const el = document.querySelector('siglip-classifier');
    el.variant = null;
    return (await el.ready).build.variant;
  });
  assert.equal(build, 'relaxed');
  await assertReferenceScores(page, 'relaxed after the error');
  assert.deepEqual(problems, []);
  await context.close();
});

test('variant=simd128 forces the plain build, even when threads could run', async () => {
  const { context, page, detail, problems } = await demo(isolated, { 'no-sw': '', variant: 'simd128' });
  assert.deepEqual(detail.build, { variant: 'simd128', simd: 'simd128', threads: 1 });
  await assertReferenceScores(page, 'simd128');
  assert.deepEqual(problems, []);
  await context.close();
});

test('createClassifier({variant}) and the load result carry the build; integrity on shared memory; bad variants are errors', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${isolated.url}tests/web/blank.html`);
  const out = await page.evaluate(async ({ src, integrity, labels }) => {
    const { createClassifier } = await import('/www/index.js');
    const builds = {};
    for (const variant of ['relaxed', 'threads', 'threads-simd128', undefined]) {
      // The threads build downloads into shared memory, which WebCrypto will not hash as is.
      const clf = await createClassifier({ src, variant, integrity });
      builds[variant ?? 'auto'] = clf.build;
      clf.dispose();
    }
    let bad = '';
    try {
      await createClassifier({ src, variant: 'gpu' });
    } catch (err) {
      bad = `${err.name}: ${err.message}`;
    }
    const clf = await createClassifier({ src });
    const after = await clf.classify('/tests/fixtures/images/gray.png', labels);
    clf.dispose();
    return { builds, bad, after };
  }, { src: model, integrity, labels: ref.labels });
  assert.equal(out.builds.relaxed.variant, 'relaxed');
  assert.equal(out.builds.threads.variant, 'threads');
  assert.deepEqual(out.builds['threads-simd128'], { variant: 'threads-simd128', simd: 'simd128', threads: out.builds.threads.threads });
  assert.equal(out.builds.auto.variant, 'threads');
  assert.match(out.bad, /^InputError: unknown variant "gpu"/);
  const want = ref.images.find((i) => i.file === 'gray.png').scores;
  assert.equal(out.after.length, ref.labels.length);
  for (const r of out.after) assert.ok(Math.abs(r.score - want[ref.labels.indexOf(r.label)]) <= 1e-4, `after "gpu": ${r.label}`);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a host without the headers: the service worker isolates the page after exactly one reload', async () => {
  const server = await startServer();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(`${server.url}www/index.html?${new URLSearchParams({ model, labels: 'cat,dog', load: 'eager' })}`);
    await page.waitForFunction(() => self.crossOriginIsolated && !!navigator.serviceWorker.controller, null, { timeout: 30000 });
    const detail = await page.locator('siglip-classifier').evaluate((e) => e.ready);
    assert.equal(detail.build.variant, 'threads');
    await assertReferenceScores(page, 'threads via the service worker');
    await page.waitForTimeout(500);
    assert.equal(loads, 2, 'one reload, no more');
    // Later visits in the same tab are isolated from the start: no reload.
    await page.reload();
    await page.locator('siglip-classifier').evaluate((e) => e.ready);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    await page.waitForTimeout(500);
    assert.equal(loads, 3);
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await server.stop();
  }
});

// iOS Safari refuses a shared memory whose maximum is a few GiB ("RangeError: Out of memory").
// The page's Worker is wrapped so that the model worker's WebAssembly.Memory does the same above
// a limit: at 1 GiB the worker reserves the largest maximum granted (the third it asks for) and
// runs threads; at 256 MB (below its smallest) the threaded builds do not start and the page runs
// relaxed, with a console note for each.
for (const [limitMb, want] of [[1024, 'threads'], [256, 'relaxed']]) {
  test(`shared memory refused above ${limitMb} MB: the ${want} build runs, with the reference scores`, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watch(page);
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await page.goto(`${isolated.url}tests/web/blank.html`);
    const out = await page.evaluate(async ({ src, labels, limitPages }) => {
      const RealWorker = Worker;
      const blob = (code) => URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
      // Static imports, evaluated in order: the refusal, then the worker (whose messages would
      // be lost if it were imported later, by a dynamic import).
      const refuse = blob(`const Real = WebAssembly.Memory;
        WebAssembly.Memory = function Memory(d) {
          if (d?.shared && d.maximum > ${limitPages}) throw new RangeError('Out of memory');
          return new Real(d);
        };
        WebAssembly.Memory.prototype = Real.prototype;`);
      window.Worker = class extends RealWorker {
        constructor(url, options) {
          super(blob(`import ${JSON.stringify(refuse)}; import ${JSON.stringify(new URL(url, location.href).href)};`), options);
        }
      };
      const { createClassifier } = await import('/www/index.js');
      const clf = await createClassifier({ src });
      const results = await clf.classify('/tests/fixtures/images/gray.png', labels);
      clf.dispose();
      return { build: clf.build, results, isolated: self.crossOriginIsolated };
    }, { src: model, labels: ref.labels, limitPages: limitMb * 16 });
    assert.equal(out.isolated, true);
    assert.equal(out.build.variant, want);
    const gray = ref.images.find((i) => i.file === 'gray.png').scores;
    for (const r of out.results) assert.ok(Math.abs(r.score - gray[ref.labels.indexOf(r.label)]) <= 1e-4, `${r.label}`);
    const notes = warnings.filter((w) => w.startsWith('siglip: '));
    if (want === 'threads') assert.deepEqual(notes, []);
    else {
      assert.equal(notes.length, 2, notes.join('\n'));
      assert.match(notes[0], /^siglip: the threads build did not start \(this browser would not reserve shared WebAssembly memory of even 512 MB \(Out of memory\)\); trying threads-simd128$/);
      assert.match(notes[1], /^siglip: the threads-simd128 build did not start .*; trying relaxed$/);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });
}
