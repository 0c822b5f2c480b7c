/**
 * The main menu on narrow or short screens (and at 200–400 % zoom): the links fold
 * behind a "Menu" button so that the messages keep the height. Wide screens show the
 * links and never see the button (style.css decides by media query).
 * @module topmenu
 */
import { h } from './dom.js';

/**
 * Add the "Menu" button before the navigation.
 * @param {HTMLElement} nav the main navigation (#topnav)
 * @returns {{close: () => void}}
 */
export function foldableMenu(nav) {
  const button = h('button', {
    type: 'button', class: 'btn btn-quiet menu-button', id: 'menu-button',
    'aria-expanded': 'false', 'aria-controls': nav.id, text: 'Menu',
  });
  nav.before(button);
  const set = (/** @type {boolean} */ open) => {
    document.body.classList.toggle('nav-open', open);
    button.setAttribute('aria-expanded', String(open));
  };
  button.addEventListener('click', () => {
    const open = !document.body.classList.contains('nav-open');
    set(open);
    if (open) /** @type {HTMLElement|null} */ (nav.querySelector('a'))?.focus();
  });
  nav.addEventListener('click', (ev) => {
    if (/** @type {HTMLElement} */ (ev.target).closest('a')) set(false);
  });
  nav.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || !document.body.classList.contains('nav-open')) return;
    set(false);
    if (button.offsetParent) button.focus();
  });
  return { close: () => set(false) };
}
