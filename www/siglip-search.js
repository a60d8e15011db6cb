// <siglip-search>: image-text retrieval. Add many images (multi-select, a folder, drop), type a
// query, and the gallery re-ranks as you type. Each image is embedded once; a new query costs
// one text embedding. The model attributes and its lifecycle come from element-base.js.

import { SiglipElementBase, dropZone, errorMarkup, formatPercent, loadingMarkup } from './element-base.js';
import { namedError } from './errors.js';

const css = `
.bar { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.query { display: flex; gap: 8px; }
.gallery { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px;
  grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); min-height: 80px; border: 2px dashed transparent; border-radius: 10px; }
.gallery.empty { border-color: var(--siglip-border); place-items: center; color: var(--siglip-muted); }
.gallery.over { border-color: var(--siglip-accent); background: #eef3ff; }
.item { position: relative; border: 1px solid var(--siglip-border); border-radius: 10px; overflow: hidden; background: #f7f8fb; }
.item img { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; background: #111; }
.item .meta { display: flex; justify-content: space-between; gap: 6px; padding: 4px 8px; font-size: 12px; }
.item .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--siglip-muted); }
.item .score { font-variant-numeric: tabular-nums; font-weight: 600; }
.item .rank { position: absolute; top: 6px; left: 6px; background: rgba(0,0,0,.65); color: #fff; border-radius: 999px;
  padding: 0 8px; font-size: 12px; font-variant-numeric: tabular-nums; }
.item.pending img { opacity: .45; }
`;

const markup = `
<div class="card" part="container">${loadingMarkup}
  <div class="bar" part="controls">
    <button type="button" class="add-files">Add images…</button>
    <button type="button" class="add-folder">Add a folder…</button>
    <button type="button" class="clear">Clear</button>
    <input class="files sr" type="file" accept="image/*" multiple tabindex="-1" aria-hidden="true">
    <input class="folder sr" type="file" webkitdirectory multiple tabindex="-1" aria-hidden="true">
  </div>
  <form class="query" role="search">
    <input type="search" part="input" aria-label="Search the images" placeholder="Describe what you are looking for…" autocomplete="off">
  </form>
  <ol class="gallery empty" part="gallery" aria-label="Images, best match first" tabindex="0"><li>Drop images here</li></ol>
  <div class="status search-status" part="status" role="status"></div>
  ${errorMarkup}
</div>
`;

/** One image in the gallery. */
class Item {
  constructor(source, name) {
    this.source = source;
    this.name = name;
    this.embedding = null;
    this.url = source instanceof Blob ? URL.createObjectURL(source) : typeof source === 'string' ? source : null;
    this.score = null;
  }
}

export class SiglipSearch extends SiglipElementBase {
  static observedAttributes = [...SiglipElementBase.observedAttributes, 'query'];

  #items = [];
  #ranking = null; // [{index, score, logit}] for the current query
  #embedQueue = Promise.resolve();
  #rankToken = 0;
  #debounce = 0;
  #els = {};

