// Models straight from the Hugging Face Hub: `src="hf:owner/name"` against a local server that
// behaves like the Hub (scripts/serve.mjs --hub: the API's revision info, resolve URLs with a 302
// to a CDN path for the weights, X-Repo-Commit, CORS), converted while downloading, cached with
// its commit for an offline second visit, re-converted for a new commit; clear errors for a
// missing repo, a gated one, a Hub without CORS and a malformed id.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, OUT, reference, serverAndBrowser, shardedFixture, startServer, urlPath, watch } from './harness.mjs';

const ref = reference('tiny-224');
const GRAY = '/tests/fixtures/images/gray.png';
const want = ref.images.find((i) => i.file === 'gray.png').scores;
const env = serverAndBrowser();


const hubServer = (args = []) => startServer({ root: FIXTURES, args: ['--hub', ...args] });

/** Loads `src` from `hub` in an element of a fresh page in `context`; returns what it saw. */
async function loadFromHub(context, { hub, src = 'hf:test/tiny-224', dtype, labels = ref.labels }) {
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${env.server.url}tests/web/blank.html`);
  const out = await page.evaluate(
    async ({ hub, src, dtype, GRAY, labels }) => {
      const el = document.createElement('siglip-classifier');
      el.load = 'eager'; // at once, without the download prompt
      const progress = [];
      el.addEventListener('progress', (e) => progress.push(e.detail));
      el.hub = hub;
      if (dtype) el.dtype = dtype;
      el.src = src;
      document.body.append(el);
      try {
        const detail = await el.ready;
        const results = await el.classify(GRAY, labels);
        const text = el.shadowRoot.querySelector('.load-text').textContent;
        const stored = await el.cached; // the background cache write, before the page closes
        return { detail, results, converting: progress.some((p) => p.converting), progress: progress.length, text, stored };
      } catch (err) {
        return { error: `${err.name}: ${err.message}`, shown: el.shadowRoot.querySelector('.error').textContent };
      }
    },
    { hub, src, dtype, GRAY, labels },
  );
  await page.close();
  return { ...out, problems };
}

function assertScores(results, tolerance) {
  assert.equal(results.length, ref.labels.length);
  for (const r of results) {
    const expected = want[ref.labels.indexOf(r.label)];
    assert.ok(Math.abs(r.score - expected) <= tolerance, `${r.label}: ${r.score} vs ${expected}`);
  }
}

test('hf: SigLIP 2 checkpoints (Gemma tokenizer.json, no spiece.model; fixed resolution and NaFlex) convert and give the pipeline\'s scores', async () => {
  const hub = await hubServer(['--cors']);
  const context = await env.browser.newContext();
  try {
    for (const name of ['tiny-siglip2-256', 'tiny-siglip2-naflex']) {
      const ref2 = reference(name);
      const out = await loadFromHub(context, { hub: hub.url, src: `hf:test/${name}`, dtype: 'f32', labels: ref2.labels });
      assert.equal(out.error, undefined, out.error);
      assert.equal(out.detail.info.model_type, name.endsWith('naflex') ? 'siglip2' : 'siglip');
      // NaFlex: at the checkpoint's own patch budget, as the pipeline runs it.
      const want = ref2.images.find((i) => i.file === 'gray.png' && (i.max_num_patches ?? null) === (ref2.max_num_patches ?? null));
      for (const r of out.results) {
        const i = ref2.labels.indexOf(r.label);
        assert.ok(Math.abs(r.score - want.scores[i]) <= 1e-4, `${name} ${r.label}: ${r.score} vs ${want.scores[i]}`);
      }
      const paths = (await (await fetch(`${hub.url}__requests`)).json()).map((r) => r.path);
      assert.ok(paths.includes(`/test/${name}/resolve/${'a'.repeat(40)}/tokenizer.json`), 'read its tokenizer.json');
      assert.deepEqual(out.problems, []);
    }
  } finally {
    await context.close();
    await hub.stop();
  }
});

test('hf: models download once, convert while streaming, give the reference scores, and load offline from the cache', async () => {
  let hub = await hubServer(['--cors']);
  const context = await env.browser.newContext();
  try {
    // f32: exactly the reference; the weights came through the 302 to the CDN path.
    const exact = await loadFromHub(context, { hub: hub.url, dtype: 'f32' });
    assert.equal(exact.error, undefined, exact.error);
    assert.equal(exact.detail.fromCache, false);
    assert.equal(exact.detail.info.dtype, 'f32');
    assert.equal(exact.detail.commit, 'a'.repeat(40));
    assert.equal(exact.stored, true);
    assert.ok(exact.converting, 'progress says it converts');
    assertScores(exact.results, 1e-4);
    const paths = (await (await fetch(`${hub.url}__requests`)).json()).map((r) => r.path);
    assert.ok(paths.includes('/api/models/test/tiny-224/revision/main'));
    assert.ok(paths.includes(`/test/tiny-224/resolve/${'a'.repeat(40)}/model.safetensors`));
    assert.ok(paths.includes('/__cdn/tiny-224/model.safetensors'), 'followed the redirect');
    assert.deepEqual(exact.problems, []);

    // The default dtype is q8: within the q8 bounds of the native tests.
    const q8 = await loadFromHub(context, { hub: hub.url });
    assert.equal(q8.detail.info.dtype, 'q8');
    assertScores(q8.results, 0.02);

    // Second visit with the Hub gone: from the cache, same commit, same scores.
    await hub.stop();
    const offline = await loadFromHub(context, { hub: hub.url, dtype: 'f32' });
    assert.equal(offline.error, undefined, offline.error);
    assert.equal(offline.detail.fromCache, true);
    assert.equal(offline.detail.commit, 'a'.repeat(40));
    assertScores(offline.results, 1e-4);

    // A new commit on the Hub: converted again (same port, so the same cache key).
    const port = new URL(hub.url).port;
    hub = await startServer({ root: FIXTURES, args: ['--hub', '--cors', '--hub-sha', 'b'.repeat(40)], port });
    const moved = await loadFromHub(context, { hub: hub.url, dtype: 'f32' });
    assert.equal(moved.detail.fromCache, false);
    assert.equal(moved.detail.commit, 'b'.repeat(40));
    assertScores(moved.results, 1e-4);
  } finally {
    await context.close();
    await hub.stop();
  }
});

test('hf: a sharded checkpoint (model.safetensors.index.json) converts to the same model', async () => {
  const hub = await startServer({ root: shardedFixture('tiny-224'), args: ['--hub', '--cors'] });
  const context = await env.browser.newContext();
  try {
    const out = await loadFromHub(context, { hub: hub.url, src: 'hf:test/tiny-224-sharded', dtype: 'f32' });
    assert.equal(out.error, undefined, out.error);
    assertScores(out.results, 1e-4);
    const paths = (await (await fetch(`${hub.url}__requests`)).json()).map((r) => r.path);
    for (const shard of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      assert.ok(paths.includes(`/__cdn/tiny-224-sharded/${shard}`), shard);
    }
    assert.deepEqual(out.problems, []);
  } finally {
    await context.close();
    await hub.stop();
  }
});

test('a folder URL holding a checkpoint (single file or sharded) converts as it downloads, is cached, and is converted again when its weights change', async () => {
  const dir = path.join(OUT, 'folder-model/tiny-224');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(FIXTURES, 'tiny-224'), dir, { recursive: true });
  const folder = `${urlPath(dir)}/`;
  const context = await env.browser.newContext();
  try {
    const first = await loadFromHub(context, { src: folder, dtype: 'f32' });
    assert.equal(first.error, undefined, first.error);
    assertScores(first.results, 1e-4);
    assert.equal(first.detail.fromCache, false);
    assert.equal(first.detail.commit, null);
    assert.ok(first.converting, 'converted while downloading');
    assert.equal(first.stored, true);
    // The next visit reads the conversion from the cache; a changed weights file (a new
    // Last-Modified and ETag) is converted again.
    const second = await loadFromHub(context, { src: folder, dtype: 'f32' });
    assert.equal(second.detail.fromCache, true);
    assertScores(second.results, 1e-4);
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(dir, 'model.safetensors'), later, later);
    const changed = await loadFromHub(context, { src: folder, dtype: 'f32' });
    assert.equal(changed.detail.fromCache, false);
    assertScores(changed.results, 1e-4);
    // q8 by default, as hf: models.
    const q8 = await loadFromHub(context, { src: folder });
    assert.equal(q8.detail.info.dtype, 'q8');
    assertScores(q8.results, 0.02);
    // Sharded: model.safetensors.index.json and its shards.
    const sharded = await loadFromHub(context, { src: `${urlPath(shardedFixture('tiny-224'))}/tiny-224-sharded/`, dtype: 'f32' });
    assert.equal(sharded.error, undefined, sharded.error);
    assertScores(sharded.results, 1e-4);
    // A folder with no checkpoint says so.
    const empty = await loadFromHub(context, { src: '/tests/fixtures/images/' });
    assert.match(empty.error, /^WeightsError: .*images\/ holds neither model.safetensors nor model.safetensors.index.json/);
    for (const out of [first, second, changed, q8]) assert.deepEqual(out.problems, []);
    // A sharded folder has no model.safetensors: the one request that fails is that probe.
    assert.deepEqual(sharded.problems.map((p) => p.replace(/^http 404 .*\//, '404 ')), ['404 model.safetensors']);
  } finally {
    await context.close();
  }
});

test('hf: errors name the model, the file and the status; createClassifier takes hub and dtype', async () => {
  const hub = await hubServer(['--cors']);
  const noCors = await hubServer();
  const context = await env.browser.newContext();
  try {
    const cases = [
      [{ hub: hub.url, src: 'hf:test/no-such-model' }, /^NetworkError: hf:test\/no-such-model@main: not found/],
      [{ hub: hub.url, src: 'hf:test/gated' }, /^AccessError: hf:test\/gated is gated/],
      [{ hub: noCors.url }, /^NetworkError: could not reach .* \(offline, or the server does not send CORS headers\)/],
      [{ hub: hub.url, src: 'hf:not-a-model-id' }, /^InputError: "hf:not-a-model-id" is not a Hugging Face model/],
      [{ hub: hub.url, dtype: 'q3' }, /^InputError: unknown dtype "q3"/],
    ];
    for (const [options, pattern] of cases) {
      const out = await loadFromHub(context, options);
      assert.match(out.error ?? 'loaded', pattern, JSON.stringify(options));
      assert.equal(out.shown, out.error.replace(/^\w+: /, ''), 'shown in the element');
      // Then a good model loads in the same browser context, with the reference scores.
      const good = await loadFromHub(context, { hub: hub.url, dtype: 'f32' });
      assert.equal(good.error, undefined, good.error);
      assertScores(good.results, 1e-4);
    }
    const page = await context.newPage();
    await page.goto(`${env.server.url}tests/web/blank.html`);
    const api = await page.evaluate(
      async ({ hub, GRAY, labels }) => {
        const { createClassifier } = await import('/www/index.js');
        let integrity = '';
        await createClassifier({ src: 'hf:test/tiny-224', hub, integrity: 'sha256-AAAA' }).catch((e) => (integrity = `${e.name}: ${e.message}`));
        const clf = await createClassifier({ src: 'hf:test/tiny-224', hub, dtype: 'f32' });
        const results = await clf.classify(GRAY, labels);
        const { info } = clf;
        clf.dispose();
        return { results, info, integrity };
      },
      { hub: hub.url, GRAY, labels: ref.labels },
    );
    assert.equal(api.info.dtype, 'f32');
    assertScores(api.results, 1e-4);
    assert.match(api.integrity, /^InputError: integrity applies to packed model files/);
  } finally {
    await context.close();
    await hub.stop();
    await noCors.stop();
  }
});
