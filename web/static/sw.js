/**
 * The service worker (served at /sw.js, scope /): shows pushed notifications, opens the
 * right room when one is clicked, and answers a page load without a network with the
 * Dutch offline page. It caches nothing else: the app itself always comes from the server.
 */
const OFFLINE = '/static/offline.html';
const CACHE = 'werkplaats-offline-1';

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll([OFFLINE, '/static/style.css', '/static/favicon.svg'])));
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  if (event.request.mode !== 'navigate') return;
  event.respondWith(fetch(event.request).catch(async () => (await caches.match(OFFLINE)) ?? Response.error()));
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
