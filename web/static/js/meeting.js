/**
 * The bijeenkomst page (`/bijeenkomst/<slug>`): the meeting with its programme, who is
 * going (counts per layer of government), the registration buttons with the waitlist
 * position, the agenda, the room and an .ics link; for moderators the presence list
 * (with its CSV), for admins the edit and cancel forms. The verslag fills the
 * `[data-report]` section (another module). The page reloads its data at once when the
 * server says the meeting or its registrations changed (`meeting_updated`, `notice`,
 * `meeting_changed`), and every `REFRESH_MS` for news missed while the connection was down.
 * @module meeting
 */
import { request } from './api.js';
import { formDialog } from './dialog.js';
import { h, replace, srOnly, uid } from './dom.js';
import { formatDateTime, formatTime, TIME_ZONE } from './format.js';
import { errorText, LAYER_LABELS } from './i18n.js';
import { mountReport } from './report.js';
import { path as clientPath, roomHref } from './router.js';

/** How often the page is read again without news: a fallback, as changes come live. */
const REFRESH_MS = 120000;
const LAYERS = ['rijk', 'provincie', 'gemeente', 'waterschap', 'overig'];
const ANSWERS = [
  { status: 'going', label: 'Ik kom' },
  { status: 'maybe', label: 'Misschien' },
  { status: 'not_going', label: 'Ik kom niet' },
];
const STATUS_TEXT = /** @type {Record<string, string>} */ ({
  going: 'Je bent ingeschreven: je komt.',
  maybe: 'Je hebt gezegd dat je misschien komt.',
  not_going: 'Je hebt gezegd dat je niet komt.',
});
const ACTION_STATUS = /** @type {Record<string, string>} */ ({
  open: 'open', bezig: 'bezig', gedaan: 'gedaan', vervallen: 'vervallen',
});

const path = (/** @type {string} */ slug) => `/api/meetings/${encodeURIComponent(slug)}`;

/** The meetings API (docs/protocol.md, "Meetings"). */
export const meetings = {
  /** @param {string} slug */
  get: (slug) => request('GET', path(slug)),
  /** @param {string} slug */
  agenda: (slug) => request('GET', `${path(slug)}/agenda`),
  /** @param {string} slug @param {string} status */
  register: (slug, status) => request('PUT', `${path(slug)}/registration`, { status }),
  /** @param {string} slug */
  registrations: (slug) => request('GET', `${path(slug)}/registrations`),
  /** @param {string} slug @param {string[]} present */
  attendance: (slug, present) => request('POST', `${path(slug)}/attendance`, { present }),
  /** @param {string} slug @param {Record<string, unknown>} body */
  change: (slug, body) => request('PATCH', path(slug), body),
  calendarFeed: () => request('POST', '/api/me/calendar'),
  /** @param {string} slug */
  icsHref: (slug) => `${path(slug)}/ics`,
  /** @param {string} slug */
  csvHref: (slug) => `${path(slug)}/registrations?format=csv`,
};

/** @param {string} slug */
export function meetingHref(slug) {
  return clientPath('bijeenkomst', slug);
}

/** The Dutch wall-clock time of a moment, as a datetime-local input wants it. */
const localFmt = new Intl.DateTimeFormat('sv-SE', {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: TIME_ZONE,
});

/** @param {string|null|undefined} iso */
function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : localFmt.format(d).replace(' ', 'T');
}

/** @type {number|null} */
let timer = null;
/** @type {(() => void)|null} */
let stopListening = null;

/**
 * @param {HTMLElement} main
 * @param {{slug: string, store: import('./store.js').Store, announcer: {say: (text: string) => void}}} opts
 */
export function renderMeeting(main, opts) {
  stop();
  const titleId = uid('meeting-title');
  const heading = h('h1', { id: titleId, tabindex: '-1', text: 'Bijeenkomst' });
  const body = h('div', { class: 'meeting-body' }, h('p', { class: 'loading', text: 'Bezig met laden…' }));
  const page = h('article', { class: 'meeting-page', 'aria-labelledby': titleId }, heading, body);
  replace(main, page);
  document.title = 'Bijeenkomst – Werkplaats';
  const view = new MeetingView(page, heading, body, opts);
  view.load(true);
  timer = window.setInterval(() => { if (page.isConnected) view.load(false); else stop(); }, REFRESH_MS);
  stopListening = opts.store.on('meeting', (/** @type {any} */ f) => {
    if (!page.isConnected) return stop();
    if (f.meeting === opts.slug || f.room === opts.slug) view.load(false);
    return undefined;
  });
}