  constructor() {
    super(css, markup);
    const $ = (s) => this.shadowRoot.querySelector(s);
    this.#els = {
      files: $('.files'), folder: $('.folder'), addFiles: $('.add-files'), addFolder: $('.add-folder'), clear: $('.clear'),
      form: $('.query'), input: $('input[type=search]'), gallery: $('.gallery'), status: $('.search-status'),
    };
    this.#wire();
  }

  /** The current query (attribute and property). */
  get query() { return this.#els.input.value; }
  set query(v) { this.setAttribute('query', v ?? ''); }

  /** Number of images in the gallery. */
  get size() { return this.#items.length; }

  attributeChangedCallback(name, oldValue, value) {
    if (name === 'query') {
      if (this.#els.input.value !== (value ?? '')) this.#els.input.value = value ?? '';
      this.#scheduleRank(0);
    } else if (name === 'text-masking') {
      if (oldValue !== value) this.#scheduleRank(0);
    } else {
      super.attributeChangedCallback(name, oldValue, value);
    }
  }

  onModelChanged() {
    for (const item of this.#items) item.embedding = null;
  }

  onModelLoaded() {
    this.#embedPending();
    this.#scheduleRank(0);
  }

  /**
   * Adds images (Blobs/Files, URLs, ImageBitmaps, ImageData, <img>, <canvas>) and embeds each
   * once. Resolves when they are embedded.
   */
  async addImages(images) {
    const list = [...images].filter((f) => !(f instanceof File) || f.type.startsWith('image/') || f.type === '');
    for (const source of list) {
      const name = source?.name ?? (typeof source === 'string' ? source.split('/').pop() : `image ${this.#items.length + 1}`);
      this.#items.push(new Item(source, name));
    }
    this.#render();
    await this.reported(async () => {
      await this.requireReady();
      await this.#embedPending();
      await this.#rankNow();
    });
  }

  /** Removes every image. */
  clear() {
    for (const item of this.#items) if (item.source instanceof Blob && item.url) URL.revokeObjectURL(item.url);
    this.#items = [];
    this.#ranking = null;
    this.#render();
  }

  /**
   * Ranks the gallery for a query (used verbatim, no template): `[{index, score, logit}]`,
   * best first, `index` into the images in the order they were added.
   */
  rank(query = this.query) {
    return this.reported(async () => {
      await this.requireReady();
      await this.#embedPending();
      return this.#rankWith(query);
    });
  }

  // ---- internals ----------------------------------------------------------------------

  #embedPending() {
    // One at a time, in order, each image once.
    this.#embedQueue = this.#embedQueue.then(async () => {
      for (const item of this.#items) {
        if (item.embedding || !this.src) continue;
        try {
          // requireModel: a new worker if the last one crashed.
          item.embedding = (await (await this.requireModel()).embedImage(item.source, this.maxNumPatches)).embedding;
          item.error = null;
        } catch (err) {
          // A copy: the same Error may reach other users of a shared model.
          item.error = namedError(err.name, `${item.name}: ${err.message}`);
          this.fail(item.error);
        }
        this.#render();
      }
    });
    return this.#embedQueue;
  }

  async #rankWith(query) {
    const token = ++this.#rankToken;
    const ready = this.#items.map((item, index) => ({ item, index })).filter(({ item }) => item.embedding);
    if (!query.trim() || ready.length === 0) {
      this.#ranking = null;
      this.#render();
      return [];
    }
    const model = await this.requireModel();
    const started = performance.now();
    const ranking = await model.rankImages(query, ready.map(({ item }) => item.embedding), this.textMasking);
    const ms = performance.now() - started;
    const mapped = ranking.map((r) => ({ ...r, index: ready[r.index].index }));
    if (token === this.#rankToken) {
      this.#ranking = mapped;
      this.clearError();
      this.#render(`Ranked ${mapped.length} image${mapped.length === 1 ? '' : 's'} in ${Math.round(ms)} ms.`);
      this.dispatchEvent(new CustomEvent('result', { detail: { query, ranking: mapped, ms } }));
    }
    return mapped;
  }

  async #rankNow() {
    if (!this.client) return;
    try {
      await this.#rankWith(this.query);
    } catch (err) {
      this.fail(err);
    }
  }

  #scheduleRank(delay = 150) {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      if (this.client && this.src) this.#embedQueue.then(() => this.#rankNow());
    }, delay);
  }

  #wire() {
    const e = this.#els;
    e.addFiles.addEventListener('click', () => e.files.click());
    e.addFolder.addEventListener('click', () => e.folder.click());
    e.clear.addEventListener('click', () => this.clear());
    for (const input of [e.files, e.folder]) {
      input.addEventListener('change', () => {
        const files = [...(input.files ?? [])];
        input.value = '';
        this.addImages(files).catch(() => {});
      });
    }
    e.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#scheduleRank(0);
    });
    e.input.addEventListener('input', () => this.#scheduleRank());
    dropZone(e.gallery, (dt) => this.addImages([...dt.files]).catch(() => {}));
  }

  #render(status) {
    const { gallery } = this.#els;
    if (this.#items.length === 0) {
      gallery.classList.add('empty');
      const li = document.createElement('li');
      li.textContent = 'Drop images here, or add some above';
      gallery.replaceChildren(li);
      this.#els.status.textContent = '';
      return;
    }
    gallery.classList.remove('empty');
    const order = this.#ranking
      ? [...this.#ranking, ...this.#items.map((_, index) => ({ index })).filter(({ index }) => !this.#ranking.some((r) => r.index === index))]
      : this.#items.map((_, index) => ({ index }));
    gallery.replaceChildren(
      ...order.map((r, position) => {
        const item = this.#items[r.index];
        const li = document.createElement('li');
        li.className = 'item';
        li.part = 'item';
        li.classList.toggle('pending', !item.embedding);
        li.dataset.index = String(r.index);
        const img = document.createElement('img');
        img.alt = item.name;
        if (item.url) img.src = item.url;
        else if (item.source instanceof HTMLCanvasElement) img.src = item.source.toDataURL();
        const meta = document.createElement('div');
        meta.className = 'meta';
        const name = document.createElement('span');
        name.className = 'name';
        name.textContent = item.name;
        name.title = item.name;
        const score = document.createElement('span');
        score.className = 'score';
        score.textContent = r.score === undefined ? (item.embedding ? '' : '…') : formatPercent(r.score);
        meta.append(name, score);
        li.append(img, meta);
        if (r.score !== undefined) {
          const rank = document.createElement('span');
          rank.className = 'rank';
          rank.textContent = `#${position + 1}`;
          li.append(rank);
        }
        return li;
      }),
    );
    const embedded = this.#items.filter((i) => i.embedding).length;
    this.#els.status.textContent =
      status ?? (embedded < this.#items.length ? `Embedding images… ${embedded} of ${this.#items.length}` : `${embedded} images ready. Type a query.`);
  }
}

if (!customElements.get('siglip-search')) customElements.define('siglip-search', SiglipSearch);
