// <siglip-classifier>: zero-shot classification in a page. A custom element with a shadow DOM
// UI (file picker, drag and drop, paste, webcam with live mode, editable labels, results as
// bars) and a JS API (ready, cached, classify, embedImage, embedText, rank, dispose); the model
// attributes and its lifecycle come from element-base.js. All model work happens in the worker
// (client.js); label text is only ever set as textContent, never parsed as HTML.

import { SiglipElementBase, defineElement, dropZone, errorMarkup, formatPercent, loadingMarkup, reflect } from './element-base.js';
import { namedError } from './errors.js';
import { DEFAULT_TEMPLATE } from './protocol.js';

export { DEFAULT_TEMPLATE };

/** The classifier's own reflected attribute (see REFLECTED in element-base.js). */
const TEMPLATE = [
  /** Text template; `{}` is the label. Default `This is a photo of {}.` Does not reload. */
  { property: 'template', attribute: 'template', kind: 'string', default: DEFAULT_TEMPLATE, reloads: false },
];

const css = `
.top { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
@media (max-width: 640px) { .top { grid-template-columns: 1fr; } }
.drop { position: relative; aspect-ratio: 1; border: 2px dashed var(--siglip-border); border-radius: 10px; display: grid;
  place-items: center; text-align: center; color: var(--siglip-muted); cursor: pointer; overflow: hidden; background: #f7f8fb; }
.drop:focus-visible { outline: 3px solid var(--siglip-accent); outline-offset: 2px; }
.drop.over { border-color: var(--siglip-accent); background: #eef3ff; }
.drop img, .drop video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; background: #111; }
.hint { padding: 16px; }
.controls { margin-top: 10px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.fps { color: var(--siglip-muted); font-variant-numeric: tabular-nums; }
.labels { display: grid; gap: 8px; align-content: start; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; list-style: none; margin: 0; padding: 0; }
.chip { display: inline-flex; align-items: center; gap: 4px; background: #eef1f7; border-radius: 999px; padding: 2px 4px 2px 10px; max-width: 100%; }
.chip span { overflow-wrap: anywhere; }
.chip button { border: 0; background: transparent; padding: 0 6px; border-radius: 999px; line-height: 1.4; }
form { display: flex; gap: 6px; }
.results { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; }
.result { display: grid; grid-template-columns: minmax(8ch, 40%) 1fr 7ch; gap: 8px; align-items: center; }
.result .name { overflow-wrap: anywhere; }
.track { height: 10px; background: #eef1f7; border-radius: 999px; overflow: hidden; }
.bar { display: block; height: 100%; width: 0; background: var(--siglip-accent); border-radius: 999px; transition: width .15s; }
.pct { text-align: right; font-variant-numeric: tabular-nums; }
`;

const markup = `
<div class="card" part="container">${loadingMarkup}
  <div class="top">
    <div>
      <div class="drop" part="dropzone" tabindex="0" role="button"
           aria-label="Image: choose a file, drop one here, or paste one">
        <div class="hint">Drop, paste or <u>choose</u> an image</div>
        <img part="preview" alt="" hidden>
        <video part="preview" playsinline muted hidden></video>
      </div>
      <input class="file sr" type="file" accept="image/*" tabindex="-1" aria-hidden="true">
      <div class="controls" part="controls">
        <button type="button" class="choose">Choose image…</button>
        <button type="button" class="camera" aria-pressed="false">Start camera</button>
        <button type="button" class="capture" hidden>Classify frame</button>
        <button type="button" class="live" aria-pressed="false" hidden>Live</button>
        <span class="fps" aria-live="off"></span>
      </div>
    </div>
    <div class="labels" part="labels">
      <strong id="labels-title">Labels</strong>
      <ul class="chips" aria-labelledby="labels-title"></ul>
      <form class="add">
        <input type="text" part="input" aria-label="New label" placeholder="Add a label…" autocomplete="off">
        <button type="submit">Add</button>
      </form>
      <ol class="results" part="results" aria-label="Scores, highest first"></ol>
      <div class="status result-text" part="status" role="status"></div>
    </div>
  </div>
  ${errorMarkup}
</div>
`;

