// @ts-check
// The model's home: a module Web Worker that owns the wasm instance, so the page never blocks.
// It answers the requests of the worker protocol (protocol.js, which describes every message;
// client.js is the other side) one at a time, in arrival order.

import { fetchModel, forgetModel } from './loader.js';
import { fetchHubModel, forgetHubModel } from './hub.js';
import { namedError, plainError } from './errors.js';
import { BACKGROUND_REQUESTS, BUILDS, DEFAULT_DTYPE, REQUEST_TYPES, TEXT_MASKINGS, VARIANTS, isCheckpointSource, isHubSource } from './protocol.js';
import { libraryHandlers } from './worker-library.js';
// The four builds of the same Rust code (BUILDS in protocol.js, made by build.sh): their glue
// modules (~45 KB each) are imported statically, so that the worker is one module graph with
// no dynamic import, which every bundler can emit as one script (Vite 5-7 emit workers as IIFE
// scripts, which cannot load code split off by a dynamic import). No wasm is fetched by
// importing them: only the build picked below fetches its siglip_bg.wasm.
import * as simd128 from './pkg/siglip.js';
import * as relaxed from './pkg-relaxed/siglip.js';
import * as threads from './pkg-threads/siglip.js';
import * as threadsSimd128 from './pkg-threads-simd128/siglip.js';

/** @typedef {import('./protocol.js').Requests} Requests */
/** @typedef {import('./protocol.js').RequestType} RequestType */
/** @typedef {import('./protocol.js').WasmVariant} WasmVariant */
/** @typedef {import('./protocol.js').TextMasking} TextMasking */
/** @typedef {import('./protocol.js').ImagePayload} ImagePayload */
/** @typedef {import('./protocol.js').WorkerMessage} WorkerMessage */
/** @typedef {import('./protocol.js').LoadReply} LoadReply */
/** @typedef {import('./protocol.js').ClassifyReply} ClassifyReply */
/** @typedef {import('./protocol.js').ScoreReply} ScoreReply */
/** @typedef {import('./protocol.js').EmbedImageReply} EmbedImageReply */
/** @typedef {import('./protocol.js').EmbedTextReply} EmbedTextReply */
/** @typedef {import('./protocol.js').RankReply} RankReply */
/** @typedef {import('./protocol.js').StatsReply} StatsReply */
/** @typedef {Exclude<WasmVariant, 'auto'>} Build */

/**
 * Posts a message to the page; every message the worker sends goes through here, so its shape is
 * checked against the protocol.
 * @param {WorkerMessage} message
 * @param {Transferable[]} [transfer]
 */
function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

/** Each build's glue module. @type {Record<Build, any>} */
const GLUE = { simd128, relaxed, threads, 'threads-simd128': threadsSimd128 };
/** @param {Build} variant */
const buildOf = (variant) => /** @type {typeof BUILDS[number]} */ (BUILDS.find((b) => b.variant === variant));

// Tiny modules returning a v128: `i32.const 0; i32x4.splat`, and the same followed by one
// relaxed-SIMD instruction (`i32x4.relaxed_trunc_f32x4_s`, 0xfd 0x101).
const SIMD_MODULE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11];
const RELAXED_MODULE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 11, 1, 9, 0, 65, 0, 253, 17, 253, 129, 2, 11];

