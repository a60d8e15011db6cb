// Browser benchmark: this project (each wasm build variant) against transformers.js
// (onnxruntime-web), on the same full-size random google/siglip-base-patch16-224 checkpoint, in
// each browser engine of --browsers (headless Chromium by default; Firefox and WebKit through
// engines.mjs), alternating the two, each run in a fresh browser. Prints a table of medians
// with ratios against transformers.js q8 (1 and 2 threads) in the same browser and writes
// bench-out/browser-bench.json (one row per browser × engine × variant × dtype). Never part of CI.
//
//   ./build.sh bench [--browsers chromium,firefox,webkit] [--engines siglip,transformers.js]
//                    [--dtypes q8,f32] [--rounds 1] [--variants simd128,relaxed,threads]
//                    [--tjs-threads 1,2] [--runs 5] [--labels 8] [--live-seconds 10]
//                    [--kernel-ms 1000] [--webkit-sab on] [--expected-load 0] [--settle 60]
//
// This project: models/siglip-base-random (tests/fixtures/make_fixtures.py --full) packed by
// `siglip quantize` into models/base-<dtype>.safetensors on first use; the <siglip-classifier>
// element with variant="simd128" | "relaxed" | "threads" | "threads-simd128" (by default the
// builds each browser can run: DEFAULT_VARIANTS; --variants sets them for every browser). A
// variant the browser cannot run or the build does not have (the load event's detail.build says
// which one ran) is reported as unavailable. WebKit: WebKitGTK gives its cross-origin isolated
// pages no SharedArrayBuffer, which Safari does, so the threaded builds (and transformers.js'
// threads) could not run; --webkit-sab on (the default) turns it on (engines.mjs's
// webkitSharedArrayBuffer), off measures WebKitGTK as it comes.
// transformers.js: tests/bench/node_modules (./build.sh bench installs it only when this engine
// is selected), models/siglip-base-random-onnx made by scripts/export_onnx.py on first use (needs
// the fixtures' .venv plus onnx, onnxruntime). `--engines siglip` needs neither.
//
// What is measured, the same way for both engines, on a cross-origin-isolated page (COOP/COEP):
//   load_init_s         element: src set -> load event (download, wasm init; the cache write
//                       follows in the background: cache_write_ms, waited for before timing);
//                       transformers.js: pipeline('zero-shot-image-classification', dtype) ready
//   text_per_label_ms   one call embedding 8 labels ("This is a photo of {}.", padded to 64), / 8,
//                       on the checkpoint's own path (text_path: `none`, all 64 tokens attended
//                       to, when its tokenizer_config says model_input_names ["input_ids"] as the
//                       google checkpoints' do and make_fixtures.py --full writes; else `padding`).
//                       transformers.js' ONNX graph takes no mask: always all 64 tokens.
//   text_masked_per_label_ms  ours, the same call with the padding masked (text-masking="padding"):
//                       the cheaper path, which only checkpoints with an attention mask take
//   image_median_ms     a 640×480 PNG blob -> decoded, resized, vision tower, scores against the
//                       cached label embeddings; median of --runs after two unmeasured runs (the
//                       first measured one is image_first_ms). transformers.js: RawImage.fromBlob,
//                       the processor, SiglipVisionModel (vision_model*.onnx), scores in JS
//   renderer_peak_rss_mb  the peak resident set of the process holding the page and its workers
//                       (engines.mjs's isPageProcess: Chromium's renderer, Firefox's web content
//                       process, WebKitWebProcess; the largest, VmHWM and VmRSS sampled every
//                       second, as Chromium resets VmHWM); transformers.js: up to the pipeline
//                       loaded and run once (it holds both towers, as the element does)
//   live_fps            element: live mode on the browser's fake webcam for --live-seconds
//                       (Chromium's fake device, Firefox's fake streams, WebKitGTK's mock capture
//                       device: engines.mjs fakeCamera); transformers.js has no webcam widget:
//                       1000 / image_median_ms
// Disturbance: a sampler reads /proc every second. `others_cpu` is the mean number of cores
// busy with processes that are not this benchmark (all busy CPU time minus this process tree's)
// during a run; `load1` is the 1-minute load average before the run, and `load1_expected` what
// this benchmark's own recent CPU use explains (the kernel's 5 s exponential average, applied
// to our tree's busy cores) plus --expected-load. A run is disturbed when others_cpu > 0.5 or
// load1 > load1_expected + 0.5. Rows are medians over the undisturbed rounds when there are
// any (over all rounds otherwise, and then marked).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENGINES as BROWSER_ENGINES, isPageProcess, launchEngine } from './engines.mjs';
import { ROOT, option, startServer, urlPath } from './harness.mjs';

