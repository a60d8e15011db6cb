// The demo pages' only script: `?model=` (a packed file's URL, hf:owner/name[@revision], or a
// checkpoint folder's URL ending in /), `?hub=URL` (hf:) and `?dtype=` (checkpoints), `?max-num-patches=` (SigLIP 2 NaFlex),
// `?load=eager` (no question before a download), `?cache=false` (no model cache), and
// `?labels=a,b` on the classifier page
// configure the element; a service worker makes the pages work offline after one visit and
// cross-origin isolated (for the threaded wasm) on hosts that cannot send the headers.
const params = new URLSearchParams(location.search);
const el = document.querySelector('siglip-classifier, siglip-search');
const model = params.get('model');
if (model) el.setAttribute('src', model);
for (const name of ['hub', 'dtype', 'max-num-patches', 'load', 'cache']) {
  const value = params.get(name);
  if (value) el.setAttribute(name, value);
}
const labels = params.get('labels');
if (labels && el.localName === 'siglip-classifier') el.setAttribute('labels', labels);
document.getElementById('model-url').textContent = el.getAttribute('src');

// `?variant=simd128|relaxed|threads` forces a wasm build (default: the best this page can run).
const variant = params.get('variant');
if (variant) el.setAttribute('variant', variant);

// Which build runs, next to the model URL: "· wasm: threads, relaxed SIMD, 2 threads".
el.addEventListener('load', (event) => {
  const build = event.detail?.build;
  if (!build) return;
  const simd = build.simd === 'relaxed' ? 'relaxed SIMD' : 'SIMD';
  const threads = `${build.threads} thread${build.threads === 1 ? '' : 's'}`;
  document.getElementById('build-info').textContent = ` · wasm: ${build.variant}, ${simd}, ${threads}`;
});

// `window.siglipPageReady` resolves (with the element, defined) once this document is the one
// that stays: the service worker's one-time reload below replaces the first document of a first
// visit, and a script that used that document would see it vanish mid-call. Scripts that drive
// the demo page (tests, extensions) await it first; it never resolves in a document about to be
// reloaded (the next one's does).
let settle;
const pageReady = new Promise((resolve) => (settle = resolve));
/** @type {any} */ (window).siglipPageReady = pageReady;
const final = () => customElements.whenDefined(el.localName).then(() => settle(el));

if ('serviceWorker' in navigator && !params.has('no-sw')) {
  // The service worker also makes the page cross-origin isolated where the host sends no
  // COOP/COEP headers; that takes effect on the next load, so reload once when it first takes
  // control. Once per tab session (sessionStorage), so it can never loop.
  const RELOADED = 'siglip-coi-reload';
  const willReload = () => !self.crossOriginIsolated && !sessionStorage.getItem(RELOADED);
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!willReload()) return final();
    sessionStorage.setItem(RELOADED, '1');
    location.reload();
  });
  navigator.serviceWorker
    .register('./sw.js')
    .then(async () => {
      await navigator.serviceWorker.ready;
      // Controlled already (a later visit, or a reload done): this document stays. Otherwise
      // the controllerchange above decides, as the activated worker claims this page.
      if (navigator.serviceWorker.controller || !willReload()) final();
    })
    .catch((err) => {
      console.warn('offline support unavailable:', err.message);
      final();
    });
} else {
  final();
}
