/**
 * "Sinds de vorige bijeenkomst": per room what is new since the last meeting (or the
 * member's last visit): messages, mentions, open questions, action items, decisions,
 * new members (never yourself); the totals of all of them; and, after it all, "Alles
 * gelezen tot hier".
 * @module views/catchup
 */
import { between, MARK_LABELS } from '../between.js';
import { h, replace, uid } from '../dom.js';
import { formatDateTime } from '../format.js';
import { errorText } from '../i18n.js';
import { reportNews } from '../report.js';
import { roomHref } from '../router.js';
import { meetingHref } from '../meeting.js';

const SINCE_LABELS = {
  last_meeting: 'Sinds de vorige bijeenkomst',
  last_visit: 'Sinds mijn vorige bezoek',
};

/**
 * @param {HTMLElement} main
 * @param {{announcer: {say: (text: string) => void}, refreshRooms?: () => Promise<unknown>, since?: string}} opts
 */
export async function renderCatchup(main, opts) {
  const since = opts.since === 'last_visit' ? 'last_visit' : 'last_meeting';
  document.title = 'Bijpraten – Werkplaats';
  const titleId = uid('catchup-title');
  const heading = h('h1', { id: titleId, tabindex: '-1', text: 'Sinds de vorige bijeenkomst' });
  const body = h('div', { class: 'catchup-body' }, h('p', { class: 'loading', text: 'Bezig met laden…' }));
  replace(main, h('section', { class: 'catchup', 'aria-labelledby': titleId }, heading, sinceChoice(since, main, opts), body));
  let data;
  try {
    data = await between.catchup(since);
  } catch (err) {
    replace(body, h('p', { class: 'form-error', role: 'alert', text: errorText(/** @type {any} */ (err).code) }));
    return;
  }
  const agendaBox = h('div', { class: 'catchup-agenda' });
  const settingsBox = h('div', { class: 'catchup-settings' });
  // "Alles gelezen tot hier" comes after what it marks as read, not above it.
  replace(body, reportNews(data.reports), meetingsLine(data), totalsLine(data),
    data.rooms.length ? data.rooms.map(roomSection) : h('p', { class: 'empty', text: 'Niets nieuws. Je bent bij.' }),
    readAllButton(data, main, opts, since),
    agendaBox, settingsBox);
  if (data.next_meeting) fillAgenda(agendaBox, data.next_meeting);
  fillSettings(settingsBox, opts.announcer);
}

/**
 * The draft agenda of the next meeting, and for moderators its Markdown export.
 * @param {HTMLElement} box @param {any} meeting
 */
async function fillAgenda(box, meeting) {
  let agenda;
  try {
    agenda = await between.agenda(meeting.slug);
  } catch {
    return;
  }
  const id = uid('agenda-title');
  const items = [...agenda.open_questions, ...agenda.action_items];
  replace(box, h('section', { 'aria-labelledby': id },
    h('h2', { id, text: `Open vragen en actiepunten voor de bijeenkomst van ${formatDateTime(meeting.date)}` }),
    items.length ? h('ul', {}, items.map(markedLink)) : h('p', { class: 'empty', text: 'Geen open vragen of actiepunten.' }),
    agenda.may_export ? h('p', {}, h('a', { href: between.agendaMarkdownHref(meeting.slug), download: `agenda-${meeting.slug}.md`, text: 'Agenda downloaden (Markdown)' })) : null));
}

/**
 * The digest e-mail: on or off, and the address it goes to.
 * @param {HTMLElement} box @param {{say: (text: string) => void}} announcer
 */
async function fillSettings(box, announcer) {
  let prefs;
  try {
    prefs = (await between.preferences()).preferences;
  } catch {
    return;
  }
  const id = uid('digest-title');
  const checkId = uid('digest-on');
  const mailId = uid('digest-mail');
  const check = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: checkId, checked: prefs.digest }));
  const hintId = uid('digest-hint');
  const mail = /** @type {HTMLInputElement} */ (h('input', { type: 'email', id: mailId, name: 'email', autocomplete: 'email', maxlength: 254, 'aria-describedby': hintId }));
  mail.value = prefs.email ?? '';
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: 'digest-form' },
    h('div', { class: 'field field-check' }, check, h('label', { for: checkId, text: 'Stuur mij voor elke bijeenkomst deze samenvatting per e-mail' })),
    h('div', { class: 'field' }, h('label', { for: mailId, text: 'E-mailadres voor de samenvatting' }), mail,
      h('p', { class: 'hint', id: hintId, text: 'Zonder e-mailadres sturen we geen samenvatting.' })),
    error,
    h('button', { type: 'submit', class: 'btn', text: 'Opslaan' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    if (check.checked && !mail.value.trim()) {
      error.textContent = 'Vul een e-mailadres in om de samenvatting te ontvangen.';
      mail.focus();
      return;
    }
    try {
      await between.setPreferences({ digest: check.checked, email: mail.value.trim() || null });
      announcer.say('Je instellingen zijn opgeslagen.');
    } catch (err) {
      error.textContent = errorText(/** @type {any} */ (err).code);
    }
  });
  replace(box, h('section', { 'aria-labelledby': id }, h('h2', { id, text: 'Samenvatting per e-mail' }), form));
}

