// What users do, in each browser engine (SIGLIP_ENGINES, default chromium firefox webkit;
// engines.mjs drives each system binary): classify with the element and the API and get the
// transformers reference scores; the build each engine picks, isolated or not, and every build it
// can run forced (the same scores), the ones it cannot refused by name; a dropped file, a pasted
// image and the webcam (each engine's fake camera) in the element; <siglip-search> ranking images
// as the reference scores them; a Hugging Face checkpoint converted while it downloads, then read
// back from the cache on the next visit; a photo library kept in IndexedDB across pages; the
// package imported from another origin; a failed load shown as a named error; the demo's
// service-worker reload. WebKit runs with SharedArrayBuffer as Safari has it (and once as
// WebKitGTK ships). The other page tests go deeper, in Chromium only.

import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURES, packedModel, reference, startServer } from './harness.mjs';
import { launchEngine, selectedEngines } from './engines.mjs';
import { BUILDS } from '../../www/protocol.js';

const ref = reference('tiny-p14');
const hubRef = reference('tiny-224');
const GRAY = '/tests/fixtures/images/gray.png';
const PHOTO = '/tests/fixtures/images/photo.jpg';
/** In-page helpers shared with the benchmark (an element placed and loaded, live mode). */
const HELPERS = '/tests/web/bench-page.mjs';
const scoresOf = (r, file) => r.images.find((i) => i.file === file).scores;

/**
 * What each engine runs, from what it supports (the README's engine table): the build `auto`
 * picks on a plain and on a cross-origin isolated page, and the builds it runs on each.
 */
const EXPECTED = {
  chromium: { plain: 'relaxed', isolated: 'threads', viaServiceWorker: 'threads', runs: ['simd128', 'relaxed'], threaded: ['threads', 'threads-simd128'] },
  firefox: { plain: 'relaxed', isolated: 'threads', viaServiceWorker: 'threads', runs: ['simd128', 'relaxed'], threaded: ['threads', 'threads-simd128'] },
  // Isolated by the demo's service worker rather than by the server's headers, WebKitGTK does
  // not start the pool's workers (an `error` event with no message): the next build, at once.
  webkit: { plain: 'simd128', isolated: 'threads-simd128', viaServiceWorker: 'simd128', runs: ['simd128'], threaded: ['threads-simd128'] },
};
const ALL_BUILDS = BUILDS.map((b) => b.variant);

function assertScores(results, want, labels, what) {
  assert.equal(results.length, labels.length, what);
  for (const r of results) {
    const expected = want[labels.indexOf(r.label)];
    assert.ok(Math.abs(r.score - expected) <= 1e-4, `${what} ${r.label}: ${r.score} vs ${expected}`);
  }
}

const model = packedModel('tiny-p14', 'f32');
const servers = {};
before(async () => {
  servers.plain = await startServer();
  servers.isolated = await startServer({ args: ['--coi'] });
  servers.cdn = await startServer({ args: ['--cors'] });
  servers.hub = await startServer({ root: FIXTURES, args: ['--hub', '--cors'] });
});
after(async () => {
  for (const s of Object.values(servers)) await s.stop();
});
const modelPath = '/' + model.slice(model.indexOf('target/'));

/**
 * `fn(arg)` in the demo page, retried (up to 10 s of tries) until it gives a value: while the
 * service worker's reload is not over a call may die with its document (in Firefox, under load,
 * one never returned: the driver's timeout ends it), or find no `window.siglipPageReady` yet
 * (`fn` then returns null). Its value, or null if no try gave one.
 */
