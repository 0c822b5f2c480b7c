/**
 * Hash routes, so the server only has to serve `/`:
 * `#/` home, `#/kamer/<slug>` a room (optionally `?seq=N` to show one message),
 * `#/zoeken?q=…` search, `#/moderatie` moderation, `#/bijpraten` catch-up since the last
 * meeting, `#/overzicht` the area × theme overview, `#/bijeenkomst/<slug>` a meeting,
 * `#/verslag/<slug>` a meeting's report, `#/delen` the requests to share; account screens
 * (account.js): `#/profiel`, `#/gebruikers`, `#/uitnodiging/<token>`,
 * `#/wachtwoord-herstellen/<token>`; `#/woordenlijst` the search glossary (glossary.js).
 * @module router
 */

/** @typedef {{name: 'home'|'room'|'search'|'moderation'|'catchup'|'overview'|'meeting'|'report'|'sharing'|'share-new'|'profile'|'users'|'account'|'glossary'|'notfound', slug?: string, params: URLSearchParams}} Route */

/**
 * @param {string} hash
 * @returns {Route}
 */
export function parseRoute(hash) {
  const raw = hash.replace(/^#/, '');
  const [path, qs] = raw.split('?', 2);
  const params = new URLSearchParams(qs ?? '');
  const parts = path.split('/').filter(Boolean).map((p) => {
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
  if ((parts[0] === 'uitnodiging' || parts[0] === 'wachtwoord-herstellen') && parts[1]) return { name: 'account', params };
  return { name: 'notfound', params };
}

/** @param {string} slug @param {number} [seq] */
export function roomHref(slug, seq) {
  return `#/kamer/${encodeURIComponent(slug)}${seq ? `?seq=${seq}` : ''}`;
}

/** @param {Record<string, string>} params */
export function searchHref(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#/zoeken${s ? `?${s}` : ''}`;
}

/**
 * Call `fn` with the current route now and on every change.
 * @param {(route: Route) => void} fn
 */
export function watchRoutes(fn) {
  const run = () => {
    // Fragment links like the skip link are not routes.
    if (location.hash && !location.hash.startsWith('#/')) return;
    fn(parseRoute(location.hash));
  };
  window.addEventListener('hashchange', run);
  run();
}
