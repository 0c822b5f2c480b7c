/**
 * People by name: a person picker after the WAI-ARIA APG combobox pattern (an editable
 * combobox with a list popup). It shows display name, organisation and layer, and hands the
 * username on: the API takes usernames underneath. Two ways in:
 * - `personPicker(input, …)` turns a text field into the combobox (actiepunt owner, search
 *   author, mute and ban on the moderation screen);
 * - `attachMentions(textarea, …)` offers people after "@" in the composer and inserts
 *   `@username`.
 * Keyboard: the first match is active; ↓/↑ move through the list, Enter or Tab picks the
 * active one, Escape closes, typing filters.
 * @module people
 */
import { request } from './api.js';
import { h, replace, uid } from './dom.js';
import { LAYER_LABELS } from './i18n.js';

/** @typedef {{username: string, display_name: string, organisation: string, layer: string}} Person */

/** Wait this long after the last key before asking the server (it limits look-ups per user). */
const DEBOUNCE_MS = 150;
const USERNAME = /^@?([a-z0-9._-]{2,32})$/i;

/**
 * People matching `q` whom the asker may see (in `room` when given).
 * @param {string} q @param {string} [room]
 * @returns {Promise<Person[]>}
 */
export async function findPeople(q, room) {
  const params = new URLSearchParams({ q });
  if (room) params.set('room', room);
  const data = await request('GET', `/api/people?${params}`);
  return data?.people ?? [];
}

/** "Gemeente A · Gemeente": what tells two people of the same name apart. @param {Person} p */
export function personDetail(p) {
  return [p.organisation, LAYER_LABELS[/** @type {keyof typeof LAYER_LABELS} */ (p.layer)] ?? p.layer]
    .filter(Boolean).join(' · ');
}

/**
 * The list popup and its keyboard model, shared by both kinds of field.
 * @param {HTMLInputElement|HTMLTextAreaElement} field
 * @param {string} label the listbox's name
 * @param {(p: Person) => void} pick
 */
function popup(field, label, pick) {
  const listId = uid('people-list');
  const list = h('ul', { id: listId, role: 'listbox', class: 'people-list', 'aria-label': label, hidden: true });
  const status = h('span', { class: 'visually-hidden', role: 'status' });
  /** @type {Person[]} */
  let people = [];
  let active = -1;
  field.setAttribute('aria-autocomplete', 'list');
  field.setAttribute('aria-controls', listId);

  const optionId = (/** @type {number} */ i) => `${listId}-${i}`;
  const setActive = (/** @type {number} */ i) => {
    active = i;
    list.querySelectorAll('[role=option]').forEach((el, j) => el.setAttribute('aria-selected', String(j === i)));
    if (i >= 0) {
      field.setAttribute('aria-activedescendant', optionId(i));
      list.querySelector(`#${CSS.escape(optionId(i))}`)?.scrollIntoView({ block: 'nearest' });
    } else {
      field.removeAttribute('aria-activedescendant');
    }
  };
  const isOpen = () => !list.hidden;
  const close = () => {
    list.hidden = true;
    if (field.getAttribute('role') === 'combobox') field.setAttribute('aria-expanded', 'false');
    setActive(-1);
  };
  /** @param {Person[]} found */
  const show = (found) => {
    people = found;
    replace(list, found.map((p, i) => h('li', {
      id: optionId(i), role: 'option', class: 'people-option', 'aria-selected': 'false',
      // Keep the focus in the field: pick on mousedown's click without blurring it.
      onmousedown: (/** @type {Event} */ ev) => ev.preventDefault(),
      onclick: () => choose(i),
    }, h('span', { class: 'people-name', text: p.display_name }), ' ',
    h('span', { class: 'people-detail', text: personDetail(p) }))));
    status.textContent = found.length ? `${found.length} ${found.length === 1 ? 'persoon' : 'personen'} gevonden` : 'Niemand gevonden';
    if (!found.length) {
      close();
      return;
    }
    list.hidden = false;
    if (field.getAttribute('role') === 'combobox') field.setAttribute('aria-expanded', 'true');
    // Automatic selection (APG): the first match is active, so Enter takes it.
    setActive(0);
  };
  const choose = (/** @type {number} */ i) => {
    const p = people[i];
    close();
    if (p) pick(p);
  };
  /** @param {KeyboardEvent} ev @returns {boolean} whether the key was the list's */
  const key = (ev) => {
    if (!isOpen() || ev.isComposing) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const n = people.length;
      setActive(ev.key === 'ArrowDown' ? (active + 1) % n : (active - 1 + n) % n);
      return true;
    }
    if ((ev.key === 'Enter' || ev.key === 'Tab') && active >= 0) {
      choose(active);
      return true;
    }
    if (ev.key === 'Escape') {
      close();
      return true;
    }
    return false;
  };
  field.addEventListener('blur', () => close());
  return { list, status, show, close, key, isOpen };
}

