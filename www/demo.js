// The demo pages' only script: `?model=URL` (and `?labels=a,b` on the classifier page)
// configure the element; a service worker makes the pages work offline after one visit.
const params = new URLSearchParams(location.search);
const el = document.querySelector('siglip-classifier, siglip-search');
const model = params.get('model');
if (model) el.setAttribute('src', model);
const labels = params.get('labels');
if (labels && el.localName === 'siglip-classifier') el.setAttribute('labels', labels);
document.getElementById('model-url').textContent = el.getAttribute('src');

if ('serviceWorker' in navigator && !params.has('no-sw')) {
  navigator.serviceWorker.register('./sw.js').catch((err) => console.warn('offline support unavailable:', err.message));
}