/** @param {string} since @param {HTMLElement} main @param {any} opts */
function sinceChoice(since, main, opts) {
  const name = uid('since');
  return h('fieldset', { class: 'since-choice' },
    h('legend', { text: 'Wat wil je zien?' }),
    Object.entries(SINCE_LABELS).map(([value, label]) => {
      const id = uid('since-opt');
      return h('span', { class: 'field-check' },
        h('input', {
          type: 'radio', id, name, value, checked: value === since,
          onchange: () => renderCatchup(main, { ...opts, since: value }).then(() => opts.announcer.say(label)),
        }),
        h('label', { for: id, text: label }));
    }));
}

/** @param {any} data */
function meetingsLine(data) {
  const prev = data.previous_meeting;
  const next = data.next_meeting;
  // Each title links to the meeting's page (programme, registration, verslag).
  const link = (/** @type {any} */ m) => h('a', { href: meetingHref(m.slug), text: m.title });
  const parts = [
    prev ? ['Vorige bijeenkomst: ', link(prev), `, ${formatDateTime(prev.date)}. `] : null,
    next ? ['Volgende bijeenkomst: ', link(next), `, ${formatDateTime(next.date)}${next.place ? ` in ${next.place}` : ''}.`] : null,
  ].filter(Boolean);
  return parts.length ? h('p', { class: 'meetings-line' }, parts) : null;
}

/** @param {number} n @param {string} one @param {string} many */
const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** @param {any} data */
function totalsLine(data) {
  const t = data.totals;
  const parts = [
    count(t.new_messages, 'nieuw bericht', 'nieuwe berichten'),
    `${count(t.mentions, 'vermelding', 'vermeldingen')} van jou`,
    count(t.open_questions, 'open vraag', 'open vragen'),
    count(t.action_items ?? 0, 'actiepunt', 'actiepunten'),
    count(t.decisions, 'besluit', 'besluiten'),
    count(t.new_members ?? 0, 'nieuw lid', 'nieuwe leden'),
  ];
  return h('p', { class: 'totals', text: `${parts.slice(0, -1).join(', ')} en ${parts[parts.length - 1]}.` });
}

/** @param {any} data @param {HTMLElement} main @param {any} opts @param {string} since */
function readAllButton(data, main, opts, since) {
  const rooms = data.read_up_to ?? {};
  if (!Object.keys(rooms).length) return null;
  return h('p', {}, h('button', {
    type: 'button', class: 'btn btn-primary', text: 'Alles gelezen tot hier',
    onclick: async () => {
      try {
        await between.markRead(rooms);
        await opts.refreshRooms?.();
        await renderCatchup(main, { ...opts, since });
        opts.announcer.say('Alles is gemarkeerd als gelezen.');
      } catch (err) {
        opts.announcer.say(errorText(/** @type {any} */ (err).code));
      }
    },
  }));
}

/** @param {any} room */
function roomSection(room) {
  const id = uid('catchup-room');
  const lists = [
    // What is new, grouped by topic (this server's extra), each to its first new message.
    ['Nieuw per onderwerp', (room.topics ?? []).map((/** @type {any} */ t) => itemLink(room.slug, t.first_seq, `${t.name}: ${count(t.new_messages, 'nieuw bericht', 'nieuwe berichten')}`))],
    ['Vermeldingen van jou', room.mentions.map((/** @type {any} */ m) => itemLink(room.slug, m.seq, `${m.author.display_name}: ${m.excerpt}`))],
    ['Open vragen', room.open_questions.map((/** @type {any} */ i) => markedLink(i))],
    ['Actiepunten', room.action_items.map((/** @type {any} */ i) => markedLink(i))],
    ['Besluiten', room.decisions.map((/** @type {any} */ i) => markedLink(i))],
    ['Nieuwe leden', room.new_members.map((/** @type {any} */ m) => h('li', { text: `${m.display_name}${m.organisation ? ` (${m.organisation})` : ''}` }))],
  ].filter(([, items]) => items.length);
  return h('section', { class: 'catchup-room', 'aria-labelledby': id },
    h('h2', { id }, h('a', { href: roomHref(room.slug), text: room.name })),
    h('p', { text: count(room.new_messages, 'nieuw bericht', 'nieuwe berichten') }),
    lists.map(([title, items]) => [h('h3', { text: String(title) }), h('ul', {}, items)]));
}

/** @param {string} slug @param {number} seq @param {string} text */
function itemLink(slug, seq, text) {
  return h('li', {}, h('a', { href: roomHref(slug, seq), text }));
}

/** @param {any} i */
function markedLink(i) {
  const extra = [i.owner ? `eigenaar @${i.owner}` : '', i.due ? `uiterlijk ${i.due}` : ''].filter(Boolean).join(', ');
  return itemLink(i.room, i.seq, `${MARK_LABELS[i.kind] ?? i.kind}: ${i.excerpt} — ${i.author.display_name}${extra ? ` (${extra})` : ''}`);
}
