// What <siglip-classifier> and <siglip-search> share: the attributes reflected as properties
// (one table, REFLECTED), the model's lifecycle behind the ones that choose the model (a
// reference to a model shared by the page, see openModel in client.js; the `ready` and `cached`
// promises; `progress`, `load`, `cached`, `prompt` and `error` events; the question before a
// download that is not cached (load="on-demand"), a progress bar and an error box in the shadow
// DOM) and the styles.

import { plannedDownload } from './cache.js';
import { isModelOpen, modelIdentity, openModel } from './client.js';
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
.ask { display: grid; gap: 10px; justify-items: start; }
.ask p { margin: 0; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const loadingMarkup = `
  <div class="ask" part="ask" hidden>
    <p class="ask-text" id="ask-text"></p>
    <button type="button" class="primary ask-button" part="ask-button" aria-describedby="ask-text">Download the model</button>
  </div>
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
/** A download's size as people say it: 1.2 GB, 813 MB, 4.7 MB, 350 kB. */
const size = (n) =>
  n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e8 ? `${Math.round(n / 1e6)} MB` : n >= 1e6 ? megabytes(n) : `${Math.max(1, Math.round(n / 1e3))} kB`;

/**
 * The prompt's sentence for a download (plannedDownload in cache.js), e.g.
 * "google/siglip-base-patch16-224 from huggingface.co: 813 MB, converted to q8 (about 239 MB) on this device".
 * @param {{name: string, from: string, bytes: number | null, dtype: string | null, convertedBytes: number | null}} plan
 */
function describeDownload({ name, from, bytes, dtype, convertedBytes }) {
  const converted = dtype ? `, converted to ${dtype}${convertedBytes ? ` (about ${size(convertedBytes)})` : ''} on this device` : '';
  return `${name} from ${from}: ${bytes ? size(bytes) : 'size unknown'}${converted}`;
}

/**
 * An attribute reflected as a property (see reflect): its getter returns the attribute's value,
 * or `default` when the attribute is absent or empty (`number`: the value as a Number); setting
 * null or undefined removes the attribute, anything else sets it (as a string). `reloads`: the
 * attribute chooses the model (see modelIdentity in client.js), so changing it loads again;
 * the others apply from the next call.
 * `boolean`: `"false"` is false, anything else the default (as `spellcheck="false"`).
 * @typedef {{property: string, attribute: string, kind: 'string' | 'number' | 'boolean', default: unknown, reloads: boolean}} Reflected
 */

/**
 * The attributes both elements reflect (index.d.ts declares each property, with these docs).
 * @type {Reflected[]}
 */
export const REFLECTED = [
  /**
   * The model: the URL of a file made by `siglip quantize`, or a Hugging Face model,
   * `hf:owner/name` or `hf:owner/name@revision` (downloaded once, converted to `dtype` as it
   * arrives, then cached).
   */
  { property: 'src', attribute: 'src', kind: 'string', default: '', reloads: true },
  /** Optional `sha256-<base64>` the model file must match before it is used. */
  { property: 'integrity', attribute: 'integrity', kind: 'string', default: undefined, reloads: true },
  /**
   * Which wasm build runs the model (VARIANTS in protocol.js): `auto` (default: the fastest this
   * page can run), or a build, which is an error if this browser cannot run it.
   */
  { property: 'variant', attribute: 'variant', kind: 'string', default: 'auto', reloads: true },
  /** Where `hf:` models come from (default `https://huggingface.co`; a mirror, or a test server). */
  { property: 'hub', attribute: 'hub', kind: 'string', default: undefined, reloads: true },
  /** What an `hf:` model is converted to (DTYPES in protocol.js; default `q8`). */
  { property: 'dtype', attribute: 'dtype', kind: 'string', default: DEFAULT_DTYPE, reloads: true },
  /**
   * How the text tower treats padding (TEXT_MASKINGS in protocol.js): `auto` (default: as the
   * transformers zero-shot pipeline does for the checkpoint), `padding` (masked) or `none`
   * (attended to, as big_vision and open_clip).
   */
  { property: 'textMasking', attribute: 'text-masking', kind: 'string', default: 'auto', reloads: false },
  /**
   * SigLIP 2 NaFlex's patch budget per image (default: the checkpoint's, 256 for
   * google/siglip2-base-patch16-naflex). More patches see more detail and take longer.
   * Fixed-resolution models ignore it. A value that is not a positive whole number is an
   * InputError when an image is next embedded.
   */
  { property: 'maxNumPatches', attribute: 'max-num-patches', kind: 'number', default: undefined, reloads: false },
  /** URL of `siglip-worker.js` when it is not next to this module (a CDN, another path). */
  { property: 'workerUrl', attribute: 'worker-url', kind: 'string', default: undefined, reloads: true },
  /** URL of a directory holding the package's `pkg/`, `pkg-relaxed/`, `pkg-threads/` and `pkg-threads-simd128/` wasm files, when not next to the worker. */
  { property: 'wasmUrl', attribute: 'wasm-url', kind: 'string', default: undefined, reloads: true },
  /**
   * `false`: the persistent model cache is neither read nor written (the model is downloaded on
   * every visit); a model opened with and without it is loaded twice (modelIdentity).
   */
  { property: 'cache', attribute: 'cache', kind: 'boolean', default: true, reloads: true },
  /**
   * When the model loads: `on-demand` (default) loads a cached model (or one the page has open)
   * at once, and otherwise shows what it would download (size, from where, converted to what) and
   * waits for a click on its button (or a method that needs the model, or `load="eager"`);
   * `eager` loads at once.
   */
  { property: 'load', attribute: 'load', kind: 'string', default: 'on-demand', reloads: false },
];

