/**
 * Sharing with the public pages (docs/public-pages.md): the page "Verzoeken om te delen"
 * (`/delen`) where a listed author agrees or refuses, chooses whether their name is shown,
 * and withdraws; the badge in the top navigation counting unanswered requests; and the
 * moderators' form (`/delen/nieuw`) that makes a lesson card from selected messages.
 * Both follow the server's `publication_request` frames (`watchSharing`): a request made,
 * answered, published or withdrawn shows at once, without a reload.
 * @module sharing
 */
import { request } from './api.js';
import { h, replace, srOnly, uid } from './dom.js';
import { excerpt, formatDateTime } from './format.js';
import { errorText, LAYER_LABELS } from './i18n.js';
import { navigate } from './router.js';

const BASE = '/api/publications';
const STATUS_LABELS = /** @type {Record<string, string>} */ ({
  pending: 'Wacht op toestemming',
  published: 'Openbaar',
  withdrawn: 'Teruggetrokken',
});
const PARTS = /** @type {[string, string][]} */ ([
  ['context', 'Context'],
  ['worked', 'Wat werkte'],
  ['did_not_work', 'Wat niet werkte'],
]);

export const sharing = {
  /** @param {'pending'|'listed'|'created'} mine */
  list: (mine) => request('GET', `${BASE}?mine=${mine}`),
  /** @param {Record<string, unknown>} body */
  create: (body) => request('POST', BASE, body),
  /** @param {number} id @param {boolean} consent @param {boolean} showName */
  answer: (id, consent, showName) => request('POST', `${BASE}/${id}/consent`, { consent, show_name: showName }),
  /** @param {number} id */
  withdraw: (id) => request('DELETE', `${BASE}/${id}`),
};

/**
 * The open page "Verzoeken om te delen", while it is shown: its list, how to read it again,
 * and whether the reader is busy in it (then a live change offers a button instead of
 * replacing what they are filling in or where their focus is).
 * @type {{body: HTMLElement, refresh: () => Promise<void>, busy: () => boolean, offer: () => void}|null}
 */
let openPage = null;

/**
 * Follow `publication_request` frames (docs/protocol.md): the badge counts again, the page
 * reads its list again, and a new request is announced to screen readers.
 * @param {{on: (name: string, fn: (detail: any) => void) => unknown}} store
 * @param {(text: string) => void} announce
 */
export function watchSharing(store, announce) {
  store.on('frame', (/** @type {any} */ f) => {
    // A new connection may have missed frames (the broker is at-most-once): count again.
    if (f?.type === 'hello') refreshSharingBadge();
    if (f?.type !== 'publication_request') return;
    refreshSharingBadge();
    if (f.change === 'requested') announce('Er is een nieuw verzoek om te delen.');
    const page = openPage;
    if (!page || !page.body.isConnected) return;
    if (page.busy()) page.offer();
    else void page.refresh();
  });
}

/**
 * Show the number of unanswered requests on the navigation badge (hidden at zero).
 * @returns {Promise<void>}
 */
export async function refreshSharingBadge() {
  const badge = document.getElementById('sharing-badge');
  if (!badge) return;
  let count = 0;
  try {
    count = (await sharing.list('pending')).publications.length;
  } catch {
    return;
  }
  badge.hidden = count === 0;
  replace(badge, String(count), srOnly(count === 1 ? ' verzoek open' : ' verzoeken open'));
}

/**
 * The page "Verzoeken om te delen".
 * @param {HTMLElement} main
 * @param {{staff: boolean, announce: (text: string) => void}} opts
 */
