/**
 * The home screen: a greeting and where to start. On a phone the room list follows it.
 * @module views/home
 */
import { h, replace } from '../dom.js';

/**
 * @param {HTMLElement} main
 * @param {{store: import('../store.js').Store}} opts
 */
export function renderHome(main, { store }) {
  const name = store.user?.display_name ?? store.user?.username ?? '';
  const unread = [...store.rooms.values()].reduce((n, r) => n + (r.archived ? 0 : r.unread), 0);
  replace(main, h('section', { class: 'home', 'aria-labelledby': 'home-title' },
    h('h1', { id: 'home-title', tabindex: '-1', text: `Welkom${name ? `, ${name}` : ''}` }),
    h('p', { text: unread ? `Je hebt ${unread} ongelezen ${unread === 1 ? 'bericht' : 'berichten'}. Kies een gesprek.` : 'Kies een gesprek uit de lijst.' })));
  document.title = 'Gesprekken – Werkplaats';
}

/**
 * @param {HTMLElement} main
 */
export function renderNotFound(main) {
  replace(main, h('section', { class: 'home' },
    h('h1', { tabindex: '-1', text: 'Pagina niet gevonden' }),
    h('p', {}, h('a', { href: '/', text: 'Terug naar de gesprekken' }))));
  document.title = 'Niet gevonden – Werkplaats';
}
