/**
 * The moderation screen: open reports and the audit log.
 * @module views/moderation
 */
import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { formatDateTime } from '../format.js';
import { errorText } from '../i18n.js';
import { roomHref } from '../router.js';

/** @type {Record<string, string>} */
const STATUS = { open: 'open', resolved: 'afgehandeld', dismissed: 'afgewezen' };

/** Audit actions in words; an unknown action is shown as the server names it. */
/** @type {Record<string, string>} */
const ACTIONS = {
  hide: 'bericht verborgen',
  ban: 'verbannen',
  unban: 'verbanning opgeheven',
  mute: 'gedempt',
  unmute: 'demping opgeheven',
  lock: 'kamer gesloten',
  unlock: 'kamer heropend',
  archive: 'kamer gearchiveerd',
  unarchive: 'kamer uit archief',
  set_topic: 'onderwerp gewijzigd',
  room_updated: 'kamer gewijzigd',
  add_moderator: 'moderator benoemd',
  remove_moderator: 'moderator afgezet',
  add_member: 'lid toegevoegd',
  remove_member: 'lid verwijderd',
  pin: 'bericht vastgezet',
  unpin: 'bericht losgemaakt',
  set_slow_mode_seconds: 'langzame modus ingesteld',
  create_meeting: 'bijeenkomst aangemaakt',
  export_room: 'kamer geëxporteerd',
  export_room_hidden: 'kamer geëxporteerd met verborgen berichten',
  export_user: 'gegevens van deelnemer geëxporteerd',
  pseudonymise: 'deelnemer gepseudonimiseerd',
  purge: 'oude berichten opgeschoond',
  report_resolved: 'melding afgehandeld',
  report_dismissed: 'melding afgewezen',
};

/**
 * @param {HTMLElement} main
 * @param {{store: import('../store.js').Store, announce: (text: string) => void}} opts
 */
export function renderModeration(main, { store, announce }) {
  const reportsBox = h('div', { class: 'mod-block' }, h('p', { class: 'muted', text: 'Meldingen laden…' }));
  const auditBox = h('div', { class: 'mod-block' }, h('p', { class: 'muted', text: 'Auditlog laden…' }));
  const roomFilter = h('select', { id: 'audit-room', name: 'room' },
    h('option', { value: '', text: 'Alle kamers' }),
    [...store.rooms.values()].sort((a, b) => a.name.localeCompare(b.name, 'nl'))
      .map((r) => h('option', { value: r.slug, text: r.name })));
  const auditForm = h('form', { class: 'inline-form', 'aria-label': 'Auditlog filteren' },
    h('label', { for: 'audit-room', text: 'Kamer' }), roomFilter,
    h('button', { type: 'submit', class: 'btn btn-small', text: 'Tonen' }));
  auditForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadAudit(/** @type {HTMLSelectElement} */ (roomFilter).value);
  });

  const roomName = (/** @type {string} */ slug) => store.rooms.get(slug)?.name ?? slug;

  async function loadReports() {
    try {
      const { reports } = await api.reports();
      if (!reports.length) {
        replace(reportsBox, h('p', { text: 'Er zijn geen meldingen.' }));
        return;
      }
      replace(reportsBox, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Tabel met meldingen' },
        h('table', {},
          h('caption', { class: 'visually-hidden', text: 'Meldingen, nieuwste eerst' }),
          h('thead', {}, h('tr', {}, ['Tijd', 'Kamer', 'Bericht', 'Gemeld door', 'Reden', 'Status', 'Actie'].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, reports.map((/** @type {any} */ r) => h('tr', {},
            h('td', {}, h('time', { datetime: r.at, text: formatDateTime(r.at) })),
            h('td', {}, h('a', { href: roomHref(r.room), text: roomName(r.room) })),
            h('td', { class: 'mono', text: String(r.message_id) }),
            h('td', { text: r.reporter }),
            h('td', { class: 'reason', text: r.reason ?? '' }),
            h('td', { text: STATUS[r.status] ?? r.status }),
            h('td', {}, r.status === 'open' ? reportButtons(r) : null)))))));
    } catch (err) {
      replace(reportsBox, h('p', { class: 'form-error', text: errorText(/** @type {any} */ (err).code ?? 'network') }));
    }
  }

  /** @param {any} r a report */
  function reportButtons(r) {
    const act = async (/** @type {'resolved'|'dismissed'} */ status) => {
      try {
        await api.handleReport(r.id, { status });
        announce(status === 'resolved' ? 'Melding afgehandeld.' : 'Melding afgewezen.');
        await loadReports();
        /** @type {HTMLElement|null} */ (reportsBox.querySelector('button, p, [tabindex]'))?.focus();
        loadAudit(/** @type {HTMLSelectElement} */ (roomFilter).value);
      } catch (err) {
        announce(errorText(/** @type {any} */ (err).code ?? 'network'));
      }
    };
    return h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'btn btn-small', text: 'Afhandelen', 'aria-label': `Melding van ${r.reporter} afhandelen`, onclick: () => act('resolved') }),
      h('button', { type: 'button', class: 'btn btn-small', text: 'Afwijzen', 'aria-label': `Melding van ${r.reporter} afwijzen`, onclick: () => act('dismissed') }));
  }

  /** @param {string} room */
  async function loadAudit(room) {
    try {
      const { entries } = await api.audit({ room, limit: 100 });
      if (!entries.length) {
        replace(auditBox, h('p', { text: 'Het auditlog is leeg.' }));
        return;
      }
      replace(auditBox, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Tabel met de auditlog' },
        h('table', {},
          h('caption', { class: 'visually-hidden', text: 'Auditlog, nieuwste eerst' }),
          h('thead', {}, h('tr', {}, ['Tijd', 'Wie', 'Actie', 'Kamer', 'Doel', 'Reden'].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, entries.map((/** @type {any} */ e) => h('tr', {},
            h('td', {}, h('time', { datetime: e.at, text: formatDateTime(e.at) })),
            h('td', { text: e.actor ?? '' }),
            h('td', { text: ACTIONS[e.action] ?? e.action ?? '' }),
            h('td', { text: e.room ? roomName(e.room) : '' }),
            h('td', { class: 'mono', text: e.target ?? '' }),
            h('td', { class: 'reason', text: e.reason ?? '' })))))));
    } catch (err) {
      replace(auditBox, h('p', { class: 'form-error', text: errorText(/** @type {any} */ (err).code ?? 'network') }));
    }
  }

  replace(main, h('section', { class: 'moderation', 'aria-labelledby': 'mod-title' },
    h('h1', { id: 'mod-title', tabindex: '-1', text: 'Moderatie' }),
    h('section', { 'aria-labelledby': 'mod-reports' }, h('h2', { id: 'mod-reports', text: 'Meldingen' }), reportsBox),
    h('section', { 'aria-labelledby': 'mod-audit' }, h('h2', { id: 'mod-audit', text: 'Auditlog' }), auditForm, auditBox)));
  document.title = 'Moderatie – Werkplaats';
  loadReports();
  loadAudit('');
}