/**
 * Ask after a pause; only the latest answer counts.
 * @param {(found: Person[]) => void} show
 * @param {() => string|undefined} room
 */
function lookup(show, room) {
  let timer = 0;
  let asked = 0;
  return (/** @type {string} */ q) => {
    clearTimeout(timer);
    const mine = ++asked;
    if (!q) {
      show([]);
      return;
    }
    timer = window.setTimeout(async () => {
      try {
        const found = await findPeople(q, room());
        if (mine === asked) show(found);
      } catch {
        if (mine === asked) show([]);
      }
    }, DEBOUNCE_MS);
  };
}

/**
 * Turn a text field into a person picker. The field shows the chosen display name; the
 * username goes into a hidden field named `name` (for forms) and comes from `username()`.
 * @param {HTMLInputElement} input
 * @param {{room?: string|(() => string|undefined), name?: string, initial?: string, onPick?: (p: Person) => void}} [opts]
 * @returns {{el: HTMLElement, username: () => string, clear: () => void}}
 */
export function personPicker(input, opts = {}) {
  const room = typeof opts.room === 'function' ? opts.room : () => /** @type {string|undefined} */ (opts.room);
  const hidden = /** @type {HTMLInputElement} */ (h('input', { type: 'hidden', name: opts.name }));
  /** @type {Person|null} */
  let picked = null;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-expanded', 'false');
  input.setAttribute('autocomplete', 'off');
  input.setAttribute('spellcheck', 'false');
  if (opts.name && input.getAttribute('name') === opts.name) input.removeAttribute('name');
  const typed = () => {
    const m = USERNAME.exec(input.value.trim());
    return m ? m[1].toLowerCase() : '';
  };
  const sync = () => { hidden.value = picked ? picked.username : typed(); };
  const box = popup(input, 'Personen', (p) => {
    picked = p;
    input.value = p.display_name;
    sync();
    opts.onPick?.(p);
  });
  const ask = lookup(box.show, room);
  input.addEventListener('input', () => {
    picked = null;
    sync();
    ask(input.value.trim().replace(/^@/, ''));
  });
  input.addEventListener('keydown', (ev) => {
    if (box.key(ev)) {
      if (ev.key !== 'Tab') ev.preventDefault();
      ev.stopPropagation();
    } else if (ev.key === 'ArrowDown' && input.value.trim()) {
      ev.preventDefault();
      ask(input.value.trim().replace(/^@/, ''));
    }
  });
  if (opts.initial) {
    input.value = opts.initial;
    sync();
  }
  const el = h('div', { class: 'people-picker' }, hidden, box.list, box.status);
  input.insertAdjacentElement('afterend', el);
  return {
    el,
    username: () => (picked ? picked.username : typed()),
    clear: () => { picked = null; input.value = ''; sync(); box.close(); },
  };
}

/** The "@name" being typed just before the caret, if any. @param {string} text @param {number} caret */
export function mentionAt(text, caret) {
  const m = /(^|[\s(])@([\p{L}\p{N}._-]{1,32})$/u.exec(text.slice(0, caret));
  return m ? { start: caret - m[2].length - 1, query: m[2] } : null;
}

/**
 * @mentions in a textarea: after "@" and a letter the people of the room are offered;
 * picking one writes `@username ` in place of what was typed.
 * @param {HTMLTextAreaElement} textarea
 * @param {{room?: string}} opts
 * @returns {HTMLElement} the popup, to be placed near the textarea
 */
export function attachMentions(textarea, opts) {
  /** @type {{start: number, query: string}|null} */
  let at = null;
  const box = popup(textarea, 'Personen om te vermelden', (p) => {
    if (!at) return;
    const caret = textarea.selectionStart;
    const insert = `@${p.username} `;
    textarea.setRangeText(insert, at.start, caret, 'end');
    at = null;
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  });
  const ask = lookup(box.show, () => opts.room);
  textarea.addEventListener('input', () => {
    at = mentionAt(textarea.value, textarea.selectionStart);
    if (at) ask(at.query);
    else {
      ask('');
      box.close();
    }
  });
  // Capture: the list's keys must reach it before the composer sends on Enter.
  textarea.addEventListener('keydown', (ev) => {
    if (box.key(ev)) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }, { capture: true });
  return h('div', { class: 'people-mentions' }, box.list, box.status);
}