function parseLabels(value) {
  return (value ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
}

export class SiglipClassifier extends SiglipElementBase {
  static observedAttributes = [...SiglipElementBase.observedAttributes, 'labels', ...TEMPLATE.map((r) => r.attribute)];
  /** Whether the loaded model is SigLIP 2 NaFlex (its grid is shown with each result). */
  #naflex = false;

  #labels = [];
  #embedding = null; // the shown image's embedding: label edits only re-run the text tower
  #objectUrl = null;
  #stream = null;
  #live = false;
  #busy = false;
  #els = {};
  #readyText = ''; // the load status shown, until a result replaces it
  #onPaste = (e) => this.#paste(e);

  constructor() {
    super(css, markup);
    const root = this.shadowRoot;
    const $ = (s) => root.querySelector(s);
    this.#els = {
      drop: $('.drop'), hint: $('.hint'), img: $('img'), video: $('video'), file: $('.file'),
      choose: $('.choose'), camera: $('.camera'), capture: $('.capture'), live: $('.live'), fps: $('.fps'),
      chips: $('.chips'), form: $('.add'), input: $('input[type=text]'),
      results: $('.results'), resultText: $('.result-text'),
    };
    this.#wire();
  }

  // ---- attributes and properties -------------------------------------------------------

  /** Labels to score (attribute: comma-separated; property: array of strings). */
  get labels() { return [...this.#labels]; }
  set labels(v) {
    this.#labels = Array.isArray(v) ? v.map(String).map((l) => l.trim()).filter(Boolean) : parseLabels(String(v ?? ''));
    this.#renderChips();
    this.#rescore();
  }

  attributeChangedCallback(name, oldValue, value) {
    if (oldValue === value) return;
    if (name === 'labels') {
      this.labels = parseLabels(value);
    } else if (name === 'template' || name === 'text-masking') {
      this.#rescore();
    } else {
      super.attributeChangedCallback(name, oldValue, value);
    }
  }

  connectedCallback() {
    document.addEventListener('paste', this.#onPaste);
    super.connectedCallback();
  }

  disconnectedCallback() {
    document.removeEventListener('paste', this.#onPaste);
    this.#stopCamera();
    super.disconnectedCallback();
  }

  onModelChanged() {
    this.#embedding = null;
  }

  onModelLoaded(detail) {
    this.#naflex = detail.info.model_type === 'siglip2';
    const ready = `Model ready (${detail.info.dtype}, ${Math.round(detail.ms)} ms${detail.fromCache ? ', from cache' : ''})`;
    this.#readyText = detail.caching ? `${ready}; saving it for offline use…` : `${ready}.`;
    this.#els.resultText.textContent = this.#readyText;
  }

  onModelCached(stored) {
    // Only while the status still shows the load (a result may have replaced it meanwhile).
    if (!this.#readyText.endsWith('…') || this.#els.resultText.textContent !== this.#readyText) return;
    const ready = this.#readyText.slice(0, this.#readyText.indexOf(';'));
    this.#els.resultText.textContent = stored
      ? `${ready}; saved for offline use.`
      : `${ready}; not saved for offline use (this browser's storage refused it).`;
  }

  // ---- public API -----------------------------------------------------------------------

  /**
   * Classifies an image (Blob/File, ImageBitmap, ImageData, <img>, <canvas>, <video> or URL)
   * against `labels` (default: the element's labels). Shows and returns the results,
   * `[{label, score, logit}]`, highest score first. Each method takes `{signal}` last: an
   * AbortSignal that cancels the call (an AbortError; the model stays usable).
   */
  classify(image, labels = this.#labels, { signal } = {}) {
    return this.reported(async () => {
      if (!labels || labels.length === 0) throw namedError('InputError', 'no labels given; add at least one label');
      const model = await this.requireModel();
      const { results, embedding, grid, ms } = await model.classify(image, labels, this.template, this.textMasking, this.maxNumPatches, signal);
      if (labels === this.#labels || sameList(labels, this.#labels)) this.#embedding = embedding;
      this.#showResults(results, ms, grid);
      this.dispatchEvent(new CustomEvent('result', { detail: { results, ms, grid } }));
      return results;
    });
  }

  /** L2-normalized image embedding (Float32Array). */
  embedImage(image, { signal } = {}) {
    return this.reported(async () => (await (await this.requireModel()).embedImage(image, this.maxNumPatches, signal)).embedding);
  }

  /** L2-normalized embeddings of texts used verbatim (no template): one Float32Array each. */
  embedText(texts, { signal } = {}) {
    return this.reported(async () => (await this.requireModel()).textEmbeddings(texts, this.textMasking, signal));
  }

  /**
   * Ranks images for a text query (used verbatim): `[{index, score, logit}]`, best first.
   * Images may be sources or embeddings from embedImage().
   */
  rank(query, images, { signal } = {}) {
    return this.reported(async () => (await this.requireModel()).rankImages(query, images, this.textMasking, this.maxNumPatches, signal));
  }

  /** Stops the webcam and frees the worker and the model. The element loads again when used. */
  dispose() {
    this.#stopCamera();
    super.dispose();
  }

  // ---- UI ---------------------------------------------------------------------------------

  #wire() {
    const e = this.#els;
    const pick = () => e.file.click();
    e.choose.addEventListener('click', pick);
    e.drop.addEventListener('click', () => {
      if (!this.#stream) pick();
    });
    e.drop.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        if (!this.#stream) pick();
      }
    });
    e.file.addEventListener('change', () => {
      const f = e.file.files?.[0];
      if (f) this.#classifyFile(f);
      e.file.value = '';
    });
    dropZone(e.drop, (dt) => {
      const file = [...dt.files].find((f) => f.type.startsWith('image/')) ?? dt.files[0];
      const url = dt.getData('text/uri-list')?.split('\n').find((l) => l && !l.startsWith('#'));
      if (file) this.#classifyFile(file);
      else if (url) this.#classifyFile(url.trim());
    });
    e.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const value = e.input.value.trim();
      if (!value) return;
      if (!this.#labels.includes(value)) this.labels = [...this.#labels, value];
      e.input.value = '';
    });
    e.camera.addEventListener('click', () => (this.#stream ? this.#stopCamera() : this.#startCamera()));
    e.capture.addEventListener('click', () => this.#classifyFrame());
    e.live.addEventListener('click', () => this.#setLive(!this.#live));
  }

  #paste(ev) {
    // Only when the paste is aimed at this element (or at nothing in particular).
    const target = ev.composedPath()[0];
    const editable = target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA)$/.test(target.tagName));
    if (editable && target !== this) return;
    const file = [...(ev.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) {
      ev.preventDefault();
      this.#classifyFile(file);
    }
  }

  #showPreview(source) {
    const { img, video, hint } = this.#els;
    if (this.#objectUrl) URL.revokeObjectURL(this.#objectUrl);
    this.#objectUrl = null;
    if (source === 'video') {
      img.hidden = true;
      video.hidden = false;
      hint.hidden = true;
      return;
    }
    video.hidden = true;
    if (source instanceof Blob) {
      this.#objectUrl = URL.createObjectURL(source);
      img.src = this.#objectUrl;
    } else {
      img.src = String(source);
    }
    img.hidden = false;
    hint.hidden = true;
  }

  async #classifyFile(file) {
    if (this.#stream) this.#stopCamera();
    this.#showPreview(file);
    try {
      await this.classify(file);
    } catch {
      // shown in the element and dispatched as `error` already
    }
  }

  #renderChips() {
    const { chips } = this.#els;
    chips.replaceChildren(
      ...this.#labels.map((label) => {
        const li = document.createElement('li');
        li.className = 'chip';
        li.part = 'label-chip';
        const span = document.createElement('span');
        span.textContent = label;
        span.title = label;
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.textContent = '×';
        remove.setAttribute('aria-label', `Remove label ${label}`);
        remove.addEventListener('click', () => {
          this.labels = this.#labels.filter((l) => l !== label);
        });
        li.append(span, remove);
        return li;
      }),
    );
  }

  async #rescore() {
    if (!this.#embedding || !this.client || this.#live) return;
    if (this.#labels.length === 0) {
      this.#els.results.replaceChildren();
      return;
    }
    try {
      const embedding = this.#embedding;
      const { results, ms } = await (await this.requireModel()).score(embedding, this.#labels, this.template, this.textMasking);
      this.#showResults(results, ms, null, true);
      this.dispatchEvent(new CustomEvent('result', { detail: { results, ms } }));
    } catch (err) {
      this.fail(err);
    }
  }

  #showResults(results, ms, grid = null, textOnly = false) {
    this.clearError();
    const rows = results.map(({ label, score }) => {
      const li = document.createElement('li');
      li.className = 'result';
      li.part = 'result';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = label;
      name.title = label;
      const track = document.createElement('span');
      track.className = 'track';
      track.setAttribute('aria-hidden', 'true');
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.part = 'bar';
      bar.style.width = `${Math.max(0, Math.min(100, score * 100)).toFixed(2)}%`;
      track.append(bar);
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = formatPercent(score);
      li.append(name, track, pct);
      return li;
    });
    this.#els.results.replaceChildren(...rows);
    // The status is a polite live region: screen readers hear the best label with each new
    // result (not in live mode, where it would speak over itself; see #setLive).
    const top = results[0] ? ` Best: ${results[0].label}, ${formatPercent(results[0].score)}.` : '';
    // NaFlex keeps the image's aspect ratio: say which grid of patches it became.
    const patches = this.#naflex && grid ? ` Grid: ${grid[0]} × ${grid[1]} patches.` : '';
    this.#els.resultText.textContent = `${textOnly ? 'Labels scored' : 'Image classified'} in ${Math.round(ms)} ms.${patches}${top}`;
  }

  // ---- webcam -------------------------------------------------------------------------------

  async #startCamera() {
    const e = this.#els;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.fail(namedError('CameraError', 'this browser (or an insecure http: page) offers no camera access'));
      return;
    }
    e.camera.disabled = true;
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      e.video.srcObject = this.#stream;
      await e.video.play();
      this.#showPreview('video');
      e.camera.textContent = 'Stop camera';
      e.camera.setAttribute('aria-pressed', 'true');
      e.capture.hidden = false;
      e.live.hidden = false;
      this.clearError();
    } catch (err) {
      this.#stopCamera();
      const denied = err?.name === 'NotAllowedError' || err?.name === 'SecurityError';
      const message = denied
        ? 'Camera access was denied. Allow the camera for this site, or choose an image instead.'
        : `The camera could not be started: ${err?.message ?? err}`;
      this.fail(namedError('CameraError', message));
    } finally {
      e.camera.disabled = false;
    }
  }

  #stopCamera() {
    this.#setLive(false);
    const e = this.#els;
    this.#stream?.getTracks().forEach((t) => t.stop());
    this.#stream = null;
    e.video.srcObject = null;
    e.video.hidden = true;
    e.camera.textContent = 'Start camera';
    e.camera.setAttribute('aria-pressed', 'false');
    e.capture.hidden = true;
    e.live.hidden = true;
    e.fps.textContent = '';
    if (e.img.hidden) e.hint.hidden = false;
  }

  async #classifyFrame() {
    if (!this.#stream || this.#busy) return;
    this.#busy = true;
    try {
      await this.classify(this.#els.video);
    } catch {
      // shown already
    } finally {
      this.#busy = false;
    }
  }

  #setLive(on) {
    this.#live = on && !!this.#stream;
    const e = this.#els;
    e.live.setAttribute('aria-pressed', String(this.#live));
    e.live.classList.toggle('primary', this.#live);
    // A result per frame is not read out; the status speaks again when live mode stops.
    if (this.#live) e.resultText.setAttribute('aria-live', 'off');
    else e.resultText.removeAttribute('aria-live');
    if (!this.#live) {
      e.fps.textContent = '';
      return;
    }
    const loop = async () => {
      let last = performance.now();
      let fps = 0;
      while (this.#live && this.#stream) {
        try {
          await this.classify(this.#els.video);
        } catch {
          this.#setLive(false); // an error stops live mode; it is shown in the element
          return;
        }
        const now = performance.now();
        const instant = 1000 / Math.max(1, now - last);
        fps = fps ? fps * 0.7 + instant * 0.3 : instant;
        last = now;
        e.fps.textContent = `${fps.toFixed(1)} fps`;
        this.dataset.fps = fps.toFixed(2);
        await new Promise((r) => requestAnimationFrame(r));
      }
    };
    loop();
  }
}

function sameList(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

reflect(SiglipClassifier, TEMPLATE);

defineElement('siglip-classifier', SiglipClassifier);
