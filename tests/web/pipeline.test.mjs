// pipeline(): the transformers.js way in. The same call runs through transformers.js
// (tests/bench/node_modules, onnxruntime-web, on tiny-224 exported to ONNX:
// tests/fixtures/tiny-224-onnx) and through siglip-web (on tiny-224's checkpoint folder, converted
// as it downloads), and both give the same shapes and scores; siglip-web's defaults give the
// transformers (Python) pipeline's scores (reference.json); progress comes with transformers.js'
// status names; feature extraction gives the reference embeddings as a [rows, dim] tensor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { blankPage, FIXTURES, reference, serverAndBrowser, urlPath } from './harness.mjs';

const ref = reference('tiny-224');
const FOLDER = `${urlPath(path.join(FIXTURES, 'tiny-224'))}/`;
const imageUrl = (file) => urlPath(path.join(FIXTURES, 'images', file));
const env = serverAndBrowser();
// For the comparison with transformers.js: texts its tokenizer splits as SiglipTokenizer does.
// (On tiny-224's tokenizer.json, transformers.js neither lowercases nor strips punctuation as
// SiglipTokenizer's canonicalization does, and truncates without the closing </s>: the
// reference's labels, which exercise exactly that, are checked against transformers below.)
const PLAIN_LABELS = ['cat', 'two dogs', 'a red car parked on the street', 'mountain river forest'];
const PLAIN_TEMPLATE = 'a photo of {}';

/** The reference's scores for an image, by label: the transformers pipeline's. */
function referenceScores(file) {
  const { scores } = ref.images.find((i) => i.file === file);
  return new Map(ref.labels.map((label, i) => [label, scores[i]]));
}

const page = () => blankPage(env.browser, env.server);

test('zero-shot-image-classification: transformers.js and siglip-web give the same shapes and scores for the same call', async () => {
  const { page: p, problems } = await page();
  const out = await p.evaluate(
    async ({ folder, photo, labels, template, tjs }) => {
      // transformers.js, set up as the benchmark does (local models only, no caches).
      const t = await (await import(tjs.setup)).loadTransformers(tjs);
      const theirs = await t.pipeline('zero-shot-image-classification', tjs.model, { dtype: 'fp32', device: 'wasm' });
      const { pipeline } = await import('/www/index.js');
      // The ONNX graph takes no attention mask: labels attend to their padding, so ours does too here.
      const ours = await pipeline('zero-shot-image-classification', folder, { dtype: 'fp32', device: 'wasm', textMasking: 'none' });
      const options = { hypothesis_template: template };
      // Two 224x224 images (nothing to resize, so both see the same pixels), given to
      // transformers.js as its RawImage and to siglip-web as ImageData and as the RawImage.
      const patterns = [(x, y) => [(x * 7 + y) % 256, (y * 5) % 256, (x ^ y) % 256], (x, y) => [255 - x, y, (x * y) % 256]].map((f) => {
        const data = new Uint8ClampedArray(224 * 224 * 4);
        for (let y = 0; y < 224; y++) for (let x = 0; x < 224; x++) data.set([...f(x, y), 255], (y * 224 + x) * 4);
        return { image: new ImageData(data, 224, 224), raw: new t.RawImage(data, 224, 224, 4) };
      });
      const raws = patterns.map((x) => x.raw);
      const result = {
        one: { theirs: await theirs(raws[0], labels, options), ours: await ours(patterns[0].image, labels, options) },
        many: { theirs: await theirs(raws, labels, options), ours: await ours(patterns.map((x) => x.image), labels, options) },
        raw: await ours(raws, labels, options),
        topK: await ours(patterns.map((x) => x.image), labels, { ...options, top_k: 2 }),
        // A photo by URL: resized by each as its library resizes (PIL's bicubic here, a canvas there).
        photo: { theirs: await theirs(photo, labels, options), ours: await ours(photo, labels, options) },
      };
      ours.dispose();
      await theirs.dispose();
      return result;
    },
    {
      folder: FOLDER,
      photo: imageUrl('photo.jpg'),
      labels: PLAIN_LABELS,
      template: PLAIN_TEMPLATE,
      tjs: {
        setup: '/tests/web/tjs-page.mjs',
        lib: '/tests/bench/node_modules/@huggingface/transformers/dist/transformers.js',
        wasmPaths: '/tests/bench/node_modules/onnxruntime-web/dist/',
        modelRoot: '/tests/fixtures/',
        model: 'tiny-224-onnx',
        threads: 1,
      },
    },
  );
  const keys = (list) => list.map((r) => Object.keys(r).sort().join());
  /** Same labels in the same order (best first), scores within `tolerance`. */
  const same = (ours, theirs, tolerance, what) => {
    assert.deepEqual(keys(ours), keys(theirs), what);
    assert.equal(ours.length, PLAIN_LABELS.length, what);
    const byLabel = new Map(theirs.map((r) => [r.label, r.score]));
    ours.forEach(({ label, score }, j) => {
      assert.ok(Math.abs(score - byLabel.get(label)) <= tolerance, `${what} ${label}: ours ${score}, transformers.js ${byLabel.get(label)}`);
      if (j > 0) assert.ok(ours[j - 1].score >= score, `${what}: best first`);
    });
  };
  // One image: a list of {score, label}; a list of images: a list per image.
  same(out.one.ours, out.one.theirs, 1e-5, 'one image');
  assert.equal(out.many.ours.length, 2);
  assert.equal(out.many.theirs.length, 2);
  out.many.ours.forEach((list, i) => same(list, out.many.theirs[i], 1e-5, `image ${i}`));
  assert.deepEqual(out.many.ours[0], out.one.ours);
  assert.deepEqual(out.raw, out.many.ours, 'RawImage is read as the same pixels');
  assert.deepEqual(out.topK, out.many.ours.map((list) => list.slice(0, 2)));
  same(out.photo.ours, out.photo.theirs, 2e-2, 'photo');
  assert.deepEqual(problems, []);
  await p.close();
});

