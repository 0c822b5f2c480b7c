/**
 * Start of the web client: finds out whether the user is signed in, then wires the
 * store, the real-time sync and the views to the routes (paths, js/router.js).
 * @module app
 */
import { Announcer } from './js/announcer.js';
import { renderProfile, renderPublicRoute, renderUsers } from './js/account.js';
import { renderGlossary } from './js/glossary.js';
import { api, onUnauthenticated } from './js/api.js';
import { visible } from './js/bidi.js';
import { errorText } from './js/i18n.js';
import { Store } from './js/store.js';
import { Sync } from './js/sync.js';
import { startOffline } from './js/offline.js';
import { forgetDrafts, setDraftOwner } from './js/conversation.js';
import { forgetUser, rememberedUser, rememberUser } from './js/outbox.js';
import { renderReportPage } from './js/report.js';
import { onNavigate, startRouting, watchRoutes } from './js/router.js';
import { renderMeeting } from './js/meeting.js';
import { startNotifications, stopNotifications } from './js/notify.js';
import { renderCatchup } from './js/views/catchup.js';
import { renderHome, renderNotFound } from './js/views/home.js';
import { renderLogin } from './js/views/login.js';
import { moderatesAny, renderModeration } from './js/views/moderation.js';
import { renderOverview } from './js/views/overview.js';
import { RoomView } from './js/views/room.js';
import { renderRoomList } from './js/views/rooms.js';
import { renderSearch } from './js/views/search.js';
import { refreshSharingBadge, renderShareNew, renderSharing, watchSharing } from './js/sharing.js';
import { roomShortcuts } from './js/switcher.js';
import { foldableMenu } from './js/topmenu.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const main = $('main');
const sidebar = $('sidebar');
const topnav = $('topnav');
const connection = $('connection');
const store = new Store();
const announcer = new Announcer($('live'));
const sync = new Sync(store, announcer);
const topMenu = foldableMenu(topnav);

let signedIn = false;
let routesWatched = false;
/** @type {RoomView|null} */
let roomView = null;
/** @type {import('./js/router.js').Route|null} */
let current = null;
let everOpen = false;