/** What this browser can run: `{simd, relaxed, threads, threadsWhyNot}`. */
function support() {
  const validates = (bytes) => {
    try {
      return WebAssembly.validate(new Uint8Array(bytes));
    } catch {
      return false;
    }
  };
  const simd = validates(SIMD_MODULE);
  const relaxed = simd && validates(RELAXED_MODULE);
  let threadsWhyNot = null;
  if (!self.crossOriginIsolated) {
    threadsWhyNot = 'the page is not cross-origin isolated (serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  } else if (!(navigator.hardwareConcurrency > 1)) threadsWhyNot = 'this device reports a single CPU core';
  else if (typeof SharedArrayBuffer !== 'function') {
    // WebKitGTK: isolated pages without it (Safari has it), where shared wasm memory can be
    // made but not posted to the pool's workers.
    threadsWhyNot = 'this browser has no SharedArrayBuffer here, even though the page is cross-origin isolated';
  } else {
    try {
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    } catch {
      threadsWhyNot = 'this browser has no shared WebAssembly memory';
    }
  }
  return { simd, relaxed, threads: threadsWhyNot === null, threadsWhyNot };
}

/**
 * The builds to try, best first: the one asked for (an Error if this browser cannot run it), or
 * for 'auto' every build of BUILDS this page can run, in BUILDS' order (the threaded ones on a
 * cross-origin isolated page with several cores, the relaxed ones where relaxed SIMD validates).
 * @param {WasmVariant} variant
 * @returns {Build[]}
 */
function pickVariant(variant = 'auto') {
  if (!VARIANTS.includes(variant)) {
    throw namedError('InputError', `unknown variant "${variant}"; use one of ${VARIANTS.join(', ')}`);
  }
  const can = support();
  if (!can.simd) {
    throw namedError('UnsupportedError', 'this browser has no WebAssembly SIMD (simd128), which every build of the model needs');
  }
  const whyNot = (b) =>
    b.relaxed && !can.relaxed
      ? 'it needs relaxed SIMD (Chrome 114+, Firefox 146+), which this browser lacks'
      : b.threads && !can.threads
        ? can.threadsWhyNot
        : null;
  if (variant !== 'auto') {
    const reason = whyNot(buildOf(variant));
    if (reason) throw namedError('UnsupportedError', `the ${variant} build cannot run here: ${reason}`);
    return [variant];
  }
  return BUILDS.filter((b) => whyNot(b) === null).map((b) => b.variant);
}

/**
 * The shared memory a threaded build runs in. Its maximum is reserved up front, and engines
 * differ in how much they grant (iOS Safari refuses a few GiB with "RangeError: Out of
 * memory"): the largest of SHARED_MAXIMA the engine accepts. A model bigger than that fails to
 * load with a MemoryError, as in a tab short of memory; if none is granted, the build does not
 * start and `auto` runs a single-threaded one.
 * @param {number} initialPages the module's declared minimum
 */
function sharedMemory(initialPages) {
  let last;
  for (const bytes of SHARED_MAXIMA) {
    try {
      return new WebAssembly.Memory({ initial: initialPages, maximum: bytes / 65536, shared: true });
    } catch (err) {
      last = err;
    }
  }
  throw namedError('MemoryError', `this browser would not reserve shared WebAssembly memory of even ${SHARED_MAXIMA.at(-1) / 2 ** 20} MB (${last?.message ?? last})`);
}
/** 4 GiB (the modules' ceiling, wasm32's address space), then smaller: base q8 runs in 0.5 GiB. */
const SHARED_MAXIMA = [4 * 2 ** 30, 2 * 2 ** 30, 2 ** 30, 2 ** 29];
/** The modules' declared minimum (wasm pages), which the memory given them must meet. */
const SHARED_INITIAL_PAGES = 64;

/** @typedef {{variant: Build, exports: any, memory: WebAssembly.Memory}} Wasm */
/** @type {Promise<Wasm> | null} the one build this worker runs */
let wasmReady = null;
let model = null;
/** Where the loaded model came from, as an index records it: `hf:owner/name@commit` or the URL. */
let modelSource = undefined;
/** @type {Promise<unknown>} the end of the request queue */
let queue = Promise.resolve();

/**
 * Runs `work` in the request queue (after the requests before it, before those after).
 * @template T
 * @param {() => T | Promise<T>} work
 * @returns {Promise<T>}
 */
function enqueue(work) {
  const result = queue.then(work);
  queue = result.catch(() => {});
  return result;
}

/**
 * @param {Build} variant
 * @param {string} [wasmUrl]
 * @returns {Promise<Wasm>}
 */
async function startBuild(variant, wasmUrl) {
  const exports = GLUE[variant];
  const { dir, threads } = buildOf(variant);
  // Fetches siglip_bg.wasm next to that build's siglip.js, or under wasmUrl.
  const file = wasmUrl ? new URL(`${dir}/siglip_bg.wasm`, wasmUrl) : undefined;
  const memory = threads ? sharedMemory(SHARED_INITIAL_PAGES) : undefined;
  try {
    await exports.default({ module_or_path: file, memory });
  } catch (err) {
    const where = file ? ` from ${file.href}` : '';
    throw namedError(err?.name === 'CompileError' || err?.name === 'LinkError' ? 'UnsupportedError' : 'NetworkError',
      `the ${variant} build of the model could not start${where}: ${err?.message ?? err}`);
  }
  // The pool's workers are spawned from here and share the memory; rayon work then runs on
  // them while this thread waits (which a worker may do, unlike the page).
  if (threads) await withTimeout(exports.initThreadPool(navigator.hardwareConcurrency), POOL_TIMEOUT_MS, variant);
  return { variant, exports, memory: exports.wasmMemory() };
}

// A pool worker that cannot start (its script blocked or missing) is never reported by
// wasm-bindgen-rayon; without a limit the load would wait forever.
const POOL_TIMEOUT_MS = 30000;
function withTimeout(promise, ms, variant) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(namedError('UnsupportedError', `the ${variant} build's worker pool did not start within ${ms / 1000} s`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts the wasm once per worker; a later request for another variant is an error.
 * @param {WasmVariant} [variant]
 * @param {string} [wasmUrl]
 */
function initWasm(variant = 'auto', wasmUrl = undefined) {
  if (wasmReady) {
    return wasmReady.then((wasm) => {
      if (variant !== 'auto' && variant !== wasm.variant) {
        throw namedError('StateError', `this worker already runs the ${wasm.variant} build; use a new classifier for ${variant}`);
      }
      return wasm;
    });
  }
  const start = async () => {
    const candidates = pickVariant(variant);
    for (const [i, candidate] of candidates.entries()) {
      try {
        return await startBuild(candidate, wasmUrl);
      } catch (err) {
        // 'auto' falls back (e.g. a site that ships only some of the builds); a forced
        // variant fails with its own error.
        if (i === candidates.length - 1) throw err;
        console.warn(`siglip: the ${candidate} build did not start (${err?.message ?? err}); trying ${candidates[i + 1]}`);
      }
    }
    throw namedError('UnsupportedError', 'no build of the model can run here'); // not reached
  };
  wasmReady = start();
  wasmReady.catch(() => {
    wasmReady = null; // a failed start can be retried, e.g. with another variant
  });
  return wasmReady;
}

/**
 * A MemoryError that says what a tab short of memory (a phone's: often 300-500 MB for
 * WebAssembly) can do: how far this worker's memory got, and a smaller file to try.
 */
/**
 * @param {Error} err
 * @param {WebAssembly.Memory} memory
 * @param {string | null} hubDtype the dtype of an `hf:` model, null for a packed file
 */
function tooBig(err, memory, hubDtype) {
  const mb = (memory.buffer.byteLength / 2 ** 20).toFixed(0);
  const smaller = hubDtype === null
    ? 'Try a smaller file of the same model: `siglip quantize --dtype q4` makes one about half the size of q8.'
    : hubDtype === 'q4'
      ? 'This is already the smallest dtype (q4): try a smaller model.'
      : `Try dtype "q4" (the dtype attribute or option): about half the size of ${hubDtype}.`;
  return namedError(
    'MemoryError',
    `${err.message} (this worker's WebAssembly memory, ${mb} MB now, could not grow by that much; phones often allow a tab 300-500 MB). ${smaller}`,
  );
}

function requireModel() {
  if (!model) throw namedError('StateError', 'no model is loaded yet; set `src` or call load() first');
  return model;
}

/**
 * @param {ImagePayload} image
 * @param {number} [maxNumPatches]
 * @returns {Float32Array}
 */
function imageEmbedding(m, image, maxNumPatches) {
  if (!image || typeof image !== 'object') throw namedError('ImageError', 'no image given');
  // (Also below 2^31, so that it reaches the wasm's 32-bit usize unchanged; the model bounds it further.)
  if (maxNumPatches !== undefined && maxNumPatches !== null && !(Number.isInteger(maxNumPatches) && maxNumPatches > 0 && maxNumPatches < 2 ** 31)) {
    throw namedError('InputError', `maxNumPatches must be a positive whole number, not ${maxNumPatches}`);
  }
  m.setMaxNumPatches(maxNumPatches ?? undefined);
  if (image.kind === 'bytes') return m.embedImageBytes(new Uint8Array(image.bytes));
  if (image.kind === 'rgba') return m.embedImageRgba(image.width, image.height, new Uint8Array(image.data));
  throw namedError('ImageError', `unknown image payload kind ${/** @type {any} */ (image).kind}`);
}

/**
 * `[rows, columns]` of patches the last image became.
 * @returns {[number, number]}
 */
function gridOf(m) {
  const [rows, columns] = m.imageGrid();
  return [rows, columns];
}

function checkLabels(labels) {
  if (!Array.isArray(labels) || labels.length === 0) {
    throw namedError('InputError', 'no labels given; give at least one label to score');
  }
}

/**
 * Sets how the text tower treats padding for this request (each mode has its own cache):
 * 'auto' is what the transformers pipeline does for the loaded checkpoint.
 * @param {TextMasking} [textMasking]
 */
function setTextMasking(m, textMasking = 'auto') {
  if (!TEXT_MASKINGS.includes(textMasking)) {
    throw namedError('InputError', `unknown textMasking "${textMasking}"; use one of ${TEXT_MASKINGS.join(', ')}`);
  }
  m.setTextMasking(textMasking === 'auto' ? undefined : textMasking === 'padding');
}

/**
 * Text tower (cached per label) and dot products: `[{label, score, logit}]`, best first.
 * @returns {import('./protocol.js').LabelScore[]}
 */
function scoreLabels(m, embedding, labels, template, textMasking) {
  if (template !== undefined) m.setTemplate(template);
  setTextMasking(m, textMasking);
  return JSON.parse(m.classify(embedding, labels));
}

/**
 * Writes a just-downloaded model file to the cache after the load replied (its 1-2 s are off
 * the load's critical path), from the bytes the model keeps in wasm memory until then. Requests
 * run meanwhile; a model freed first (by another load) ends the write, nothing cached.
 * Posts `{id, type: 'cached', stored, ms}` when done.
 * @param {(source: {view(): Uint8Array | null}) => Promise<boolean>} store
 * @param {WebAssembly.Memory} memory
 * @param {number} id
 */
function cacheInBackground(owner, store, memory, id) {
  const started = performance.now();
  const view = () => (model === owner ? new Uint8Array(memory.buffer, owner.filePtr(), owner.fileLen()) : null);
  store({ view })
    .catch(() => false)
    .then((stored) => {
      if (model === owner) owner.releaseFile();
      post({ id, type: 'cached', stored, ms: performance.now() - started });
    });
}

/**
 * What a handler returns: its request's reply, and for the message loop below the buffers to
 * transfer with it and work to do after it was posted.
 * @template R
 * @typedef {R & {transfer?: Transferable[], after?: () => void}} Handled
 */

/** The library requests (worker-library.js), on this worker's model and queue. */
const { closeLibraries, ...libraryRequests } = libraryHandlers({
  model: requireModel,
  exports: async () => (await initWasm()).exports,
  embed(bytes, maxNumPatches) {
    const m = requireModel();
    const embedding = imageEmbedding(m, { kind: 'bytes', bytes: /** @type {ArrayBuffer} */ (bytes.buffer) }, maxNumPatches);
    return { embedding, grid: gridOf(m) };
  },
  queryEmbeddings(text, textMasking) {
    const m = requireModel();
    setTextMasking(m, /** @type {TextMasking} */ (textMasking));
    return m.embedTexts([text]);
  },
  imageEmbedding: (image, maxNumPatches) => imageEmbedding(requireModel(), image, maxNumPatches),
  enqueue,
  post,
  source: () => modelSource,
});

/**
 * One handler per request type, each returning (the promise of) its request's reply.
 * @type {{[T in RequestType]: (payload: Requests[T]['payload'], id: number) => Handled<Requests[T]['reply']> | Promise<Handled<Requests[T]['reply']>>}}
 */
const handlers = {
  /** @returns {Promise<Handled<LoadReply>>} */
  async load({ url, integrity, variant, wasmUrl, hub, dtype, cache = true }, id) {
    const started = performance.now();
    closeLibraries(); // their embeddings belong to the model going away
    if (model) {
      model.free();
      model = null;
    }
    const wasm = await initWasm(variant, wasmUrl);
    const { Model, ModelBuffer, buildInfo, simdEnabled } = wasm.exports;
    // The file is downloaded straight into wasm memory and used there in place.
    const sink = {
      allocate(length) {
        return sink.adopt(new ModelBuffer(length));
      },
      /** A target over a ModelBuffer (e.g. a converted model). */
      adopt(buffer) {
        const ptr = buffer.ptr();
        const length = buffer.len();
        return {
          buffer,
          length,
          write: (chunk, offset) => new Uint8Array(wasm.memory.buffer, ptr + offset, chunk.length).set(chunk),
          view: () => new Uint8Array(wasm.memory.buffer, ptr, length),
          release: () => buffer.free(),
        };
      },
    };
    /** @param {{loaded: number, total: number | null, fromCache: boolean, converting?: boolean}} p */
    const progress = (p) => post({ id, type: 'progress', converting: false, ...p });
    /** @type {{target: any, fromCache: boolean, timings: object, commit?: string | null, store?: (source: {view(): Uint8Array | null}) => Promise<boolean>}} */
    let loaded;
    let initStart;
    // A checkpoint (hf: or a folder) is converted as it downloads; else a packed file.
    const hubModel = isCheckpointSource(url);
    if (hubModel && integrity) {
      throw namedError('InputError', 'integrity applies to packed model files, not to checkpoints (hf: models and folders; their version is checked instead)');
    }
    for (;;) {
      try {
        loaded = hubModel
          ? await fetchHubModel(url, { hub, dtype, Converter: wasm.exports.Converter, sink, onProgress: progress, cache })
          : await fetchModel(url, { onProgress: progress, integrity, sink, deferStore: true, cache });
      } catch (err) {
        throw err?.name === 'MemoryError' ? tooBig(err, wasm.memory, hubModel ? dtype ?? DEFAULT_DTYPE : null) : err;
      }
      initStart = performance.now();
      try {
        // Consumes the buffer, even on failure; a downloaded file is kept whole for the cache.
        model = Model.fromBuffer(loaded.target.buffer, !!loaded.store);
        break;
      } catch (err) {
        // Never keep a file that does not load. A cached copy that no longer loads (e.g.
        // written by an older build) is fetched afresh; that copy comes from the network,
        // so a second failure ends the loop. (Without the cache, nothing was read or kept.)
        if (cache) await (hubModel ? forgetHubModel(url, { hub, dtype }) : forgetModel(url));
        if (!loaded.fromCache) throw err;
      }
    }
    const { fromCache, timings, commit, store } = loaded;
    modelSource = isHubSource(url) && commit ? `${url.replace(/@.*$/, '')}@${commit}` : url;
    const owner = model;
    return {
      after: store && (() => cacheInBackground(owner, store, wasm.memory, id)),
      commit,
      info: JSON.parse(model.info()),
      fromCache,
      caching: !!store,
      simd: simdEnabled(),
      build: JSON.parse(buildInfo()),
      ms: performance.now() - started,
      timings: { ...timings, initMs: performance.now() - initStart },
      wasmMemoryBytes: wasm.memory.buffer.byteLength,
    };
  },

  /** @returns {Handled<ClassifyReply>} */
  classify({ image, labels, template, textMasking, maxNumPatches }) {
    const m = requireModel();
    checkLabels(labels);
    const started = performance.now();
    const embedding = imageEmbedding(m, image, maxNumPatches);
    const results = scoreLabels(m, embedding, labels, template, textMasking);
    return { results, embedding, grid: gridOf(m), ms: performance.now() - started };
  },

  /** @returns {Handled<ScoreReply>} */
  score({ embedding, labels, template, textMasking }) {
    const m = requireModel();
    checkLabels(labels);
    const started = performance.now();
    return { results: scoreLabels(m, embedding, labels, template, textMasking), ms: performance.now() - started };
  },

  /** @returns {Handled<EmbedImageReply>} */
  embedImage({ image, maxNumPatches }) {
    const started = performance.now();
    const m = requireModel();
    const embedding = imageEmbedding(m, image, maxNumPatches);
    return { embedding, grid: gridOf(m), ms: performance.now() - started, transfer: [embedding.buffer] };
  },

  /** @returns {Handled<EmbedTextReply>} */
  embedText({ texts, textMasking }) {
    const m = requireModel();
    setTextMasking(m, textMasking);
    const started = performance.now();
    const embeddings = m.embedTexts(texts);
    const dim = texts.length ? embeddings.length / texts.length : 0;
    return { embeddings, dim, ms: performance.now() - started, transfer: [embeddings.buffer] };
  },

  /** @returns {Handled<RankReply>} */
  rank({ query, embeddings, textMasking }) {
    const started = performance.now();
    const m = requireModel();
    setTextMasking(m, textMasking);
    const ranking = JSON.parse(m.rank(query, embeddings));
    return { ranking, ms: performance.now() - started };
  },

  /** @returns {Promise<Handled<StatsReply>>} */
  async stats() {
    const wasm = await initWasm();
    return { wasmMemoryBytes: wasm.memory.buffer.byteLength, cachedTexts: model ? model.cachedTexts() : 0 };
  },

  ...libraryRequests,
};

/**
 * Answers one request: its reply, or the error it failed with.
 * @param {number} id
 * @param {string} type
 * @param {any} payload
 */
async function answer(id, type, payload) {
  try {
    if (!REQUEST_TYPES.includes(/** @type {RequestType} */ (type))) throw namedError('StateError', `unknown request type ${type}`);
    /** @type {Handled<any>} */
    const handled = await handlers[/** @type {RequestType} */ (type)](/** @type {any} */ (payload), id);
    const { transfer = [], after, ...result } = handled;
    post({ id, ok: true, result }, transfer);
    after?.(); // work that follows the reply (the cache write after a load)
  } catch (err) {
    post({ id, ok: false, error: plainError(err) });
  }
}

self.onmessage = (event) => {
  const { id, type, ...payload } = event.data ?? {};
  // Background requests run beside the queue (an add job queues each image's embedding itself).
  if (BACKGROUND_REQUESTS.includes(type)) answer(id, type, payload);
  else queue = queue.then(() => answer(id, type, payload));
};
