/**
 * The service worker (served at /sw.js, scope /): the offline shell, and pushed
 * notifications (shows them, opens the right room when one is clicked).
 *
 * Offline shell: a page load of a client path goes to the network first; its answer
 * (index.html, the same page for every client path) is kept, and given back when the
 * network fails, so the client starts and shows its outbox. The client's files under
 * `/static/<version>/` never change under one name: they are kept cache-first, and a new
 * version's shell drops the files of every other version. Other page loads fall back to
 * the Dutch offline page. Nothing under /api or /ws is ever kept: the client's data comes
 * from the server each time (the outbox lives in the page's localStorage, js/outbox.js).
 */
const SHELL = 'werkplaats-shell';
const ASSETS = 'werkplaats-assets';
const OFFLINE = '/static/offline.html';
const INDEX = '/';
const VERSIONED = /^\/static\/([0-9a-f]{12})\//;
// The first path segments of the client's screens: js/router.js ROOTS (a worker script
// cannot import the page's modules).
const ROOTS = ['kamer', 'zoeken', 'moderatie', 'bijpraten', 'overzicht', 'bijeenkomst',
  'verslag', 'delen', 'profiel', 'gebruikers', 'uitnodiging', 'wachtwoord-herstellen', 'woordenlijst'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL);
    await shell.addAll([OFFLINE, '/static/style.css', '/static/favicon.svg']);
    try { await keepShell(await fetch(INDEX, { cache: 'no-cache' })); } catch { /* kept at the next page load */ }
  })());
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== SHELL && key !== ASSETS) await caches.delete(key);
    await self.clients.claim();
  })());
});

/** @param {string} pathname */
function isClientPath(pathname) {
  const first = pathname.split('/')[1] ?? '';
  return first === '' || ROOTS.includes(first);
}

/** Keep a fresh index.html as the shell, and only its version's files. @param {Response} res */
async function keepShell(res) {
  if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/html')) return;
  const text = await res.clone().text();
  await (await caches.open(SHELL)).put(INDEX, res);
  const version = /"\/static\/([0-9a-f]{12})\//.exec(text)?.[1];
  if (!version) return;
  const assets = await caches.open(ASSETS);
  for (const req of await assets.keys()) {
    if (VERSIONED.exec(new URL(req.url).pathname)?.[1] !== version) await assets.delete(req);
  }
}

/** A page load: the network, else the kept shell (client paths) or the offline page. @param {FetchEvent} event */
async function page(event) {
  const client = isClientPath(new URL(event.request.url).pathname);
  try {
    const res = await fetch(event.request);
    if (client) event.waitUntil(keepShell(res.clone()));
    return res;
  } catch {
    return (client && await caches.match(INDEX, { cacheName: SHELL }))
      || (await caches.match(OFFLINE)) || Response.error();
  }
}

/** A file of one version: the cache, else the network (then kept). @param {Request} request */
async function versioned(request) {
  const assets = await caches.open(ASSETS);
  const hit = await assets.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) await assets.put(request, res.clone());
  return res;
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== 'GET') return;
  if (event.request.mode === 'navigate') event.respondWith(page(event));
  else if (VERSIONED.test(url.pathname)) event.respondWith(versioned(event.request));
  else if (url.pathname.startsWith('/static/')) {
    event.respondWith(fetch(event.request).catch(async () => (await caches.match(event.request)) ?? Response.error()));
  }
});

// The page hands over the files its first load fetched before this worker controlled it.
self.addEventListener('message', (event) => {
  const urls = Array.isArray(event.data?.urls) ? event.data.urls : [];
  if (event.data?.type !== 'keep') return;
  event.waitUntil((async () => {
    const assets = await caches.open(ASSETS);
    for (const u of urls) {
      if (typeof u !== 'string') continue;
      const url = new URL(u, self.location.origin);
      if (url.origin !== self.location.origin || !VERSIONED.test(url.pathname) || await assets.match(url.href)) continue;
      try {
        const res = await fetch(url.href);
        if (res.ok) await assets.put(url.href, res);
      } catch { /* kept when the page asks for it next */ }
    }
  })());
});

/** Only a path of this site: a push never sends the browser elsewhere. @param {unknown} url */
function sameSite(url) {
  const text = typeof url === 'string' ? url : '/';
  const u = new URL(text, self.location.origin);
  return u.origin === self.location.origin ? u.pathname + u.search + u.hash : '/';
}

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  const title = typeof data.title === 'string' && data.title ? data.title : 'Werkplaats';
  event.waitUntil(self.registration.showNotification(title, {
    body: typeof data.body === 'string' ? data.body : '',
    icon: '/static/icons/icon-192.png',
    badge: '/static/icons/icon-192.png',
    lang: 'nl',
    data: { url: sameSite(data.url) },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = sameSite(event.notification.data?.url);
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of open) {
      if ('focus' in client) {
        await client.focus();
        if ('navigate' in client) await client.navigate(url);
        return;
      }
    }
    await self.clients.openWindow(url);
  })());
});