export async function renderSharing(main, opts) {
  document.title = 'Verzoeken om te delen – Werkplaats';
  const titleId = uid('sharing-title');
  const body = h('div', {}, h('p', { class: 'loading', text: 'Bezig met laden…' }));
  replace(main, h('section', { class: 'sharing', 'aria-labelledby': titleId },
    h('h1', { id: titleId, tabindex: '-1', text: 'Verzoeken om te delen' }),
    h('p', { class: 'intro', text: 'Wat we leren, delen we met professionals buiten onze gebieden. Een les of verslag wordt pas openbaar als iedereen van wie er een bericht in staat, toestemming geeft. Je naam staat er alleen bij als je dat kiest; anders alleen je organisatie en overheidslaag. Je kunt je toestemming later altijd intrekken.' }),
    opts.staff ? h('p', {}, h('a', { class: 'btn', href: '/delen/nieuw', text: 'Een les delen' })) : null,
    body));
  const refresh = async () => {
    let data;
    try {
      data = await sharing.list('listed');
    } catch (err) {
      replace(body, h('p', { class: 'form-error', role: 'alert', text: errorText(/** @type {any} */ (err).code) }));
      return;
    }
    const open = data.publications.filter((/** @type {any} */ p) => p.status === 'pending' && p.mine?.consent === null);
    const rest = data.publications.filter((/** @type {any} */ p) => !open.includes(p));
    const done = async (/** @type {string} */ text) => {
      opts.announce(text);
      await refresh();
      refreshSharingBadge();
    };
    dirty = false;
    replace(body,
      group('Wachten op jouw antwoord', open, 'Er wachten geen verzoeken op je.', done),
      group('Eerder beantwoord', rest, 'Nog niets.', done));
  };
  // A change from elsewhere while the reader is answering: offer to read the list again.
  let dirty = false;
  body.addEventListener('change', () => { dirty = true; });
  body.addEventListener('input', () => { dirty = true; });
  const update = h('div', { class: 'share-update', role: 'status' });
  body.before(update);
  openPage = {
    body,
    refresh: async () => { replace(update); await refresh(); },
    busy: () => dirty || body.contains(document.activeElement),
    offer: () => {
      if (update.firstChild) return;
      const button = h('button', { type: 'button', class: 'btn', text: 'Lijst bijwerken' });
      button.addEventListener('click', async () => {
        replace(update);
        await refresh();
        /** @type {HTMLElement|null} */ (main.querySelector('h1'))?.focus();
      });
      replace(update, h('p', {}, 'Er is iets veranderd in de verzoeken. ', button));
    },
  };
  await refresh();
}

/**
 * @param {string} title @param {any[]} items @param {string} empty
 * @param {(text: string) => Promise<void>} done
 */
function group(title, items, empty, done) {
  const id = uid('sharing-group');
  return h('section', { 'aria-labelledby': id },
    h('h2', { id, text: title }),
    items.length
      ? h('ul', { class: 'share-list' }, items.map((p) => h('li', {}, card(p, done))))
      : h('p', { class: 'empty', text: empty }));
}

/** @param {any} p @param {(text: string) => Promise<void>} done */
function card(p, done) {
  const id = uid('share-card');
  const layers = (p.layers ?? []).map((/** @type {string} */ l) => /** @type {Record<string, string>} */ (LAYER_LABELS)[l] ?? l);
  return h('article', { class: 'share-card', 'aria-labelledby': id },
    h('h3', { id, text: p.title }),
    h('p', { class: 'share-meta' },
      h('span', { class: `share-status share-${p.status}`, text: STATUS_LABELS[p.status] ?? p.status }),
      p.kind === 'report' ? ' · Verslag' : ' · Les',
      p.theme ? ` · Thema: ${p.theme}` : '',
      p.area ? ` · Gebied: ${p.area}` : '',
      layers.length ? ` · ${layers.join(', ')}` : ''),
    h('p', { class: 'share-body', text: p.body }),
    PARTS.filter(([k]) => p[k]).map(([k, label]) => h('p', {}, h('strong', { text: `${label}: ` }), p[k])),
    p.quotes?.length
      ? h('div', { class: 'share-quotes' }, h('p', { text: 'Geciteerde berichten:' }),
        h('ul', {}, p.quotes.map((/** @type {any} */ q) => h('li', {}, h('blockquote', { text: q.body }),
          h('p', { class: 'share-meta', text: formatDateTime(q.created_at) })))))
      : null,
    h('p', { class: 'share-meta', text: `Toestemming: ${p.authors.filter((/** @type {any} */ a) => a.consent === true).length} van ${p.authors.length}` }),
    p.url ? h('p', {}, h('a', { href: p.url, text: 'Bekijk de openbare pagina' })) : null,
    p.status !== 'withdrawn' && p.mine ? answerForm(p, done) : null,
    p.status !== 'withdrawn' ? withdrawButton(p, done) : null);
}

