/**
 * The search screen: a form (words, room, author, period) and hits with highlighted
 * snippets, each linking to the message in its room.
 * @module views/search
 */
import { api } from '../api.js';
import { h, replace, srOnly } from '../dom.js';
import { formatDateTime, snippetNodes } from '../format.js';
import { LAYER_LABELS, errorText } from '../i18n.js';
import { personPicker } from '../people.js';
import { reportHit } from '../report.js';
import { roomHref, searchHref } from '../router.js';

/**
 * @param {HTMLElement} main
 * @param {{store: import('../store.js').Store, params: URLSearchParams}} opts
 */
export function renderSearch(main, { store, params }) {
  const v = (/** @type {string} */ k) => params.get(k) ?? '';
  const q = h('input', { id: 'search-q', name: 'q', type: 'search', value: v('q'), required: true, autocomplete: 'off', 'aria-describedby': 'search-hint' });
  const roomSel = h('select', { id: 'search-room', name: 'room' },
    h('option', { value: '', text: 'Alle kamers' }),
    [...store.rooms.values()].sort((a, b) => a.name.localeCompare(b.name, 'nl'))
      .map((r) => h('option', { value: r.slug, selected: r.slug === v('room'), text: r.name })));
  const author = h('input', { id: 'search-author', name: 'author', type: 'text', value: v('author'), autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const layer = h('select', { id: 'search-layer', name: 'layer' },
    h('option', { value: '', text: 'Alle overheidslagen' }),
    Object.entries(LAYER_LABELS).map(([value, label]) => h('option', { value, selected: value === v('layer'), text: label })));
  const sort = h('select', { id: 'search-sort', name: 'sort' },
    h('option', { value: '', text: 'Best passend' }),
    h('option', { value: 'recent', selected: v('sort') === 'recent', text: 'Nieuwste eerst' }));
  const after = h('input', { id: 'search-after', name: 'after', type: 'date', value: v('after') });
  const before = h('input', { id: 'search-before', name: 'before', type: 'date', value: v('before') });
  const form = h('form', { class: 'search-form', role: 'search', 'aria-label': 'Berichten zoeken' },
    h('div', { class: 'field field-wide' }, h('label', { for: 'search-q', text: 'Zoekwoorden' }), q,
      h('p', { class: 'hint', id: 'search-hint', text: 'Tip: "woorden tussen aanhalingstekens" zoekt precies die zin, boer* vindt woorden die zo beginnen, -mest laat berichten met dat woord weg.' })),
    h('div', { class: 'field' }, h('label', { for: 'search-room', text: 'Kamer' }), roomSel),
    h('div', { class: 'field' }, h('label', { for: 'search-author', text: 'Auteur' }), author),
    h('div', { class: 'field' }, h('label', { for: 'search-layer', text: 'Overheidslaag' }), layer),
    h('div', { class: 'field' }, h('label', { for: 'search-after', text: 'Vanaf datum' }), after),
    h('div', { class: 'field' }, h('label', { for: 'search-before', text: 'Tot datum' }), before),
    h('div', { class: 'field' }, h('label', { for: 'search-sort', text: 'Volgorde' }), sort),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Zoeken' })));
  // People by name: the field shows the display name, the form sends the username.
  personPicker(/** @type {HTMLInputElement} */ (author), { name: 'author', initial: v('author'), room: () => /** @type {HTMLSelectElement} */ (roomSel).value || undefined });
  const status = h('p', { class: 'search-status', role: 'status' });
  // Hits grouped by room, in the order the rooms first appear; later pages join their group.
  const results = h('div', { class: 'search-results' });
  /** @type {Map<string, HTMLElement>} */
  const groups = new Map();
  let total = 0;
  const groupOf = (/** @type {string} */ slug, title = store.rooms.get(slug)?.name ?? slug) => {
    let list = groups.get(slug);
    if (!list) {
      const id = `zoek-kamer-${groups.size + 1}`;
      list = h('ol', { class: 'hit-list' });
      results.appendChild(h('section', { class: 'hit-group', 'aria-labelledby': id },
        h('h2', { id, text: title }), list));
      groups.set(slug, list);
    }
    return list;
  };
  const more = h('div', { class: 'search-more' });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const fd = new FormData(/** @type {HTMLFormElement} */ (form));
    /** @type {Record<string, string>} */
    const next = {};
    for (const [k, val] of fd.entries()) if (typeof val === 'string' && val.trim()) next[k] = val.trim();
    if (!next.q) {
      status.textContent = 'Vul een of meer zoekwoorden in.';
      q.focus();
      return;
    }
    // Keep the form (and the focus in it): only the address changes, for bookmarks.
    history.replaceState(null, '', searchHref(next));
    run(next, null, false);
  });

  /**
   * @param {Record<string, string>} p
   * @param {string|null} cursor
   * @param {boolean} append
   */
  async function run(p, cursor, append) {
    status.textContent = 'Zoeken…';
    if (!append) {
      results.replaceChildren();
      groups.clear();
      total = 0;
    }
    more.replaceChildren();
    try {
      const data = await api.search({ ...p, cursor, limit: 20 });
      const hits = Array.isArray(data?.hits) ? data.hits : [];
      for (const hit of hits) {
        // Published verslagen (kind `report`) form a group of their own, keyed '' (no slug).
        if (hit.kind === 'report') groupOf('', 'Verslagen').appendChild(reportHit(hit));
        else groupOf(String(hit.room)).appendChild(hitItem(hit, store));
      }
      total += hits.length;
      status.textContent = total === 0 ? `Niets gevonden voor “${p.q}”.` : `${total} ${total === 1 ? 'resultaat' : 'resultaten'} voor “${p.q}”${data.next_cursor ? ' (er zijn er meer)' : ''}.`;
      if (data.next_cursor) {
        more.appendChild(h('button', {
          type: 'button', class: 'btn', text: 'Meer resultaten',
          onclick: () => run(p, data.next_cursor, true),
        }));
      }
    } catch (err) {
      const e = /** @type {any} */ (err);
      if (e.status === 404 && e.code !== 'forbidden' && !p.room) {
        status.textContent = 'Zoeken is op deze server (nog) niet beschikbaar. Probeer het later nog eens.';
      } else if (e.status === 400) {
        status.textContent = 'Deze zoekvraag kan niet worden gezocht. Controleer de aanhalingstekens, de * en de -, en de datums.';
      } else {
        status.textContent = errorText(e.code ?? 'network', e.retryAfter);
      }
    }
  }

  replace(main, h('section', { class: 'search', 'aria-labelledby': 'search-title' },
    h('h1', { id: 'search-title', tabindex: '-1', text: 'Zoeken' }),
    form, status, results, more));
  document.title = 'Zoeken – Werkplaats';

  if (v('q')) {
    /** @type {Record<string, string>} */
    const p = {};
    for (const k of ['q', 'room', 'author', 'layer', 'after', 'before', 'sort']) if (v(k)) p[k] = v(k);
    run(p, null, false);
  }
  return { focusTarget: q };
}

/**
 * @param {any} hit
 * @param {import('../store.js').Store} store
 */
function hitItem(hit, store) {
  const author = hit.author ?? {};
  const who = author.display_name ?? author.username ?? '';
  const snippet = h('p', { class: 'snippet', dir: 'auto' });
  snippet.appendChild(snippetNodes(String(hit.snippet ?? '')));
  const roomName = store.rooms.get(hit.room)?.name ?? hit.room;
  return h('li', { class: 'hit' },
    h('p', { class: 'hit-head' },
      h('a', { href: roomHref(hit.room, Number(hit.seq)) },
        srOnly('Bericht van '), h('span', { class: 'author', text: who }), ' · ',
        h('time', { datetime: hit.created_at, text: formatDateTime(hit.created_at) }), srOnly(` in ${roomName}`)),
      author.organisation ? h('span', { class: 'org', text: ` (${author.organisation})` }) : null),
    snippet,
    // Found through the glossary (/woordenlijst), not the words typed: say so.
    hit.matched_via?.length ? h('p', { class: 'muted', text: `gevonden via ${hit.matched_via.join(', ')}` }) : null);
}
