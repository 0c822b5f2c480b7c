/**
 * Routes by path (History API); the server answers each of these paths with the client's
 * page (web/clientpaths.py lists the same first segments):
 * `/` home, `/kamer/<slug>` a room (optionally `?seq=N` to show one message),
 * `/zoeken?q=…` search, `/moderatie` moderation, `/bijpraten` catch-up since the last
 * meeting, `/overzicht` the area × theme overview, `/bijeenkomst/<slug>` a meeting,
 * `/verslag/<slug>` a meeting's report, `/delen` the requests to share; account screens
 * (account.js): `/profiel`, `/gebruikers`, `/uitnodiging#<token>`,
 * `/wachtwoord-herstellen#<token>` (the token stays in the fragment: no server sees it).
 * `/woordenlijst` the search glossary (glossary.js).
 * Links are plain `<a href="/kamer/…">`; a click on one is handled here without a reload.
 * The old `#/…` addresses (bookmarks, mails) are rewritten to their path on load.
 * @module router
 */

/** @typedef {{name: 'home'|'room'|'search'|'moderation'|'catchup'|'overview'|'meeting'|'report'|'sharing'|'share-new'|'profile'|'users'|'account'|'glossary'|'notfound', slug?: string, params: URLSearchParams}} Route */

/** The first path segments of the client's screens (web/clientpaths.py: CLIENT_ROOTS). */
export const ROOTS = ['kamer', 'zoeken', 'moderatie', 'bijpraten', 'overzicht', 'bijeenkomst',
  'verslag', 'delen', 'profiel', 'gebruikers', 'uitnodiging', 'wachtwoord-herstellen', 'woordenlijst'];

/** Fired on `window` after every client navigation (a link, `navigate`, back/forward). */
const CHANGED = 'werkplaats:route';
/** The path and query last routed: a change of the fragment alone is no navigation. */
let routed = '';

function changed() {
  routed = location.pathname + location.search;
  window.dispatchEvent(new Event(CHANGED));
}

/**
 * A client path from its segments: `path('kamer', slug)` is `/kamer/<slug>`.
 * @param {...string} parts
 */
export function path(...parts) {
  return `/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
}

/**
 * @param {string} pathname
 * @param {string} [search]
 * @returns {Route}
 */
export function parseRoute(pathname, search = '') {
  const params = new URLSearchParams(search);
  const parts = pathname.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  if (parts.length === 0) return { name: 'home', params };
  if (parts[0] === 'kamer' && parts[1]) return { name: 'room', slug: parts[1], params };
  if (parts[0] === 'zoeken') return { name: 'search', params };
  if (parts[0] === 'moderatie') return { name: 'moderation', params };
  if (parts[0] === 'bijpraten') return { name: 'catchup', params };
  if (parts[0] === 'overzicht') return { name: 'overview', params };
  if (parts[0] === 'bijeenkomst' && parts[1]) return { name: 'meeting', slug: parts[1], params };
  if (parts[0] === 'delen') return { name: parts[1] === 'nieuw' ? 'share-new' : 'sharing', params };
  if (parts[0] === 'verslag' && parts[1]) return { name: 'report', slug: parts[1], params };
  if (parts[0] === 'profiel') return { name: 'profile', params };
  if (parts[0] === 'gebruikers') return { name: 'users', params };
  if (parts[0] === 'woordenlijst') return { name: 'glossary', params };
  if (parts[0] === 'uitnodiging' || parts[0] === 'wachtwoord-herstellen') return { name: 'account', params };
  return { name: 'notfound', params };
}

/** The route of the address the page is at now. */
export function currentRoute() {
  return parseRoute(location.pathname, location.search);
}

/** @param {string} slug @param {number} [seq] */
export function roomHref(slug, seq) {
  return `${path('kamer', slug)}${seq ? `?seq=${seq}` : ''}`;
}

/** @param {Record<string, string>} params */
export function searchHref(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `/zoeken${s ? `?${s}` : ''}`;
}

/**
 * The path an old `#/…` address means, or null: `#/kamer/x?seq=3` is `/kamer/x?seq=3`;
 * a one-time link's token goes back into the fragment.
 * @param {string} hash
 */
export function pathOfHash(hash) {
  if (!hash.startsWith('#/')) return null;
  const old = hash.slice(1);
  const token = /^\/(uitnodiging|wachtwoord-herstellen)\/([A-Za-z0-9_-]+)$/.exec(old);
  return token ? `/${token[1]}#${token[2]}` : old;
}

/** Whether a same-origin path is one of the client's screens (not /api, /openbaar, …). @param {string} pathname */
export function isClientPath(pathname) {
  const first = pathname.split('/')[1] ?? '';
  return first === '' || ROOTS.includes(first);
}

/**
 * Go to a client address without reloading the page.
 * @param {string} url a path with its query and fragment
 * @param {{replace?: boolean}} [opts] replace the current history entry
 */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  changed();
}

/**
 * Call `fn` on every client navigation (not now).
 * @param {() => void} fn
 */
export function onNavigate(fn) {
  window.addEventListener(CHANGED, fn);
}

/**
 * Rewrite an old `#/…` address in place, then handle clicks on the client's links and
 * the browser's back and forward buttons. Call once, before the first route.
 */
export function startRouting() {
  const moved = pathOfHash(location.hash);
  if (moved) history.replaceState(null, '', moved);
  routed = location.pathname + location.search;
  window.addEventListener('popstate', () => {
    if (location.pathname + location.search !== routed && !pathOfHash(location.hash)) changed();
  });
  // An old address typed or pasted while the page is open changes only the fragment.
  window.addEventListener('hashchange', () => {
    const to = pathOfHash(location.hash);
    if (to) navigate(to, { replace: true });
  });
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = /** @type {Element} */ (ev.target).closest?.('a[href]');
    if (!(a instanceof HTMLAnchorElement) || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
    const url = new URL(a.href);
    if (url.origin !== location.origin || !isClientPath(url.pathname)) return;
    // A link within this page (the skip link, `#main`) is the browser's.
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
    ev.preventDefault();
    const to = url.pathname + url.search + url.hash;
    // Following a link to where the page already is changes nothing, as a hash link did not.
    if (to !== location.pathname + location.search + location.hash) navigate(to);
  });
}

/**
 * Call `fn` with the current route now and on every change.
 * @param {(route: Route) => void} fn
 */
export function watchRoutes(fn) {
  onNavigate(() => fn(currentRoute()));
  fn(currentRoute());
}
