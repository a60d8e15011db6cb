// The demo page's only script: `?model=URL` (and `?labels=a,b`) configure the element.
const params = new URLSearchParams(location.search);
const el = document.getElementById('classifier');
const model = params.get('model');
if (model) el.setAttribute('src', model);
const labels = params.get('labels');
if (labels) el.setAttribute('labels', labels);
document.getElementById('model-url').textContent = el.getAttribute('src');