async function onceReady(page, fn, arg) {
  for (let attempt = 0; attempt < 40; attempt++) {
    const value = await page.evaluate(fn, arg).catch(() => null);
    if (value) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

for (const engine of selectedEngines()) {
  describe(engine, () => {
    let browser;
    // A fresh browser for each test: Firefox has hung starting a thread pool after several
    // others in one session (cause not found; each test starts at most two).
    beforeEach(async () => {
      // WebKit as Safari runs it: SharedArrayBuffer on cross-origin isolated pages (WebKitGTK
      // needs it turned on; one test runs it as shipped).
      browser = await launchEngine(engine, { webkitSharedArrayBuffer: true, fakeCamera: true });
    });
    afterEach(async () => {
      await browser?.close();
      browser = null;
    });

    /** Runs `fn(arg)` in a fresh page of `server`; returns its value and the page's problems. */
    async function inPage(server, fn, arg) {
      const page = await browser.newPage();
      try {
        await page.goto(`${server.url}tests/web/blank.html`);
        const value = await page.evaluate(fn, arg);
        return { value, problems: page.problems };
      } finally {
        await page.close();
      }
    }

    test('the element and createClassifier give the reference scores; the build picked, and every build this engine runs, forced', async () => {
      const { value, problems } = await inPage(
        servers.plain,
        async ({ model, GRAY, PHOTO, labels, runs, all }) => {
          const { createClassifier } = await import('/www/index.js');
          const el = document.createElement('siglip-classifier');
          el.setAttribute('load', 'eager');
          el.src = model;
          document.body.append(el);
          const detail = await el.ready;
          const viaElement = await el.classify(GRAY, labels);
          const shown = el.shadowRoot.querySelectorAll('.result').length;
          el.remove();
          const forced = {};
          for (const variant of runs) {
            const clf = await createClassifier({ src: model, variant });
            forced[variant] = { build: clf.build, gray: await clf.classify(GRAY, labels), photo: await clf.classify(PHOTO, labels) };
            clf.dispose();
          }
          const refused = {};
          for (const variant of all.filter((v) => !runs.includes(v))) {
            refused[variant] = await createClassifier({ src: model, variant }).then(
              (c) => (c.dispose(), 'loaded'),
              (e) => `${e.name}: ${e.message}`,
            );
          }
          return { build: detail.build, viaElement, shown, forced, refused, isolated: self.crossOriginIsolated };
        },
        { model: modelPath, GRAY, PHOTO, labels: ref.labels, runs: EXPECTED[engine].runs, all: ALL_BUILDS },
      );
      assert.equal(value.isolated, false);
      assert.equal(value.build.variant, EXPECTED[engine].plain, 'the build picked on a page that is not isolated');
      assertScores(value.viaElement, scoresOf(ref, 'gray.png'), ref.labels, 'element');
      assert.equal(value.shown, ref.labels.length, 'the element shows every label');
      for (const [variant, out] of Object.entries(value.forced)) {
        assert.equal(out.build.variant, variant);
        assertScores(out.gray, scoresOf(ref, 'gray.png'), ref.labels, `${variant} gray.png`);
        assertScores(out.photo, scoresOf(ref, 'photo.jpg'), ref.labels, `${variant} photo.jpg`);
      }
      for (const [variant, outcome] of Object.entries(value.refused)) {
        // Threads need cross-origin isolation; relaxed SIMD is missing in WebKit.
        assert.match(outcome, /^UnsupportedError: /, `${variant}: ${outcome}`);
      }
      assert.deepEqual(problems, []);
    });

    test('the element: a dropped file and a pasted image (not in Firefox, where a script cannot make one up) get the reference scores; the webcam in live mode classifies frames', async () => {
      const labels = ref.labels.slice(0, 4);
      const { value, problems } = await inPage(
        servers.plain,
        async ({ model, labels, helpers }) => {
          const { give, liveFps, placed } = await import(helpers);
          const el = await placed('siglip-classifier', { labels, src: model });
          const file = async (name, type) => new File([await (await fetch(`/tests/fixtures/images/${name}`)).blob()], name, { type });
          const dropped = await give(el, 'drop', await file('gray.png', 'image/png'));
          // Firefox empties a constructed ClipboardEvent's clipboardData of files: there a paste
          // cannot be made up by a script (nor by WebDriver, without an image on a clipboard).
          const probe = new DataTransfer();
          probe.items.add(new File(['x'], 'x.png', { type: 'image/png' }));
          const pasteMadeUp = new ClipboardEvent('paste', { clipboardData: probe }).clipboardData?.files.length === 1;
          const pasted = pasteMadeUp ? await give(el, 'paste', await file('photo.jpg', 'image/jpeg')) : null;
          const fps = await liveFps(1);
          const shown = el.shadowRoot.querySelectorAll('.result').length;
          const video = el.shadowRoot.querySelector('video').srcObject;
          return { dropped, pasted, pasteMadeUp, fps, shown, released: video === null };
        },
        { model: modelPath, labels, helpers: HELPERS },
      );
      assertScores(value.dropped, scoresOf(ref, 'gray.png').slice(0, 4), labels, 'dropped gray.png');
      assert.equal(value.pasteMadeUp, engine !== 'firefox', 'a paste a script can make up');
      if (value.pasteMadeUp) assertScores(value.pasted, scoresOf(ref, 'photo.jpg').slice(0, 4), labels, 'pasted photo.jpg');
      assert.ok(value.fps > 0, `live fps ${value.fps}`);
      assert.equal(value.shown, labels.length, 'live mode shows every label');
      assert.equal(value.released, true, 'the camera released once stopped');
      assert.deepEqual(problems, []);
    });

    test('a cross-origin isolated page: a threaded build with a pool of every core (threads-simd128 without relaxed SIMD), the reference scores from each', async () => {
      const { value, problems } = await inPage(
        servers.isolated,
        async ({ model, GRAY, labels, threaded, all }) => {
          const { createClassifier } = await import('/www/index.js');
          const clf = await createClassifier({ src: model });
          const results = await clf.classify(GRAY, labels);
          clf.dispose();
          const forced = {};
          // The other threaded builds, forced (few: see beforeEach).
          for (const variant of threaded.filter((v) => v !== clf.build.variant)) {
            const c = await createClassifier({ src: model, variant });
            forced[variant] = { build: c.build, gray: await c.classify(GRAY, labels) };
            c.dispose();
          }
          const refused = {};
          for (const variant of all.filter((v) => v.startsWith('threads') && !threaded.includes(v))) {
            refused[variant] = await createClassifier({ src: model, variant }).then(
              (c) => (c.dispose(), 'loaded'),
              (e) => `${e.name}: ${e.message}`,
            );
          }
          return { build: clf.build, results, forced, refused, isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency };
        },
        { model: modelPath, GRAY, labels: ref.labels, threaded: EXPECTED[engine].threaded, all: ALL_BUILDS },
      );
      assert.equal(value.isolated, true);
      assert.equal(value.build.variant, EXPECTED[engine].isolated);
      assert.equal(value.build.threads, value.cores, 'a pool of every core');
      assertScores(value.results, scoresOf(ref, 'gray.png'), ref.labels, 'isolated');
      for (const [variant, out] of Object.entries(value.forced)) {
        assert.equal(out.build.variant, variant);
        assert.equal(out.build.threads, value.cores, `${variant}: a pool of every core`);
        assertScores(out.gray, scoresOf(ref, 'gray.png'), ref.labels, `${variant} gray.png`);
      }
      for (const [variant, outcome] of Object.entries(value.refused)) {
        assert.match(outcome, /^UnsupportedError: the threads build cannot run here: it needs relaxed SIMD/, `${variant}: ${outcome}`);
      }
      assert.deepEqual(problems, []);
    });

    if (engine === 'webkit') {
      test('WebKitGTK as shipped (isolated pages without SharedArrayBuffer): simd128 on one thread, the reference scores', async () => {
        const stock = await launchEngine('webkit');
        try {
          const page = await stock.newPage();
          await page.goto(`${servers.isolated.url}tests/web/blank.html`);
          const value = await page.evaluate(async ({ model, GRAY, labels }) => {
            const { createClassifier } = await import('/www/index.js');
            const clf = await createClassifier({ src: model });
            const results = await clf.classify(GRAY, labels);
            clf.dispose();
            const forced = await createClassifier({ src: model, variant: 'threads-simd128' }).then(
              (c) => (c.dispose(), 'loaded'),
              (e) => `${e.name}: ${e.message}`,
            );
            return { build: clf.build, results, forced, isolated: self.crossOriginIsolated, sab: typeof SharedArrayBuffer };
          }, { model: modelPath, GRAY, labels: ref.labels });
          assert.deepEqual([value.isolated, value.sab], [true, 'undefined'], 'the WebKitGTK this test is about');
          assert.deepEqual(value.build, { variant: 'simd128', simd: 'simd128', threads: 1 });
          assertScores(value.results, scoresOf(ref, 'gray.png'), ref.labels, 'stock WebKitGTK');
          assert.match(value.forced, /^UnsupportedError: the threads-simd128 build cannot run here: this browser has no SharedArrayBuffer/);
          assert.deepEqual(page.problems, []);
          await page.close();
        } finally {
          await stock.close();
        }
      });
    }

    test('hf: a checkpoint converted as it downloads, then read from the cache on the next visit', async () => {
      const load = (arg) =>
        inPage(
          servers.plain,
          async ({ hub, GRAY, labels }) => {
            // WebKitGTK's automation session keeps storage in memory only, and there a Cache API
            // entry that only a worker wrote did not outlive the page unless the page itself had
            // opened the cache (Chromium and Firefox, and WebKit's IndexedDB, need no such help).
            await caches.open('siglip-models-v1');
            const { createClassifier } = await import('/www/index.js');
            let converting = false;
            const clf = await createClassifier({ src: 'hf:test/tiny-224', hub, dtype: 'f32', onProgress: (p) => (converting ||= p.converting) });
            const results = await clf.classify(GRAY, labels);
            const stored = await clf.cached;
            clf.dispose();
            return { fromCache: clf.fromCache, converting, stored, results, commit: clf.commit, secure: isSecureContext, caches: typeof caches };
          },
          arg,
        );
      const arg = { hub: servers.hub.url, GRAY, labels: hubRef.labels };
      const first = await load(arg);
      assertScores(first.value.results, scoresOf(hubRef, 'gray.png'), hubRef.labels, 'converted');
      assert.equal(first.value.converting, true);
      assert.equal(first.value.commit, 'a'.repeat(40));
      assert.equal(first.value.stored, true, `cached (secure context ${first.value.secure}, caches ${first.value.caches})`);
      const second = await load(arg);
      assert.equal(second.value.fromCache, true, 'the second visit reads the cache');
      assertScores(second.value.results, scoresOf(hubRef, 'gray.png'), hubRef.labels, 'from the cache');
      assert.deepEqual([...first.problems, ...second.problems], []);
    });

    test('a library in IndexedDB: added images are searched and are still there in the next page', async () => {
      const name = `engines-${Date.now()}`;
      const first = await inPage(
        servers.plain,
        async ({ model, name, images }) => {
          const { openLibrary } = await import('/www/index.js');
          const library = await openLibrary({ src: model, name });
          const blobs = await Promise.all(images.map(async (u) => new File([await (await fetch(u)).blob()], u.split('/').pop(), { type: 'image/png' })));
          const added = await library.add(blobs);
          const hits = await library.search({ image: { id: library.records()[0].id } });
          const out = { added, persistent: library.persistent, warning: library.warning, top: hits[0]?.record?.name, ids: library.records().map((r) => r.id) };
          library.dispose();
          return out;
        },
        { model: modelPath, name, images: ['/tests/fixtures/images/gray.png', '/tests/fixtures/images/wide.png', '/tests/fixtures/images/alpha.png'] },
      );
      assert.equal(first.value.added.added, 3, JSON.stringify(first.value.added));
      assert.equal(first.value.persistent, true, `stored in IndexedDB (${first.value.warning})`);
      assert.equal(first.value.top, 'gray.png', 'an image is its own best match');
      const second = await inPage(
        servers.plain,
        async ({ model, name }) => {
          const { openLibrary } = await import('/www/index.js');
          const library = await openLibrary({ src: model, name });
          const ids = library.records().map((r) => r.id);
          await library.clear();
          library.dispose();
          return ids;
        },
        { model: modelPath, name },
      );
      assert.deepEqual(second.value, first.value.ids);
      assert.deepEqual([...first.problems, ...second.problems], []);
    });

    test('<siglip-search>: images added, then ranked for a text as the reference scores them', async () => {
      const files = ['gray.png', 'photo.jpg', 'wide.png', 'alpha.png'];
      const { value, problems } = await inPage(
        servers.plain,
        async ({ model, files, query, library, helpers }) => {
          const { placed } = await import(helpers);
          const el = await placed('siglip-search', { library, src: model });
          const blobs = await Promise.all(files.map(async (f) => new File([await (await fetch(`/tests/fixtures/images/${f}`)).blob()], f)));
          const added = await el.addImages(blobs);
          const ranked = await el.rank(query);
          await el.clear();
          return { added, ranked: ranked.map((h) => ({ file: files[h.index], score: h.score })) };
        },
        { model: modelPath, files, query: ref.texts[0], library: `engines-search-${Date.now()}`, helpers: HELPERS },
      );
      assert.equal(value.added.added, files.length, JSON.stringify(value.added));
      // The reference's score of each image for the first text, on the pipeline's masking; the
      // library keeps f16 rows, so scores agree to 5e-3 and the order where they differ more.
      const want = Object.fromEntries(files.map((f) => [f, scoresOf(ref, f)[0]]));
      assert.deepEqual(value.ranked.map((h) => h.file).sort(), [...files].sort(), 'every image ranked');
      for (const [i, h] of value.ranked.entries()) {
        assert.ok(Math.abs(h.score - want[h.file]) <= 5e-3, `${h.file}: ${h.score} vs ${want[h.file]}`);
        if (i > 0) assert.ok(want[value.ranked[i - 1].file] >= want[h.file] - 1e-2, `order at ${i}: ${JSON.stringify(value.ranked)}`);
      }
      assert.deepEqual(problems, []);
    });

    test('the package from another origin (a CDN with CORS) loads its worker and wasm from there', async () => {
      const { value, problems } = await inPage(
        servers.plain,
        async ({ cdn, model, GRAY, labels }) => {
          const { createClassifier } = await import(`${cdn}www/index.js`);
          const clf = await createClassifier({ src: model });
          const results = await clf.classify(GRAY, labels);
          clf.dispose();
          return results;
        },
        { cdn: servers.cdn.url, model: `${servers.plain.url}${modelPath.slice(1)}`, GRAY: `${servers.plain.url}${GRAY.slice(1)}`, labels: ref.labels },
      );
      assertScores(value, scoresOf(ref, 'gray.png'), ref.labels, 'from a CDN');
      assert.deepEqual(problems, []);
    });

    test("the demo page's first visit: the service worker's one reload, then window.siglipPageReady in the document that stays (isolated, element defined); offline after it", async () => {
      // A fresh origin (port) for this engine, so that this is a first visit with no worker.
      const server = await startServer();
      const page = await browser.newPage();
      try {
        const url = `${server.url}www/index.html?load=eager&model=${encodeURIComponent(modelPath)}&labels=cat,dog`;
        await page.goto(url);
        // Until the reload is over a call may die with its document (in Firefox, under load, one
        // never returned: the driver's timeout ends it), so the calls are retried; the page must
        // end up reloaded once, isolated, with the element defined, loaded and classifying.
        // (variants.test.mjs counts the loads in Chromium: exactly one reload.)
        const out = await onceReady(
          page,
          async ({ GRAY }) => {
            if (!window.siglipPageReady) return null;
            const el = await window.siglipPageReady;
            const api = typeof el.classify;
            const detail = await el.ready;
            const results = await el.classify(GRAY, ['cat', 'dog']);
            return { reloaded: sessionStorage.getItem('siglip-coi-reload'), isolated: self.crossOriginIsolated, api, build: detail.build.variant, results: results.length };
          },
          { GRAY },
        );
        assert.deepEqual(
          out,
          { reloaded: '1', isolated: true, api: 'function', build: EXPECTED[engine].viaServiceWorker, results: 2 },
          'the reloaded, isolated document: the model loaded and classified',
        );

        // Offline after that one visit: the page from the service worker, the model from the
        // loader's cache. (The page opens the cache for WebKitGTK's automation session: see the
        // hf: test.)
        const cached = await page.evaluate(async () => {
          await caches.open('siglip-models-v1');
          return (await window.siglipPageReady).cached;
        });
        assert.equal(cached, true, 'the model file was cached after the load');
        await server.stop();
        await page.goto(url);
        const offline = await onceReady(page, async () => {
          if (!window.siglipPageReady) return null;
          const el = await window.siglipPageReady;
          const detail = await el.ready;
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = 64;
          const g = canvas.getContext('2d');
          g.fillStyle = '#808080';
          g.fillRect(0, 0, 64, 64);
          const results = await el.classify(canvas, ['cat', 'dog']);
          return { fromCache: detail.fromCache, results: results.length, isolated: self.crossOriginIsolated };
        });
        assert.deepEqual(offline, { fromCache: true, results: 2, isolated: true }, 'offline: the page and its model from the caches');
        assert.deepEqual(page.problems, []);
      } finally {
        await page.close();
        await server.stop();
      }
    });

    test('a model that cannot be loaded is a named error, shown by the element', async () => {
      const { value, problems } = await inPage(servers.plain, async () => {
        const el = document.createElement('siglip-classifier');
        el.setAttribute('load', 'eager');
        el.src = '/no/such/model.safetensors';
        document.body.append(el);
        const error = await el.ready.then(() => 'loaded', (e) => `${e.name}: ${e.message}`);
        const box = el.shadowRoot.querySelector('.error');
        for (let i = 0; i < 100 && (box.hidden || !box.textContent); i++) await new Promise((r) => setTimeout(r, 50));
        const shown = box.hidden ? '' : box.textContent;
        el.remove();
        return { error, shown };
      });
      assert.match(value.error, /^NetworkError: could not download the model from .*\/no\/such\/model\.safetensors: not found/);
      assert.match(value.shown, /not found/);
      // The failed request itself is the only problem reported (engines that report responses).
      assert.ok(problems.every((p) => /404.*no\/such\/model/.test(p)), problems.join('\n'));
    });
  });
}