const argv = process.argv.slice(2);
const list = (name, fallback) => option(name, fallback).split(',').map((s) => s.trim()).filter(Boolean);
const RUNS = Number(option('--runs', '5'));
const N_LABELS = Number(option('--labels', '8'));
const LIVE_SECONDS = Number(option('--live-seconds', '10'));
const ROUNDS = Number(option('--rounds', '1'));
// Milliseconds each kernel shape is timed in kernelBench (after as long again of warm-up, so the
// engine has tiered up to its optimizing compiler).
const KERNEL_MS = Number(option('--kernel-ms', '1000'));
const DTYPES = list('--dtypes', 'q8,f32');
const ENGINES = list('--engines', 'siglip,transformers.js');
const BROWSERS = list('--browsers', 'chromium');
/** The builds each browser runs by default: WebKit has no relaxed SIMD, so none of the relaxed ones. */
const DEFAULT_VARIANTS = { chromium: 'simd128,relaxed,threads', firefox: 'simd128,relaxed,threads', webkit: 'simd128,threads-simd128' };
/** @param {string} browser */
const variantsOf = (browser) => list('--variants', DEFAULT_VARIANTS[browser]);
const WEBKIT_SAB = option('--webkit-sab', 'on') !== 'off';
const TJS_THREADS = list('--tjs-threads', '1,2').map(Number);
const EXPECTED_LOAD = Number(option('--expected-load', '0'));
const SETTLE = Number(option('--settle', '60'));
const HF = path.join(ROOT, 'models/siglip-base-random');
const ONNX_DIR = path.resolve(ROOT, option('--onnx', 'models/siglip-base-random-onnx')); // under ROOT: it is served
const TJS_DIST = path.join(ROOT, 'tests/bench/node_modules/@huggingface/transformers/dist');
const ORT_DIST = path.join(ROOT, 'tests/bench/node_modules/onnxruntime-web/dist');
const OUT_DIR = path.join(ROOT, 'bench-out');
const TEMPLATE = 'This is a photo of {}.';
const COI = ['--header', 'Cross-Origin-Opener-Policy: same-origin', '--header', 'Cross-Origin-Embedder-Policy: require-corp'];
// What the page functions import (its test image, live mode).
const BENCH_PAGE = urlPath(path.join(ROOT, 'tests/web/bench-page.mjs'));