/** @param {any} p @param {(text: string) => Promise<void>} done */
function answerForm(p, done) {
  const name = uid('share-answer');
  const showId = uid('share-show');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const yes = h('input', { type: 'radio', name, value: 'yes', id: `${name}-yes`, checked: p.mine.consent === true });
  const no = h('input', { type: 'radio', name, value: 'no', id: `${name}-no`, checked: p.mine.consent === false });
  const show = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: showId, checked: p.mine.show_name }));
  const form = h('form', { class: 'share-answer' },
    h('fieldset', {},
      h('legend', { text: 'Mag dit openbaar worden?' }),
      h('div', { class: 'field field-check' }, yes, h('label', { for: `${name}-yes`, text: 'Ja, dit mag openbaar' })),
      h('div', { class: 'field field-check' }, no, h('label', { for: `${name}-no`, text: 'Nee, liever niet' }))),
    h('div', { class: 'field field-check' }, show, h('label', { for: showId, text: 'Toon mijn naam (anders alleen mijn organisatie en overheidslaag)' })),
    error,
    h('button', { type: 'submit', class: 'btn btn-primary', text: 'Antwoord versturen' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const agree = /** @type {HTMLInputElement} */ (yes).checked;
    if (!agree && !/** @type {HTMLInputElement} */ (no).checked) {
      error.textContent = 'Kies ja of nee.';
      return;
    }
    try {
      const { publication } = await sharing.answer(p.id, agree, show.checked);
      await done(publication.status === 'published' ? 'Bedankt. Iedereen gaf toestemming: het is nu openbaar.' : 'Je antwoord is opgeslagen.');
    } catch (err) {
      error.textContent = errorText(/** @type {any} */ (err).code);
    }
  });
  return form;
}

/** @param {any} p @param {(text: string) => Promise<void>} done */
function withdrawButton(p, done) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'button', class: 'btn btn-danger', text: 'Terugtrekken' });
  button.addEventListener('click', async () => {
    if (!window.confirm(`"${p.title}" terugtrekken? Het verdwijnt meteen van de openbare pagina's.`)) return;
    try {
      await sharing.withdraw(p.id);
      await done('Teruggetrokken: het staat niet meer op de openbare pagina’s.');
    } catch (err) {
      error.textContent = errorText(/** @type {any} */ (err).code);
    }
  });
  return h('div', { class: 'share-withdraw' }, button, error);
}

/**
 * The moderators' form: a lesson card quoting selected messages of one room.
 * @param {HTMLElement} main
 * @param {{rooms: {slug: string, name?: string}[], room: string|null, events: (slug: string) => Promise<any>, announce: (text: string) => void}} opts
 */
