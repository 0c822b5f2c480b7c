/**
 * The moderation screen: open reports with the reported message and a link to it, the
 * mutes and bans in force with "Opheffen" (and a form to mute or ban someone by name), and
 * the audit log in Dutch with its values, filtered by room, kind of action, person and
 * period. Room moderators see their own rooms; staff see all (the server decides).
 * @module views/moderation
 */
import { api, request } from '../api.js';
import { AUDIT_KINDS, MESSAGE_ACTIONS, auditText } from '../audit.js';
import { h, replace, uid } from '../dom.js';
import { formatDateTime } from '../format.js';
import { errorText } from '../i18n.js';
import { personDetail, personPicker } from '../people.js';
import { roomHref } from '../router.js';

/** @type {Record<string, string>} */
const STATUS = { open: 'open', resolved: 'afgehandeld', dismissed: 'afgewezen' };

/**
 * Whether the moderation screen has something for this user: staff, or a room moderator.
 * @param {import('../store.js').Store} store
 */
export function moderatesAny(store) {
  return store.isStaff() || [...store.rooms.values()].some((r) => r.can_moderate);
}

/** A person by name, the username second. @param {string} name @param {string|null|undefined} username */
function personCell(name, username) {
  return h('td', {}, h('span', { class: 'mod-name', text: name }),
    username && username !== name ? h('span', { class: 'mod-username', text: ` (${username})` }) : null);
}

/** @param {any} err */
const errText = (err) => errorText(err?.code ?? 'network', err?.retryAfter);

/**
 * @param {HTMLElement} main
 * @param {{store: import('../store.js').Store, announce: (text: string) => void}} opts
 */
