// <siglip-search>: a photo library searched by text, by image ("more like this") or both. The
// images are a Library (library.js): kept in this browser under the `library` name and the
// model, so a reload brings the gallery back with nothing embedded again; adding a folder of
// thousands is a background job that shows its progress (done / total, images per second,
// time left) and can be paused and cancelled, and what a closed tab left unfinished is picked
// up. The page holds records and the thumbnails on show, never the images. The model
// attributes and their lifecycle come from element-base.js.

import { SiglipElementBase, defineElement, dropZone, errorMarkup, formatPercent, loadingMarkup, reflect } from './element-base.js';
import { namedError } from './errors.js';
import { Library, isLibraryImage } from './library.js';
import { RELEASED } from './protocol.js';

const css = `
.bar, .jobbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.jobbar progress { flex: 1; min-width: 120px; }
.job-text { font-variant-numeric: tabular-nums; }
.query { display: flex; gap: 8px; align-items: center; border-radius: 10px; }
.query.over { outline: 2px dashed var(--siglip-accent); outline-offset: 3px; }
.like { display: inline-flex; gap: 6px; align-items: center; background: #eef1f7; border-radius: 999px; padding: 2px 4px 2px 2px; max-width: 45%; }
.like img { width: 28px; height: 28px; border-radius: 999px; object-fit: cover; background: #111; }
.like span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: 12px; }
.like button { border: 0; background: transparent; padding: 0 6px; }
.gallery { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px;
  grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); min-height: 80px; border: 2px dashed transparent; border-radius: 10px; }
.gallery.empty { border-color: var(--siglip-border); place-items: center; color: var(--siglip-muted); }
.gallery.over { border-color: var(--siglip-accent); background: #eef3ff; }
.item { position: relative; border: 1px solid var(--siglip-border); border-radius: 10px; overflow: hidden; background: #f7f8fb; }
.item .thumb { display: block; width: 100%; aspect-ratio: 1; padding: 0; border: 0; border-radius: 0; background: #111; cursor: zoom-in; }
.item .thumb img { display: block; width: 100%; height: 100%; object-fit: cover; }
.item .thumb .none { display: grid; place-items: center; height: 100%; color: #bbb; font-size: 11px; padding: 6px; overflow-wrap: anywhere; }
.item .meta { display: flex; justify-content: space-between; gap: 6px; padding: 4px 8px; font-size: 12px; }
.item .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--siglip-muted); }
.item .score { font-variant-numeric: tabular-nums; font-weight: 600; }
.item .rank { position: absolute; top: 6px; left: 6px; background: rgba(0,0,0,.65); color: #fff; border-radius: 999px;
  padding: 0 8px; font-size: 12px; font-variant-numeric: tabular-nums; pointer-events: none; }
.item .remove { position: absolute; top: 4px; right: 4px; padding: 0 7px; border-radius: 999px; background: rgba(255,255,255,.85); opacity: 0; }
.item:hover .remove, .item .remove:focus-visible { opacity: 1; }
.more { justify-self: center; }
.warning { color: #93370d; background: #fffaeb; border: 1px solid #fedf89; border-radius: 8px; padding: 8px 10px; }
`;

const markup = `
<div class="card" part="container">${loadingMarkup}
  <div class="bar" part="controls">
    <button type="button" class="add-files">Add images…</button>
    <button type="button" class="add-folder">Add a folder…</button>
    <button type="button" class="import">Import an index…</button>
    <button type="button" class="export" disabled>Export the index</button>
    <button type="button" class="clear" disabled>Clear</button>
    <input class="files sr" type="file" accept="image/*" multiple tabindex="-1" aria-hidden="true">
    <input class="folder sr" type="file" webkitdirectory multiple tabindex="-1" aria-hidden="true">
    <input class="index-file sr" type="file" accept=".safetensors" tabindex="-1" aria-hidden="true">
  </div>
  <div class="jobbar" part="progress" hidden>
    <progress class="job-progress" max="1"></progress>
    <span class="status job-text" aria-live="polite"></span>
    <button type="button" class="pause" aria-pressed="false">Pause</button>
    <button type="button" class="cancel">Cancel</button>
  </div>
  <form class="query" role="search">
    <input type="search" part="input" aria-label="Search the images" placeholder="Describe what you are looking for, or drop an image here…" autocomplete="off">
    <span class="like" part="image-query" hidden><img alt=""><span></span><button type="button" aria-label="Search without this image">×</button></span>
  </form>
  <div class="warning" part="warning" role="status" hidden></div>
  <ol class="gallery empty" part="gallery" aria-label="Images, best match first" tabindex="0"><li>Drop images here</li></ol>
  <button type="button" class="more" hidden>Show more</button>
  <div class="status search-status" part="status" role="status"></div>
  ${errorMarkup}
</div>
`;

