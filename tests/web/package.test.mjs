// The npm package as a user installs it: `npm pack`, install the tarball into a scratch app
// next to a minimal page, serve it, classify with the element and the JS API against the
// reference; type-check a TypeScript file against the shipped declarations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OUT, ROOT, launch, packedModel, reference, startServer, watch } from './harness.mjs';

const APP = path.join(OUT, 'npm-app');
const ref = reference('tiny-p14');
let tarball;
let server;
let browser;

before(async () => {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(APP, { recursive: true });
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', OUT], { cwd: path.join(ROOT, 'www'), encoding: 'utf8' }),
  )[0];
  tarball = { ...packed, path: path.join(OUT, packed.filename) };
  writeFileSync(path.join(APP, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball.path], { cwd: APP, stdio: 'inherit' });
  copyFileSync(packedModel('tiny-p14', 'f32'), path.join(APP, 'model.safetensors'));
  for (const f of ['gray.png', 'alpha.png', 'wide.png']) copyFileSync(path.join(ROOT, 'tests/fixtures/images', f), path.join(APP, f));
  writeFileSync(
    path.join(APP, 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><title>scratch</title>
<script type="module" src="./node_modules/siglip-web/index.js"></script></head>
<body><siglip-classifier src="model.safetensors" load="eager" labels="cat, Two DOGS!!"></siglip-classifier></body></html>`,
  );
  writeFileSync(path.join(APP, 'api.html'), '<!doctype html><html><head><meta charset="utf-8"><title>api only</title></head><body></body></html>');
  server = await startServer({ root: APP });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the tarball holds the four wasm builds, worker, element, API, types and the copy-worker bin, and nothing else', () => {
  const files = tarball.files.map((f) => f.path).sort();
  // Each threaded build's pool-worker script, at a path with a hash that wasm-bindgen chooses.
  const helpers = files.filter((f) => /^pkg-threads(-simd128)?\/snippets\/wasm-bindgen-rayon-[0-9a-f]+\/src\/workerHelpers\.js$/.test(f));
  assert.equal(helpers.length, 2, `one pool-worker script per threaded build in ${files.join(', ')}`);
  assert.deepEqual(files.filter((f) => !helpers.includes(f)), [
    'README.md', 'api.d.ts', 'api.js', 'cache.js', 'client.js', 'copy-worker.js', 'element-base.js', 'errors.js', 'hub.js', 'index.d.ts', 'index.js', 'library.js', 'loader.js', 'package.json', 'pipeline.js',
    'pkg-relaxed/siglip.js', 'pkg-relaxed/siglip_bg.wasm', 'pkg-threads-simd128/siglip.js', 'pkg-threads-simd128/siglip_bg.wasm', 'pkg-threads/siglip.js', 'pkg-threads/siglip_bg.wasm',
    'pkg/siglip.js', 'pkg/siglip_bg.wasm', 'protocol.d.ts', 'protocol.js', 'siglip-classifier.js', 'siglip-search.js', 'siglip-worker.js',
    'store.js', 'vite.d.ts', 'vite.js', 'worker-library.js',
  ]);
  console.log(`# ${tarball.filename}: ${(statSync(tarball.path).size / 1e6).toFixed(2)} MB packed, ${(tarball.unpackedSize / 1e6).toFixed(2)} MB unpacked`);
  for (const f of tarball.files) console.log(`#   ${String(f.size).padStart(9)}  ${f.path}`);
});

test('installed package: the element and createClassifier() give the reference scores', async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  await page.goto(`${server.url}index.html`);
  const out = await page.evaluate(async ({ labels, query }) => {
    const el = document.querySelector('siglip-classifier');
    await el.ready;
    const blob = await (await fetch('gray.png')).blob();
    const viaElement = await el.classify(blob, labels);
    const { createClassifier } = await import('./node_modules/siglip-web/index.js');
    const progress = [];
    const clf = await createClassifier({ src: 'model.safetensors', onProgress: (p) => progress.push(p) });
    const viaApi = await clf.classify('alpha.png', labels);
    const wide = await clf.embedImage('wide.png');
    const ranking = await clf.rank(query, ['gray.png', 'alpha.png', wide]);
    const info = clf.info;
    // Scoring stored embeddings offline, as the docs say: exp(logit_scale) * cos + logit_bias.
    const [text] = await clf.embedText([query]);
    const offlineLogit = Math.exp(info.logit_scale) * text.reduce((s, v, i) => s + v * wide[i], 0) + info.logit_bias;
    clf.dispose();
    let disposed = '';
    try {
      await clf.classify('gray.png', labels);
    } catch (err) {
      disposed = err.name;
    }
    // A new classifier works after the disposed one refused.
    const clf2 = await createClassifier({ src: 'model.safetensors' });
    const afterDispose = await clf2.classify('gray.png', labels);
    clf2.dispose();
    return { viaElement, viaApi, afterDispose, ranking, info, offlineLogit, progress: progress.length, disposed };
  }, { labels: ref.labels, query: ref.texts[1] });
  const score = (file, label) => ref.images.find((i) => i.file === file).scores[ref.labels.indexOf(label)];
  for (const [results, file] of [[out.viaElement, 'gray.png'], [out.viaApi, 'alpha.png'], [out.afterDispose, 'gray.png']]) {
    assert.equal(results.length, ref.labels.length);
    for (const r of results) assert.ok(Math.abs(r.score - score(file, r.label)) <= 1e-4, `${file} ${r.label}`);
  }
  // rank(): the query is used verbatim, so the templated text of label 1 must give the
  // reference logits of label 1 for each image, sorted best first.
  const files = ['gray.png', 'alpha.png', 'wide.png'];
  assert.equal(out.ranking.length, 3);
  for (const r of out.ranking) {
    const want = ref.images.find((i) => i.file === files[r.index]).logits[1];
    assert.ok(Math.abs(r.logit - want) <= 1e-4, `${files[r.index]}: ${r.logit} vs ${want}`);
  }
  const logits = out.ranking.map((r) => r.logit);
  assert.deepEqual(logits, [...logits].sort((a, b) => b - a));
  assert.equal(out.info.embedding_dim, 48);
  assert.ok(Math.abs(out.info.logit_scale - ref.logit_scale) <= 1e-6 && Math.abs(out.info.logit_bias - ref.logit_bias) <= 1e-6);
  const wideLogit = out.ranking.find((r) => r.index === 2).logit;
  assert.ok(Math.abs(out.offlineLogit - wideLogit) <= 1e-4, `offline ${out.offlineLogit} vs rank() ${wideLogit}`);
  assert.ok(out.progress >= 1);
  assert.equal(out.disposed, 'StateError');
  assert.deepEqual(problems, []);
  await page.close();
});

