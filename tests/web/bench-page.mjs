// Runs in the pages of bench.mjs and engines.test.mjs, in every engine, imported by its URL:
// what their page functions share (the test image, an element placed and loaded) and what they
// drive in the page itself rather than through a driver (live mode: WebKit's WebDriver has no
// locators, and each engine's page is driven by evaluate alone).

/** A 640×480 photo-like test image as a PNG blob (the same for both engines under test). */
export async function testImage() {
  const canvas = new OffscreenCanvas(640, 480);
  const ctx = canvas.getContext('2d');
  const grad = ctx.createLinearGradient(0, 0, 640, 480);
  grad.addColorStop(0, '#3b6cf6');
  grad.addColorStop(1, '#f6a33b');
  ctx.fillStyle = grad;
  ctx.fillRect(0, 0, 640, 480);
  ctx.fillStyle = '#222';
  ctx.beginPath();
  ctx.arc(320, 240, 120, 0, 7);
  ctx.fill();
  return canvas.convertToBlob({ type: 'image/png' });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A `<siglip-classifier>` or `<siglip-search>` with `properties` set, loading at once, added to
 * the page; resolves with it once its model is loaded.
 * @param {'siglip-classifier' | 'siglip-search'} tag
 * @param {Record<string, unknown>} properties
 */
export async function placed(tag, properties) {
  await import(`/www/${tag}.js`);
  const el = Object.assign(document.createElement(tag), properties);
  el.setAttribute('load', 'eager');
  document.body.append(el);
  await el.ready;
  return el;
}

/**
 * What a person's drop of `file` on the element's drop zone (`how` 'drop') or paste of it
 * ('paste') dispatches; resolves with the results of the element's next `result` event.
 * @param {HTMLElement} el a <siglip-classifier>
 * @param {'drop' | 'paste'} how
 * @param {File} file
 */
export function give(el, how, file) {
  const result = new Promise((resolve) => el.addEventListener('result', (e) => resolve(/** @type {CustomEvent} */ (e).detail.results), { once: true }));
  const dt = new DataTransfer();
  dt.items.add(file);
  if (how === 'drop') {
    const zone = /** @type {HTMLElement} */ (el.shadowRoot?.querySelector('.drop'));
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  } else {
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }
  return result;
}

/**
 * Live mode of the page's <siglip-classifier> on the browser's fake camera, as a person starts
 * it (the Start camera and Live buttons): the frame rate it shows (data-fps) after `seconds`.
 * @param {number} seconds
 * @returns {Promise<number>}
 */
export async function liveFps(seconds) {
  const el = /** @type {HTMLElement} */ (document.querySelector('siglip-classifier'));
  const button = (name) => [...el.shadowRoot.querySelectorAll('button')].find((b) => b.textContent.trim() === name);
  /** Waits up to `ms` for `ready()`; else an Error saying `what`, with the error the element shows. */
  const until = async (ready, ms, what) => {
    for (const t0 = performance.now(); !ready(); await sleep(100)) {
      if (performance.now() - t0 > ms) {
        const shown = /** @type {HTMLElement | null} */ (el.shadowRoot.querySelector('.error'));
        throw new Error(`${what} within ${ms / 1000} s${shown && !shown.hidden ? `: ${shown.textContent}` : ''}`);
      }
    }
  };
  button('Start camera').click();
  await until(() => button('Live') && !button('Live').hidden, 30000, 'the camera did not start');
  button('Live').click();
  await until(() => Number(el.dataset.fps) > 0, 120000, 'live mode classified no frame');
  await sleep(seconds * 1000);
  const fps = Number(el.dataset.fps);
  button('Stop camera').click();
  return fps;
}

/**
 * This page's console warnings from now on (transformers.js' and onnxruntime's: a thread count it
 * cannot honour, nodes left to another provider): the array they are collected in.
 * @returns {string[]}
 */
export function collectWarnings() {
  const warnings = [];
  const warn = console.warn.bind(console);
  console.warn = (...args) => {
    warnings.push(`warning: ${args.join(' ')}`);
    warn(...args);
  };
  return warnings;
}

/** Every URL this page fetched (resource timing: scripts, fetch(), wasm) from another origin than
 * the benchmark's server, which serves everything itself (no Hub, no CDN). */
export function remoteRequests() {
  return performance.getEntriesByType('resource').map((e) => e.name).filter((url) => !url.startsWith(location.origin));
}