/** The element's own reflected attributes (see REFLECTED in element-base.js). */
const OWN = [
  /** The library's name: its images are stored in this browser under it (and the model). */
  { property: 'library', attribute: 'library', kind: 'string', default: 'default', reloads: false },
  /** Images shown at first, and added by each "Show more". */
  { property: 'pageSize', attribute: 'page-size', kind: 'number', default: 60, reloads: false },
];

/** A source the library cannot store as it is (pixels), as a PNG Blob. */
async function encoded(source) {
  if (source instanceof Blob || typeof source === 'string' || source instanceof URL) return source;
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement && source.currentSrc) return source.currentSrc;
  const width = source.width ?? source.videoWidth;
  const height = source.height ?? source.videoHeight;
  if (!width || !height) throw namedError('ImageError', 'the image has no pixels yet');
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (source instanceof ImageData) ctx.putImageData(source, 0, 0);
  else ctx.drawImage(source, 0, 0);
  return canvas.convertToBlob({ type: 'image/png' });
}

/**
 * Search hits as the `rank()` results and `result` events give them: `[{index, id, score, logit,
 * cosine}]`, `index` into the library's images in the order they were added.
 * @param {Library} library
 * @param {{id: string, score: number, logit: number, cosine: number}[]} hits
 */
function ranking(library, hits) {
  const order = new Map(library.records().map((r, i) => [r.id, i]));
  return hits.map((h) => ({ index: order.get(h.id), id: h.id, score: h.score, logit: h.logit, cosine: h.cosine }));
}