export async function renderShareNew(main, opts) {
  document.title = 'Een les delen – Werkplaats';
  const titleId = uid('share-new-title');
  const roomSelect = /** @type {HTMLSelectElement} */ (h('select', { id: uid('share-room'), name: 'room' },
    opts.rooms.map((r) => h('option', { value: r.slug, selected: r.slug === opts.room, text: r.name ?? r.slug }))));
  const messages = h('fieldset', { class: 'share-messages' }, h('legend', { text: 'Berichten om te citeren' }));
  const error = h('p', { class: 'form-error', role: 'alert' });
  const input = (/** @type {string} */ key, /** @type {string} */ label, /** @type {boolean} */ long, required = false) => {
    const id = uid(`share-${key}`);
    return h('div', { class: 'field' }, h('label', { for: id, text: label }),
      h(long ? 'textarea' : 'input', { id, name: key, required, rows: long ? '3' : null, maxlength: long ? '4000' : key === 'title' ? '200' : '100' }));
  };
  const layers = h('fieldset', {}, h('legend', { text: 'Betrokken overheidslagen' }),
    Object.entries(LAYER_LABELS).map(([value, label]) => {
      const id = uid('share-layer');
      return h('div', { class: 'field field-check' }, h('input', { type: 'checkbox', name: 'layers', value, id }), h('label', { for: id, text: label }));
    }));
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'share-new' },
    h('div', { class: 'field' }, h('label', { for: roomSelect.id, text: 'Gesprek' }), roomSelect),
    messages,
    input('title', 'Titel', false, true),
    input('body', 'Korte tekst', true, true),
    PARTS.map(([key, label]) => input(key, label, true)),
    input('area', 'Gebied (zoals het openbaar mag heten)', false),
    input('theme', 'Thema', false),
    layers,
    error,
    h('button', { type: 'submit', class: 'btn btn-primary', text: 'Vraag toestemming' })));
  replace(main, h('section', { class: 'sharing', 'aria-labelledby': titleId },
    h('h1', { id: titleId, tabindex: '-1', text: 'Een les delen' }),
    h('p', { class: 'intro', text: 'Kies de berichten (een vraag met het antwoord, een besluit met de context) en schrijf er een korte les bij. De schrijvers van de berichten krijgen een verzoek; pas als zij allemaal toestemming geven, wordt de les openbaar.' }),
    h('p', {}, h('a', { href: '/delen', text: 'Terug naar de verzoeken' })),
    form));
  const loadMessages = async () => {
    replace(messages, h('legend', { text: 'Berichten om te citeren' }), h('p', { class: 'loading', text: 'Bezig met laden…' }));
    try {
      const { events } = await opts.events(roomSelect.value);
      const shown = events.filter((/** @type {any} */ e) => e.type === 'message' && !e.hidden && e.body);
      replace(messages, h('legend', { text: 'Berichten om te citeren' }),
        shown.length ? shown.reverse().map((/** @type {any} */ e) => {
          const id = uid('share-msg');
          return h('div', { class: 'field field-check' },
            h('input', { type: 'checkbox', name: 'message_ids', value: String(e.message_id), id }),
            h('label', { for: id, text: `${e.author?.display_name ?? e.author?.username ?? ''}: ${excerpt(e.body, 140)}` }));
        }) : h('p', { class: 'empty', text: 'Geen berichten in dit gesprek.' }));
    } catch (err) {
      replace(messages, h('legend', { text: 'Berichten om te citeren' }), h('p', { class: 'form-error', text: errorText(/** @type {any} */ (err).code) }));
    }
  };
  roomSelect.addEventListener('change', loadMessages);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    // Oldest first: a question before its answer, as the conversation went.
    const ids = data.getAll('message_ids').map(Number).sort((a, b) => a - b);
    if (!ids.length) {
      error.textContent = 'Kies minstens één bericht.';
      return;
    }
    /** @type {Record<string, unknown>} */
    const body = { kind: 'lesson', room: roomSelect.value, message_ids: ids, layers: data.getAll('layers') };
    for (const key of ['title', 'body', 'area', 'theme', ...PARTS.map(([k]) => k)]) body[key] = String(data.get(key) ?? '');
    try {
      await sharing.create(body);
      opts.announce('De les is aangemaakt; de schrijvers krijgen een verzoek om toestemming.');
      navigate('/delen');
    } catch (err) {
      error.textContent = errorText(/** @type {any} */ (err).code);
    }
  });
  if (roomSelect.value) await loadMessages();
}
