/**
 * Switching rooms from the keyboard: Alt+↓ and Alt+↑ open the next and previous room of
 * the room list, Ctrl+K (or ⌘K) a quick switcher: a modal dialog with a filter field
 * and a list of rooms (the combobox pattern: the focus stays in the field, ↑/↓ choose,
 * Enter opens). Rooms are opened through their links in the room list, so the switcher
 * follows whatever the list shows and however links are routed.
 * @module switcher
 */
import { returnPoint } from './dialog.js';
import { h, uid } from './dom.js';

/** At most this many rooms are listed; the filter narrows the rest. */
const MAX_SHOWN = 50;

/** @returns {HTMLAnchorElement[]} the room links of the room list, once per room, in order */
function roomLinks() {
  /** @type {Map<string, HTMLAnchorElement>} */
  const seen = new Map();
  for (const a of /** @type {NodeListOf<HTMLAnchorElement>} */ (document.querySelectorAll('#sidebar a.room-link[data-slug]'))) {
    const slug = a.dataset.slug ?? '';
    if (!seen.has(slug)) seen.set(slug, a);
  }
  return [...seen.values()];
}

/** @param {HTMLAnchorElement} a */
function roomName(a) {
  return (a.querySelector('.room-name')?.textContent ?? a.textContent ?? '').trim();
}

/** Lower case without accents, so "een" finds "één". @param {string} s */
function fold(s) {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Open the next (+1) or previous (-1) room of the list.
 * @param {1|-1} step
 */
export function stepRoom(step) {
  const links = roomLinks();
  if (!links.length) return;
  const here = links.findIndex((a) => a.getAttribute('aria-current') === 'page');
  const next = here === -1 ? (step > 0 ? 0 : links.length - 1) : (here + step + links.length) % links.length;
  links[next].click();
}

/** The quick switcher, as a modal dialog. */
export function openSwitcher() {
  if (document.querySelector('dialog.switcher')) return;
  const back = returnPoint();
  const titleId = uid('switcher-title');
  const listId = uid('switcher-list');
  const inputId = uid('switcher-filter');
  const input = /** @type {HTMLInputElement} */ (h('input', {
    id: inputId, type: 'search', role: 'combobox', autocomplete: 'off', 'aria-autocomplete': 'list',
    'aria-expanded': 'true', 'aria-controls': listId, 'aria-describedby': `${inputId}-hint`,
  }));
  const list = h('ul', { class: 'switcher-list', id: listId, role: 'listbox', 'aria-label': 'Gesprekken' });
  const status = h('p', { class: 'muted', role: 'status' });
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { class: 'dialog switcher', 'aria-labelledby': titleId },
    h('h2', { id: titleId, text: 'Naar gesprek' }),
    h('div', { class: 'field' },
      h('label', { for: inputId, text: 'Zoek een gesprek' }), input,
      h('p', { class: 'hint', id: `${inputId}-hint`, text: '↑ en ↓ kiezen, Enter opent, Escape sluit.' })),
    list, status,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn', text: 'Annuleren', onclick: () => close(null) }))));
  document.body.appendChild(dialog);
  /** @type {HTMLAnchorElement[]} */
  let shown = [];
  let chosen = 0;

  const render = () => {
    const q = fold(input.value.trim());
    shown = roomLinks().filter((a) => !q || fold(roomName(a)).includes(q)).slice(0, MAX_SHOWN);
    chosen = Math.min(chosen, Math.max(shown.length - 1, 0));
    list.replaceChildren(...shown.map((a, i) => h('li', {
      role: 'option', id: `${listId}-${i}`, 'data-slug': a.dataset.slug, 'aria-selected': String(i === chosen),
      class: i === chosen ? 'switcher-option chosen' : 'switcher-option', text: roomName(a),
      onclick: () => close(a),
    })));
    if (shown.length) input.setAttribute('aria-activedescendant', `${listId}-${chosen}`);
    else input.removeAttribute('aria-activedescendant');
    status.textContent = shown.length ? `${shown.length} ${shown.length === 1 ? 'gesprek' : 'gesprekken'}` : 'Geen gesprek gevonden.';
    list.querySelector('.chosen')?.scrollIntoView({ block: 'nearest' });
  };
  let done = false;
  const close = (/** @type {HTMLAnchorElement|null} */ to) => {
    if (done) return;
    done = true;
    dialog.close();
    dialog.remove();
    if (to) to.click();
    else back();
  };
  input.addEventListener('input', () => { chosen = 0; render(); });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (!shown.length) return;
      chosen = (chosen + (ev.key === 'ArrowDown' ? 1 : -1) + shown.length) % shown.length;
      render();
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      if (shown[chosen]) close(shown[chosen]);
    }
  });
  dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); close(null); });
  render();
  dialog.showModal();
  input.focus();
}

/**
 * The room shortcuts, for the whole page while signed in.
 * @param {() => boolean} active whether they apply now (signed in)
 */
export function roomShortcuts(active) {
  document.addEventListener('keydown', (ev) => {
    if (!active() || ev.defaultPrevented || document.querySelector('dialog[open]')) return;
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      ev.preventDefault();
      stepRoom(ev.key === 'ArrowDown' ? 1 : -1);
    } else if ((ev.ctrlKey || ev.metaKey) && !ev.altKey && ev.key.toLowerCase() === 'k') {
      ev.preventDefault();
      openSwitcher();
    }
  });
}
