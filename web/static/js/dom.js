/**
 * Building DOM nodes without markup strings: every piece of user data becomes a text
 * node or an attribute value, so nothing a participant types is ever parsed as HTML.
 * Text and the attributes people read (title, aria-label) show bidi and invisible
 * controls visibly (bidi.js), so none can reorder or hide what is shown.
 * @module dom
 */
import { visible } from './bidi.js';

// Attributes whose value is read by people or their screen readers.
const READ_ATTRS = new Set(['title', 'aria-label', 'placeholder', 'alt']);

/** @typedef {Node | string | number | null | undefined | false | Child[]} Child */

/**
 * Create an element.
 * `text` sets textContent, `class` the class list, `on<event>` adds a listener,
 * `true` gives an empty (boolean) attribute and `false`/`null`/`undefined` leaves it out.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === 'text') {
      el.textContent = visible(String(value));
    } else if (key === 'class') {
      el.className = String(value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, READ_ATTRS.has(key) ? visible(String(value)) : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * Append children (nested arrays allowed); strings become text nodes.
 * @param {Node} parent
 * @param {Child[]} children
 */
export function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(textNode(String(child)));
  }
}

/**
 * A text node with its bidi and invisible controls made visible.
 * @param {string} text
 */
export function textNode(text) {
  return document.createTextNode(visible(text));
}

/**
 * Text a person wrote, isolated so that its direction cannot reorder what is around it.
 * @param {string} text
 */
export function bdi(text) {
  return h('bdi', { text });
}

/**
 * Replace all children of an element.
 * @param {Element} el
 * @param {...Child} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A text only screen readers read.
 * @param {string} text
 */
export function srOnly(text) {
  return h('span', { class: 'visually-hidden', text });
}

let counter = 0;

/**
 * A fresh id for linking labels and descriptions.
 * @param {string} prefix
 */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}
