// What <siglip-classifier> and <siglip-search> share: the model's lifecycle behind the
// `src` and `integrity` attributes (a worker client, the `ready` promise, `progress`, `load`
// and `error` events, a progress bar and an error box in the shadow DOM) and the styles.

import { SiglipClient } from './client.js';

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

export function namedError(name, message) {
  const err = new Error(message);
  err.name = name;
  return err;
}

function errorOf(err) {
  if (err instanceof Error) return err;
  return namedError(err?.name ?? 'Error', String(err?.message ?? err));
}

const megabytes = (n) => `${(n / 1e6).toFixed(1)} MB`;

export class SiglipElementBase extends HTMLElement {
  static modelAttributes = ['src', 'integrity', 'variant'];

  /** The worker client while a model is loaded or loading (null otherwise). */
  client = null;
  #ready = null;
  #settle = null;
  #loadedSrc = null;
  #token = 0;
  #releaseTimer = 0;

  /** @param {string} css @param {string} markup static markup only, never user data */
  constructor(css, markup) {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [sheetFor(baseCss), sheetFor(css)];
    const tpl = document.createElement('template');
    tpl.innerHTML = markup;
    root.append(tpl.content.cloneNode(true));
    this.#resetReady();
  }

  /** URL of a model file made by `siglip quantize`. */
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

  /** Resolves with `{info, fromCache, simd, build, ms, timings}` when the model for the current `src` is loaded. */
  get ready() { return this.#ready; }

  attributeChangedCallback(name, oldValue, value) {
    if (oldValue !== value && SiglipElementBase.modelAttributes.includes(name) && this.isConnected) this.loadModel();
  }

  connectedCallback() {
    clearTimeout(this.#releaseTimer);
    if (this.src && this.#loadedSrc !== this.src) this.loadModel();
  }

  /**
   * Removed from the page: the worker and the model (hundreds of MB) are freed, unless the
   * element is only being moved (connected again before the next task). Put back later, it
   * loads the model again (from the cache).
   */
  disconnectedCallback() {
    clearTimeout(this.#releaseTimer);
    this.#releaseTimer = setTimeout(() => {
      if (!this.isConnected) this.dispose();
    }, 0);
  }

  /** Frees the worker and the model; the element loads again when used or when `src` changes. */
  dispose() {
    this.client?.dispose();
    this.client = null;
    this.#loadedSrc = null;
    this.#token++;
    this.#resetReady();
    this.onModelChanged();
  }

  /** Called when the model is replaced or dropped (subclasses forget cached embeddings). */
  onModelChanged() {}

  #resetReady() {
    this.#ready = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.#ready.catch(() => {}); // failures are reported through `error`
  }

  /** Waits for the model, starting its load if needed. */
  async requireReady() {
    if (!this.src) throw namedError('StateError', 'no model: set the `src` attribute to a model file');
    if (!this.client || this.#loadedSrc !== this.src) this.loadModel();
    return this.#ready;
  }

  loadModel() {
    const src = this.src;
    if (!src) return;
    const token = ++this.#token;
    if (this.client || this.#loadedSrc !== null) {
      this.client?.dispose();
      this.client = null;
      this.#resetReady();
    }
    this.onModelChanged();
    const client = new SiglipClient();
    this.client = client;
    this.#loadedSrc = src;
    const settle = this.#settle;
    const root = this.shadowRoot;
    const loading = root.querySelector('.loading');
    const progress = root.querySelector('.loading progress');
    const text = root.querySelector('.load-text');
    loading.hidden = false;
    progress.removeAttribute('value');
    text.textContent = 'Loading model…';
    this.clearError();
    client
      .load(src, {
        integrity: this.integrity,
        variant: this.variant,
        onProgress: ({ loaded, total, fromCache }) => {
          if (token !== this.#token) return;
          if (total) {
            progress.value = loaded / total;
            const what = fromCache ? 'Reading the cached model' : 'Downloading the model';
            text.textContent = `${what}… ${Math.floor((100 * loaded) / total)}% (${megabytes(loaded)} of ${megabytes(total)})`;
          } else {
            text.textContent = `Downloading the model… ${megabytes(loaded)}`;
          }
          this.dispatchEvent(new CustomEvent('progress', { detail: { loaded, total, fromCache } }));
        },
      })
      .then(
        (result) => {
          if (token !== this.#token) return;
          loading.hidden = true;
          const { info, fromCache, simd, build, ms, timings } = result;
          const detail = { info, fromCache, simd, build, ms, timings };
          settle.resolve(detail);
          this.onModelLoaded(detail);
          this.dispatchEvent(new CustomEvent('load', { detail }));
        },
        (err) => {
          if (token !== this.#token) return;
          loading.hidden = true;
          // A failed load must not poison the next attempt.
          client.dispose();
          if (this.client === client) this.client = null;
          this.#loadedSrc = null;
          settle.reject(this.fail(err));
          this.#resetReady();
        },
      );
  }

  /** Called once a model is ready. */
  onModelLoaded(_detail) {}

  /** Shows an error in the element and dispatches `error`; returns it as a real Error. */
  fail(err) {
    const error = errorOf(err);
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
