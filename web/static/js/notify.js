/**
 * Being reached: the unread mentions in the tab title and a dot on the favicon, the
 * service worker (installable app, offline page, pushed notifications), the "Meldingen
 * aan" button that subscribes this browser only when the user asks, and the per-room
 * notification level menu.
 * @module notify
 */
import { request } from './api.js';
import { h } from './dom.js';

const PREFIX = /^\(\d+\) /;
const ICON = '/static/favicon.svg';
const ICON_DOT = '/static/icons/favicon-dot.svg';

/** @type {Record<string, string>} */
export const LEVEL_LABELS = {
  all: 'Alle berichten',
  mentions: 'Alleen wat over mij gaat',
  none: 'Uit',
};

/** @type {Promise<{levels: Record<string, string>, default: string, push: boolean}>|null} */
let settings = null;
/** @type {HTMLButtonElement|null} */
let button = null;
let unread = 0;
/** @type {(text: string) => void} */
let say = () => {};

function loadSettings() {
  settings ??= request('GET', '/api/me/notifications').catch(() => ({ levels: {}, default: 'mentions', push: false }));
  return settings;
}

/**
 * After sign-in: keep the title and favicon counting, register the service worker and
 * offer the push button.
 * @param {{store: import('./store.js').Store, announce: (text: string) => void}} opts
 */
export function startNotifications({ store, announce }) {
  say = announce;
  settings = null;
  store.on('rooms', () => {
    let total = 0;
    for (const room of store.rooms.values()) total += room.unread_mentions ?? 0;
    if (total !== unread) {
      unread = total;
      showCount();
    }
  });
  watchTitle();
  void offerPush();
}

/** Before sign-out: this browser must not keep receiving the user's pushes. */
export async function stopNotifications() {
  unread = 0;
  showCount();
  button?.remove();
  button = null;
  const sub = await currentSubscription();
  if (!sub) return;
  try { await request('DELETE', '/api/me/push', { endpoint: sub.endpoint }); } catch { /* signed out anyway */ }
  try { await sub.unsubscribe(); } catch { /* the browser forgets it later */ }
}

function showCount() {
  const base = document.title.replace(PREFIX, '');
  const wanted = unread > 0 ? `(${unread}) ${base}` : base;
  if (document.title !== wanted) document.title = wanted;
  const icon = /** @type {HTMLLinkElement|null} */ (document.querySelector('link[rel="icon"]'));
  if (icon) icon.href = unread > 0 ? ICON_DOT : ICON;
}

let titleWatched = false;
/** Views set their own title: put the count back in front of it. */
function watchTitle() {
  const title = document.querySelector('title');
  if (titleWatched || !title) return;
  titleWatched = true;
  new MutationObserver(() => {
    if (unread > 0 && !PREFIX.test(document.title)) showCount();
  }).observe(title, { childList: true, characterData: true, subtree: true });
}

/** Register the service worker (no permission is asked for that). */
export async function registerWorker() {
  if (!('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  } catch {
    return null;
  }
}

function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

async function currentSubscription() {
  if (!pushSupported()) return null;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return reg ? reg.pushManager.getSubscription() : null;
}

async function offerPush() {
  await registerWorker();
  const { push } = await loadSettings();
  if (!push || !pushSupported() || button) return;
  button = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn btn-quiet', id: 'push-button' }));
  button.addEventListener('click', () => void toggle());
  document.getElementById('logout-button')?.before(button);
  await label();
}

async function label() {
  if (!button) return;
  const on = Notification.permission === 'granted' && (await currentSubscription()) !== null;
  button.textContent = on ? 'Meldingen uit' : 'Meldingen aan';
  button.setAttribute('aria-pressed', on ? 'true' : 'false');
}

async function toggle() {
  if (!button) return;
  button.disabled = true;
  try {
    const sub = await currentSubscription();
    if (sub) {
      await request('DELETE', '/api/me/push', { endpoint: sub.endpoint });
      await sub.unsubscribe();
      say('Meldingen staan uit in deze browser.');
    } else {
      await subscribe();
    }
  } catch {
    say('Meldingen aanzetten lukte niet. Probeer het later opnieuw.');
  } finally {
    button.disabled = false;
    await label();
  }
}

async function subscribe() {
  if ((await Notification.requestPermission()) !== 'granted') {
    say('Je browser staat meldingen van de Werkplaats niet toe. Dat kun je in de browser aanpassen.');
    return;
  }
  const reg = await navigator.serviceWorker.ready;
  const { key } = await request('GET', '/api/push/key');
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: fromBase64Url(key) });
  const json = sub.toJSON();
  await request('POST', '/api/me/push', { endpoint: json.endpoint, keys: { p256dh: json.keys?.p256dh, auth: json.keys?.auth } });
  say('Meldingen staan aan in deze browser.');
}

/** @param {string} text */
function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * The room's notification level as a labelled menu; a change is saved at once.
 * @param {string} slug
 * @returns {HTMLElement}
 */
export function levelControl(slug) {
  const id = `notify-level-${slug}`;
  const select = /** @type {HTMLSelectElement} */ (h('select', { id, class: 'notify-level' },
    Object.entries(LEVEL_LABELS).map(([value, text]) => h('option', { value, text }))));
  select.disabled = true;
  void loadSettings().then((s) => {
    select.value = s.levels[slug] ?? s.default;
    select.disabled = false;
  });
  select.addEventListener('change', async () => {
    const level = select.value;
    try {
      await request('PUT', `/api/rooms/${encodeURIComponent(slug)}/notifications`, { level });
      const s = await loadSettings();
      s.levels[slug] = level;
      say(`Meldingen voor deze kamer: ${LEVEL_LABELS[level].toLowerCase()}.`);
    } catch {
      say('Opslaan lukte niet. Probeer het opnieuw.');
    }
  });
  return h('div', { class: 'notify-level-field' }, h('label', { for: id, text: 'Meldingen' }), select);
}
