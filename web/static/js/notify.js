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

/** @type {Promise<{levels: Record<string, string>, default: string, push: boolean, mail?: boolean}>|null} */
let settings = null;
/** @type {HTMLButtonElement|null} */
let button = null;
let unread = 0;
/** @type {(text: string) => void} */
let say = () => {};

function loadSettings() {
  settings ??= request('GET', '/api/me/notifications').catch(() => ({ levels: {}, default: 'mentions', push: false, mail: true }));
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
  if (button) buttons.delete(button);
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
  button = pushButton();
  button.id = 'push-button';
  document.getElementById('logout-button')?.before(button);
}

/** The push buttons on screen (the header's, the profile page's): one state for all. */
const buttons = new Set();

/**
 * A button that turns pushes on or off for this browser; it asks for permission and
 * subscribes only when pressed.
 * @returns {HTMLButtonElement}
 */
export function pushButton() {
  const one = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn btn-quiet push-toggle', text: 'Meldingen aan', 'aria-pressed': 'false' }));
  one.addEventListener('click', () => void toggle());
  buttons.add(one);
  void label();
  return one;
}

/** Whether this browser can receive pushes and this server sends them. */
export async function pushAvailable() {
  return pushSupported() && (await loadSettings()).push;
}

async function label() {
  const on = pushSupported() && Notification.permission === 'granted' && (await currentSubscription()) !== null;
  for (const one of buttons) {
    one.textContent = on ? 'Meldingen uit' : 'Meldingen aan';
    one.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
}

async function toggle() {
  // A button of a page left since is forgotten (a new one is not yet on the page when made).
  for (const one of buttons) if (!one.isConnected) buttons.delete(one);
  for (const one of buttons) one.disabled = true;
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
    for (const one of buttons) one.disabled = false;
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
 * @param {{label?: string, idPrefix?: string}} [opts] the label (default "Meldingen") and
 *   an id prefix, for a page that shows the menus of several rooms
 * @returns {HTMLElement}
 */
export function levelControl(slug, { label: text = 'Meldingen', idPrefix = 'notify-level' } = {}) {
  const id = `${idPrefix}-${slug}`;
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
      say(`Meldingen voor ${text === 'Meldingen' ? 'deze kamer' : text}: ${LEVEL_LABELS[level].toLowerCase()}.`);
    } catch {
      say('Opslaan lukte niet. Probeer het opnieuw.');
    }
  });
  return h('div', { class: 'notify-level-field' }, h('label', { for: id, text }), select);
}

/**
 * Whether the notification e-mail (unseen mentions and actiepunten, batched) is on.
 * @returns {Promise<boolean>}
 */
export async function mailOn() {
  return (await loadSettings()).mail ?? true;
}

/**
 * Turn the notification e-mail on or off.
 * @param {boolean} on
 * @returns {Promise<boolean>} whether it is on now
 */
export async function setMail(on) {
  const { mail } = await request('PATCH', '/api/me/notifications', { mail: on });
  (await loadSettings()).mail = mail;
  say(mail ? 'Je krijgt weer e-mail over wat op je wacht.' : 'Je krijgt geen e-mail meer over wat op je wacht.');
  return mail;
}
