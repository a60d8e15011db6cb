// Offline support for the demo pages: the app shell (pages, scripts, wasm) is cached on
// install and served cache-first, refreshed in the background when the network is there.
// Model files are not handled here: the loader keeps them in its own persistent cache.

const VERSION = 'siglip-app-v1';
const SHELL = [
  './', './index.html', './search.html', './demo.js', './demo.css', './favicon.svg',
  './index.js', './client.js', './loader.js', './element-base.js', './siglip-classifier.js', './siglip-search.js',
  './siglip-worker.js', './pkg/siglip.js', './pkg/siglip_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) => cache.addAll(SHELL.map((p) => new Request(p, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('siglip-app-') && k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  if (url.pathname.endsWith('.safetensors')) return; // models: the loader's cache
  event.respondWith(
    (async () => {
      const cache = await caches.open(VERSION);
      const key = url.pathname === scope.pathname ? new Request(new URL('./index.html', scope)) : new Request(url.origin + url.pathname);
      const cached = await cache.match(key);
      const network = fetch(request)
        .then((response) => {
          if (response.ok && response.type === 'basic') cache.put(key, response.clone());
          return response;
        })
        .catch(() => null);
      if (cached) {
        event.waitUntil(network);
        return cached;
      }
      return (await network) ?? new Response('offline, and this page was never cached', { status: 503 });
    })(),
  );
});