export function renderModeration(main, { store, announce }) {
  const roomName = (/** @type {string} */ slug) => store.rooms.get(slug)?.name ?? slug;
  const rooms = [...store.rooms.values()].filter((r) => store.mayModerate(r.slug) && r.kind !== 'direct')
    .sort((a, b) => a.name.localeCompare(b.name, 'nl'));
  const roomOptions = (/** @type {string} */ none) => [
    none ? h('option', { value: '', text: none }) : null,
    rooms.map((r) => h('option', { value: r.slug, text: r.name }))];

  const reportsBox = h('div', { class: 'mod-block' }, h('p', { class: 'muted', text: 'Meldingen laden…' }));
  const sanctionsBox = h('div', { class: 'mod-block' }, h('p', { class: 'muted', text: 'Laden…' }));
  const auditBox = h('div', { class: 'mod-block' }, h('p', { class: 'muted', text: 'Auditlog laden…' }));

  // Reports.

  async function loadReports() {
    try {
      const { reports } = await api.reports();
      if (!reports.length) {
        replace(reportsBox, h('p', { text: 'Er zijn geen meldingen.' }));
        return;
      }
      replace(reportsBox, h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-label': 'Tabel met meldingen' },
        h('table', {},
          h('caption', { class: 'visually-hidden', text: 'Meldingen, nieuwste eerst' }),
          h('thead', {}, h('tr', {}, ['Tijd', 'Kamer', 'Bericht', 'Gemeld door', 'Reden', 'Status', 'Actie'].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, reports.map((/** @type {any} */ r) => h('tr', {},
            h('td', {}, h('time', { datetime: r.at, text: formatDateTime(r.at) })),
            h('td', { text: roomName(r.room) }),
            h('td', { class: 'mod-message' },
              r.author_name ? h('span', { class: 'mod-name', text: `${r.author_name}: ` }) : null,
              r.hidden ? h('em', { text: 'verborgen' }) : h('q', { class: 'mod-quote', text: r.body ?? '' }), ' ',
              h('a', { href: roomHref(r.room, r.seq ?? undefined), text: 'Bekijken in de kamer' })),
            personCell(r.reporter_name ?? r.reporter, r.reporter),
            h('td', { class: 'reason', text: r.reason ?? '' }),
            h('td', { text: STATUS[r.status] ?? r.status }),
            h('td', {}, r.status === 'open' ? reportButtons(r) : null)))))));
    } catch (err) {
      replace(reportsBox, h('p', { class: 'form-error', text: errText(err) }));
    }
  }

  /** @param {any} r a report */
  function reportButtons(r) {
    const who = r.reporter_name ?? r.reporter;
    const act = async (/** @type {'resolved'|'dismissed'} */ status) => {
      try {
        await api.handleReport(r.id, { status });
        announce(status === 'resolved' ? 'Melding afgehandeld.' : 'Melding afgewezen.');
        await loadReports();
        /** @type {HTMLElement|null} */ (reportsBox.querySelector('button, p, [tabindex]'))?.focus();
        loadAudit();
      } catch (err) {
        announce(errText(err));
      }
    };
    return h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'btn btn-small', text: 'Afhandelen', 'aria-label': `Melding van ${who} afhandelen`, onclick: () => act('resolved') }),
      h('button', { type: 'button', class: 'btn btn-small', text: 'Afwijzen', 'aria-label': `Melding van ${who} afwijzen`, onclick: () => act('dismissed') }));
  }

  // Mutes and bans.

  async function loadSanctions() {
    try {
      const data = await request('GET', '/api/sanctions');
      replace(sanctionsBox,
        sanctionTable('Gedempt', 'mute', data.mutes),
        sanctionTable('Verbannen', 'ban', data.bans));
    } catch (err) {
      replace(sanctionsBox, h('p', { class: 'form-error', text: errText(err) }));
    }
  }

  /** @param {string} title @param {'mute'|'ban'} kind @param {any[]} rows */
  function sanctionTable(title, kind, rows) {
    const id = uid('mod-sanction');
    const head = h('h3', { id, text: `${title} (${rows.length})` });
    if (!rows.length) return [head, h('p', { class: 'muted', text: kind === 'mute' ? 'Niemand is gedempt.' : 'Niemand is verbannen.' })];
    return [head, h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-labelledby': id },
      h('table', {},
        h('thead', {}, h('tr', {}, ['Persoon', 'Kamer', 'Tot', 'Reden', 'Door', 'Actie'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, rows.map((s) => h('tr', {},
          h('td', {}, h('span', { class: 'mod-name', text: s.person.display_name }),
            h('span', { class: 'mod-username', text: ` (${s.person.username})` }),
            personDetail(s.person) ? h('span', { class: 'mod-detail', text: personDetail(s.person) }) : null),
          h('td', { text: roomName(s.room) }),
          h('td', {}, s.until ? h('time', { datetime: s.until, text: formatDateTime(s.until) }) : 'tot opheffen'),
          h('td', { class: 'reason', text: s.reason ?? '' }),
          h('td', { text: s.by_name ?? s.by ?? '' }),
          h('td', {}, h('button', {
            type: 'button', class: 'btn btn-small', text: 'Opheffen',
            'aria-label': `${kind === 'mute' ? 'Demping' : 'Verbanning'} van ${s.person.display_name} in ${roomName(s.room)} opheffen`,
            onclick: () => lift(kind, s),
          })))))))];
  }

  /** @param {'mute'|'ban'} kind @param {any} s */
  async function lift(kind, s) {
    try {
      await (kind === 'mute'
        ? request('DELETE', `/api/rooms/${encodeURIComponent(s.room)}/mutes/${encodeURIComponent(s.person.username)}`)
        : api.unban(s.room, s.person.username));
      announce(`${kind === 'mute' ? 'Demping' : 'Verbanning'} van ${s.person.display_name} opgeheven.`);
      await loadSanctions();
      /** @type {HTMLElement|null} */ (sanctionsBox.querySelector('h3'))?.setAttribute('tabindex', '-1');
      /** @type {HTMLElement|null} */ (sanctionsBox.querySelector('h3'))?.focus();
      loadAudit();
    } catch (err) {
      announce(errText(err));
    }
  }

  // Mute or ban someone by name.

  const sRoom = h('select', { id: 'mod-s-room', name: 'room', required: true }, roomOptions(''));
  const sPerson = /** @type {HTMLInputElement} */ (h('input', { id: 'mod-s-person', type: 'text', required: true, maxlength: 200 }));
  const sKind = h('select', { id: 'mod-s-kind', name: 'kind' },
    h('option', { value: 'mute', text: 'Dempen' }), h('option', { value: 'ban', text: 'Verbannen' }));
  const sMinutes = h('input', { id: 'mod-s-minutes', type: 'number', min: 1, max: 525600, value: 60, required: true });
  const sUntil = h('input', { id: 'mod-s-until', type: 'datetime-local' });
  const sReason = h('input', { id: 'mod-s-reason', type: 'text', required: true, maxlength: 500 });
  const sError = h('p', { class: 'form-error', role: 'alert' });
  const minutesField = h('div', { class: 'field' }, h('label', { for: 'mod-s-minutes', text: 'Hoe lang (minuten)' }), sMinutes);
  const untilField = h('div', { class: 'field', hidden: true }, h('label', { for: 'mod-s-until', text: 'Tot (leeg: tot opheffen)' }), sUntil);
  const personField = h('div', { class: 'field' }, h('label', { for: 'mod-s-person', text: 'Persoon' }), sPerson);
  const sanctionForm = h('form', { class: 'mod-form', 'aria-labelledby': 'mod-s-title' },
    h('h3', { id: 'mod-s-title', text: 'Iemand dempen of verbannen' }),
    h('div', { class: 'mod-fields' },
      h('div', { class: 'field' }, h('label', { for: 'mod-s-room', text: 'Kamer' }), sRoom),
      personField,
      h('div', { class: 'field' }, h('label', { for: 'mod-s-kind', text: 'Maatregel' }), sKind),
      minutesField, untilField,
      h('div', { class: 'field' }, h('label', { for: 'mod-s-reason', text: 'Reden' }), sReason)),
    sError,
    h('button', { type: 'submit', class: 'btn btn-primary', text: 'Toepassen' }));
  const sPicker = personPicker(sPerson, { room: () => /** @type {HTMLSelectElement} */ (sRoom).value || undefined });
  sKind.addEventListener('change', () => {
    const ban = /** @type {HTMLSelectElement} */ (sKind).value === 'ban';
    minutesField.hidden = ban;
    /** @type {HTMLInputElement} */ (sMinutes).required = !ban;
    untilField.hidden = !ban;
  });
  sanctionForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sError.textContent = '';
    const slug = /** @type {HTMLSelectElement} */ (sRoom).value;
    const username = sPicker.username();
    const reason = /** @type {HTMLInputElement} */ (sReason).value.trim();
    if (!username) {
      sError.textContent = 'Kies een persoon uit de lijst met namen.';
      sPerson.focus();
      return;
    }
    try {
      if (/** @type {HTMLSelectElement} */ (sKind).value === 'ban') {
        /** @type {{username: string, reason: string, until?: string}} */
        const body = { username, reason };
        // Sent as typed, without a zone: the server reads it as Dutch time.
        const until = /** @type {HTMLInputElement} */ (sUntil).value;
        if (until) body.until = until;
        await api.ban(slug, body);
      } else {
        await api.mute(slug, { username, reason, minutes: Number(/** @type {HTMLInputElement} */ (sMinutes).value) });
      }
      announce(`${sPerson.value} ${/** @type {HTMLSelectElement} */ (sKind).value === 'ban' ? 'is verbannen' : 'is gedempt'} in ${roomName(slug)}.`);
      sPicker.clear();
      /** @type {HTMLInputElement} */ (sReason).value = '';
      await loadSanctions();
      loadAudit();
    } catch (err) {
      sError.textContent = errText(err);
    }
  });

  // The audit log.

  const aRoom = h('select', { id: 'audit-room', name: 'room' }, roomOptions('Alle kamers'));
  const aKind = h('select', { id: 'audit-kind', name: 'kind' },
    h('option', { value: '', text: 'Alle acties' }),
    Object.entries(AUDIT_KINDS).map(([value, label]) => h('option', { value, text: label })));
  const aPerson = /** @type {HTMLInputElement} */ (h('input', { id: 'audit-person', type: 'text', maxlength: 200 }));
  const aAfter = h('input', { id: 'audit-after', name: 'after', type: 'date' });
  const aUntil = h('input', { id: 'audit-until', name: 'until', type: 'date' });
  const auditForm = h('form', { class: 'mod-form', 'aria-label': 'Auditlog filteren' },
    h('div', { class: 'mod-fields' },
      h('div', { class: 'field' }, h('label', { for: 'audit-room', text: 'Kamer' }), aRoom),
      h('div', { class: 'field' }, h('label', { for: 'audit-kind', text: 'Soort actie' }), aKind),
      h('div', { class: 'field' }, h('label', { for: 'audit-person', text: 'Persoon' }), aPerson),
      h('div', { class: 'field' }, h('label', { for: 'audit-after', text: 'Vanaf' }), aAfter),
      h('div', { class: 'field' }, h('label', { for: 'audit-until', text: 'Tot en met' }), aUntil)),
    h('button', { type: 'submit', class: 'btn', text: 'Tonen' }));
  const aPicker = personPicker(aPerson, { room: () => /** @type {HTMLSelectElement} */ (aRoom).value || undefined });
  auditForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadAudit().then(() => announce('Auditlog bijgewerkt.'));
  });

  async function loadAudit() {
    /** @type {Record<string, string>} */
    const params = { limit: '100' };
    const val = (/** @type {Element} */ el) => /** @type {HTMLInputElement} */ (el).value;
    if (val(aRoom)) params.room = val(aRoom);
    if (val(aKind)) params.kind = val(aKind);
    if (aPicker.username()) params.person = aPicker.username();
    if (val(aAfter)) params.after = val(aAfter);
    if (val(aUntil)) params.until = val(aUntil);
    try {
      const { entries } = await request('GET', `/api/audit?${new URLSearchParams(params)}`);
      if (!entries.length) {
        replace(auditBox, h('p', { text: 'Geen acties gevonden.' }));
        return;
      }
      replace(auditBox, h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-label': 'Tabel van het auditlog' },
        h('table', {},
          h('caption', { class: 'visually-hidden', text: 'Auditlog, nieuwste eerst' }),
          h('thead', {}, h('tr', {}, ['Tijd', 'Wie', 'Actie', 'Kamer', 'Betreft', 'Reden'].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, entries.map((/** @type {any} */ e) => h('tr', {},
            h('td', {}, h('time', { datetime: e.at, text: formatDateTime(e.at) })),
            personCell(e.actor_name ?? e.actor ?? '', e.actor),
            h('td', { text: auditText(e) }),
            h('td', { text: e.room ? roomName(e.room) : '' }),
            targetCell(e),
            h('td', { class: 'reason', text: e.reason ?? '' })))))));
    } catch (err) {
      replace(auditBox, h('p', { class: 'form-error', text: errText(err) }));
    }
  }

  /** What the entry was done to: a person by name, or a message (linked when possible). @param {any} e */
  function targetCell(e) {
    if (!e.target) return h('td', {});
    if (MESSAGE_ACTIONS.has(e.action)) {
      const seq = e.values?.seq;
      return h('td', {}, e.room && seq ? h('a', { href: roomHref(e.room, seq), text: 'een bericht' }) : 'een bericht');
    }
    return personCell(e.target_name ?? e.target, e.target);
  }

  replace(main, h('div', { class: 'moderation' },
    h('h1', { id: 'mod-title', tabindex: '-1', text: 'Moderatie' }),
    h('section', { 'aria-labelledby': 'mod-reports' }, h('h2', { id: 'mod-reports', text: 'Meldingen' }), reportsBox),
    h('section', { 'aria-labelledby': 'mod-sanctions' }, h('h2', { id: 'mod-sanctions', text: 'Gedempt en verbannen' }),
      sanctionsBox, rooms.length ? sanctionForm : null),
    h('section', { 'aria-labelledby': 'mod-audit' }, h('h2', { id: 'mod-audit', text: 'Auditlog' }), auditForm, auditBox)));
  document.title = 'Moderatie – Werkplaats';
  loadReports();
  loadSanctions();
  loadAudit();
}