const count = (n, one, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

function duration(seconds) {
  if (!Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export class SiglipSearch extends SiglipElementBase {
  static observedAttributes = [...SiglipElementBase.observedAttributes, 'query', ...OWN.map((r) => r.attribute)];

  /** @type {Library | null} */
  #library = null;
  #asking = false; // the element asks before downloading its model (the `prompt` event)
  #opening = null;
  #imageQuery = null; // {id, name} of an image in the library, or {payload: Blob, name} dropped
  #hits = null; // the current query's results, best first (null: no query)
  #shown = 0; // images shown
  #thumbs = new Map(); // id -> object URL, for the images on show
  #searchToken = 0;
  #debounce = 0;
  #refresh = 0;
  #jobs = 0;
  #note = ''; // what the last add or import did, shown until the next one
  #els = {};

  constructor() {
    super(css, markup);
    const $ = (s) => this.shadowRoot.querySelector(s);
    this.#els = {
      files: $('.files'), folder: $('.folder'), indexFile: $('.index-file'), addFiles: $('.add-files'), addFolder: $('.add-folder'),
      importIndex: $('.import'), exportIndex: $('.export'), clear: $('.clear'), jobbar: $('.jobbar'), jobProgress: $('.job-progress'),
      jobText: $('.job-text'), pause: $('.pause'), cancel: $('.cancel'), form: $('.query'), input: $('input[type=search]'),
      like: $('.like'), likeImg: $('.like img'), likeName: $('.like span'), likeClear: $('.like button'), warning: $('.warning'),
      gallery: $('.gallery'), more: $('.more'), status: $('.search-status'),
    };
    this.#wire();
    // Asking before the download: the gallery waits for images, not for a load.
    this.addEventListener('prompt', () => {
      this.#asking = true;
      this.#render();
    });
  }

  /** The current text query (attribute and property). */
  get query() { return this.#els.input.value; }
  set query(v) { this.setAttribute('query', v ?? ''); }

  /** Number of images in the library. */
  get size() { return this.#library?.size ?? 0; }

  /** The Library behind the element, once its model is loaded (see library.js). */
  get libraryObject() { return this.#library; }

  attributeChangedCallback(name, oldValue, value) {
    if (name === 'query') {
      if (this.#els.input.value !== (value ?? '')) this.#els.input.value = value ?? '';
      this.#scheduleSearch(0);
    } else if (name === 'library') {
      if (oldValue !== value && this.#library) this.#reopen();
    } else if (name === 'text-masking') {
      if (oldValue !== value) this.#scheduleSearch(0);
    } else super.attributeChangedCallback(name, oldValue, value);
  }

  onModelChanged() {
    this.#asking = false;
    this.#forgetLibrary();
    this.#render();
  }

  /** Lets go of the library and its query (another model, or another library name). */
  #forgetLibrary() {
    this.#library = null;
    this.#opening = null;
    this.#hits = null;
    this.#imageQuery = null;
  }

  onModelLoaded() {
    this.#open().catch((err) => this.fail(err));
  }

  /** Releases the model (see element-base.js) and the thumbnails on show. */
  dispose() {
    super.dispose();
    for (const url of this.#thumbs.values()) URL.revokeObjectURL(url);
    this.#thumbs.clear();
  }

  // ---- public API -------------------------------------------------------------------------

  /**
   * Adds images (Files, Blobs, URLs; ImageBitmap, ImageData, <img>, <canvas> are stored as
   * PNG): each new content is embedded once and stored; what the library has already is
   * skipped. Resolves with `{added, skipped, failed}` when they are done.
   */
  addImages(images) {
    return this.reported(async () => {
      const sources = await Promise.all([...images].map(encoded));
      const library = await this.#ready();
      return this.#track(library.add(sources));
    });
  }

  /**
   * Ranks the library for a text query (used verbatim, no template): `[{index, id, score,
   * logit, cosine}]`, best first, every image; `index` into the images in the order they were
   * added.
   */
  rank(query = this.query) {
    return this.reported(async () => {
      const library = await this.#ready();
      const hits = query.trim() ? await library.search({ text: query }, { topK: library.size }) : [];
      return ranking(library, hits);
    });
  }

  /**
   * Searches by text, image or both (`{text?, image?}`, an image source or `{id}`), without
   * changing what is shown: `[{id, record, score, logit, cosine}]`, best first. `signal`
   * cancels it (an AbortError).
   */
  search(query, { topK, signal } = {}) {
    return this.reported(async () => {
      const library = await this.#ready();
      return library.search(query, { topK: topK ?? library.size, signal });
    });
  }

  /** Shows the images most like one of the library's ("more like this"), or like an image given. */
  searchByImage(image) {
    return this.reported(async () => {
      await this.#ready();
      this.#setImageQuery(image);
      await this.#searchNow();
      return this.#hits;
    });
  }

  /** Removes images by id (`remove()` itself is the DOM's: it takes the element off the page). */
  removeImages(ids) {
    return this.reported(async () => {
      const removed = await (await this.#ready()).remove(ids);
      this.#afterChange();
      return removed;
    });
  }

  /** Removes every image (from this browser's storage too). */
  clear() {
    return this.reported(async () => {
      await (await this.#ready()).clear();
      this.#hits = null;
      this.#imageQuery = null;
      this.#afterChange();
    });
  }

  /** The library as an index file (docs/index-format.md), which `siglip search` reads (`{dtype, thumbnails, signal}`). */
  exportIndex(options) {
    return this.reported(async () => (await this.#ready()).export(options));
  }

  /** Adds the images of an index file (from `siglip index`, or exported elsewhere). */
  importIndex(file) {
    return this.reported(async () => {
      const r = await (await this.#ready()).import(file);
      this.#note = `Imported ${count(r.added, 'image')}${r.skipped ? ` (${count(r.skipped, 'image')} already here)` : ''}.`;
      this.#afterChange();
      return r;
    });
  }

  pause() { this.#library?.pause(); }
  resume() { this.#library?.resume(); }

  // ---- the library ----------------------------------------------------------------------

  async #ready() {
    await this.requireReady();
    if (!this.#library) await this.#open();
    if (!this.#library) throw namedError('AbortError', RELEASED);
    return this.#library;
  }

  /** Opens the library of the loaded model (once per model). */
  #open() {
    const handle = this.client;
    this.#opening ??= (async () => {
      const library = new Library(handle, this.library, { textMasking: this.textMasking, maxNumPatches: this.maxNumPatches, ownsHandle: false });
      await library.reopen();
      if (this.client !== handle) return; // the model changed meanwhile
      this.#library = library;
      library.addEventListener('add', () => this.#scheduleRefresh());
      library.addEventListener('storage', () => this.#showWarning());
      this.#shown = this.pageSize;
      this.#showWarning();
      this.#render();
      this.dispatchEvent(new CustomEvent('library', { detail: { name: library.name, size: library.size, persistent: library.persistent, warning: library.warning } }));
      // What a closed tab left unfinished: URLs go on by themselves; files must be given again.
      if (library.pending.urls) this.#track(library.resumePending()).catch(() => {});
      this.#scheduleSearch(0);
    })();
    this.#opening.catch(() => {
      this.#opening = null;
    });
    return this.#opening;
  }

  #reopen() {
    this.#forgetLibrary();
    if (this.client) this.#open().catch((err) => this.fail(err));
  }

  /** Shows an add job's progress while it runs; resolves with its result. */
  async #track(adding) {
    const library = this.#library;
    this.#jobs++;
    const e = this.#els;
    e.jobbar.hidden = false;
    e.jobProgress.removeAttribute('value');
    e.jobText.textContent = 'Starting…';
    const onProgress = (ev) => {
      const p = ev.detail;
      e.jobProgress.value = p.total ? p.done / p.total : 0;
      const parts = [`${p.paused ? 'Paused at' : 'Indexing'} ${p.done.toLocaleString('en')} of ${count(p.total, 'image')}`];
      if (p.skipped) parts.push(`${p.skipped.toLocaleString('en')} already indexed`);
      if (p.failed) parts.push(`${p.failed.toLocaleString('en')} unreadable`);
      if (p.perSecond) parts.push(`${p.perSecond.toFixed(p.perSecond < 10 ? 2 : 1)} images/s`);
      if (!p.paused && p.etaSeconds > 0) parts.push(`about ${duration(p.etaSeconds)} left`);
      e.jobText.textContent = parts.join(' · ');
      this.dispatchEvent(new CustomEvent('indexing', { detail: p }));
    };
    library?.addEventListener('progress', onProgress);
    try {
      const result = await adding;
      this.#finished(result);
      return result;
    } catch (err) {
      if (err?.name === 'AbortError' && err.result) {
        this.#finished(err.result);
        return err.result;
      }
      throw err;
    } finally {
      library?.removeEventListener('progress', onProgress);
      if (--this.#jobs === 0) {
        e.jobbar.hidden = true;
        e.pause.setAttribute('aria-pressed', 'false');
        e.pause.textContent = 'Pause';
      }
      this.#afterChange();
    }
  }

  #finished(result) {
    const { added, skipped, failed, cancelled } = result;
    const parts = [`${cancelled ? 'Stopped: added' : 'Added'} ${count(added, 'image')}`];
    if (skipped) parts.push(`${skipped.toLocaleString('en')} already indexed`);
    if (failed.length) parts.push(`${failed.length.toLocaleString('en')} could not be read (${failed.slice(0, 3).map((f) => f.name).join(', ')}${failed.length > 3 ? ', …' : ''})`);
    this.#note = `${parts.join(' · ')}.`;
    this.dispatchEvent(new CustomEvent('indexed', { detail: result }));
  }

  #showWarning() {
    const library = this.#library;
    const notes = [];
    if (library?.warning) notes.push(library.warning);
    if (library?.pending.files.length) {
      notes.push(`${count(library.pending.files.length, 'image')} of an earlier visit ${library.pending.files.length === 1 ? 'was' : 'were'} not indexed yet: add ${library.pending.files.length === 1 ? 'it' : 'their folder'} again to finish (the images done are kept, and not embedded again).`);
    }
    this.#els.warning.textContent = notes.join(' ');
    this.#els.warning.hidden = notes.length === 0;
  }

  // ---- search and display ---------------------------------------------------------------

  #setImageQuery(image) {
    const e = this.#els;
    if (!image) {
      this.#imageQuery = null;
      e.like.hidden = true;
      return;
    }
    if (isLibraryImage(image)) {
      const record = this.#library?.get(image.id);
      this.#imageQuery = { image: { id: image.id }, name: record?.name ?? image.id };
      e.likeImg.src = this.#thumbs.get(image.id) ?? '';
    } else {
      this.#imageQuery = { image, name: image.name ?? 'an image' };
      e.likeImg.src = image instanceof Blob ? this.#objectUrl('query', image) : '';
    }
    e.likeName.textContent = `like ${this.#imageQuery.name}`;
    e.like.hidden = false;
  }

  #objectUrl(id, blob) {
    const old = this.#thumbs.get(id);
    if (old) URL.revokeObjectURL(old);
    const url = URL.createObjectURL(blob);
    this.#thumbs.set(id, url);
    return url;
  }

  async #searchNow() {
    const library = this.#library;
    if (!library) return;
    const token = ++this.#searchToken;
    const text = this.query.trim();
    if (!text && !this.#imageQuery) {
      this.#hits = null;
      this.#render();
      return;
    }
    const started = performance.now();
    library.textMasking = this.textMasking;
    const hits = await library.search({ text: text || undefined, image: this.#imageQuery?.image }, { topK: Math.max(this.#shown, this.pageSize) });
    if (token !== this.#searchToken) return;
    const ms = performance.now() - started;
    this.#hits = hits;
    this.clearError();
    this.#render(`${count(library.size, 'image')} searched in ${Math.round(ms)} ms.`);
    this.dispatchEvent(new CustomEvent('result', { detail: { query: text, image: this.#imageQuery?.name ?? null, ranking: ranking(library, hits), ms } }));
  }

  #scheduleSearch(delay = 150) {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#searchNow().catch((err) => this.fail(err)), delay);
  }

  /** New images while a job runs: the gallery (or the results) refreshed now and then. */
  #scheduleRefresh() {
    if (this.#refresh) return;
    this.#refresh = setTimeout(() => {
      this.#refresh = 0;
      if (this.#hits) this.#scheduleSearch(0);
      else this.#render();
    }, this.#hits ? 1000 : 250);
  }

  #afterChange() {
    if (this.#hits || this.#imageQuery) this.#scheduleSearch(0);
    else this.#render();
  }

  #status(text) {
    this.#els.status.textContent = text;
  }

  #wire() {
    const e = this.#els;
    e.addFiles.addEventListener('click', () => e.files.click());
    e.addFolder.addEventListener('click', () => e.folder.click());
    e.importIndex.addEventListener('click', () => e.indexFile.click());
    e.exportIndex.addEventListener('click', () => this.#download().catch(() => {}));
    e.clear.addEventListener('click', () => this.clear().catch(() => {}));
    for (const input of [e.files, e.folder]) {
      input.addEventListener('change', () => {
        const files = [...(input.files ?? [])];
        input.value = '';
        this.addImages(files).catch(() => {});
      });
    }
    e.indexFile.addEventListener('change', () => {
      const file = e.indexFile.files?.[0];
      e.indexFile.value = '';
      if (file) this.importIndex(file).catch(() => {});
    });
    e.pause.addEventListener('click', () => {
      const paused = e.pause.getAttribute('aria-pressed') !== 'true';
      e.pause.setAttribute('aria-pressed', String(paused));
      e.pause.textContent = paused ? 'Resume' : 'Pause';
      if (paused) this.pause();
      else this.resume();
    });
    e.cancel.addEventListener('click', () => this.#library?.cancel());
    e.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#scheduleSearch(0);
    });
    e.input.addEventListener('input', () => this.#scheduleSearch());
    e.likeClear.addEventListener('click', () => {
      this.#setImageQuery(null);
      this.#scheduleSearch(0);
    });
    e.more.addEventListener('click', () => {
      this.#shown += this.pageSize;
      if (this.#hits) this.#scheduleSearch(0);
      else this.#render();
    });
    e.gallery.addEventListener('click', (ev) => {
      const li = ev.target.closest?.('.item');
      if (!li) return;
      if (ev.target.closest('.remove')) this.removeImages([li.dataset.id]).catch(() => {});
      else if (ev.target.closest('.thumb')) this.searchByImage({ id: li.dataset.id }).catch(() => {});
    });
    dropZone(e.gallery, (dt) => this.addImages([...dt.files]).catch(() => {}));
    // An image dropped on the query box searches by it.
    dropZone(e.form, (dt) => {
      const file = [...dt.files].find((f) => f.type.startsWith('image/'));
      if (file) this.searchByImage(file).catch(() => {});
    });
  }

  async #download() {
    const blob = await this.exportIndex();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${this.library}.index.safetensors`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  }

  /** The images on show: the results (best first) or, without a query, the newest first. */
  #render(status) {
    const { gallery, more, exportIndex, clear } = this.#els;
    const library = this.#library;
    const size = library?.size ?? 0;
    exportIndex.disabled = clear.disabled = size === 0;
    if (size === 0) {
      gallery.classList.add('empty');
      const li = document.createElement('li');
      li.textContent = library || this.#asking ? 'Drop images here, or add some above' : 'Loading…';
      gallery.replaceChildren(li);
      more.hidden = true;
      this.#status(library ? `No images yet${library.persistent ? '' : ' (kept in memory only)'}.` : '');
      return;
    }
    gallery.classList.remove('empty');
    const records = library.records();
    const shown = this.#hits
      ? this.#hits.slice(0, this.#shown).filter((h) => h.record)
      : records.slice(-this.#shown).reverse().map((record) => ({ id: record.id, record }));
    const ids = new Set(shown.map((s) => s.id));
    // Thumbnails only for what is on show: the others' object URLs go.
    for (const [id, url] of this.#thumbs) {
      if (!ids.has(id) && id !== this.#imageQuery?.image?.id && id !== 'query') {
        URL.revokeObjectURL(url);
        this.#thumbs.delete(id);
      }
    }
    gallery.replaceChildren(...shown.map((s, position) => this.#item(s, position)));
    this.#loadThumbnails(shown.map((s) => s.id).filter((id) => !this.#thumbs.has(id)));
    more.hidden = (this.#hits ? Math.min(this.#hits.length, size) : size) <= this.#shown;
    const where = library.persistent ? ` stored in this browser (library "${library.name}")` : ', kept in memory only';
    if (status !== undefined) this.#status(`${this.#note ? `${this.#note} ` : ''}${status}`);
    else if (!this.#jobs) {
      this.#status(`${this.#note ? `${this.#note} ` : ''}${count(size, 'image')}${where}. Type a query, drop an image in the search box, or click an image for more like it.`);
    }
  }

  #item(s, position) {
    const li = document.createElement('li');
    li.className = 'item';
    li.part = 'item';
    li.dataset.id = s.id;
    const thumb = document.createElement('button');
    thumb.type = 'button';
    thumb.className = 'thumb';
    thumb.title = `More like ${s.record.name}`;
    const url = this.#thumbs.get(s.id);
    if (url) {
      const img = document.createElement('img');
      img.alt = s.record.name;
      img.src = url;
      thumb.append(img);
    } else {
      const none = document.createElement('span');
      none.className = 'none';
      none.textContent = s.record.name;
      thumb.append(none);
    }
    const meta = document.createElement('div');
    meta.className = 'meta';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = s.record.name;
    name.title = s.record.path ?? s.record.name;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = s.score === undefined ? '' : formatPercent(s.score);
    meta.append(name, score);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'remove';
    remove.setAttribute('aria-label', `Remove ${s.record.name}`);
    remove.textContent = '×';
    li.append(thumb, meta, remove);
    if (s.score !== undefined) {
      const rank = document.createElement('span');
      rank.className = 'rank';
      rank.textContent = `#${position + 1}`;
      li.append(rank);
    }
    return li;
  }

  async #loadThumbnails(ids) {
    const library = this.#library;
    if (!library || ids.length === 0) return;
    const thumbs = await library.thumbnails(ids).catch(() => new Map());
    if (library !== this.#library) return;
    for (const [id, blob] of thumbs) {
      const li = this.#els.gallery.querySelector(`.item[data-id="${CSS.escape(id)}"] .thumb`);
      if (!li) continue;
      const img = document.createElement('img');
      img.alt = library.get(id)?.name ?? '';
      img.src = this.#objectUrl(id, blob);
      li.replaceChildren(img);
    }
  }
}

reflect(SiglipSearch, OWN);

defineElement('siglip-search', SiglipSearch);