function stop() {
  if (timer !== null) window.clearInterval(timer);
  timer = null;
  stopListening?.();
  stopListening = null;
}

class MeetingView {
  /**
   * @param {HTMLElement} page @param {HTMLElement} heading @param {HTMLElement} body
   * @param {{slug: string, store: import('./store.js').Store, announcer: {say: (text: string) => void}}} opts
   */
  constructor(page, heading, body, opts) {
    this.page = page;
    this.heading = heading;
    this.body = body;
    this.slug = opts.slug;
    this.store = opts.store;
    this.announcer = opts.announcer;
    this.summary = h('div', { class: 'meeting-summary' });
    this.counts = h('section', { class: 'meeting-counts' });
    this.register = h('section', { class: 'meeting-register' });
    this.agenda = h('section', { class: 'meeting-agenda' });
    // The verslag of this meeting is put here by its own module.
    this.report = h('section', { class: 'meeting-report', 'data-report': '', 'data-meeting': this.slug });
    this.links = h('section', { class: 'meeting-links' });
    this.presence = h('section', { class: 'meeting-presence' });
    this.admin = h('section', { class: 'meeting-admin' });
    this.built = false;
    /** @type {any} */
    this.data = null;
  }

  /** @param {boolean} first */
  async load(first) {
    let data;
    try {
      data = await meetings.get(this.slug);
    } catch (err) {
      if (first) replace(this.body, h('p', { class: 'form-error', role: 'alert', text: errorText(/** @type {any} */ (err).code) }));
      return;
    }
    this.data = data;
    const m = data.meeting;
    this.heading.textContent = m.title;
    document.title = `${m.title} – Werkplaats`;
    if (!this.built) {
      this.built = true;
      replace(this.body, this.summary, this.counts, this.register, this.links, this.agenda, this.report,
        this.presence, this.admin);
      this.fillAgenda();
      mountReport(this.report, this.slug, this.store.user);
      if (this.mayModerate(m)) this.fillPresence();
    }
    this.fillSummary(m);
    this.fillCounts(m, data.going ?? []);
    this.fillRegister(m);
    this.fillLinks(m);
    if (this.store.user?.role === 'admin') this.fillAdmin(m);
  }

  /** @param {any} m */
  mayModerate(m) {
    return this.store.mayModerate(m.room);
  }