/**
 * Defines a getter and a setter on `Class.prototype` for each row (see Reflected).
 * @param {Function} Class
 * @param {Reflected[]} rows
 */
export function reflect(Class, rows) {
  for (const { property, attribute, kind, default: fallback } of rows) {
    Object.defineProperty(Class.prototype, property, {
      configurable: true,
      /** @this {HTMLElement} */
      get() {
        const value = this.getAttribute(attribute);
        if (value === null || value === '') return fallback;
        if (kind === 'boolean') return value === 'false' ? false : fallback;
        return kind === 'number' ? Number(value) : value;
      },
      /** @this {HTMLElement} */
      set(value) {
        if (value == null) this.removeAttribute(attribute);
        else this.setAttribute(attribute, String(value));
      },
    });
  }
}

/** The attributes that choose the model. */
const MODEL_ATTRIBUTES = new Set(REFLECTED.filter((r) => r.reloads).map((r) => r.attribute));

/**
 * HTMLElement where there is one; elsewhere (Node, a server-side render, a worker) a plain
 * class, so that importing the elements never throws. They are defined only where
 * `customElements` exists (defineElement).
 */
const ElementBase = /** @type {typeof HTMLElement} */ (globalThis.HTMLElement ?? class {});

/**
 * Defines the custom element `name` where the page has custom elements and it is not yet
 * defined (a second copy of the package, or a server-side render, defines nothing).
 * @param {string} name
 * @param {CustomElementConstructor} element
 */
export function defineElement(name, element) {
  if (globalThis.customElements && !customElements.get(name)) customElements.define(name, element);
}

/** The elements that ask before downloading their model: one click loads it for all of them. */
const askingElements = new Set();

export class SiglipElementBase extends ElementBase {
  static observedAttributes = REFLECTED.map((r) => r.attribute);

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
  #asking = null; // the key of the model whose download prompt is shown (or being prepared): no load yet

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
    if (oldValue !== value && MODEL_ATTRIBUTES.has(name) && this.isConnected) this.#scheduleLoad();
    // `load="eager"` set while the element asks: it loads.
    if (name === 'load' && value === 'eager' && this.#asking !== null && this.isConnected) this.loadModel();
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
      // (A call that needed the model may have loaded it meanwhile; a moved element that asks keeps asking.)
      if (this.#asking !== null && this.#asking === this.#key()) return;
      if (this.#loadedKey !== this.#key() || !this.client?.alive) this.#loadOrAsk();
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
    this.#dropModel();
    this.shadowRoot.querySelector('.loading').hidden = true;
    this.#hideAsk();
    if (this.src) this.#settleReady('reject', namedError('AbortError', RELEASED));
    else if (this.#readyState !== 'pending') this.#newReady(); // no src: waits for one
    this.onModelChanged();
  }

  /**
   * Lets the model go (released, forgotten) and makes whatever load was under way stale: its
   * callbacks see another token. Returns the new token.
   */
  #dropModel() {
    this.client?.release();
    this.client = null;
    this.#loadedKey = null;
    this.#loadedDetail = null;
    return ++this.#token;
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

  /** The options that choose the model: the properties of the attributes that reload. */
  #modelOptions() {
    return Object.fromEntries(REFLECTED.filter((r) => r.reloads).map((r) => [r.property, this[r.property]]));
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

  /**
   * Loads the model, unless `load` is `on-demand` and it is neither cached nor open on the page:
   * then shows what it would download and waits for a click (plannedDownload in cache.js), and
   * dispatches `prompt` with that. The element's own loads (a `src` set, connected) come here; a
   * call that needs the model loads at once (requireReady).
   */
  async #loadOrAsk() {
    const options = this.#modelOptions();
    // (A URL that cannot be parsed counts as open: its load fails at once and says why.)
    const open = () => {
      try {
        return isModelOpen(options);
      } catch {
        return true;
      }
    };
    if (!this.src || this.load === 'eager' || open()) return this.loadModel();
    const token = this.#dropModel();
    if (this.#readyState !== 'pending') this.#newReady();
    this.onModelChanged();
    this.shadowRoot.querySelector('.loading').hidden = true;
    this.clearError();
    this.#asking = this.#key();
    askingElements.add(this);
    const plan = await plannedDownload(options).catch(() => null); // a malformed src: its load says why
    if (token !== this.#token || this.#asking === null) return; // another load (or a dispose) came first
    if (!plan || plan.cached || open()) return this.loadModel();
    const { cached: _, ...detail } = plan;
    const root = this.shadowRoot;
    const text = describeDownload(detail);
    root.querySelector('.ask-text').textContent = text;
    const button = /** @type {HTMLButtonElement} */ (root.querySelector('.ask-button'));
    button.textContent = detail.bytes ? `Download the model (${size(detail.bytes)})` : 'Download the model';
    button.onclick = () => this.loadModel();
    root.querySelector('.ask').hidden = false;
    this.dispatchEvent(new CustomEvent('prompt', { detail: { ...detail, text } }));
  }

  #hideAsk() {
    this.#asking = null;
    askingElements.delete(this);
    this.shadowRoot.querySelector('.ask').hidden = true;
  }

  loadModel() {
    const src = this.src;
    this.#hideAsk();
    const token = this.#dropModel();
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
    // Others asking for this model load it too (it is shared: nothing more is downloaded).
    for (const other of askingElements) if (other.#asking === this.#loadedKey) other.loadModel();
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

  /**
   * Runs the body of a public method: a failure is shown in the element and dispatched as
   * `error` (see fail), then thrown as a real Error.
   * @template R
   * @param {() => Promise<R>} fn
   * @returns {Promise<R>}
   */
  async reported(fn) {
    try {
      return await fn();
    } catch (err) {
      throw this.fail(err);
    }
  }

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

reflect(SiglipElementBase, REFLECTED);

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