for (const e of ENGINES) {
  if (!['siglip', 'transformers.js'].includes(e)) {
    console.error(`unknown engine ${e} (--engines siglip,transformers.js)`);
    process.exit(2);
  }
}
for (const b of BROWSERS) {
  if (!BROWSER_ENGINES.includes(b)) {
    console.error(`unknown browser ${b} (--browsers ${BROWSER_ENGINES.join(',')})`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------
// Inputs

function needCheckpoint() {
  if (!existsSync(HF)) {
    console.error(`missing ${HF}: run .venv/bin/python tests/fixtures/make_fixtures.py --full models/siglip-base-random`);
    process.exit(2);
  }
}

/**
 * How the checkpoint's labels are run by default (`auto`, as the transformers pipeline does):
 * `none` (all 64 padded tokens attended to) when its tokenizer_config.json says
 * `model_input_names: ["input_ids"]`, as the google checkpoints' do, else `padding` (masked).
 */
function checkpointTextPath() {
  const config = JSON.parse(readFileSync(path.join(HF, 'tokenizer_config.json'), 'utf8'));
  return config.model_input_names && !config.model_input_names.includes('attention_mask') ? 'none' : 'padding';
}

function packed(dtype) {
  const file = path.join(ROOT, `models/base-${dtype}.safetensors`);
  // Packed again when the checkpoint changed (its tokenizer config decides the text path).
  const stale = existsSync(file) && existsSync(HF) && readdirSync(HF).some((f) => statSync(path.join(HF, f)).mtimeMs > statSync(file).mtimeMs);
  if (!existsSync(file) || stale) {
    needCheckpoint();
    execFileSync(path.join(ROOT, 'target/release/siglip'), ['quantize', HF, '--dtype', dtype, '-o', file], { stdio: 'inherit' });
  }
  return file;
}

function onnxModel() {
  const files = ['model', 'text_model', 'vision_model'].flatMap((n) => [`onnx/${n}.onnx`, `onnx/${n}_quantized.onnx`]);
  if (files.every((f) => existsSync(path.join(ONNX_DIR, f)))) return;
  needCheckpoint();
  const py = path.join(ROOT, '.venv/bin/python');
  if (!existsSync(py)) {
    console.error('transformers.js needs the ONNX export: make the venv of README "Tests" plus onnx onnxruntime onnxscript, or run --engines siglip');
    process.exit(2);
  }
  console.error('==> exporting the checkpoint to ONNX for transformers.js (scripts/export_onnx.py)');
  const r = spawnSync(py, [path.join(ROOT, 'scripts/export_onnx.py'), HF, '-o', ONNX_DIR], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// ---------------------------------------------------------------------------------------------
// Processes: renderer memory, this benchmark's CPU, everyone else's

/** Largest resident set of this benchmark's processes that hold `browser`'s pages now, in bytes:
 * the larger of VmRSS and VmHWM (other browsers on the machine, e.g. someone's tests, are not ours). */
function rendererRss(browser) {
  let peak = 0;
  for (const pid of ourPids()) {
    try {
      if (!isPageProcess(browser, readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      for (const key of ['VmHWM', 'VmRSS']) {
        const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      }
    } catch {
      // the process went away
    }
  }
  return peak;
}

/** Peak renderer resident set since the run started, in MB; null when no process of the
 * run's browser was recognized as its pages'. Chromium resets its processes' VmHWM now and then
 * (clear_refs, for its own memory metrics), so the sampler also keeps the largest VmRSS it saw
 * (once a second). */
function rendererPeakMb() {
  sampler.rssPeak = Math.max(sampler.rssPeak, rendererRss(sampler.browser));
  return sampler.rssPeak ? sampler.rssPeak / 1e6 : null;
}

const HZ = 100; // USER_HZ, the unit of /proc CPU times

/** Busy CPU seconds of the whole machine (all but idle and iowait). */
function machineBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f;
  return (user + nice + system + irq + softirq + (steal || 0)) / HZ;
}

/** pid -> {ppid, key (pid and start time), cpu seconds of the process itself} for every process. */
function processTable() {
  const info = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After "(name) ": state ppid ... utime stime (fields 14, 15 of proc(5)) ... starttime (22).
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      info.set(Number(pid), { ppid: Number(f[1]), key: `${pid}@${f[19]}`, cpu: (Number(f[11]) + Number(f[12])) / HZ });
    } catch {
      // gone
    }
  }
  return info;
}

/** This process and all its descendants (the server, the browsers). */
function ourPids(info = processTable()) {
  const ours = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of info) {
      if (!ours.has(pid) && ours.has(p.ppid)) {
        ours.add(pid);
        grew = true;
      }
    }
  }
  return ours;
}

// CPU seconds of every process of ours ever sampled, as last seen. A browser's processes do not
// all pass their times up to us when they exit (children reparented to init lose them), so the
// tree's cumulative times (cutime) would undercount; this loses at most a second per process.
const seenCpu = new Map();
function treeBusy() {
  const info = processTable();
  for (const pid of ourPids(info)) {
    const p = info.get(pid);
    if (p) seenCpu.set(p.key, p.cpu);
  }
  let total = 0;
  for (const v of seenCpu.values()) total += v;
  return total;
}

/** Samples once a second; keeps the kernel-style 1-minute average of our own busy cores. */
const sampler = {
  t: performance.now() / 1000,
  machine: machineBusy(),
  ours: treeBusy(),
  ownLoad: 0, // what our CPU use alone would make the 1-minute load average
  browser: null, // the browser of the run under way, whose page processes rssPeak follows
  rssPeak: 0, // the renderers' largest resident set since the run started
  sinceDecay: 0,
  tick() {
    const t = performance.now() / 1000;
    const machine = machineBusy();
    const ours = treeBusy();
    const dt = t - this.t;
    if (dt <= 0) return;
    const oursCores = Math.max(0, (ours - this.ours) / dt);
    // The kernel updates the load every 5 s: load = load * e^(-5/60) + n * (1 - e^(-5/60)).
    this.ownLoad = this.ownLoad * Math.exp(-dt / 60) + oursCores * (1 - Math.exp(-dt / 60));
    Object.assign(this, { t, machine, ours });
    if (this.browser) this.rssPeak = Math.max(this.rssPeak, rendererRss(this.browser));
  },
  /** A mark to measure others' CPU from. */
  mark() {
    this.tick();
    return { t: this.t, machine: this.machine, ours: this.ours };
  },
  othersSince(m) {
    this.tick();
    const dt = this.t - m.t;
    return dt > 0 ? Math.max(0, (this.machine - m.machine - (this.ours - m.ours)) / dt) : 0;
  },
};
const timer = setInterval(() => sampler.tick(), 1000);
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(sig, () => process.exit(code));

// ---------------------------------------------------------------------------------------------
// The two engines

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

const WORDS = ['cat', 'dog', 'car', 'tree', 'red house', 'two birds on a wire', 'a bowl of soup', 'mountain lake'];

/** The first line of an error's message. */
const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

/** The version of each browser run, for the report (`Chromium 156.0…`): set by its first launch. */
const browserVersions = {};

/**
 * Runs `fn(page)` on `url` in a fresh `browser` (every run gets its own), an engines.mjs page,
 * then closes the browser.
 * @template T
 * @param {'chromium' | 'firefox' | 'webkit'} browser
 * @param {string} url
 * @param {(page: any) => Promise<T>} fn
 * @param {boolean} [fakeCamera] the browser's fake camera (engines.mjs), for live mode
 * @returns {Promise<T>}
 */
async function inFreshPage(browser, url, fn, fakeCamera = false) {
  const engine = await launchEngine(browser, { fakeCamera, webkitSharedArrayBuffer: WEBKIT_SAB, scriptTimeout: 600000 });
  browserVersions[browser] ??= engine.version;
  try {
    const page = await engine.newPage();
    await page.goto(url);
    return await fn(page);
  } finally {
    await engine.close();
  }
}

async function benchSiglip(server, { browser, variant, dtype }) {
  const file = packed(dtype);
  const size = readFileSync(file).length;
  return inFreshPage(browser, `${server.url}tests/web/blank.html`, async (page) => {
    const loaded = await page.evaluate(
      async ({ src, variant }) => {
        const el = document.createElement('siglip-classifier');
        el.load = 'eager'; // at once, without the download prompt
        const t0 = performance.now();
        const loaded = new Promise((resolve, reject) => {
          el.addEventListener('load', (e) => resolve(e.detail));
          el.addEventListener('error', (e) => reject(e.detail.error));
        });
        el.setAttribute('variant', variant);
        el.setAttribute('src', src);
        document.body.append(el);
        try {
          const detail = await loaded;
          const loadMs = performance.now() - t0;
          // The background cache write ends before anything is timed.
          const stored = await el.cached;
          const cacheWriteMs = performance.now() - t0 - loadMs;
          return { detail: JSON.parse(JSON.stringify(detail)), loadMs, stored, cacheWriteMs, isolated: self.crossOriginIsolated };
        } catch (e) {
          return { error: String(e?.message ?? e), isolated: self.crossOriginIsolated };
        }
      },
      { src: urlPath(file), variant },
    );
    if (loaded.error) return { unavailable: `load failed: ${loaded.error}` };
    const build = loaded.detail.build;
    if (!build) {
      // A build without variants: only its one (simd128) build exists.
      if (variant !== 'simd128') return { unavailable: 'this build has no variants (load event without detail.build)' };
    } else if (build.variant !== variant) {
      return { unavailable: `asked for ${variant}, the element ran ${build.variant}${loaded.isolated ? '' : ' (page not cross-origin isolated)'}` };
    }
    const result = await page.evaluate(
      async ({ runs, labels, template, helpers }) => {
        const { testImage } = await import(helpers);
        const el = document.querySelector('siglip-classifier');
        const texts = labels.map((l) => template.replace('{}', l));
        // The checkpoint's own path (auto), then the masked one; each mode has its own label cache.
        let t = performance.now();
        await el.embedText(texts);
        const textMsPerLabel = (performance.now() - t) / labels.length;
        el.textMasking = 'padding';
        t = performance.now();
        await el.embedText(texts);
        const textMaskedMsPerLabel = (performance.now() - t) / labels.length;
        el.textMasking = 'auto';
        const blob = await testImage();
        el.setAttribute('template', template);
        el.labels = labels;
        await el.classify(blob); // label embeddings computed and cached here
        await el.classify(blob);
        const imageMs = [];
        for (let i = 0; i < runs + 1; i++) {
          t = performance.now();
          await el.classify(blob);
          imageMs.push(performance.now() - t);
        }
        const stats = await el.client.stats?.();
        return { textMsPerLabel, textMaskedMsPerLabel, imageMs, wasmMemoryBytes: stats?.wasmMemoryBytes };
      },
      { runs: RUNS, labels: labelList(), template: TEMPLATE, helpers: BENCH_PAGE },
    );
    const live = await liveFps(page);
    const d = loaded.detail;
    return {
      threads: build?.threads ?? 1,
      build: build ?? { variant: 'simd128 (default build, no detail.build)', simd: d.simd, threads: 1 },
      cross_origin_isolated: loaded.isolated,
      file_mb: size / 1e6,
      load_init_s: loaded.loadMs / 1000,
      worker_load_s: d.ms / 1000,
      load_phases_ms: { ...d.timings, ...(loaded.stored ? { cacheWriteAfterLoadMs: loaded.cacheWriteMs } : {}) },
      text_per_label_ms: result.textMsPerLabel,
      text_path: checkpointTextPath(),
      text_masked_per_label_ms: result.textMaskedMsPerLabel,
      image_first_ms: result.imageMs[0],
      image_median_ms: median(result.imageMs.slice(1)),
      image_runs_ms: result.imageMs,
      live_fps: live.fps,
      live_fps_source: live.source,
      renderer_peak_rss_mb: rendererPeakMb(),
      wasm_memory_mb: result.wasmMemoryBytes != null ? result.wasmMemoryBytes / 1e6 : null,
      page_errors: page.problems,
    };
  }, true);
}

/**
 * Live mode on the browser's fake webcam for --live-seconds (bench-page.mjs's liveFps): `{fps,
 * source}`, fps null with the reason in `source` when it was not measured or failed.
 */
async function liveFps(page) {
  if (LIVE_SECONDS <= 0) return { fps: null, source: 'not measured (--live-seconds 0)' };
  try {
    const fps = await page.evaluate(async ({ helpers, seconds }) => (await import(helpers)).liveFps(seconds), { helpers: BENCH_PAGE, seconds: LIVE_SECONDS });
    return { fps, source: 'fake webcam, live mode' };
  } catch (e) {
    return { fps: null, source: `failed: ${firstLine(e)}` };
  }
}

function labelList() {
  return Array.from({ length: N_LABELS }, (_, i) => `${WORDS[i % WORDS.length]} ${i}`);
}

async function benchTjs(server, { browser, threads, dtype }) {
  const tjsDtype = dtype === 'f32' ? 'fp32' : dtype;
  return inFreshPage(browser, `${server.url}tests/bench/blank.html`, async (page) => {
    const common = {
      lib: urlPath(path.join(TJS_DIST, 'transformers.js')),
      setup: urlPath(path.join(ROOT, 'tests/web/tjs-page.mjs')),
      helpers: BENCH_PAGE,
      wasmPaths: urlPath(ORT_DIST) + '/',
      modelRoot: urlPath(path.dirname(ONNX_DIR)) + '/',
      model: path.basename(ONNX_DIR),
      threads,
      dtype: tjsDtype,
      labels: labelList(),
      template: TEMPLATE,
      runs: RUNS,
    };
    // Stage 1: the pipeline (load + init), run once on 1 image × the labels.
    const stage1 = await page.evaluate(async (c) => {
      const { collectWarnings, testImage } = await import(c.helpers);
      window.__warnings = collectWarnings();
      const tjs = await (await import(c.setup)).loadTransformers(c);
      const { env } = tjs;
      window.__tjs = tjs;
      let t = performance.now();
      const pipe = await tjs.pipeline('zero-shot-image-classification', c.model, { dtype: c.dtype, device: 'wasm' });
      const loadMs = performance.now() - t;
      const image = await tjs.RawImage.fromBlob(await testImage());
      t = performance.now();
      const out = await pipe(image, c.labels, { hypothesis_template: c.template });
      const pipelineMs = performance.now() - t;
      window.__pipe = pipe;
      return {
        loadMs, pipelineMs, top: out[0], isolated: self.crossOriginIsolated,
        numThreads: env.backends.onnx.wasm.numThreads, ortVersion: env.versions?.onnx ?? env.backends.onnx.versions?.web,
        tjsVersion: env.version,
      };
    }, common);
    const pipelinePeak = rendererPeakMb();
    // Stage 2: the towers on their own, as an app that caches label embeddings runs them.
    const stage2 = await page.evaluate(async (c) => {
      const { remoteRequests, testImage } = await import(c.helpers);
      const tjs = window.__tjs;
      await window.__pipe.dispose();
      const opts = { dtype: c.dtype, device: 'wasm' };
      const tokenizer = await tjs.AutoTokenizer.from_pretrained(c.model);
      const textModel = await tjs.SiglipTextModel.from_pretrained(c.model, opts);
      const processor = await tjs.AutoProcessor.from_pretrained(c.model);
      const visionModel = await tjs.SiglipVisionModel.from_pretrained(c.model, opts);
      const logit = await (await fetch(`${c.modelRoot}${c.model}/logit_params.json`)).json();
      const normalize = (data, dim) => {
        const rows = [];
        for (let i = 0; i < data.length / dim; i++) {
          const r = data.slice(i * dim, (i + 1) * dim);
          const n = Math.hypot(...r);
          rows.push(r.map((x) => x / n));
        }
        return rows;
      };
      let t = performance.now();
      const inputs = tokenizer(c.labels.map((l) => c.template.replace('{}', l)), { padding: 'max_length', truncation: true });
      const { pooler_output: textOut } = await textModel(inputs);
      const textMs = performance.now() - t;
      const dim = textOut.dims[1];
      const textEmb = normalize(textOut.data, dim);
      const blob = await testImage();
      const scale = Math.exp(logit.logit_scale);
      const classify = async () => {
        const image = await tjs.RawImage.fromBlob(blob);
        const { pixel_values } = await processor(image);
        const { pooler_output } = await visionModel({ pixel_values });
        const [img] = normalize(pooler_output.data, dim);
        return textEmb.map((tv) => 1 / (1 + Math.exp(-(scale * tv.reduce((s, x, k) => s + x * img[k], 0) + logit.logit_bias))));
      };
      await classify();
      await classify();
      const imageMs = [];
      for (let i = 0; i < c.runs + 1; i++) {
        t = performance.now();
        await classify();
        imageMs.push(performance.now() - t);
      }
      const notes = [...window.__warnings, ...remoteRequests().map((url) => `remote request: ${url}`)];
      return { textMs, textShape: inputs.input_ids.dims, imageMs, notes };
    }, common);
    const imageMedian = median(stage2.imageMs.slice(1));
    return {
      threads: stage1.numThreads,
      threads_asked: threads,
      cross_origin_isolated: stage1.isolated,
      versions: { transformers: stage1.tjsVersion, onnxruntime_web: stage1.ortVersion },
      load_init_s: stage1.loadMs / 1000,
      pipeline_ms: stage1.pipelineMs,
      text_per_label_ms: stage2.textMs / N_LABELS,
      text_input_shape: stage2.textShape,
      image_first_ms: stage2.imageMs[0],
      image_median_ms: imageMedian,
      image_runs_ms: stage2.imageMs,
      live_fps: imageMedian ? 1000 / imageMedian : null,
      live_fps_source: 'computed: 1000 / image_median_ms (no webcam widget)',
      renderer_peak_rss_mb: pipelinePeak,
      renderer_peak_rss_all_mb: rendererPeakMb(),
      page_errors: [...page.problems, ...stage2.notes],
    };
  });
}

/**
 * If a wasm build exports kernelBench (the Rust side's kernel micro-benchmark), run it once in
 * each browser (a build the browser cannot run gives `{error}`).
 */
async function kernelBenches(server) {
  const out = [];
  const builds = readdirSync(path.join(ROOT, 'www')).filter((d) => /^pkg/.test(d)).sort().filter((dir) => {
    const js = path.join(ROOT, 'www', dir, 'siglip.js');
    return existsSync(js) && /export (async )?function kernelBench\b/.test(readFileSync(js, 'utf8'));
  });
  for (const browser of BROWSERS) {
    for (const dir of builds) {
      const url = urlPath(path.join(ROOT, 'www', dir, 'siglip.js'));
      const result = await inFreshPage(browser, `${server.url}tests/bench/blank.html`, (page) =>
        page.evaluate(async ([url, ms]) => {
          try {
            const m = await import(url);
            await m.default();
            if (m.initThreadPool) await m.initThreadPool(navigator.hardwareConcurrency);
            const r = await m.kernelBench(ms);
            return typeof r === 'string' ? r : JSON.parse(JSON.stringify(r));
          } catch (e) {
            return { error: String(e?.message ?? e) };
          }
        }, [url, KERNEL_MS]),
      ).catch((e) => ({ error: firstLine(e) }));
      out.push({ browser, build: dir, result });
      console.log(`kernelBench (${browser}, www/${dir}): ${typeof result === 'string' ? result : JSON.stringify(result)}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The schedule: one browser after the other, in each the two engines alternate; each round runs
// every configuration once.

/** @param {'chromium' | 'firefox' | 'webkit'} browser */
function browserSchedule(browser) {
  const siglipConfigs = ENGINES.includes('siglip')
    ? DTYPES.flatMap((dtype) => variantsOf(browser).map((variant) => ({ browser, engine: 'siglip', variant, dtype })))
    : [];
  const tjsConfigs = ENGINES.includes('transformers.js')
    ? DTYPES.flatMap((dtype) => TJS_THREADS.map((threads) => ({ browser, engine: 'transformers.js', variant: `ort-wasm-${threads}t`, threads, dtype })))
    : [];
  const schedule = [];
  for (let i = 0; i < Math.max(siglipConfigs.length, tjsConfigs.length); i++) {
    if (i < siglipConfigs.length) schedule.push(siglipConfigs[i]);
    if (i < tjsConfigs.length) schedule.push(tjsConfigs[i]);
  }
  return schedule;
}
const schedule = BROWSERS.flatMap(browserSchedule);
const keyOf = (c) => `${c.browser}|${c.engine}|${c.variant}|${c.dtype}`;
const withTjs = ENGINES.includes('transformers.js');

if (withTjs) {
  if (!existsSync(path.join(TJS_DIST, 'transformers.js'))) {
    console.error('missing tests/bench/node_modules: run ./build.sh bench (it installs transformers.js when selected)');
    process.exit(2);
  }
  onnxModel();
}
if (ENGINES.includes('siglip')) for (const d of DTYPES) packed(d);

const server = await startServer({ args: COI });
const runs = new Map(schedule.map((c) => [keyOf(c), []]));
let kernel = [];
try {
  if (ENGINES.includes('siglip')) kernel = await kernelBenches(server);
  // Let the load of what ran before the benchmark (build.sh's compiles) decay, for up to --settle s.
  for (let waited = 0; waited < SETTLE && os.loadavg()[0] > sampler.ownLoad + EXPECTED_LOAD + 0.5; waited += 5) {
    if (waited === 0) process.stderr.write(`==> waiting up to ${SETTLE} s for the load average (${os.loadavg()[0].toFixed(2)}) to settle\n`);
    await new Promise((r) => setTimeout(r, 5000));
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Odd rounds run the schedule backwards, so no configuration always runs first.
    const order = round % 2 ? [...schedule].reverse() : schedule;
    for (const c of order) {
      const mark = sampler.mark();
      sampler.browser = c.browser;
      sampler.rssPeak = 0;
      const load1 = os.loadavg()[0];
      const expected = sampler.ownLoad + EXPECTED_LOAD;
      const label = `${c.browser} ${c.engine} ${c.variant} ${c.dtype}`;
      process.stderr.write(`==> round ${round + 1}/${ROUNDS}: ${label} (load ${load1.toFixed(2)}, expected ${expected.toFixed(2)}) ... `);
      let r;
      try {
        r = c.engine === 'siglip' ? await benchSiglip(server, c) : await benchTjs(server, c);
      } catch (e) {
        r = { unavailable: `failed: ${firstLine(e)}` };
      }
      const others = sampler.othersSince(mark);
      const disturbed = !r.unavailable && (others > 0.5 || load1 > expected + 0.5);
      Object.assign(r, { round: round + 1, load1, load1_expected: expected, load1_after: os.loadavg()[0], others_cpu: others, disturbed });
      process.stderr.write(
        r.unavailable
          ? `unavailable: ${r.unavailable}\n`
          : `image ${r.image_median_ms?.toFixed(0)} ms, text ${r.text_per_label_ms?.toFixed(0)} ms/label, others' CPU ${others.toFixed(2)}${disturbed ? ' DISTURBED' : ''}\n`,
      );
      runs.get(keyOf(c)).push(r);
    }
  }
} finally {
  clearInterval(timer);
  await server.stop();
}

// ---------------------------------------------------------------------------------------------
// Rows: medians across rounds

const METRICS = ['image_median_ms', 'image_first_ms', 'text_per_label_ms', 'load_init_s', 'renderer_peak_rss_mb', 'live_fps',
  'worker_load_s', 'wasm_memory_mb', 'pipeline_ms', 'renderer_peak_rss_all_mb', 'text_masked_per_label_ms'];
const rows = schedule.map((c) => {
  const all = runs.get(keyOf(c));
  const ok = all.filter((r) => !r.unavailable);
  const quiet = ok.filter((r) => !r.disturbed);
  const used = quiet.length ? quiet : ok;
  const row = { browser: c.browser, engine: c.engine, variant: c.variant, dtype: c.dtype, threads: used[0]?.threads ?? c.threads ?? null, text_path: used[0]?.text_path };
  if (!ok.length) {
    Object.assign(row, Object.fromEntries(METRICS.slice(0, 6).map((m) => [m, null])));
    row.unavailable = all[0]?.unavailable ?? 'not run';
  } else {
    for (const m of METRICS) {
      const v = median(used.map((r) => r[m]));
      if (v !== null || METRICS.indexOf(m) < 6) row[m] = v;
    }
  }
  row.disturbed = ok.length > 0 && !quiet.length;
  row.rounds = all.length;
  row.rounds_used = used.length;
  row.rounds_disturbed = ok.filter((r) => r.disturbed).length;
  const first = used[0] ?? {};
  for (const k of ['build', 'file_mb', 'live_fps_source', 'cross_origin_isolated', 'threads_asked', 'versions', 'text_input_shape', 'load_phases_ms']) {
    if (first[k] !== undefined) row[k] = first[k];
  }
  row.runs = all;
  return row;
});

/** transformers.js q8 on `threads` threads (as it ran, not as asked) in `browser`: the row the ratios divide by. */
const ref = (browser, threads) =>
  rows.find((r) => r.browser === browser && r.engine === 'transformers.js' && r.dtype === 'q8' && r.threads === threads && !r.unavailable);
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
for (const r of rows) {
  const tjs1 = ref(r.browser, 1);
  const tjs2 = ref(r.browser, 2);
  r.image_vs_tjs_q8_1t = ratio(r.image_median_ms, tjs1?.image_median_ms);
  r.image_vs_tjs_q8_2t = ratio(r.image_median_ms, tjs2?.image_median_ms);
  r.text_vs_tjs_q8_1t = ratio(r.text_per_label_ms, tjs1?.text_per_label_ms);
  r.text_vs_tjs_q8_2t = ratio(r.text_per_label_ms, tjs2?.text_per_label_ms);
}

const versions = Object.fromEntries(BROWSERS.map((b) => [b, browserVersions[b] ?? null]));
const tjsPkg = path.join(ROOT, 'tests/bench/node_modules/@huggingface/transformers/package.json');
const ortPkg = path.join(ROOT, 'tests/bench/node_modules/onnxruntime-web/package.json');
const report = {
  date: new Date().toISOString(),
  command: `./build.sh bench ${argv.join(' ')}`.trim(),
  browsers: versions,
  webkit_shared_array_buffer: BROWSERS.includes('webkit') ? WEBKIT_SAB : undefined,
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model,
  transformers_js: withTjs && existsSync(tjsPkg) ? JSON.parse(readFileSync(tjsPkg, 'utf8')).version : null,
  onnxruntime_web: withTjs && existsSync(ortPkg) ? JSON.parse(readFileSync(ortPkg, 'utf8')).version : null,
  rounds: ROUNDS,
  runs_per_image: RUNS,
  labels: N_LABELS,
  template: TEMPLATE,
  disturbed_rule: 'others_cpu > 0.5 cores, or 1-min load average before the run > (this benchmark\'s own recent load + --expected-load) + 0.5',
  ratios: 'time of this row ÷ time of transformers.js q8 with 1 (2) threads in the same browser; below 1 is faster',
  kernel_bench: kernel,
  rows,
};
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(path.join(OUT_DIR, 'browser-bench.json'), JSON.stringify(report, null, 2));

const fmt = (x, d = 0) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');
const browserNames = Object.entries(versions).map(([b, v]) => v ?? `${b} (did not start)`).join('; ');
console.log(`\n${browserNames}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), full-size random base-224, local HTTP, cross-origin isolated`);
console.log(`${ROUNDS} round(s), medians; image = median of ${RUNS}; ${N_LABELS} labels; ratios = time ÷ transformers.js q8 time in the same browser (< 1 is faster)`);
if (BROWSERS.includes('webkit')) {
  console.log(WEBKIT_SAB
    ? 'WebKitGTK: SharedArrayBuffer turned on, as Safari has it on cross-origin isolated pages (--webkit-sab on)'
    : 'WebKitGTK as it comes, without SharedArrayBuffer: no threaded build, transformers.js on one thread (--webkit-sab off)');
}
if (withTjs && report.transformers_js) console.log(`transformers.js ${report.transformers_js} (onnxruntime-web ${report.onnxruntime_web})`);
console.log('');
console.log('| browser | engine | variant | dtype | threads | load+init s | text ms/label | text masked ms/label | image ms | live fps | renderer peak MB | image ÷ tjs 1t | image ÷ tjs 2t | text ÷ tjs 1t | text ÷ tjs 2t | note |');
console.log('|---------|--------|---------|-------|---------|-------------|---------------|----------------------|----------|----------|------------------|----------------|----------------|---------------|---------------|------|');
for (const r of rows) {
  const note = r.unavailable
    ? `unavailable: ${r.unavailable}`
    : [r.disturbed ? 'DISTURBED' : '', r.rounds_disturbed ? `${r.rounds_disturbed}/${r.rounds} rounds disturbed` : '',
      r.engine === 'transformers.js' ? 'fps computed' : '',
      r.threads_asked && r.threads !== r.threads_asked ? `asked for ${r.threads_asked} threads` : '',
      r.engine === 'siglip' && LIVE_SECONDS > 0 && r.live_fps === null ? `live fps ${r.live_fps_source}` : ''].filter(Boolean).join('; ');
  console.log(`| ${r.browser} | ${r.engine} | ${r.variant} | ${r.dtype} | ${r.threads ?? '–'} | ${fmt(r.load_init_s, 2)} | ${fmt(r.text_per_label_ms)} | ${fmt(r.text_masked_per_label_ms)} | ${fmt(r.image_median_ms)} | ${fmt(r.live_fps, 2)} | ${fmt(r.renderer_peak_rss_mb)} | ${fmt(r.image_vs_tjs_q8_1t, 2)} | ${fmt(r.image_vs_tjs_q8_2t, 2)} | ${fmt(r.text_vs_tjs_q8_1t, 2)} | ${fmt(r.text_vs_tjs_q8_2t, 2)} | ${note} |`);
}
for (const r of rows) if (r.load_phases_ms) console.log(`load phases (${r.browser} ${r.variant} ${r.dtype}, ms): ${JSON.stringify(r.load_phases_ms)}`);
for (const r of rows) if (r.pipeline_ms) console.log(`transformers.js ${r.browser} ${r.variant} ${r.dtype}: pipeline 1 image × ${N_LABELS} labels ${fmt(r.pipeline_ms)} ms; renderer peak with the towers loaded too ${fmt(r.renderer_peak_rss_all_mb)} MB`);
for (const r of rows) {
  for (const x of r.runs) if (x.page_errors?.length) console.log(`page messages (${r.browser} ${r.engine} ${r.variant} ${r.dtype}, round ${x.round}): ${x.page_errors.slice(0, 5).join(' | ')}`);
}
console.log(`\nwrote ${path.relative(ROOT, path.join(OUT_DIR, 'browser-bench.json'))}`);
