/**
 * The profile page's parts about being reached: the notification level of each room, the
 * notification e-mail on or off, the push button of this browser (it subscribes only when
 * pressed), and the personal calendar feed.
 * @module profilenotify
 */
import { request } from './api.js';
import { h, replace } from './dom.js';
import { errorText } from './i18n.js';
import { levelControl, mailOn, pushAvailable, pushButton, registerWorker, setMail } from './notify.js';

/** Rooms in the order of the room list: areas, themes, meetings, then the rest, by name. */
const KIND_ORDER = ['area', 'theme', 'meeting'];

/**
 * @param {{store: import('./store.js').Store}} opts
 * @returns {HTMLElement}
 */
export function notificationSection({ store }) {
  const status = h('p', { class: 'status', role: 'status' });

  const pushBox = h('div', { class: 'profile-push' }, h('p', { class: 'muted', text: 'Meldingen in deze browser laden…' }));
  void (async () => {
    await registerWorker();
    if (!(await pushAvailable())) {
      replace(pushBox, h('p', { class: 'muted', text: 'Deze browser of deze server kan geen meldingen sturen.' }));
      return;
    }
    replace(pushBox,
      h('p', { id: 'push-hint', text: 'Een melding van je browser, ook als de Werkplaats niet open staat. Je browser vraagt eerst toestemming.' }),
      Object.assign(pushButton(), { id: 'profile-push-button' }));
    pushBox.querySelector('button')?.setAttribute('aria-describedby', 'push-hint');
  })();

  const mailBox = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'profile-mail', name: 'mail', disabled: true }));
  void mailOn().then((on) => { mailBox.checked = on; mailBox.disabled = false; });
  mailBox.addEventListener('change', async () => {
    mailBox.disabled = true;
    try {
      mailBox.checked = await setMail(mailBox.checked);
      status.textContent = '';
    } catch (err) {
      mailBox.checked = !mailBox.checked;
      status.textContent = errorText(/** @type {any} */ (err).code ?? 'network');
    } finally {
      mailBox.disabled = false;
    }
  });

  const rooms = [...store.rooms.values()]
    .filter((r) => r.kind !== 'direct')
    .sort((a, b) => (rank(a.kind) - rank(b.kind)) || String(a.name).localeCompare(String(b.name), 'nl'));

  return h('section', { class: 'profile-notify', 'aria-labelledby': 'notify-h' },
    h('h2', { id: 'notify-h', text: 'Meldingen' }),
    h('h3', { text: 'In deze browser' }),
    pushBox,
    h('h3', { text: 'Per e-mail' }),
    h('div', { class: 'check-field' }, mailBox,
      h('label', { for: 'profile-mail', text: ' E-mail over een vermelding of actiepunt dat je na een half uur nog niet zag' })),
    status,
    h('h3', { text: 'Per kamer' }),
    rooms.length
      ? h('ul', { class: 'profile-levels' }, rooms.map((r) => h('li', {},
        levelControl(r.slug, { label: String(r.name ?? r.slug), idPrefix: 'profile-level' }))))
      : h('p', { class: 'muted', text: 'Je bent nog in geen kamer.' }));
}

/** @param {string} kind */
function rank(kind) {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

/**
 * The personal calendar feed: a secret address of every meeting the user goes to.
 * @returns {HTMLElement}
 */
export function calendarSection() {
  const box = h('p', { class: 'calendar-feed' });
  const status = h('p', { class: 'status', role: 'status' });
  /** @param {() => Promise<void>} act */
  const run = (act) => async () => {
    try {
      await act();
    } catch (err) {
      status.textContent = errorText(/** @type {any} */ (err).code ?? 'network');
    }
  };
  return h('section', { 'aria-labelledby': 'calendar-h' },
    h('h2', { id: 'calendar-h', text: 'Mijn agenda' }),
    h('p', { text: 'Een geheim adres waarop je agenda-app al je bijeenkomsten volgt. Een nieuw adres vervangt het vorige.' }),
    box,
    status,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', text: 'Maak een agenda-adres', onclick: run(async () => {
        const { url } = await request('POST', '/api/me/calendar');
        replace(box, 'Abonneer je agenda op dit adres (deel het niet): ', h('code', { text: url }));
        status.textContent = 'Het adres van je agenda staat op de pagina.';
      }) }),
      h('button', { type: 'button', class: 'btn btn-quiet', text: 'Stop het agenda-adres', onclick: run(async () => {
        await request('DELETE', '/api/me/calendar');
        replace(box);
        status.textContent = 'Het agenda-adres werkt niet meer.';
      }) })));
}
