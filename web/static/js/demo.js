/**
 * The demo accounts on the login screen, only when the server runs the demo
 * (`werkplaats serve --demo`, as `make run` does): `GET /api/demo` lists none otherwise.
 * @module demo
 */
import { request } from './api.js';
import { h, replace, srOnly } from './dom.js';

/**
 * A box that fills in with the demo accounts, each with a button that fills the form.
 * @param {(username: string, password: string) => void} fill
 */
export function demoLogins(fill) {
  const box = h('section', { class: 'demo-logins', 'aria-labelledby': 'demo-logins-title', hidden: true });
  request('GET', '/api/demo').then(({ logins }) => {
    if (!logins?.length) return;
    replace(box,
      h('h2', { id: 'demo-logins-title', text: 'Demo-accounts' }),
      h('p', { class: 'muted', text: 'Alleen in deze demo: de accounts en wachtwoorden zijn openbaar. Een echte Werkplaats toont deze lijst niet.' }),
      h('ul', { class: 'demo-login-list' }, logins.map((/** @type {any} */ one) => h('li', {},
        h('span', { class: 'demo-login' },
          h('code', { text: one.username }), ' · wachtwoord ', h('code', { text: one.password })),
        h('span', { class: 'muted', text: ` — ${one.about} ` }),
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => fill(one.username, one.password) },
          'Invullen', srOnly(` als ${one.username}`))))));
    box.hidden = false;
  }).catch(() => {});
  return box;
}
