/**
 * The login screen: username and password, posted to `POST /api/session`.
 * @module views/login
 */
import { loginExtras } from '../account.js';
import { api } from '../api.js';
import { demoLogins } from '../demo.js';
import { h, replace } from '../dom.js';
import { errorText } from '../i18n.js';

/**
 * @param {HTMLElement} main
 * @param {{onLoggedIn: (user: import('../store.js').User) => void, notice?: string}} opts
 */
export function renderLogin(main, { onLoggedIn, notice }) {
  const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' });
  const username = h('input', {
    id: 'login-username', name: 'username', type: 'text', autocomplete: 'username',
    autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: 32,
  });
  const password = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Inloggen' });
  const form = h('form', { class: 'login-form', 'aria-labelledby': 'login-title', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'login-username', text: 'Gebruikersnaam' }), username),
    h('div', { class: 'field' }, h('label', { for: 'login-password', text: 'Wachtwoord' }), password),
    error,
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const u = /** @type {HTMLInputElement} */ (username).value.trim();
    const p = /** @type {HTMLInputElement} */ (password).value;
    if (!u || !p) {
      error.textContent = 'Vul je gebruikersnaam en wachtwoord in.';
      (u ? password : username).focus();
      return;
    }
    submit.setAttribute('disabled', '');
    submit.textContent = 'Bezig met inloggen…';
    error.textContent = '';
    try {
      const { user } = await api.login(u, p);
      onLoggedIn(user);
    } catch (err) {
      const e = /** @type {any} */ (err);
      error.textContent = errorText(e.code ?? 'network', e.retryAfter);
      submit.removeAttribute('disabled');
      submit.textContent = 'Inloggen';
      /** @type {HTMLInputElement} */ (password).value = '';
      password.focus();
    }
  });

  replace(main,
    h('section', { class: 'login card' },
      h('h1', { id: 'login-title', tabindex: '-1', text: 'Inloggen bij de Werkplaats' }),
      h('p', { class: 'lead', text: 'Het overleg van De Werkplaats Vitaal Platteland: per gebied, per thema en per bijeenkomst.' }),
      notice ? h('p', { class: 'notice', text: notice }) : null,
      form,
      loginExtras()),
    demoLogins((u, p) => {
      /** @type {HTMLInputElement} */ (username).value = u;
      /** @type {HTMLInputElement} */ (password).value = p;
      submit.focus();
    }));
  document.title = 'Inloggen – Werkplaats';
  username.focus();
}
