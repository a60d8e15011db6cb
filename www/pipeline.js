// @ts-check
// pipeline(): the transformers.js way in, for people who come from it. The same task names,
// argument names, option names and output shapes, on top of the same shared model handle as
// createClassifier (client.js), so a pipeline and an element with the same model share one
// worker and one download.
//
//   import { pipeline } from 'siglip-web';
//   const classifier = await pipeline('zero-shot-image-classification', 'google/siglip-base-patch16-224');
//   await classifier(url, ['tiger', 'horse', 'dog']);          // [{score, label}], best first
//   await classifier([a, b], labels, { top_k: 1 });              // one list per image
//   const extractor = await pipeline('image-feature-extraction', 'google/siglip-base-patch16-224');
//   const { data, dims } = await extractor([a, b]);              // dims [2, 768], rows L2-normalized

import { openLoaded } from './client.js';
import { namedError } from './errors.js';
import { DEFAULT_TEMPLATE, DTYPES, isCheckpointSource, isHubSource } from './protocol.js';

/** The tasks, with transformers.js' aliases. */
export const PIPELINE_TASKS = Object.freeze(/** @type {const} */ (['zero-shot-image-classification', 'image-feature-extraction', 'feature-extraction']));
const TASK_ALIASES = { embeddings: 'feature-extraction' };

/** transformers.js' dtype names for what they mean here (only checkpoints are converted). */
const DTYPE_NAMES = { fp32: 'f32', fp16: 'f16', q8: 'q8', int8: 'q8', uint8: 'q8', q4: 'q4' };

/**
 * Embeddings as transformers.js returns them: a float32 tensor `[rows, dim]`, row-major in `data`.
 * (Only what its users read of a Tensor: `type`, `dims`, `data`, `size`, `tolist()`.)
 */
export class Tensor {
  /** @param {Float32Array} data @param {number[]} dims */
  constructor(data, dims) {
    this.type = 'float32';
    this.data = data;
    this.dims = dims;
  }

  get size() {
    return this.data.length;
  }

  /** The rows as plain arrays. */
  tolist() {
    const dim = this.dims[this.dims.length - 1];
    return Array.from({ length: this.data.length / dim }, (_, i) => Array.from(this.data.subarray(i * dim, (i + 1) * dim)));
  }
}

/**
 * `model` as a `src`: `owner/name` (what transformers.js takes) is a Hub model, like `hf:owner/name`
 * (`revision` becomes `@revision`); a URL (absolute, or starting with `/` or `.`) is used as is.
 * @param {string} model
 * @param {string | undefined} revision
 */
function sourceOf(model, revision) {
  if (typeof model !== 'string' || !model) throw namedError('InputError', 'pipeline() needs a model: "owner/name", "hf:owner/name" or a URL');
  const hub = isHubSource(model) ? model : /^[\w.-]+\/[\w.-]+$/.test(model) ? `hf:${model}` : null;
  if (!hub) return model;
  if (!revision || revision === 'main' || hub.includes('@')) return hub;
  return `${hub}@${revision}`;
}

/** transformers.js' `dtype` as a StorageDtype (undefined: the default). @param {unknown} dtype */
function storageDtype(dtype) {
  if (dtype == null || dtype === 'auto') return undefined;
  const name = typeof dtype === 'string' ? (DTYPE_NAMES[dtype] ?? (DTYPES.includes(/** @type {any} */ (dtype)) ? dtype : null)) : null;
  if (!name) throw namedError('InputError', `unsupported dtype ${JSON.stringify(dtype)}: use one of ${[...Object.keys(DTYPE_NAMES), ...DTYPES.filter((d) => !(d in DTYPE_NAMES))].join(', ')}`);
  return name;
}

/**
 * Load progress as transformers.js reports it, one file at a time: `initiate`, `download`,
 * `progress` (with `progress_total` before each), `done`, then `ready` once the model runs.
 * The weights are the one file reported (the small config and tokenizer files are not).
 * @param {(p: any) => void} callback
 * @param {string} name
 * @param {string} file
 */
function progressReporter(callback, name, file) {
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    callback({ status: 'initiate', name, file });
    callback({ status: 'download', name, file });
  };
  return {
    start,
    /** @param {import('./protocol.js').ProgressDetail} p */
    progress({ loaded, total, fromCache, converting }) {
      start();
      const percent = total ? (loaded / total) * 100 : 0;
      const extra = { fromCache, converting: Boolean(converting) };
      callback({ status: 'progress_total', name, progress: percent, loaded, total: total ?? 0, files: { [file]: { loaded, total: total ?? 0 } }, ...extra });
      callback({ status: 'progress', name, file, progress: percent, loaded, total: total ?? 0, ...extra });
    },
    /** @param {string} task */
    done(task) {
      start();
      callback({ status: 'done', name, file });
      callback({ status: 'ready', task, model: name });
    },
  };
}

/**
 * One image or a list of them, as transformers.js takes them: our image sources, plus
 * transformers.js' RawImage (`{data, width, height, channels}`), which becomes ImageData.
 * @param {any} image
 */
function imageSource(image) {
  const raw = image && typeof image === 'object' && 'channels' in image && 'width' in image && 'height' in image && image.data;
  if (!raw) return image;
  const { data, width, height, channels } = image;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    rgba[i * 4] = data[j];
    rgba[i * 4 + 1] = data[channels >= 3 ? j + 1 : j];
    rgba[i * 4 + 2] = data[channels >= 3 ? j + 2 : j];
    rgba[i * 4 + 3] = channels === 4 ? data[j + 3] : channels === 2 ? data[j + 1] : 255;
  }
  return new ImageData(rgba, width, height);
}