test("pipeline defaults are the transformers pipeline's; progress has transformers.js' statuses; feature extraction gives [rows, dim] tensors", async () => {
  const { page: p, problems } = await page();
  const out = await p.evaluate(
    async ({ folder, image, labels, texts }) => {
      const { pipeline, createClassifier, cachedModels } = await import('/www/index.js');
      const events = [];
      const classifier = await pipeline('zero-shot-image-classification', folder, { dtype: 'fp32', progress_callback: (e) => events.push(e) });
      const scores = await classifier(image, labels);
      const images = await pipeline('image-feature-extraction', folder, { dtype: 'fp32' });
      const one = await images(image);
      const two = await images([image, image]);
      const textPipe = await pipeline('feature-extraction', folder, { dtype: 'fp32' });
      const textOut = await textPipe(texts);
      const clf = await createClassifier({ src: folder, dtype: 'f32' });
      const direct = await clf.embedText(texts);
      // cache: false, as createClassifier takes it: loaded, and nothing written to the cache. A
      // conversion is cached in the background after its load: a later load with the cache (q4)
      // shows the write has had its time once its own entry is there.
      const dtypesCached = async () => (await cachedModels()).filter((m) => m.src.endsWith(folder)).map((m) => m.dtype).sort();
      const uncached = await pipeline('feature-extraction', folder, { dtype: 'fp16', cache: false });
      const uncachedDims = (await uncached(texts)).dims;
      const later = await pipeline('feature-extraction', folder, { dtype: 'q4' });
      for (let i = 0; i < 200 && !(await dtypesCached()).includes('q4'); i++) await new Promise((r) => setTimeout(r, 100));
      const cachedDtypes = await dtypesCached();
      uncached.dispose();
      later.dispose();
      const errors = {};
      for (const [name, call] of [
        ['task', () => pipeline('text-generation', folder)],
        ['device', () => pipeline('feature-extraction', folder, { device: 'webgpu' })],
        ['dtype', () => pipeline('feature-extraction', folder, { dtype: 'bnb4' })],
        ['labels', () => classifier(image, [])],
        ['normalize', () => textPipe(texts, { normalize: false })],
      ]) {
        errors[name] = await call().then(() => 'resolved', (e) => `${e.name}: ${e.message}`);
      }
      for (const x of [classifier, images, textPipe, clf]) x.dispose();
      return {
        scores,
        events: events.map(({ status, name, file, progress, loaded, total }) => ({ status, name, file, progress, loaded, total })),
        one: { dims: one.dims, type: one.type, size: one.size, list: one.tolist() },
        two: { dims: two.dims, data: Array.from(two.data) },
        text: { dims: textOut.dims, list: textOut.tolist() },
        direct: direct.map((e) => Array.from(e)),
        uncachedDims,
        cachedDtypes,
        errors,
      };
    },
    { folder: FOLDER, image: imageUrl('gray.png'), labels: ref.labels, texts: ref.texts.slice(0, 3) },
  );
  // Defaults: the template, the masking and the scores of transformers' pipeline.
  const expected = referenceScores('gray.png');
  for (const { label, score } of out.scores) assert.ok(Math.abs(score - expected.get(label)) <= 1e-4, `${label}: ${score} vs ${expected.get(label)}`);

  // Progress, as transformers.js reports one file: initiate, download, progress..., done, ready.
  const statuses = out.events.map((e) => e.status).filter((s) => s !== 'progress_total').filter((s, i, all) => s !== all[i - 1]);
  assert.deepEqual(statuses, ['initiate', 'download', 'progress', 'done', 'ready']);
  const name = FOLDER;
  for (const e of out.events.filter((x) => x.status !== 'ready' && x.status !== 'progress_total')) assert.deepEqual([e.name, e.file], [name, 'model.safetensors']);
  const last = out.events.filter((e) => e.status === 'progress').at(-1);
  assert.equal(last.progress, 100);
  assert.equal(last.loaded, last.total);
  assert.deepEqual(out.events.at(-1), { status: 'ready', name: undefined, file: undefined, progress: undefined, loaded: undefined, total: undefined });

  // Image features: the reference embedding, [1, dim] for one image, [2, dim] for two.
  const refImage = ref.images.find((i) => i.file === 'gray.png').image_embeds;
  const dim = refImage.length;
  assert.deepEqual([out.one.dims, out.one.type, out.one.size], [[1, dim], 'float32', dim]);
  const close = (a, b, tol, what) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `${what}[${i}]: ${x} vs ${b[i]}`));
  close(out.one.list[0], refImage, 1e-4, 'image embedding');
  assert.deepEqual(out.two.dims, [2, dim]);
  close(out.two.data, [...out.one.list[0], ...out.one.list[0]], 0, 'two rows');
  // Text features: the reference text embeddings (the pipeline's masking), as embedText gives them.
  assert.deepEqual(out.text.dims, [3, dim]);
  out.text.list.forEach((row, i) => {
    close(row, ref.text_embeds[i], 1e-4, `text ${i}`);
    close(row, out.direct[i], 0, `text ${i} vs embedText`);
  });
  assert.deepEqual(out.uncachedDims, [3, dim]);
  assert.deepEqual(out.cachedDtypes, ['f32', 'q4'], 'the conversions loaded with the cache are cached, the cache: false one (f16) is not');
  assert.match(out.errors.task, /^UnsupportedError: siglip-web has no "text-generation" pipeline/);
  assert.match(out.errors.device, /^UnsupportedError: device "webgpu"/);
  assert.match(out.errors.dtype, /^InputError: unsupported dtype "bnb4"/);
  assert.match(out.errors.labels, /^InputError: candidate_labels/);
  assert.match(out.errors.normalize, /^InputError: .*normalize: false/);
  assert.deepEqual(problems, []);
  await p.close();
});