test('installed package, cross-origin isolated: the threads build starts its pool from node_modules', async () => {
  const coi = await startServer({ root: APP, args: ['--coi'] });
  try {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(`${coi.url}index.html`);
    const out = await page.evaluate(async (labels) => {
      const { createClassifier } = await import('./node_modules/siglip-web/index.js');
      const clf = await createClassifier({ src: 'model.safetensors', variant: 'threads' });
      const results = await clf.classify('alpha.png', labels);
      const { build } = clf;
      clf.dispose();
      const el = document.querySelector('siglip-classifier');
      return { build, results, element: (await el.ready).build };
    }, ref.labels);
    assert.equal(out.build.variant, 'threads');
    assert.ok(out.build.threads >= 2);
    assert.equal(out.element.variant, 'threads', 'auto picks threads on an isolated page');
    const want = ref.images.find((i) => i.file === 'alpha.png').scores;
    for (const r of out.results) assert.ok(Math.abs(r.score - want[ref.labels.indexOf(r.label)]) <= 1e-4, r.label);
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await coi.stop();
  }
});

test('importing either entry outside a browser (Node, as a server-side render does) throws nothing; loading a model there is an UnsupportedError', () => {
  // The installed package, in a fresh Node process (no DOM, no customElements, no Worker).
  const script = `
    const full = await import('siglip-web');
    const api = await import('siglip-web/api');
    const out = { full: Object.keys(full).sort(), api: Object.keys(api).sort(), elementsDefined: typeof customElements !== 'undefined' };
    for (const [name, load] of [['createClassifier', () => api.createClassifier({ src: 'hf:google/siglip-base-patch16-224' })],
                                ['openLibrary', () => full.openLibrary({ src: '/m.safetensors', name: 'photos' })],
                                ['pipeline', () => api.pipeline('zero-shot-image-classification', 'google/siglip-base-patch16-224')]]) {
      try { await load(); out[name] = 'resolved'; } catch (e) { out[name] = [e instanceof Error, e.name, e.message]; }
    }
    // The model cache outside a browser: nothing there, nothing thrown.
    out.cache = [await api.cachedModels(), await api.clearModelCache(), await api.storageEstimate(), await api.persistStorage()];
    console.log(JSON.stringify(out));`;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: APP, encoding: 'utf8' }));
  const api = [
    'cachedModels', 'clearModelCache', 'createClassifier', 'deleteCachedModel', 'openLibrary', 'persistStorage', 'pipeline', 'plannedDownload', 'storageEstimate',
  ];
  assert.deepEqual(out.full, ['Classifier', 'DEFAULT_TEMPLATE', 'Library', 'PIPELINE_TASKS', 'SiglipClassifier', 'SiglipSearch', 'Tensor', ...api]);
  assert.deepEqual(out.api, ['Classifier', 'DEFAULT_TEMPLATE', 'Library', 'PIPELINE_TASKS', 'Tensor', ...api]);
  assert.deepEqual(out.cache, [[], false, { persisted: null, usage: null, quota: null }, false]);
  assert.equal(out.elementsDefined, false);
  for (const name of ['createClassifier', 'openLibrary', 'pipeline']) {
    const [isError, errName, message] = out[name];
    assert.equal(isError, true, name);
    assert.equal(errName, 'UnsupportedError', name);
    assert.match(message, /browser page/, name);
  }
});