/** `items` as a list, and whether it was one. @param {any} items */
function batch(items) {
  return Array.isArray(items) ? { list: items, one: false } : { list: [items], one: true };
}

/** Rows of one length stacked into a Tensor. @param {Float32Array[]} rows */
function stacked(rows) {
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => data.set(row, i * dim));
  return new Tensor(data, [rows.length, dim]);
}

/**
 * A transformers.js-style pipeline on a SigLIP model, run in a Web Worker:
 * - `'zero-shot-image-classification'`: `(images, candidate_labels, {hypothesis_template, top_k, signal})`
 *   → `[{score, label}]` best first (a list of those for a list of images). Scores are SigLIP's
 *   per-label sigmoid, as transformers computes them.
 * - `'image-feature-extraction'`: `(images, {signal})` → a Tensor `[images, dim]`.
 * - `'feature-extraction'` (texts): `(texts, {signal})` → a Tensor `[texts, dim]`.
 * Embeddings are SigLIP's pooled ones, L2-normalized (what scoring and retrieval use).
 *
 * `model`: `owner/name` or `hf:owner/name[@revision]` (a Hub model, converted to `dtype` as it
 * downloads), or a URL: a file made by `siglip quantize`, or a folder (ending in `/`) holding a
 * checkpoint. Options: transformers.js' `dtype` (`q8` default, `q4`, `fp16`, `fp32`; others
 * refused), `progress_callback`, `revision`, `device` (`'wasm'`, `'cpu'` or unset: this runs
 * on the CPU), and createClassifier's own (`hub`, `variant`, `textMasking`, `maxNumPatches`,
 * `workerUrl`, `wasmUrl`, `integrity`, `cache`, `signal`). The result has `task`, `model` (the source),
 * `info` (ModelInfo) and `dispose()`.
 * @param {string} task
 * @param {string} model
 * @param {any} [options]
 */
export async function pipeline(task, model, options = {}) {
  const name = TASK_ALIASES[task] ?? task;
  if (!PIPELINE_TASKS.includes(name)) {
    throw namedError('UnsupportedError', `siglip-web has no "${task}" pipeline: SigLIP's are ${PIPELINE_TASKS.join(', ')}`);
  }
  const { dtype, progress_callback: callback, revision, device, signal, textMasking = 'auto', maxNumPatches, ...rest } = options ?? {};
  if (device != null && device !== 'wasm' && device !== 'cpu' && device !== 'auto') {
    throw namedError('UnsupportedError', `device "${device}" is not supported: siglip-web runs on the CPU, in WebAssembly ('wasm')`);
  }
  const src = sourceOf(model, revision);
  const { hub, variant, workerUrl, wasmUrl, integrity, cache } = rest;
  const label = src.replace(/^hf:/, '');
  const file = isCheckpointSource(src) ? 'model.safetensors' : (new URL(src, 'http://x/').pathname.split('/').pop() ?? src);
  const report = callback ? progressReporter(callback, label, file) : null;
  report?.start();
  const { handle, loaded } = await openLoaded(
    { src, hub, dtype: storageDtype(dtype), variant, workerUrl, wasmUrl, integrity, cache, onProgress: report ? (p) => report.progress(p) : undefined },
    signal,
  );
  report?.done(name);

  /** @type {any} */
  let run;
  if (name === 'zero-shot-image-classification') {
    /** @param {any} images @param {string[]} candidate_labels @param {{hypothesis_template?: string, top_k?: number, signal?: AbortSignal}} [options] */
    run = async (images, candidate_labels, { hypothesis_template = DEFAULT_TEMPLATE, top_k, signal } = {}) => {
      if (!Array.isArray(candidate_labels) || candidate_labels.length === 0) {
        throw namedError('InputError', 'candidate_labels must be a non-empty array of strings');
      }
      const { list, one } = batch(images);
      const out = [];
      for (const image of list) {
        const { results } = await handle.classify(imageSource(image), candidate_labels, hypothesis_template, textMasking, maxNumPatches, signal);
        const ranked = results.map(({ score, label }) => ({ score, label }));
        out.push(top_k == null ? ranked : ranked.slice(0, top_k));
      }
      return one ? out[0] : out;
    };
  } else if (name === 'image-feature-extraction') {
    /** @param {any} images @param {{signal?: AbortSignal}} [options] */
    run = async (images, { signal } = {}) => {
      const rows = [];
      for (const image of batch(images).list) rows.push((await handle.embedImage(imageSource(image), maxNumPatches, signal)).embedding);
      return stacked(rows);
    };
  } else {
    /** @param {string | string[]} texts @param {{signal?: AbortSignal, normalize?: boolean, pooling?: string}} [options] */
    run = async (texts, { signal, normalize } = {}) => {
      if (normalize === false) throw namedError('InputError', 'siglip-web gives L2-normalized embeddings only (normalize: false is not supported)');
      return stacked(await handle.textEmbeddings(batch(texts).list, textMasking, signal));
    };
  }
  return Object.assign(run, {
    task: name,
    model: src,
    info: loaded.info,
    build: loaded.build,
    /** Lets the model go (the worker is freed when nothing else on the page uses it). */
    dispose: () => handle.release(),
  });
}
