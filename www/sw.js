// Offline support for the demo pages: the app shell (pages, scripts, wasm) is cached on
// install and served cache-first, refreshed in the background when the network is there.
// Model files are not handled here: the loader keeps them in its own persistent cache.
//
// Cross-origin isolation for static hosts that cannot set headers (the "coi-serviceworker"
// pattern): every response this worker serves carries COOP/COEP, so a page it controls is
// `crossOriginIsolated` and the threaded wasm can run. demo.js reloads the page once when
// this worker first takes control of a page that is not isolated yet.

const VERSION = 'siglip-app-v9';
const SHELL = [
  './', './index.html', './search.html', './demo.js', './demo.css', './favicon.svg',
  './index.js', './api.js', './client.js', './protocol.js', './errors.js', './loader.js', './hub.js', './element-base.js', './siglip-classifier.js', './siglip-search.js',
  './library.js', './pipeline.js', './cache.js', './siglip-worker.js', './worker-library.js', './store.js',
  // The worker imports the four builds' glue (BUILDS in protocol.js; the threaded glue also
  // its pool-worker script, threadsSnippets below); only the wasm of the build it picks is fetched.
  './pkg/siglip.js', './pkg-relaxed/siglip.js', './pkg-threads/siglip.js', './pkg-threads-simd128/siglip.js', './pkg/siglip_bg.wasm',
];
// The other wasm builds: cached when the host has them (a site may ship only some).
const OPTIONAL = ['./pkg-relaxed/siglip_bg.wasm', './pkg-threads/siglip_bg.wasm', './pkg-threads-simd128/siglip_bg.wasm'];
const THREADED_DIRS = ['./pkg-threads/', './pkg-threads-simd128/'];

/**
 * The modules the threaded builds' glue imports (wasm-bindgen-rayon's pool-worker script, at a
 * path with a hash that wasm-bindgen chooses), read from the cached glue.
 * @param {Cache} cache
 */
async function threadsSnippets(cache) {
  const urls = await Promise.all(THREADED_DIRS.map(async (dir) => {
    const glue = await (await cache.match(`${dir}siglip.js`)).text();
    return [...glue.matchAll(/from '(\.\/snippets\/[^']+)'/g)].map((m) => new URL(m[1], new URL(dir, location.href)).href);
  }));
  return urls.flat();
}

const reload = (p) => new Request(p, { cache: 'reload' });

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(VERSION)
      .then((cache) =>
        Promise.all([
          cache.addAll(SHELL.map(reload)).then(async () => cache.addAll((await threadsSnippets(cache)).map(reload))),
          ...OPTIONAL.map((p) => cache.add(reload(p)).catch(() => undefined)),
        ]),
      )
      .then(() => self.skipWaiting()),
  );
});

/** The response with the cross-origin isolation headers (opaque responses cannot be changed). */
function isolated(response) {
  if (!response || response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  if (!headers.has('Cross-Origin-Resource-Policy')) headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

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
        return isolated(cached);
      }
      return isolated((await network) ?? new Response('offline, and this page was never cached', { status: 503 }));
    })(),
  );
});
