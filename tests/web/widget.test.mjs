// The widget as other sites use it: every promise settles after each kind of failure, one
// worker and model shared by every element and classifier with the same `src`, and the
// package served from another origin (a CDN) or with its files moved (`workerUrl`, `wasmUrl`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { blankPage, OUT, packedModel, reference, ROOT, serverAndBrowser, startServer, urlPath } from './harness.mjs';

const ref = reference('tiny-p14');
const model = urlPath(packedModel('tiny-p14', 'f32'));
const GRAY = '/tests/fixtures/images/gray.png';
const grayScores = ref.images.find((i) => i.file === 'gray.png').scores;
const env = serverAndBrowser();

// A worker that runs the real one but dies (an uncaught error) when asked to classify: what a
// crash looks like from the page.
const CRASH_DIR = path.join(OUT, 'crash');
mkdirSync(CRASH_DIR, { recursive: true });
writeFileSync(
  path.join(CRASH_DIR, 'crash-worker.js'),
  `import '/www/siglip-worker.js';
const real = self.onmessage;
self.onmessage = (event) => {
  if (event.data?.type === 'classify') throw new Error('simulated worker crash');
  real(event);
};
`,
);


/** The requests a server answered so far (paths), for counting what one test fetched. */
async function requestLog(srv = env.server) {
  return (await (await fetch(`${srv.url}__requests`)).json()).map((r) => r.path);
}

/** A blank page with the package imported. */
async function packagePage() {
  const opened = await blankPage(env.browser, env.server);
  await opened.page.evaluate(() => import('/www/index.js'));
  return opened;
}

function assertScores(results) {
  assert.equal(results.length, ref.labels.length);
  for (const r of results) assert.ok(Math.abs(r.score - grayScores[ref.labels.indexOf(r.label)]) <= 1e-4, r.label);
}