async function boot() {
  startRouting();
  $('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  $('logout-button').addEventListener('click', () => signOut(null));
  roomShortcuts(() => signedIn);
  // Before login: an invitation or reset page, or else the login screen.
  onNavigate(() => {
    if (!signedIn && !renderPublicRoute(main, publicAddress(), { onLoggedIn: (user) => enter(user) })) showLogin(undefined);
  });
  onUnauthenticated(() => { if (signedIn) signOut('Je sessie is beëindigd (verlopen, of uitgelogd in een ander venster). Log opnieuw in.', false); });
  store.on('rooms', scheduleSidebar);
  // Room moderators get the Moderatie screen once the room list says which rooms they moderate.
  store.on('rooms', renderUser);
  store.on('user', renderUser);
  store.on('conn', showConnection);
  store.on('notice', (/** @type {any} */ f) => announcer.say(String(f.body ?? '')));
  watchSharing(store, (text) => announcer.say(text));
  store.on('error', (d) => {
    const alert = $('alert');
    alert.textContent = '';
    setTimeout(() => { alert.textContent = errorText(d.code, d.retryAfter); }, 50);
  });
  void startOffline();
  try {
    const { user } = await api.me();
    await enter(user);
  } catch (err) {
    const e = /** @type {any} */ (err);
    // No network (status 0): the client as it was, with the unsent messages, until it is back.
    const known = e.status === 0 ? rememberedUser() : null;
    if (known) {
      await enter(known);
      return;
    }
    if (e.status === 401 && renderPublicRoute(main, publicAddress(), { onLoggedIn: (user) => enter(user) })) return;
    showLogin(e.status === 401 ? undefined : 'De server is nu niet bereikbaar. Probeer het zo opnieuw.');
  }
}

/** @param {import('./js/store.js').User} user */
async function enter(user) {
  signedIn = true;
  store.setUser(user);
  setDraftOwner(user.username);
  rememberUser(user);
  topnav.hidden = false;
  sidebar.hidden = false;
  $('logout-button').hidden = false;
  try {
    await sync.refreshRooms();
  } catch {
    /* the room list fills in when the connection says hello */
  }
  sync.start();
  startNotifications({ store, announce: (text) => announcer.say(text) });
  if (!routesWatched) {
    routesWatched = true;
    watchRoutes(route);
  } else {
    route(current ?? { name: 'home', params: new URLSearchParams() });
  }
}

/** The address as the account pages read it: `/uitnodiging#<token>`. */
function publicAddress() {
  return location.pathname + location.hash;
}

/** @param {string|undefined} notice */
function showLogin(notice) {
  document.body.dataset.view = 'login';
  topnav.hidden = true;
  sidebar.hidden = true;
  $('logout-button').hidden = true;
  renderLogin(main, { onLoggedIn: (user) => enter(user), notice });
}

/**
 * @param {string|null} notice
 * @param {boolean} [tellServer]
 */
async function signOut(notice, tellServer = true) {
  signedIn = false;
  roomView?.destroy();
  roomView = null;
  sync.stop();
  try { await stopNotifications(); } catch { /* the browser forgets it later */ }
  if (tellServer) {
    if (store.user) {
      forgetUser(store.user.username);
      forgetDrafts(store.user.username);
    }
    let atProvider = null;
    try { atProvider = await api.logout(); } catch { /* the cookie is gone or the server is away */ }
    if (atProvider) {
      // Signed on through a provider: it ends its own session too, then sends the browser
      // back to the start page (OpenID Connect RP-Initiated Logout).
      store.clear();
      location.assign(atProvider);
      return;
    }
  }
  store.clear();
  everOpen = false;
  connection.hidden = true;
  showLogin(notice ?? 'Je bent uitgelogd.');
}

/** @param {import('./js/router.js').Route} r */
function route(r) {
  current = r;
  topMenu.close();
  if (!signedIn) return;
  if (roomView && (r.name !== 'room' || r.slug !== roomView.slug)) {
    roomView.destroy();
    roomView = null;
  }
  document.body.dataset.view = r.name;
  refreshSharingBadge();
  for (const a of topnav.querySelectorAll('a[data-nav]')) {
    const active = /** @type {HTMLElement} */ (a).dataset.nav === r.name || (r.name === 'share-new' && /** @type {HTMLElement} */ (a).dataset.nav === 'sharing') || (r.name === 'room' && /** @type {HTMLElement} */ (a).dataset.nav === 'home');
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  renderSidebar();
  if (r.name === 'room' && r.slug) {
    const seq = Number(r.params.get('seq'));
    if (roomView && roomView.slug === r.slug) {
      if (seq) roomView.showMessage(seq);
      return;
    }
    roomView = new RoomView(main, { store, sync, announcer, slug: r.slug, focusSeq: seq || null });
    roomView.mount();
    return;
  }
  if (r.name === 'home') renderHome(main, { store });
  else if (r.name === 'search') renderSearch(main, { store, params: r.params });
  else if (r.name === 'catchup') {
    renderCatchup(main, { announcer, refreshRooms: () => sync.refreshRooms(), since: r.params.get('sinds') ?? undefined });
  } else if (r.name === 'overview') renderOverview(main);
  else if (r.name === 'report' && r.slug) renderReportPage(main, r.slug, store.user);
  else if (r.name === 'meeting' && r.slug) renderMeeting(main, { slug: r.slug, store, announcer });
  else if (r.name === 'sharing') renderSharing(main, { staff: store.isStaff(), announce: (text) => announcer.say(text) });
  else if (r.name === 'share-new') {
    const rooms = [...store.rooms.values()].filter((room) => store.mayModerate(room.slug));
    renderShareNew(main, { rooms, room: r.params.get('kamer'), events: (slug) => api.events(slug, { before: Number.MAX_SAFE_INTEGER, limit: 100 }), announce: (text) => announcer.say(text) });
  }
  else if (r.name === 'profile') renderProfile(main, { store });
  else if (r.name === 'glossary') renderGlossary(main, { staff: store.isStaff(), announce: (text) => announcer.say(text) });
  else if (r.name === 'account') renderPublicRoute(main, publicAddress(), { onLoggedIn: (user) => enter(user) });
  else if (r.name === 'users') {
    if (store.user?.role === 'admin') renderUsers(main, { store, announce: (text) => announcer.say(text) });
    else renderNotFound(main);
  }
  else if (r.name === 'moderation') {
    if (moderatesAny(store)) renderModeration(main, { store, announce: (text) => announcer.say(text) });
    else renderNotFound(main);
  } else renderNotFound(main);
  const h1 = /** @type {HTMLElement|null} */ (main.querySelector('h1'));
  h1?.focus();
}

let sidebarQueued = false;
function scheduleSidebar() {
  if (sidebarQueued) return;
  sidebarQueued = true;
  requestAnimationFrame(() => {
    sidebarQueued = false;
    renderSidebar();
  });
}

function renderSidebar() {
  if (!signedIn) return;
  renderRoomList(sidebar, store, current?.name === 'room' ? current.slug ?? null : null, () => sync.refreshRooms());
}

function renderUser() {
  const u = store.user;
  $('whoami').textContent = u ? visible(`${u.display_name ?? u.username}${u.organisation ? ` · ${u.organisation}` : ''}`) : '';
  $('nav-moderation').hidden = !moderatesAny(store);
  $('nav-users').hidden = u?.role !== 'admin';
}

/** @param {{state: string, retryInMs?: number, code?: number}} d */
let sessionCheck = false;

function showConnection(d) {
  document.body.dataset.connection = d.state;
  // A refused upgrade looks like any lost connection; after a few, ask whether the
  // session is still valid (a 401 there leads back to the login screen).
  // 1008 is also how the server ends the connections of a session that was logged out.
  if (d.state === 'waiting' && (d.code === 1008 || sync.conn.failures >= 3) && !sessionCheck && signedIn) {
    sessionCheck = true;
    api.me().catch(() => {}).finally(() => { sessionCheck = false; });
  }
  if (d.state === 'open') {
    everOpen = true;
    if (!connection.hidden) {
      connection.textContent = 'Verbonden.';
      connection.classList.remove('warn');
      setTimeout(() => { if (sync.conn.state === 'open') connection.hidden = true; }, 1500);
    }
    return;
  }
  if (d.state === 'stopped') {
    connection.hidden = true;
    return;
  }
  if (!everOpen && d.state !== 'offline') return;
  const text = d.state === 'offline'
    ? 'Je bent offline. Berichten die je schrijft worden verstuurd zodra de verbinding terug is.'
    : 'De verbinding is weg. We proberen opnieuw te verbinden…';
  if (connection.textContent !== text) connection.textContent = text;
  connection.classList.add('warn');
  connection.hidden = false;
}

boot();
