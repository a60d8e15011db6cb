// The model's home: a module Web Worker that owns the wasm instance, so the page never blocks.
//
// Protocol (one request, one reply; see client.js for the other side):
//   page -> worker  {id, type, ...payload}
//     load      {url, integrity?}                 -> {info, fromCache, simd, ms}
//     classify  {image, labels, template?}        -> {results: [{label, score, logit}], embedding, ms}
//     score     {embedding, labels, template?}    -> {results, ms}   (text tower only, cached labels)
//     embedImage {image}                          -> {embedding: Float32Array, ms}
//     embedText {texts}                           -> {embeddings: Float32Array (n x dim), dim, ms}
//     rank      {query, embeddings: Float32Array} -> {ranking: [{index, score, logit}], ms}
//     stats     {}                                -> {wasmMemoryBytes}
//     dispose   {}                                -> {}
//   where image = {kind: 'bytes', bytes: ArrayBuffer} | {kind: 'rgba', width, height, data: ArrayBuffer}
//   worker -> page  {id, ok: true, result} | {id, ok: false, error: {name, message}}
//                   {id, type: 'progress', loaded, total, fromCache} while `load` runs
// Requests run one at a time in arrival order.

import init, { Model, ModelBuffer, simdEnabled } from './pkg/siglip.js';
import { fetchModel, forgetModel, namedError } from './loader.js';

let wasmReady = null;
let model = null;
let queue = Promise.resolve();

function initWasm() {
  wasmReady ??= init({ module_or_path: new URL('./pkg/siglip_bg.wasm', import.meta.url) });
  return wasmReady;
}

function requireModel() {
  if (!model) throw namedError('StateError', 'no model is loaded yet; set `src` or call load() first');
  return model;
}

function imageEmbedding(m, image) {
  if (!image || typeof image !== 'object') throw namedError('ImageError', 'no image given');
  if (image.kind === 'bytes') return m.embedImageBytes(new Uint8Array(image.bytes));
  if (image.kind === 'rgba') return m.embedImageRgba(image.width, image.height, new Uint8Array(image.data));
  throw namedError('ImageError', `unknown image payload kind ${image.kind}`);
}

function checkLabels(labels) {
  if (!Array.isArray(labels) || labels.length === 0) {
    throw namedError('InputError', 'no labels given; give at least one label to score');
  }
}

/** Text tower (cached per label) and dot products: `[{label, score, logit}]`, best first. */
function scoreLabels(m, embedding, labels, template) {
  if (template !== undefined) m.setTemplate(template);
  return JSON.parse(m.classify(embedding, labels));
}

const handlers = {
  async load({ url, integrity }, id) {
    const started = performance.now();
    if (model) {
      model.free();
      model = null;
    }
    const wasm = await initWasm();
    // The file is downloaded straight into wasm memory and used there in place.
    const sink = {
      allocate(length) {
        const buffer = new ModelBuffer(length);
        const ptr = buffer.ptr();
        return {
          buffer,
          write: (chunk, offset) => new Uint8Array(wasm.memory.buffer, ptr + offset, chunk.length).set(chunk),
          view: () => new Uint8Array(wasm.memory.buffer, ptr, length),
          release: () => buffer.free(),
        };
      },
    };
    const progress = (p) => self.postMessage({ id, type: 'progress', ...p });
    let loaded;
    let initStart;
    for (;;) {
      loaded = await fetchModel(url, { onProgress: progress, integrity, sink });
      initStart = performance.now();
      try {
        model = Model.fromBuffer(loaded.target.buffer); // consumes the buffer, even on failure
        break;
      } catch (err) {
        // Never keep a file that does not load. A cached copy that no longer loads (e.g.
        // written by an older build) is fetched afresh; that copy comes from the network,
        // so a second failure ends the loop.
        await forgetModel(url);
        if (!loaded.fromCache) throw err;
      }
    }
    const { fromCache, timings } = loaded;
    return {
      info: JSON.parse(model.info()),
      fromCache,
      simd: simdEnabled(),
      ms: performance.now() - started,
      timings: { ...timings, initMs: performance.now() - initStart },
      wasmMemoryBytes: wasm.memory.buffer.byteLength,
    };
  },

  classify({ image, labels, template }) {
    const m = requireModel();
    checkLabels(labels);
    const started = performance.now();
    const embedding = imageEmbedding(m, image);
    const results = scoreLabels(m, embedding, labels, template);
    return { results, embedding, ms: performance.now() - started };
  },

  score({ embedding, labels, template }) {
    const m = requireModel();
    checkLabels(labels);
    const started = performance.now();
    return { results: scoreLabels(m, embedding, labels, template), ms: performance.now() - started };
  },

  embedImage({ image }) {
    const started = performance.now();
    const embedding = imageEmbedding(requireModel(), image);
    return { embedding, ms: performance.now() - started, transfer: [embedding.buffer] };
  },

  embedText({ texts }) {
    const m = requireModel();
    const started = performance.now();
    const embeddings = m.embedTexts(texts);
    const dim = texts.length ? embeddings.length / texts.length : 0;
    return { embeddings, dim, ms: performance.now() - started, transfer: [embeddings.buffer] };
  },

  rank({ query, embeddings }) {
    const started = performance.now();
    const ranking = JSON.parse(requireModel().rank(query, embeddings));
    return { ranking, ms: performance.now() - started };
  },

  /** Memory figures, for benchmarks. */
  async stats() {
    const wasm = await initWasm();
    return { wasmMemoryBytes: wasm.memory.buffer.byteLength };
  },

  dispose() {
    if (model) model.free();
    model = null;
    return {};
  },
};

self.onmessage = (event) => {
  const { id, type, ...payload } = event.data ?? {};
  queue = queue.then(async () => {
    try {
      const handler = handlers[type];
      if (!handler) throw namedError('StateError', `unknown request type ${type}`);
      const { transfer = [], ...result } = (await handler(payload, id)) ?? {};
      self.postMessage({ id, ok: true, result }, transfer);
    } catch (err) {
      self.postMessage({
        id,
        ok: false,
        error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) },
      });
    }
  });
};