test('every promise settles after each kind of failure; ready stays rejected until a new load', async () => {
  const { page } = await packagePage();
  const failures = {
    'bad URL': { src: '/no/such/model.safetensors', name: 'NetworkError' },
    'bad integrity': { src: model, integrity: 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', name: 'IntegrityError' },
    'bad file': { src: GRAY, name: 'WeightsError' },
    'worker that does not start': { src: model, workerUrl: '/no/such/worker.js', name: 'WorkerError' },
  };
  for (const [what, f] of Object.entries(failures)) {
    const out = await page.evaluate(
      async ({ f, model, GRAY, labels }) => {
        // Anything still pending after 20 s counts as hanging.
        const settle = (p) =>
          Promise.race([
            p.then(() => 'resolved', (e) => `rejected ${e.name}`),
            new Promise((r) => setTimeout(() => r('pending'), 20000)),
          ]);
        const { createClassifier } = await import('/www/index.js');
        const api = await settle(createClassifier({ src: f.src, integrity: f.integrity, workerUrl: f.workerUrl }));
        const el = document.createElement('siglip-classifier');
        el.load = 'eager'; // at once, without the download prompt
        if (f.integrity) el.integrity = f.integrity;
        if (f.workerUrl) el.workerUrl = f.workerUrl;
        el.src = f.src;
        document.body.append(el);
        const ready = await settle(el.ready);
        // Later reads and later awaits of `ready` give the same failure; no new pending promise.
        const again = await settle(el.ready);
        const sameAfterTick = await new Promise((r) => setTimeout(r, 50)).then(() => settle(el.ready));
        // A call that needs the model starts a new load, which fails the same way.
        const classify = await settle(el.classify(GRAY, labels));
        const embed = await settle(el.embedText(['a cat']));
        // A good model then loads in the same element.
        el.removeAttribute('integrity');
        el.removeAttribute('worker-url');
        el.src = model;
        const recovered = await settle(el.ready);
        const scores = await el.classify(GRAY, labels);
        el.remove();
        // And the API with a good model.
        const clf = await createClassifier({ src: model });
        const apiScores = await clf.classify(GRAY, labels);
        clf.dispose();
        return { api, ready, again, sameAfterTick, classify, embed, recovered, scores, apiScores };
      },
      { f, model, GRAY, labels: ref.labels },
    );
    const want = `rejected ${f.name}`;
    assert.deepEqual(
      [out.api, out.ready, out.again, out.sameAfterTick, out.classify, out.embed, out.recovered],
      [want, want, want, want, want, want, 'resolved'],
      what,
    );
    assertScores(out.scores);
    assertScores(out.apiScores);
  }
  await page.close();
});

test('a worker that crashes mid-request: the request and ready-dependent calls settle, and the next use reloads', async () => {
  const { page } = await packagePage();
  const out = await page.evaluate(
    async ({ model, GRAY, labels, workerUrl }) => {
      const settle = (p) =>
        Promise.race([
          p.then(() => 'resolved', (e) => `rejected ${e.name}: ${e.message}`),
          new Promise((r) => setTimeout(() => r('pending'), 20000)),
        ]);
      const { createClassifier } = await import('/www/index.js');
      const clf = await createClassifier({ src: model, workerUrl });
      const text = await settle(clf.embedText(['a cat']));
      const crashed = await settle(clf.classify(GRAY, labels));
      const after = await settle(clf.embedText(['a cat']));
      clf.dispose();
      // A new classifier with the packaged worker works.
      const clf2 = await createClassifier({ src: model });
      const apiAfter = await clf2.classify(GRAY, labels);
      clf2.dispose();
      // The element: the crash fails the call; the next call starts a new worker and works.
      const el = document.createElement('siglip-classifier');
      el.load = 'eager'; // at once, without the download prompt
      el.workerUrl = workerUrl;
      el.src = model;
      document.body.append(el);
      await el.ready;
      const elCrashed = await settle(el.classify(GRAY, labels));
      el.removeAttribute('worker-url'); // the packaged worker, which does not crash
      const elAfter = await el.classify(GRAY, labels);
      el.remove();
      return { text, crashed, after, apiAfter, elCrashed, elAfter };
    },
    { model, GRAY, labels: ref.labels, workerUrl: '/target/web-test/crash/crash-worker.js' },
  );
  assert.equal(out.text, 'resolved');
  assert.match(out.crashed, /^rejected WorkerError: .*simulated worker crash/);
  assert.match(out.after, /^rejected WorkerError/);
  assert.match(out.elCrashed, /^rejected WorkerError/);
  assertScores(out.apiAfter);
  assertScores(out.elAfter);
  await page.close();
});

test('one model per page: elements and classifiers with the same src share one worker, released by the last', async () => {
  const before = (await requestLog()).length;
  const { page, problems } = await packagePage();
  const workers = () => page.workers().length;
  await page.evaluate(async (model) => {
    for (const id of ['a', 'b']) {
      const el = document.createElement(id === 'a' ? 'siglip-classifier' : 'siglip-search');
      el.load = 'eager'; // at once, without the download prompt
      el.id = id;
      el.src = model;
      document.body.append(el);
    }
    const { createClassifier } = await import('/www/index.js');
    window.clf = await createClassifier({ src: model });
    await Promise.all([document.getElementById('a').ready, document.getElementById('b').ready]);
  }, model);
  assert.equal(workers(), 1, 'two elements and a classifier with one src: one worker');
  const requests = (await requestLog()).slice(before);
  assert.equal(requests.filter((p) => p === model).length, 1, 'the model file was fetched once');

  // Attribute changes that leave the model the same (the default variant spelt out, a dtype on
  // a packed file, the absolute spelling of src) keep it, and `ready` settles again.
  const kept = await page.evaluate(async () => {
    const a = document.getElementById('a');
    const loaded = a.client;
    a.variant = 'auto';
    a.dtype = 'q4';
    a.src = new URL(a.src, document.baseURI).href;
    const settled = await Promise.race([a.ready.then(() => 'resolved', (e) => e.name), new Promise((r) => setTimeout(() => r('pending'), 5000))]);
    return { settled, same: a.client === loaded };
  });
  assert.deepEqual(kept, { settled: 'resolved', same: true });
  assert.equal(workers(), 1);
  assert.equal((await requestLog()).slice(before).filter((p) => p === model).length, 1, 'not fetched again');

  // Results are each caller's own (a different template on each side of the same worker).
  const out = await page.evaluate(
    async ({ GRAY, labels }) => {
      const a = document.getElementById('a');
      a.template = '{}';
      const [viaElement, viaApi] = await Promise.all([a.classify(GRAY, labels), window.clf.classify(GRAY, labels)]);
      return { viaElement, viaApi };
    },
    { GRAY, labels: ref.labels },
  );
  assertScores(out.viaApi);
  assert.notDeepEqual(out.viaElement.map((r) => r.score), out.viaApi.map((r) => r.score));

  // Disposing one user does not disturb the others (not even their calls in flight).
  const afterDispose = await page.evaluate(
    async ({ GRAY, labels }) => {
      const inFlight = window.clf.classify(GRAY, labels).then(() => 'resolved', (e) => e.name);
      const other = document.getElementById('b').rank('a cat').then(() => 'resolved', (e) => e.name);
      window.clf.dispose();
      return { inFlight: await inFlight, other: await other };
    },
    { GRAY, labels: ref.labels },
  );
  assert.deepEqual(afterDispose, { inFlight: 'AbortError', other: 'resolved' });
  await page.evaluate(() => document.getElementById('b').remove());
  await page.waitForTimeout(100);
  assert.equal(workers(), 1, 'one element still uses it');
  const stillWorks = await page.evaluate(
    async ({ GRAY, labels }) => {
      const a = document.getElementById('a');
      a.template = 'This is a photo of {}.';
      return a.classify(GRAY, labels);
    },
    { GRAY, labels: ref.labels },
  );
  assertScores(stillWorks);
  // A different src is a different model; removing the last user of each frees its worker.
  await page.evaluate(async (src) => {
    const c = document.createElement('siglip-classifier');
    c.load = 'eager'; // at once, without the download prompt
    c.id = 'c';
    c.src = src;
    document.body.append(c);
    await c.ready;
  }, urlPath(packedModel('tiny-p14', 'q8')));
  assert.equal(workers(), 2);
  await page.evaluate(() => document.getElementById('a').remove());
  await page.waitForTimeout(100);
  assert.equal(workers(), 1);
  await page.evaluate(() => document.getElementById('c').remove());
  await page.waitForTimeout(100);
  assert.equal(workers(), 0);
  assert.deepEqual(problems, []);
  await page.close();
});

test('per-call AbortSignal: an aborted call rejects with an AbortError at once, in flight or not, and the model stays usable', async () => {
  const before = (await requestLog()).length;
  const { page, problems } = await packagePage();
  const out = await page.evaluate(
    async ({ model, GRAY, labels }) => {
      const outcome = (p) => p.then(() => 'resolved', (e) => `${e.name}${e.cause ? ` (cause: ${e.cause.name ?? e.cause})` : ''}`);
      const { createClassifier, openLibrary } = await import('/www/index.js');
      // A load cancelled before it is ready: an AbortError, and the next load of it works.
      const loadController = new AbortController();
      const loading = outcome(createClassifier({ src: model, signal: loadController.signal }));
      loadController.abort();
      const load = await loading;
      const clf = await createClassifier({ src: model });
      // Already aborted: rejected before anything is sent.
      const early = await outcome(clf.embedText(['a cat'], { signal: AbortSignal.abort() }));
      // In flight at the worker: a large image (its resize takes the worker a while), aborted
      // while the worker works on it; its late answer is dropped and the next call gets its own.
      const big = new ImageData(3000, 3000);
      big.data.fill(128);
      const controller = new AbortController();
      const started = performance.now();
      const inFlight = outcome(clf.classify(big, labels, { signal: controller.signal }));
      setTimeout(() => controller.abort(new Error('user left')), 5);
      const cancelled = await inFlight;
      const rejectedAfterMs = performance.now() - started;
      const after = await clf.classify(GRAY, labels);
      // rank() over several images stops between them.
      const rankController = new AbortController();
      const ranking = outcome(clf.rank('a cat', [big, big, big, big], { signal: rankController.signal }));
      setTimeout(() => rankController.abort(), 5);
      const rank = await ranking;
      const rankAfter = await clf.rank('a cat', [GRAY]);
      // A URL being fetched is cancelled too.
      const fetchController = new AbortController();
      const fetching = outcome(clf.embedImage(GRAY, { signal: fetchController.signal }));
      fetchController.abort();
      const fetch = await fetching;
      // The library's searches.
      const library = await openLibrary({ src: model, name: 'abort-test', persist: false });
      await library.add([await (await window.fetch(GRAY)).blob()]);
      const search = await outcome(library.search('a cat', { signal: AbortSignal.abort() }));
      const hits = await library.search('a cat');
      library.dispose();
      clf.dispose();
      return { load, early, cancelled, rejectedAfterMs, after, rank, rankAfter, fetch, search, hits: hits.length };
    },
    { model, GRAY, labels: ref.labels },
  );
  assert.equal(out.load, 'AbortError (cause: AbortError)');
  assert.equal(out.early, 'AbortError (cause: AbortError)');
  assert.equal(out.cancelled, 'AbortError (cause: Error)', 'the reason given to abort() is the cause');
  assert.ok(out.rejectedAfterMs < 2000, `rejected ${out.rejectedAfterMs} ms after the call`);
  assertScores(out.after);
  assert.equal(out.rank, 'AbortError (cause: AbortError)');
  assert.equal(out.rankAfter.length, 1);
  assert.equal(out.fetch, 'AbortError (cause: AbortError)');
  assert.equal(out.search, 'AbortError (cause: AbortError)');
  assert.equal(out.hits, 1);
  assert.deepEqual(problems.filter((p) => !/tests\/fixtures\/images\/gray\.png/.test(p)), []);
  const requests = (await requestLog()).slice(before);
  assert.ok(requests.filter((p) => p === model).length <= 2, 'the model was fetched at most twice (the cancelled load, the next)');
  await page.close();
});

test('the package from another origin (a CDN with CORS), and workerUrl/wasmUrl pointing anywhere', async () => {
  const cdn = await startServer({ root: path.join(ROOT, 'www'), args: ['--cors'] });
  const noCors = await startServer({ root: path.join(ROOT, 'www') });
  try {
    const before = (await requestLog()).length;
    const { page, problems } = await packagePage();
    const out = await page.evaluate(
      async ({ cdn, model, GRAY, labels }) => {
        // 1. The whole package imported from the CDN, no options: the worker and wasm come from there.
        const { createClassifier } = await import(`${cdn}index.js`);
        const clf = await createClassifier({ src: model });
        const fromCdn = await clf.classify(GRAY, labels);
        clf.dispose();
        // 2. The page's own copy of the module, with the worker and the wasm on the CDN.
        const local = await import('/www/index.js');
        const clf2 = await local.createClassifier({ src: model, workerUrl: `${cdn}siglip-worker.js`, wasmUrl: cdn });
        const viaOptions = await clf2.classify(GRAY, labels);
        clf2.dispose();
        // 3. The same through the element's attributes; wasm-url without a trailing slash.
        const el = document.createElement('siglip-classifier');
        el.load = 'eager'; // at once, without the download prompt
        el.setAttribute('worker-url', `${cdn}siglip-worker.js`);
        el.setAttribute('wasm-url', cdn.replace(/\/$/, ''));
        el.src = model;
        document.body.append(el);
        await el.ready;
        const viaAttributes = await el.classify(GRAY, labels);
        el.remove();
        return { fromCdn, viaOptions, viaAttributes };
      },
      { cdn: cdn.url, model, GRAY, labels: ref.labels },
    );
    for (const r of Object.values(out)) assertScores(r);
    const cdnRequests = await requestLog(cdn);
    for (const f of ['/index.js', '/siglip-worker.js', '/pkg-relaxed/siglip_bg.wasm']) assert.ok(cdnRequests.includes(f), `${f} from the CDN`);
    const pageRequests = (await requestLog()).slice(before);
    assert.ok(!pageRequests.some((p) => p.endsWith('.wasm')), 'no wasm from the page origin');
    assert.deepEqual(problems, []);

    // Without CORS on the CDN: a clear error, and nothing hangs.
    const err = await page.evaluate(async (cdn) => {
      const { createClassifier } = await import('/www/index.js');
      try {
        await createClassifier({ src: '/x.safetensors', workerUrl: `${cdn}siglip-worker.js` });
        return 'loaded';
      } catch (e) {
        return `${e.name}: ${e.message}`;
      }
    }, noCors.url);
    assert.match(err, /^WorkerError: /);
    assert.ok(err.includes(`${noCors.url}siglip-worker.js`), err);
    // A wasmUrl with nothing there names the file it tried.
    const wasmErr = await page.evaluate(async (model) => {
      const { createClassifier } = await import('/www/index.js');
      try {
        await createClassifier({ src: model, wasmUrl: '/nowhere/', variant: 'simd128' });
        return 'loaded';
      } catch (e) {
        return `${e.name}: ${e.message}`;
      }
    }, model);
    assert.match(wasmErr, /^NetworkError: the simd128 build of the model could not start from http:\S+\/nowhere\/pkg\/siglip_bg\.wasm/);
    // After both, the page's own package loads the model and classifies.
    const after = await page.evaluate(
      async ({ model, GRAY, labels }) => {
        const { createClassifier } = await import('/www/index.js');
        const clf = await createClassifier({ src: model });
        const results = await clf.classify(GRAY, labels);
        clf.dispose();
        return results;
      },
      { model, GRAY, labels: ref.labels },
    );
    assertScores(after);
    await page.close();
  } finally {
    await cdn.stop();
    await noCors.stop();
  }
});
