/**
 * The area × theme overview: activity and unread per cell, and per question which
 * government layers have answered or read it ("nog geen reactie van een waterschap").
 * @module views/overview
 */
import { between } from '../between.js';
import { h, replace, srOnly, uid } from '../dom.js';
import { errorText, LAYER_LABELS } from '../i18n.js';
import { roomHref } from '../router.js';

/**
 * @param {HTMLElement} main
 */
export async function renderOverview(main) {
  document.title = 'Overzicht – Werkplaats';
  const titleId = uid('overview-title');
  const body = h('div', {}, h('p', { class: 'loading', text: 'Bezig met laden…' }));
  replace(main, h('section', { class: 'overview', 'aria-labelledby': titleId },
    h('h1', { id: titleId, tabindex: '-1', text: 'Overzicht gebieden en thema’s' }), body));
  let data;
  try {
    data = await between.overview();
  } catch (err) {
    replace(body, h('p', { class: 'form-error', role: 'alert', text: errorText(/** @type {any} */ (err).code) }));
    return;
  }
  replace(body, grid(data), questions(data));
}

/** @param {any} data */
function grid(data) {
  return h('div', { class: 'table-scroll' }, h('table', { class: 'overview-grid' },
    h('caption', { text: 'Berichten per gebied en thema: totaal, sinds de vorige bijeenkomst, en (tussen haakjes) ongelezen' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Gebied' }),
      data.themes.map((/** @type {any} */ t) => h('th', { scope: 'col', text: t.name })))),
    h('tbody', {}, data.areas.map((/** @type {any} */ a) => h('tr', {},
      h('th', { scope: 'row' }, a.readable && a.room ? h('a', { href: roomHref(a.room), text: a.name }) : a.name),
      a.cells.map((/** @type {any} */ c) => h('td', { class: c.unread ? 'has-unread' : null },
        String(c.messages),
        c.recent ? h('span', { class: 'cell-recent' }, ` · ${c.recent}`, srOnly(' sinds de vorige bijeenkomst')) : null,
        c.unread ? h('span', { class: 'cell-unread' }, ` (${c.unread}`, srOnly(' ongelezen'), ')') : null)))))));
}

/** @param {any} data */
function questions(data) {
  const id = uid('overview-questions');
  return h('section', { 'aria-labelledby': id },
    h('h2', { id, text: 'Vragen en de overheidslagen' }),
    data.questions.length
      ? h('ul', { class: 'question-layers' }, data.questions.map((/** @type {any} */ q) => h('li', {},
        h('a', { href: roomHref(q.room, q.seq), text: `${q.excerpt} — ${q.author.display_name}` }),
        q.answered ? h('span', { class: 'room-flag', text: 'beantwoord' }) : null,
        h('p', { class: 'layers', text: `Gereageerd: ${names(q.answered_layers)}. Gelezen: ${names(q.read_layers)}.` }),
        q.missing_layers.length ? h('p', { class: 'notice', text: q.notice }) : null)))
      : h('p', { class: 'empty', text: 'Nog geen vragen gemarkeerd.' }));
}

/** @param {string[]} layers */
function names(layers) {
  return layers.length ? layers.map((l) => /** @type {Record<string, string>} */ (LAYER_LABELS)[l] ?? l).join(', ') : 'nog niemand';
}
