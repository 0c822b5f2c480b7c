/**
 * `/woordenlijst`: the Werkplaats's own words (NPLG = Nationaal Programma Landelijk
 * Gebied). Search looks for both sides of an entry; moderators and admins keep the list
 * here, everyone else reads it.
 * @module glossary
 */
import { request } from './api.js';
import { h, replace } from './dom.js';
import { errorText } from './i18n.js';

/**
 * @param {HTMLElement} main
 * @param {{staff: boolean, announce: (text: string) => void}} opts
 */
export function renderGlossary(main, { staff, announce }) {
  const list = h('div', { class: 'glossary-list' }, h('p', { class: 'muted', text: 'Woordenlijst laden…' }));
  const error = h('p', { class: 'form-error', role: 'alert', id: 'glossary-error' });
  const term = h('input', { id: 'glossary-term', name: 'term', required: true, maxlength: 100, autocomplete: 'off' });
  const means = h('input', { id: 'glossary-means', name: 'means', required: true, maxlength: 200, autocomplete: 'off' });
  const form = h('form', { class: 'glossary-form', 'aria-describedby': 'glossary-error' },
    h('h2', { text: 'Nieuw woord' }),
    h('p', {}, h('label', { for: 'glossary-term', text: 'Afkorting of woord' }), term),
    h('p', {}, h('label', { for: 'glossary-means', text: 'Betekenis' }), means),
    error,
    h('button', { type: 'submit', class: 'btn', text: 'Toevoegen' }));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const t = /** @type {HTMLInputElement} */ (term).value.trim();
    const m = /** @type {HTMLInputElement} */ (means).value.trim();
    try {
      await request('POST', '/api/glossary', { term: t, means: m });
      /** @type {HTMLInputElement} */ (term).value = '';
      /** @type {HTMLInputElement} */ (means).value = '';
      announce(`${t} toegevoegd aan de woordenlijst.`);
      await load();
      term.focus();
    } catch (/** @type {any} */ err) {
      error.textContent = err?.code === 'conflict' ? 'Dit woord met deze betekenis staat er al.' : errorText(err?.code);
    }
  });

  /** @param {{id: number, term: string, means: string}} e */
  const row = (e) => h('tr', {},
    h('td', { text: e.term, dir: 'auto' }),
    h('td', { text: e.means, dir: 'auto' }),
    staff ? h('td', {}, removeButton(e)) : null);

  /** @param {{id: number, term: string, means: string}} e */
  function removeButton(e) {
    const b = h('button', { type: 'button', class: 'btn btn-small', text: 'Verwijderen', 'aria-label': `${e.term} verwijderen` });
    b.addEventListener('click', async () => {
      try {
        await request('DELETE', `/api/glossary/${e.id}`);
        announce(`${e.term} verwijderd uit de woordenlijst.`);
        await load();
        /** @type {HTMLElement|null} */ (main.querySelector('h1'))?.focus();
      } catch (/** @type {any} */ err) {
        error.textContent = errorText(err?.code);
      }
    });
    return b;
  }

  async function load() {
    try {
      const { entries } = await request('GET', '/api/glossary');
      if (!entries.length) { replace(list, h('p', { text: 'De woordenlijst is nog leeg.' })); return; }
      const heads = ['Woord', 'Betekenis', ...(staff ? ['Acties'] : [])];
      replace(list, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Woordenlijst' },
        h('table', {},
          h('caption', { class: 'visually-hidden', text: 'Woorden en hun betekenis' }),
          h('thead', {}, h('tr', {}, heads.map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, entries.map(row)))));
    } catch (/** @type {any} */ err) {
      replace(list, h('p', { role: 'alert', text: errorText(err?.code) }));
    }
  }

  replace(main, h('section', { class: 'page glossary', 'aria-labelledby': 'glossary-title' },
    h('h1', { id: 'glossary-title', tabindex: '-1', text: 'Woordenlijst' }),
    h('p', { text: 'Zoeken vindt bij een woord uit deze lijst ook zijn betekenis, en omgekeerd: wie NPLG zoekt, vindt ook het Nationaal Programma Landelijk Gebied.' }),
    list,
    staff ? form : null));
  document.title = 'Woordenlijst – Werkplaats';
  load();
}