  /** @param {any} m */
  fillSummary(m) {
    const rows = [
      ['Datum en tijd', `${formatDateTime(m.date)}${m.ends_at ? ` tot ${formatTime(m.ends_at)}` : ''}`],
      ['Plaats', m.place || 'volgt'],
    ];
    if (m.theme) rows.push(['Thema', m.theme_room ? this.themeName(m) : m.theme]);
    replace(this.summary,
      m.status === 'cancelled'
        ? h('p', { class: 'meeting-cancelled', role: 'status', text: 'Deze bijeenkomst gaat niet door.' })
        : null,
      h('dl', { class: 'meeting-facts' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', {},
        k === 'Thema' && m.theme_room ? h('a', { href: roomHref(m.theme_room), text: v }) : v)])),
      m.programme
        ? h('section', { 'aria-labelledby': `${this.slug}-programme` },
          h('h2', { id: `${this.slug}-programme`, text: 'Programma' }),
          h('p', { class: 'meeting-programme', text: m.programme }))
        : null);
  }

  /** @param {any} m */
  themeName(m) {
    return this.store.rooms.get(m.theme_room)?.name ?? m.theme;
  }

  /** @param {any} m @param {any[]} going */
  fillCounts(m, going) {
    const id = `${this.slug}-counts`;
    this.counts.setAttribute('aria-labelledby', id);
    const c = m.counts;
    const cap = m.capacity === null || m.capacity === undefined ? '' : ` van ${m.capacity} plaatsen`;
    replace(this.counts,
      h('h2', { id, text: 'Wie komen er' }),
      h('p', { class: 'meeting-totals', 'data-counts': '' },
        h('span', { 'data-count': 'going', text: `${c.going} ${c.going === 1 ? 'komt' : 'komen'}${cap}` }), ', ',
        h('span', { 'data-count': 'maybe', text: `${c.maybe} misschien` }), ', ',
        h('span', { 'data-count': 'waitlist', text: `${c.waitlist} op de wachtlijst` })),
      h('table', { class: 'meeting-layers' },
        h('caption', { text: 'Aangemeld per overheidslaag (komen)' }),
        h('thead', {}, h('tr', {}, LAYERS.map((l) => h('th', { scope: 'col', text: LAYER_LABELS[l] ?? l })))),
        h('tbody', {}, h('tr', {}, LAYERS.map((l) => h('td', { text: String(c.by_layer?.[l] ?? 0) }))))),
      going.length
        ? h('ul', { class: 'meeting-going', 'aria-label': 'Deze mensen komen' }, going.map((p) => h('li', {},
          p.display_name, p.organisation ? h('span', { class: 'muted', text: ` · ${p.organisation}` }) : null)))
        : h('p', { class: 'empty', text: 'Nog niemand heeft zich aangemeld.' }));
  }

  /** @param {any} m */
  closedReason(m) {
    const now = Date.now();
    if (m.status === 'cancelled') return 'Inschrijven kan niet meer: de bijeenkomst gaat niet door.';
    if (new Date(m.date).getTime() <= now) return 'Inschrijven kan niet meer: de bijeenkomst is begonnen of voorbij.';
    if (m.registration_closes_at && new Date(m.registration_closes_at).getTime() <= now) return 'De inschrijving is gesloten.';
    return null;
  }

  /** @param {any} m */
  fillRegister(m) {
    const id = `${this.slug}-register`;
    this.register.setAttribute('aria-labelledby', id);
    const mine = m.my_registration;
    const state = mine === 'waitlist'
      ? `Je staat op de wachtlijst, plaats ${m.my_position ?? '?'}. Komt er een plek vrij, dan schuif je vanzelf door.`
      : (mine ? STATUS_TEXT[mine] : 'Je hebt je nog niet aangemeld.');
    const closed = this.closedReason(m);
    const buttons = ANSWERS.map((a) => h('button', {
      type: 'button',
      class: 'btn',
      'aria-pressed': String(mine === a.status || (a.status === 'going' && mine === 'waitlist')),
      disabled: Boolean(closed),
      onclick: () => this.answer(a.status),
      text: a.label,
    }));
    replace(this.register,
      h('h2', { id, text: 'Inschrijven' }),
      h('p', { class: 'meeting-my-status', 'data-my-status': mine ?? '', text: state }),
      m.registration_closes_at && !closed
        ? h('p', { class: 'hint', text: `Inschrijven kan tot ${formatDateTime(m.registration_closes_at)}.` })
        : null,
      closed ? h('p', { class: 'hint', text: closed }) : null,
      h('div', { class: 'meeting-answers', role: 'group', 'aria-labelledby': id }, buttons));
  }

  /** @param {string} status */
  async answer(status) {
    try {
      const { registration } = await meetings.register(this.slug, status);
      this.announcer.say(registration.status === 'waitlist'
        ? `Je staat op de wachtlijst, plaats ${registration.position}.`
        : STATUS_TEXT[registration.status] ?? 'Opgeslagen.');
    } catch (err) {
      this.announcer.say(errorText(/** @type {any} */ (err).code));
    }
    await this.load(false);
    const pressed = /** @type {HTMLElement|null} */ (this.register.querySelector('[aria-pressed="true"]'));
    pressed?.focus();
  }

  /** @param {any} m */
  fillLinks(m) {
    const id = `${this.slug}-links`;
    this.links.setAttribute('aria-labelledby', id);
    const feedBox = h('p', { class: 'meeting-feed' });
    replace(this.links,
      h('h2', { id, class: 'visually-hidden', text: 'Verder' }),
      h('ul', { class: 'meeting-link-list' },
        h('li', {}, h('a', { href: roomHref(m.room), text: 'Naar het gesprek over deze bijeenkomst' })),
        h('li', {}, h('a', { href: meetings.icsHref(this.slug), download: `${this.slug}.ics`, text: 'Zet in agenda' }),
          srOnly(' (iCalendar-bestand)')),
        h('li', {}, h('button', {
          type: 'button', class: 'btn btn-small', text: 'Koppel al mijn bijeenkomsten aan mijn agenda',
          onclick: async () => {
            try {
              const { url } = await meetings.calendarFeed();
              replace(feedBox, 'Abonneer je agenda op dit geheime adres (deel het niet): ', h('code', { text: url }));
              this.announcer.say('Het adres van je agenda staat op de pagina.');
            } catch (err) {
              this.announcer.say(errorText(/** @type {any} */ (err).code));
            }
          },
        }))),
      feedBox);
  }

  async fillAgenda() {
    let agenda;
    try {
      agenda = await meetings.agenda(this.slug);
    } catch {
      return;
    }
    const id = `${this.slug}-agenda`;
    this.agenda.setAttribute('aria-labelledby', id);
    const part = (/** @type {string} */ title, /** @type {any[]} */ items) => h('section', {},
      h('h3', { text: title }),
      items.length
        ? h('ul', {}, items.map((i) => h('li', {},
          h('a', { href: roomHref(i.room, i.seq), text: i.excerpt }),
          ` — ${i.author.display_name}`,
          i.status ? h('span', { class: 'room-flag', text: ACTION_STATUS[i.status] ?? i.status }) : null)))
        : h('p', { class: 'empty', text: 'Geen.' }));
    replace(this.agenda,
      h('h2', { id, text: 'Agenda' }),
      part('Open vragen', agenda.open_questions),
      part('Actiepunten', agenda.action_items),
      part('Besluiten sinds de vorige bijeenkomst', agenda.decisions),
      part('Afgerond sinds de vorige bijeenkomst', agenda.completed_actions ?? []));
  }

  async fillPresence() {
    let data;
    try {
      data = await meetings.registrations(this.slug);
    } catch {
      return;
    }
    const id = `${this.slug}-presence`;
    this.presence.setAttribute('aria-labelledby', id);
    const m = this.data.meeting;
    const started = new Date(m.date).getTime() <= Date.now();
    /** @type {Map<string, HTMLInputElement>} */
    const boxes = new Map();
    const rows = data.registrations.map((/** @type {any} */ r) => {
      const box = /** @type {HTMLInputElement} */ (h('input', {
        type: 'checkbox', 'aria-label': `${r.user.display_name} was aanwezig`, disabled: !started,
      }));
      box.checked = r.attended === true;
      boxes.set(r.user.username, box);
      return h('tr', {},
        h('th', { scope: 'row', text: r.user.display_name }),
        h('td', { text: r.user.organisation }),
        h('td', { text: LAYER_LABELS[r.user.layer] ?? r.user.layer }),
        h('td', { text: r.status === 'waitlist' ? `wachtlijst (${r.position})` : ({ going: 'komt', maybe: 'misschien', not_going: 'komt niet' })[/** @type {'going'} */ (r.status)] ?? r.status }),
        h('td', {}, box));
    });
    const save = h('button', {
      type: 'button', class: 'btn', disabled: !started, text: 'Aanwezigheid opslaan',
      onclick: async () => {
        const present = [...boxes].filter(([, b]) => b.checked).map(([u]) => u);
        try {
          await meetings.attendance(this.slug, present);
          this.announcer.say('Aanwezigheid opgeslagen.');
        } catch (err) {
          this.announcer.say(errorText(/** @type {any} */ (err).code));
        }
      },
    });
    replace(this.presence,
      h('h2', { id, text: 'Presentielijst' }),
      h('div', { class: 'table-scroll' }, h('table', { class: 'meeting-presence-table' },
        h('caption', { text: 'Aanmeldingen (alleen zichtbaar voor moderatoren)' }),
        h('thead', {}, h('tr', {}, ['Naam', 'Organisatie', 'Laag', 'Aanmelding', 'Aanwezig'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, rows))),
      started ? null : h('p', { class: 'hint', text: 'Aanwezigheid vul je in vanaf het begin van de bijeenkomst.' }),
      h('p', {}, save, ' ', h('a', { href: meetings.csvHref(this.slug), download: `aanwezigheid-${this.slug}.csv`, text: 'Presentielijst downloaden (CSV)' })));
  }

  /** @param {any} m */
  fillAdmin(m) {
    const id = `${this.slug}-admin`;
    this.admin.setAttribute('aria-labelledby', id);
    replace(this.admin,
      h('h2', { id, text: 'Beheer' }),
      h('p', {},
        h('button', { type: 'button', class: 'btn', text: 'Bijeenkomst wijzigen', onclick: () => this.editDialog() }), ' ',
        m.status === 'cancelled'
          ? h('button', { type: 'button', class: 'btn', text: 'Toch laten doorgaan', onclick: () => this.change({ status: 'planned' }, 'De bijeenkomst gaat weer door.') })
          : h('button', { type: 'button', class: 'btn btn-danger', text: 'Bijeenkomst afzeggen', onclick: () => this.cancelDialog() })));
  }

  /** @param {Record<string, unknown>} body @param {string} done */
  async change(body, done) {
    try {
      await meetings.change(this.slug, body);
      this.announcer.say(done);
    } catch (err) {
      this.announcer.say(errorText(/** @type {any} */ (err).code));
    }
    await this.load(false);
  }

  async editDialog() {
    const m = this.data.meeting;
    const ok = await formDialog({
      title: 'Bijeenkomst wijzigen',
      intro: 'Tijden zijn Nederlandse tijd. Wie zich heeft aangemeld krijgt bericht van de wijziging.',
      fields: [
        { name: 'title', label: 'Titel', value: m.title, required: true, maxlength: 200 },
        { name: 'date', label: 'Begin', type: 'datetime-local', value: localInput(m.date), required: true },
        { name: 'ends_at', label: 'Einde (optioneel)', type: 'datetime-local', value: localInput(m.ends_at) },
        { name: 'place', label: 'Plaats', value: m.place, required: true, maxlength: 200 },
        { name: 'programme', label: 'Programma', type: 'textarea', value: m.programme ?? '', maxlength: 20000 },
        { name: 'capacity', label: 'Aantal plaatsen (leeg: geen grens)', type: 'number', min: 0, value: m.capacity ?? '' },
        { name: 'registration_closes_at', label: 'Inschrijven kan tot (optioneel)', type: 'datetime-local', value: localInput(m.registration_closes_at) },
        { name: 'reason', label: 'Reden (voor het logboek, optioneel)', maxlength: 1000 },
      ],
      submitLabel: 'Opslaan',
      onSubmit: async (v) => {
        /** @type {Record<string, unknown>} */
        const body = {
          title: v.title,
          date: v.date,
          ends_at: v.ends_at || null,
          place: v.place,
          programme: v.programme,
          capacity: v.capacity === '' ? null : Number(v.capacity),
          registration_closes_at: v.registration_closes_at || null,
        };
        if (v.reason) body.reason = v.reason;
        await meetings.change(this.slug, body);
      },
    });
    if (ok) {
      this.announcer.say('De bijeenkomst is gewijzigd.');
      await this.load(false);
    }
  }

  async cancelDialog() {
    const ok = await formDialog({
      title: 'Bijeenkomst afzeggen',
      intro: 'Iedereen die zich heeft aangemeld krijgt bericht. In agenda’s wordt de afspraak geannuleerd.',
      fields: [{ name: 'reason', label: 'Reden', maxlength: 1000 }],
      submitLabel: 'Afzeggen',
      danger: true,
      onSubmit: async (v) => {
        await meetings.change(this.slug, v.reason ? { status: 'cancelled', reason: v.reason } : { status: 'cancelled' });
      },
    });
    if (ok) {
      this.announcer.say('De bijeenkomst is afgezegd.');
      await this.load(false);
    }
  }
}