test('siglip-web/api in a page: the API with no element defined', async () => {
  const page = await browser.newPage();
  const errors = watch(page);
  await page.goto(`${server.url}api.html`);
  const got = await page.evaluate(async (labels) => {
    const api = await import('./node_modules/siglip-web/api.js');
    const clf = await api.createClassifier({ src: 'model.safetensors' });
    const results = await clf.classify(await (await fetch('gray.png')).blob(), labels);
    clf.dispose();
    return { defined: [customElements.get('siglip-classifier'), customElements.get('siglip-search')].map(Boolean), results };
  }, ref.labels);
  assert.deepEqual(got.defined, [false, false]);
  const want = ref.images.find((i) => i.file === 'gray.png').scores;
  assert.equal(got.results.length, ref.labels.length);
  for (const r of got.results) assert.ok(Math.abs(r.score - want[ref.labels.indexOf(r.label)]) <= 1e-4, r.label);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the shipped declarations type-check a TypeScript user', () => {
  writeFileSync(
    path.join(APP, 'usage.ts'),
    `import { createClassifier, type LabelScore, type RankedImage, SiglipClassifier } from 'siglip-web';
import { createClassifier as apiCreate, type Classifier as ApiClassifier, type ModelInfo as ApiModelInfo, pipeline, type Tensor } from 'siglip-web/api';

async function main(file: File): Promise<void> {
  const clf = await createClassifier({ src: '/m.safetensors', variant: 'auto', onProgress: ({ loaded, total }) => console.log(loaded, total ?? 0) });
  const threads: number = clf.build.threads;
  console.log(threads, clf.build.variant === 'threads');
  const results: LabelScore[] = await clf.classify(file, ['a cat', 'a dog']);
  const top: string = results[0].label;
  const emb: Float32Array = await clf.embedImage(file);
  const ranking: RankedImage[] = await clf.rank('a cat', [file, emb]);
  const texts: Float32Array[] = await clf.embedText(['a cat']);
  console.log(top, ranking[0].index, texts.length, clf.info.embedding_dim);
  clf.dispose();

  const el = document.createElement('siglip-classifier');
  el.load = 'eager'; // at once, without the download prompt

  const same: SiglipClassifier = el;
  el.labels = ['a cat'];
  el.addEventListener('result', (e) => console.log(e.detail.results[0].score, e.detail.ms));
  el.addEventListener('progress', (e) => console.log(e.detail.loaded));
  el.addEventListener('error', (e) => console.log(e.detail.error.name));
  el.variant = 'relaxed';
  const detail = await el.ready;
  console.log(detail.info.dtype, same.src, detail.build.simd);
  const search = document.querySelector('siglip-search');
  search?.addEventListener('result', (e) => console.log(e.detail.ranking.length));
  await search?.addImages([file]);
}
void main;

async function transformersStyle(file: File): Promise<number> {
  const controller = new AbortController();
  const zeroShot = await pipeline('zero-shot-image-classification', 'google/siglip-base-patch16-224', {
    dtype: 'fp16', device: 'wasm', progress_callback: (p) => console.log(p.status === 'progress' ? p.progress : p.status),
  });
  const one: { score: number; label: string }[] = await zeroShot(file, ['a cat'], { hypothesis_template: '{}', top_k: 1, signal: controller.signal });
  const many: { score: number; label: string }[][] = await zeroShot([file, file], ['a cat']);
  const features = await pipeline('image-feature-extraction', 'google/siglip-base-patch16-224');
  const tensor: Tensor = await features([file]);
  zeroShot.dispose();
  return one[0].score + many[1][0].score + tensor.dims[1];
}
void transformersStyle;

async function server(): Promise<string> {
  const clf: ApiClassifier = await apiCreate({ src: 'hf:google/siglip-base-patch16-224' });
  const info: ApiModelInfo = clf.info;
  return String(info.embedding_dim + info.logit_scale + info.logit_bias);
}
void server;
`,
  );
  writeFileSync(
    path.join(APP, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        strict: true, noEmit: true, skipLibCheck: false,
      },
      files: ['usage.ts'],
    }),
  );
  const tsc = path.join(ROOT, 'tests/web/node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(APP, 'tsconfig.json')], { stdio: 'inherit' });

  // And a misuse must be rejected, or the check proves nothing.
  writeFileSync(path.join(APP, 'usage.ts'), `import { createClassifier } from 'siglip-web';\nvoid createClassifier({ source: 'x' });\n`);
  assert.throws(() => execFileSync(process.execPath, [tsc, '-p', path.join(APP, 'tsconfig.json')], { stdio: 'pipe' }));
});
