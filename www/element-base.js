// What <siglip-classifier> and <siglip-search> share: the model's lifecycle behind the
// `src`, `integrity`, `variant`, `worker-url`, `wasm-url`, `hub` and `dtype` attributes (a
// reference to a model shared by the page, see openModel in client.js; the `ready` and `cached`
// promises; `progress`, `load`, `cached` and `error` events; a progress bar and an error box in
// the shadow DOM) and the styles.

import { modelIdentity, openModel } from './client.js';
import { namedError, toError } from './errors.js';
import { DEFAULT_DTYPE, RELEASED } from './protocol.js';

/** @typedef {import('./protocol.js').LoadDetail} LoadDetail */

export const baseCss = `
:host { display: block; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330;
  --siglip-accent: #3b6cf6; --siglip-bg: #fff; --siglip-muted: #667085; --siglip-border: #d6dae3; max-width: 760px; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.card { background: var(--siglip-bg); border: 1px solid var(--siglip-border); border-radius: 12px; padding: 16px; display: grid; gap: 14px; }
button { font: inherit; border: 1px solid var(--siglip-border); background: #fff; border-radius: 8px; padding: 6px 12px; cursor: pointer; color: inherit; }
button:hover:not(:disabled) { border-color: var(--siglip-accent); }
button:focus-visible, input:focus-visible, [tabindex]:focus-visible { outline: 3px solid var(--siglip-accent); outline-offset: 1px; }
button:disabled { opacity: .5; cursor: default; }
button.primary { background: var(--siglip-accent); border-color: var(--siglip-accent); color: #fff; }
input[type=text], input[type=search] { flex: 1; min-width: 0; font: inherit; padding: 6px 10px; border: 1px solid var(--siglip-border); border-radius: 8px; }
.status { color: var(--siglip-muted); font-size: 12px; min-height: 1.4em; }
.error { color: #b42318; background: #fef3f2; border: 1px solid #fecdca; border-radius: 8px; padding: 8px 10px; }
progress { width: 100%; height: 8px; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const loadingMarkup = `
  <div class="loading" part="loading" hidden>
    <progress part="progress" max="1"></progress>
    <div class="status load-text" aria-live="polite"></div>
  </div>`;

export const errorMarkup = `<div class="error" part="error" role="alert" hidden></div>`;

const sheets = new Map();
function sheetFor(css) {
  let sheet = sheets.get(css);
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    sheets.set(css, sheet);
  }
  return sheet;
}

const megabytes = (n) => `${(n / 1e6).toFixed(1)} MB`;

export class SiglipElementBase extends HTMLElement {
  static modelAttributes = ['src', 'integrity', 'variant', 'worker-url', 'wasm-url', 'hub', 'dtype'];

  /** This element's reference to the shared model while one is loaded or loading (else null). */
  client = null;
  #ready = null;
  #readyState = 'pending'; // of #ready: 'pending' | 'resolved' | 'rejected'
  #settle = null;
  #loadedKey = null;
  #loadedDetail = null; // the detail `ready` resolved with for #loadedKey, once it did
  #token = 0;
  #releaseTimer = 0;
  #loadScheduled = false;

  /** @param {string} css @param {string} markup static markup only, never user data */
  constructor(css, markup) {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [sheetFor(baseCss), sheetFor(css)];
    const tpl = document.createElement('template');
    tpl.innerHTML = markup;
    root.append(tpl.content.cloneNode(true));
    this.#newReady();
  }

  /**
   * The model: the URL of a file made by `siglip quantize`, or a Hugging Face model,
   * `hf:owner/name` or `hf:owner/name@revision` (downloaded once, converted to `dtype` as it
   * arrives, then cached).
   */
  get src() { return this.getAttribute('src') ?? ''; }
  set src(v) { if (v == null) this.removeAttribute('src'); else this.setAttribute('src', v); }

  /** Optional `sha256-<base64>` the model file must match before it is used. */
  get integrity() { return this.getAttribute('integrity') ?? undefined; }
  set integrity(v) { if (v == null) this.removeAttribute('integrity'); else this.setAttribute('integrity', v); }

  /**
   * Which wasm build runs the model: `auto` (default: threads when the page is cross-origin
   * isolated, else relaxed SIMD when the browser has it, else simd128), or one of `simd128`,
   * `relaxed`, `threads` (an error if this browser cannot run it). Changing it reloads.
   */
  get variant() { return this.getAttribute('variant') || 'auto'; }
  set variant(v) { if (v == null) this.removeAttribute('variant'); else this.setAttribute('variant', v); }

  /** Where `hf:` models come from (default `https://huggingface.co`; a mirror, or a test server). */
  get hub() { return this.getAttribute('hub') || undefined; }
  set hub(v) { if (v == null) this.removeAttribute('hub'); else this.setAttribute('hub', v); }

  /** What an `hf:` model is converted to: `q8` (default), `q4`, `f16` or `f32`. */
  get dtype() { return this.getAttribute('dtype') || DEFAULT_DTYPE; }
  set dtype(v) { if (v == null) this.removeAttribute('dtype'); else this.setAttribute('dtype', v); }

  /**
   * How the text tower treats padding: `auto` (default: as the transformers zero-shot pipeline
   * does for the checkpoint, masked only when its tokenizer returns an attention mask), `padding` (masked)
   * or `none` (attended to, as big_vision and open_clip). Does not reload.
   */
  get textMasking() { return this.getAttribute('text-masking') || 'auto'; }
  set textMasking(v) { if (v == null) this.removeAttribute('text-masking'); else this.setAttribute('text-masking', v); }

  /**
   * SigLIP 2 NaFlex's patch budget per image (`max-num-patches`; default: the checkpoint's, 256
   * for google/siglip2-base-patch16-naflex). More patches see more detail and take longer.
   * Fixed-resolution models ignore it. Does not reload. A value that is not a positive whole
   * number is an InputError when an image is next embedded.
   */
  get maxNumPatches() {
    const v = this.getAttribute('max-num-patches');
    return v == null || v === '' ? undefined : Number(v);
  }
  set maxNumPatches(v) { if (v == null) this.removeAttribute('max-num-patches'); else this.setAttribute('max-num-patches', String(v)); }

  /** URL of `siglip-worker.js` when it is not next to this module (a CDN, another path). */
  get workerUrl() { return this.getAttribute('worker-url') || undefined; }
  set workerUrl(v) { if (v == null) this.removeAttribute('worker-url'); else this.setAttribute('worker-url', v); }

  /** URL of a directory holding the package's `pkg/`, `pkg-relaxed/` and `pkg-threads/` wasm files, when not next to the worker. */
  get wasmUrl() { return this.getAttribute('wasm-url') || undefined; }
  set wasmUrl(v) { if (v == null) this.removeAttribute('wasm-url'); else this.setAttribute('wasm-url', v); }

  /**
   * Settles with the load of the current `src`: resolves with its LoadDetail (protocol.js), or
   * rejects with why it failed and stays rejected until a new load starts (a new `src`, or a
   * call that needs the model). Pending while no `src` is set.
   * @returns {Promise<LoadDetail>}
   */
  get ready() { return this.#ready; }

  /**
   * Resolves with whether the current model's file is in the persistent cache, once that is
   * settled: a downloaded file is written in the background after `load` (see the `cached`
   * event). False when no model is loading or the load failed.
   */
  get cached() { return this.client?.cached ?? Promise.resolve(false); }

  attributeChangedCallback(name, oldValue, value) {
    if (oldValue !== value && SiglipElementBase.modelAttributes.includes(name) && this.isConnected) this.#scheduleLoad();
  }

  connectedCallback() {
    clearTimeout(this.#releaseTimer);
    if (this.src && (!this.client || this.#loadedKey !== this.#key())) this.#scheduleLoad();
  }

  /**
   * Loads once the attributes set together have all arrived (an element upgraded with `src`,
   * `integrity` and `worker-url` loads once, with all three). `ready` turns pending at once, so
   * `el.src = url; await el.ready` waits for this load. When the model turns out to be the one
   * loaded (`variant` set to `auto`, `dtype` on a packed file), `ready` settles as that load did.
   */
  #scheduleLoad() {
    if (this.src && this.#readyState !== 'pending') this.#newReady();
    if (this.#loadScheduled) return;
    this.#loadScheduled = true;
    queueMicrotask(() => {
      this.#loadScheduled = false;
      if (!this.isConnected) return;
      // (A call that needed the model may have loaded it meanwhile.)
      if (this.#loadedKey !== this.#key() || !this.client?.alive) this.loadModel();
      else if (this.#readyState === 'pending' && this.#loadedDetail) this.#settleReady('resolve', this.#loadedDetail);
      // (Still loading: that load settles `ready`.)
    });
  }

  /**
   * Removed from the page: this element's reference to the model is released (the last one
   * frees the worker and hundreds of MB), unless the element is only being moved (connected
   * again before the next task). Put back later, it loads the model again (from the cache).
   */
  disconnectedCallback() {
    clearTimeout(this.#releaseTimer);
    this.#releaseTimer = setTimeout(() => {
      if (!this.isConnected) this.dispose();
    }, 0);
  }

  /**
   * Releases the model (the worker ends when no other element or classifier uses it); `ready`
   * rejects with an AbortError until the element loads again, when used or when `src` changes.
   */
  dispose() {
    this.client?.release();
    this.client = null;
    this.#loadedKey = null;
    this.#loadedDetail = null;
    this.#token++;
    this.shadowRoot.querySelector('.loading').hidden = true;
    if (this.src) this.#settleReady('reject', namedError('AbortError', RELEASED));
    else if (this.#readyState !== 'pending') this.#newReady(); // no src: waits for one
    this.onModelChanged();
  }

  /** Called when the model is replaced or dropped (subclasses forget cached embeddings). */
  onModelChanged() {}

  #newReady() {
    this.#readyState = 'pending';
    this.#ready = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.#ready.catch(() => {}); // failures are reported through `error`
  }

  /** Settles `ready`; a settled one is replaced, so `ready` always reflects the latest load. */
  #settleReady(how, value) {
    if (this.#readyState !== 'pending') this.#newReady();
    this.#readyState = how === 'resolve' ? 'resolved' : 'rejected';
    this.#settle[how](value);
  }

  /** The options that choose the model. */
  #modelOptions() {
    const { src, integrity, variant, workerUrl, wasmUrl, hub, dtype } = this;
    return { src, integrity, variant, workerUrl, wasmUrl, hub, dtype };
  }

  /** Which model the attributes choose (modelIdentity in client.js): a load is due when it changes. */
  #key() {
    try {
      return modelIdentity(this.#modelOptions()).key;
    } catch {
      return `unparsable ${JSON.stringify(this.#modelOptions())}`; // a bad URL: its load fails and says why
    }
  }

  /** Waits for the model, starting its load if needed (also after a failed one). */
  async requireReady() {
    if (!this.src) throw namedError('StateError', 'no model: set the `src` attribute to a model file');
    if (!this.client?.alive || this.#loadedKey !== this.#key()) this.loadModel();
    return this.#ready;
  }

  /** The model handle once loaded (an AbortError if the element let go of it meanwhile). */
  async requireModel() {
    await this.requireReady();
    if (!this.client) throw namedError('AbortError', RELEASED);
    return this.client;
  }

  loadModel() {
    const src = this.src;
    const token = ++this.#token;
    this.client?.release();
    this.client = null;
    this.#loadedKey = null;
    this.#loadedDetail = null;
    const root = this.shadowRoot;
    const loading = root.querySelector('.loading');
    if (!src) {
      // No model: nothing to hold; `ready` waits for the next `src`.
      loading.hidden = true;
      if (this.#readyState !== 'pending') this.#newReady();
      this.onModelChanged();
      return;
    }
    // A settled `ready` (the last load's) is replaced by a pending one; a pending one is kept,
    // so whoever awaits it gets this load's outcome.
    if (this.#readyState !== 'pending') this.#newReady();
    this.onModelChanged();
    const progress = root.querySelector('.loading progress');
    const text = root.querySelector('.load-text');
    loading.hidden = false;
    progress.removeAttribute('value');
    text.textContent = 'Loading model…';
    this.clearError();
    let handle;
    try {
      handle = this.#open(token, progress, text);
    } catch (err) {
      // A bad URL, or a worker the browser refuses to start (e.g. cross-origin): a failed load.
      loading.hidden = true;
      this.#settleReady('reject', this.fail(err));
      return;
    }
    this.client = handle;
    this.#loadedKey = this.#key();
    handle.ready.then(
      (result) => {
        if (token !== this.#token) return;
        loading.hidden = true;
        const { info, fromCache, caching, simd, build, ms, timings, commit } = result;
        /** @type {LoadDetail} */
        const detail = { info, fromCache, caching, simd, build, ms, timings, commit };
        this.#loadedDetail = detail;
        this.#settleReady('resolve', detail);
        this.onModelLoaded(detail);
        this.dispatchEvent(new CustomEvent('load', { detail }));
        // A downloaded model is written to the persistent cache after `load`: `cached` says
        // when that is settled (at once for a model read from the cache).
        handle.cached.then((stored) => {
          if (token !== this.#token) return;
          this.onModelCached(stored);
          this.dispatchEvent(new CustomEvent('cached', { detail: { stored } }));
        });
      },
      (err) => {
        if (token !== this.#token) return;
        loading.hidden = true;
        // A failed load must not poison the next attempt: the next use loads again.
        handle.release();
        if (this.client === handle) this.client = null;
        this.#loadedKey = null;
        this.#settleReady('reject', this.fail(err));
      },
    );
  }

  #open(token, progress, text) {
    return openModel({
      ...this.#modelOptions(),
      onProgress: ({ loaded, total, fromCache, converting }) => {
        if (token !== this.#token) return;
        if (total) {
          progress.value = loaded / total;
          const what = fromCache ? 'Reading the cached model' : converting ? `Downloading and converting the model to ${this.dtype}` : 'Downloading the model';
          text.textContent = `${what}… ${Math.floor((100 * loaded) / total)}% (${megabytes(loaded)} of ${megabytes(total)})`;
        } else {
          text.textContent = `Downloading the model… ${megabytes(loaded)}`;
        }
        this.dispatchEvent(new CustomEvent('progress', { detail: { loaded, total, fromCache, converting } }));
      },
    });
  }

  /** Called once a model is ready. */
  onModelLoaded(_detail) {}

  /** Called once the model file's place in the persistent cache is settled (after load). */
  onModelCached(_stored) {}

  /** Shows an error in the element and dispatches `error`; returns it as a real Error. */
  fail(err) {
    const error = toError(err);
    if (error.name === 'AbortError') return error;
    const box = this.shadowRoot.querySelector('.error');
    box.textContent = error.message;
    box.hidden = false;
    this.dispatchEvent(new CustomEvent('error', { detail: { error } }));
    return error;
  }

  clearError() {
    const box = this.shadowRoot.querySelector('.error');
    box.hidden = true;
    box.textContent = '';
  }
}

/** Makes `el` accept dropped files: shows `.over` while dragging, calls `onDrop(dataTransfer)`. */
export function dropZone(el, onDrop) {
  el.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    el.classList.add('over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (ev) => {
    ev.preventDefault();
    el.classList.remove('over');
    if (ev.dataTransfer) onDrop(ev.dataTransfer);
  });
}

/** Formats a probability as a percentage with sensible precision. */
export function formatPercent(score) {
  const p = score * 100;
  if (p >= 10) return `${p.toFixed(1)}%`;
  if (p >= 0.1) return `${p.toFixed(2)}%`;
  return `${p.toPrecision(2)}%`;
}
