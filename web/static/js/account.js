/**
 * Account screens: accepting an invitation, a new password by e-mail link, the profile
 * page (name, organisation, layer, password, notifications and calendar feed from
 * profilenotify.js, "mijn gegevens"), and the admins' user list
 * (search, invite, edit, block). Routes: `/uitnodiging#<token>`,
 * `/wachtwoord-herstellen#<token>`, `/profiel`, `/gebruikers`.
 * @module account
 */
import { request as call } from './api.js';
import { h, replace } from './dom.js';
import { errorText, LAYER_LABELS } from './i18n.js';
import { calendarSection, notificationSection } from './profilenotify.js';

const MIN_PASSWORD = 12;

/** @type {Record<string, string>} */
const ROLE_LABELS = { member: 'Deelnemer', moderator: 'Moderator', admin: 'Beheerder' };

/** @type {Record<string, string>} */
const ACCOUNT_ERRORS = {
  gone: 'Deze link is al gebruikt of verlopen. Vraag een nieuwe aan.',
  conflict: 'Deze gebruikersnaam is al in gebruik, of de wijziging kon niet.',
  weak_password: `Kies een wachtwoord van minstens ${MIN_PASSWORD} tekens dat niet veel voorkomt.`,
  forbidden: 'Dat mag niet, of het huidige wachtwoord klopt niet.',
};

/** @param {unknown} err */
function says(err) {
  const e = /** @type {any} */ (err);
  return ACCOUNT_ERRORS[e.code] ?? errorText(e.code ?? 'network', e.retryAfter);
}

const token = (/** @type {string} */ t) => encodeURIComponent(t);

export const accountApi = {
  /** @param {string} t */
  invitation: (t) => call('GET', `/api/invitations/${token(t)}`),
  /** @param {string} t @param {{username: string, password: string, display_name: string}} body */
  accept: (t, body) => call('POST', `/api/invitations/${token(t)}/accept`, body),
  /** @param {Record<string, unknown>} body */
  invite: (body) => call('POST', '/api/invitations', body),
  /** @param {string} current @param {string} next */
  changePassword: (current, next) => call('POST', '/api/me/password', { current, new: next }),
  /** @param {Record<string, unknown>} body */
  patchMe: (body) => call('PATCH', '/api/me', body),
  /** @param {string} q */
  users: (q) => call('GET', `/api/users${q ? `?q=${encodeURIComponent(q)}` : ''}`),
  /** @param {string} username @param {Record<string, unknown>} body */
  patchUser: (username, body) => call('PATCH', `/api/users/${encodeURIComponent(username)}`, body),
  /** @param {string} email */
  requestReset: (email) => call('POST', '/api/password-reset', { email }),
  /** @param {string} t @param {string} password */
  reset: (t, password) => call('POST', '/api/password-reset/confirm', { token: t, password }),
  sso: () => call('GET', '/api/sso'),
};

/**
 * A labelled field.
 * @param {string} id @param {string} label @param {HTMLElement} input @param {string} [hint]
 */
function field(id, label, input, hint) {
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint muted', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input, hintEl);
}

/** @param {string} name @param {Record<string, string>} labels @param {string} value */
function select(name, labels, value) {
  return h('select', { name },
    Object.entries(labels).map(([v, text]) => h('option', { value: v, text, selected: v === value })));
}

/** @param {string} name @param {string} autocomplete */
function passwordInput(name, autocomplete) {
  return h('input', { name, type: 'password', autocomplete, required: true, minlength: MIN_PASSWORD, maxlength: 1024 });
}

const value = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el).value;

/**
 * Run a form's submit with its button disabled and its errors shown in `status`.
 * @param {HTMLFormElement} form @param {HTMLElement} status @param {() => Promise<string|void>} act
 */
function onSubmit(form, status, act) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    button.disabled = true;
    status.textContent = '';
    status.classList.remove('form-error');
    try {
      const done = await act();
      if (done) status.textContent = done;
    } catch (err) {
      status.classList.add('form-error');
      status.textContent = says(err);
    } finally {
      button.disabled = false;
    }
  });
}

/** @param {string} title @param {...import('./dom.js').Child} children */
function page(title, ...children) {
  document.title = `${title} – Werkplaats`;
  return h('section', { class: 'account card' }, h('h1', { tabindex: '-1', text: title }), ...children);
}

/**
 * The pages that work without a session; true when `address` (path and fragment) is one
 * of them (and it is shown).
 * @param {HTMLElement} main @param {string} address
 * @param {{onLoggedIn: (user: any) => void}} opts
 */
export function renderPublicRoute(main, address, opts) {
  const m = /^\/(uitnodiging|wachtwoord-herstellen)[#/]([A-Za-z0-9_-]+)$/.exec(address);
  if (!m) return false;
  document.body.dataset.view = 'account';
  if (m[1] === 'uitnodiging') renderInvitation(main, m[2], opts);
  else renderReset(main, m[2]);
  return true;
}

/**
 * @param {HTMLElement} main @param {string} t
 * @param {{onLoggedIn: (user: any) => void}} opts
 */
export async function renderInvitation(main, t, { onLoggedIn }) {
  replace(main, page('Uitnodiging', h('p', { class: 'muted', text: 'Uitnodiging laden…' })));
  let invitation;
  try {
    ({ invitation } = await accountApi.invitation(t));
  } catch (err) {
    replace(main, page('Uitnodiging', h('p', { class: 'notice', role: 'alert', text: says(err) }),
      h('p', {}, h('a', { href: '/', text: 'Naar de inlogpagina' }))));
    return;
  }
  const username = h('input', { name: 'username', type: 'text', autocomplete: 'username', required: true,
    maxlength: 32, autocapitalize: 'none', spellcheck: 'false', value: invitation.username ?? '',
    readonly: Boolean(invitation.username) });
  const name = h('input', { name: 'display_name', type: 'text', autocomplete: 'name', maxlength: 200,
    value: invitation.display_name ?? '' });
  const password = passwordInput('password', 'new-password');
  const status = h('p', { class: 'status', role: 'status' });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-label': 'Account aanmaken' },
    field('invite-username', 'Gebruikersnaam', username, '2 tot 32 tekens: kleine letters, cijfers, punt, streepje.'),
    field('invite-name', 'Naam zoals anderen die zien', name),
    field('invite-password', 'Wachtwoord', password, `Minstens ${MIN_PASSWORD} tekens; geen veelgebruikt wachtwoord.`),
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Account aanmaken' }))));
  onSubmit(form, status, async () => {
    const { user } = await accountApi.accept(t, {
      username: value(username).trim().toLowerCase(), password: value(password), display_name: value(name).trim(),
    });
    history.replaceState(null, '', '/');
    onLoggedIn(user);
  });
  replace(main, page('Welkom bij de Werkplaats',
    h('p', { class: 'lead', text: `U bent uitgenodigd als ${invitation.email}${invitation.organisation ? ` (${invitation.organisation})` : ''}. Kies een gebruikersnaam en wachtwoord.` }),
    form));
  /** @type {HTMLElement} */ (main.querySelector('h1')).focus();
}

/** @param {HTMLElement} main @param {string} t */
function renderReset(main, t) {
  const password = passwordInput('password', 'new-password');
  const status = h('p', { class: 'status', role: 'status' });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-label': 'Nieuw wachtwoord' },
    field('reset-password', 'Nieuw wachtwoord', password, `Minstens ${MIN_PASSWORD} tekens; geen veelgebruikt wachtwoord.`),
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Wachtwoord opslaan' }))));
  onSubmit(form, status, async () => {
    await accountApi.reset(t, value(password));
    replace(main, page('Wachtwoord gewijzigd',
      h('p', { role: 'status', text: 'Je wachtwoord is gewijzigd en al je sessies zijn beëindigd. Log opnieuw in.' }),
      h('p', {}, h('a', { href: '/', text: 'Naar de inlogpagina' }))));
  });
  replace(main, page('Nieuw wachtwoord kiezen', form));
}

/** Extra parts of the login screen: single sign-on buttons and "wachtwoord vergeten". */
export function loginExtras() {
  const sso = h('div', { class: 'sso' });
  accountApi.sso().then(({ providers }) => {
    if (!providers.length) return;
    replace(sso, h('p', { class: 'muted', text: 'Of log in met het account van je organisatie:' }),
      providers.map((/** @type {any} */ p) => h('p', {}, h('a', { class: 'btn', href: p.login_url, text: `Inloggen met ${p.display_name}` }))));
  }).catch(() => {});
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, maxlength: 254 });
  const status = h('p', { class: 'status', role: 'status' });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-label': 'Herstellink aanvragen' },
    field('forgot-email', 'E-mailadres', email),
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn', text: 'Stuur een link' }))));
  onSubmit(form, status, async () => {
    await accountApi.requestReset(value(email).trim());
    return 'Als dit adres bij ons bekend is, ontvang je binnen enkele minuten een e-mail met een link.';
  });
  return [sso, h('details', { class: 'forgot' }, h('summary', { text: 'Wachtwoord vergeten?' }), form)];
}

/**
 * The profile page.
 * @param {HTMLElement} main
 * @param {{store: import('./store.js').Store}} opts
 */
export function renderProfile(main, { store }) {
  const user = /** @type {any} */ (store.user);
  const name = h('input', { name: 'display_name', type: 'text', autocomplete: 'name', required: true, maxlength: 200, value: user.display_name ?? '' });
  const org = h('input', { name: 'organisation', type: 'text', autocomplete: 'organization', maxlength: 200, value: user.organisation ?? '' });
  const layer = select('layer', LAYER_LABELS, user.layer ?? 'overig');
  const profileStatus = h('p', { class: 'status', role: 'status' });
  const profile = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-labelledby': 'profile-h' },
    h('h2', { id: 'profile-h', text: 'Gegevens' }),
    field('profile-name', 'Naam', name),
    field('profile-org', 'Organisatie', org),
    field('profile-layer', 'Overheidslaag', layer),
    profileStatus,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Gegevens opslaan' }))));
  onSubmit(profile, profileStatus, async () => {
    const { user: changed } = await accountApi.patchMe({
      display_name: value(name).trim(), organisation: value(org).trim(), layer: value(layer),
    });
    store.setUser(changed);
    return 'Je gegevens zijn opgeslagen.';
  });

  const current = passwordInput('current', 'current-password');
  current.removeAttribute('minlength');
  const next = passwordInput('new', 'new-password');
  const pwStatus = h('p', { class: 'status', role: 'status' });
  const pw = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-labelledby': 'password-h' },
    h('h2', { id: 'password-h', text: 'Wachtwoord wijzigen' }),
    field('password-current', 'Huidig wachtwoord', current),
    field('password-new', 'Nieuw wachtwoord', next, `Minstens ${MIN_PASSWORD} tekens. Je andere sessies worden beëindigd.`),
    pwStatus,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn', text: 'Wachtwoord wijzigen' }))));
  onSubmit(pw, pwStatus, async () => {
    await accountApi.changePassword(value(current), value(next));
    /** @type {HTMLInputElement} */ (current).value = '';
    /** @type {HTMLInputElement} */ (next).value = '';
    return 'Je wachtwoord is gewijzigd; je andere sessies zijn beëindigd.';
  });

  replace(main, page('Mijn profiel',
    h('p', { class: 'muted', text: `Gebruikersnaam: ${user.username}` }),
    profile,
    pw,
    notificationSection({ store }),
    calendarSection(),
    h('section', { 'aria-labelledby': 'data-h' },
      h('h2', { id: 'data-h', text: 'Mijn gegevens' }),
      h('p', { text: 'Download alles wat de Werkplaats over jou bewaart (AVG, artikel 15), als JSON-bestand.' }),
      h('p', {}, h('a', { class: 'btn', href: '/api/me/export', download: '', text: 'Mijn gegevens downloaden' })))));
}

/**
 * The admins' user list: search, invite, edit, block or unblock.
 * @param {HTMLElement} main
 * @param {{store: import('./store.js').Store, announce: (text: string) => void}} opts
 */
export function renderUsers(main, { store, announce }) {
  const areas = [...store.rooms.values()].filter((r) => r.kind === 'area')
    .sort((a, b) => String(a.name).localeCompare(String(b.name), 'nl'));
  const list = h('div', { class: 'users-list' }, h('p', { class: 'muted', text: 'Gebruikers laden…' }));
  const editor = h('div', { class: 'user-editor' });
  const search = h('input', { name: 'q', type: 'search', maxlength: 100 });
  const searchForm = h('form', { class: 'inline-form', role: 'search', 'aria-label': 'Gebruikers zoeken' },
    h('label', { for: 'users-q', text: 'Zoeken' }), Object.assign(search, { id: 'users-q' }),
    h('button', { type: 'submit', class: 'btn btn-small', text: 'Zoeken' }));
  searchForm.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });

  /** @param {string} prefix @param {string[]} chosen */
  const areaBoxes = (prefix, chosen) => h('fieldset', { class: 'areas' }, h('legend', { text: 'Gebiedsteams' }),
    areas.length ? areas.map((r) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'areas', value: r.slug, checked: chosen.includes(r.slug), id: `${prefix}-${r.slug}` }),
      ` ${r.name}`)) : h('p', { class: 'muted', text: 'Geen gebieden.' }));
  const checked = (/** @type {HTMLElement} */ form, name = 'areas') => [...form.querySelectorAll(`input[name=${name}]:checked`)]
    .map((el) => /** @type {HTMLInputElement} */ (el).value);
  const allRooms = [...store.rooms.values()].sort((a, b) => String(a.name).localeCompare(String(b.name), 'nl'));
  /** @param {string[]} chosen */
  const moderatorBoxes = (chosen) => h('fieldset', { class: 'areas' }, h('legend', { text: 'Moderator van' }),
    allRooms.map((r) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'moderates', value: r.slug, checked: chosen.includes(r.slug) }),
      ` ${r.name}`)));

  async function load() {
    try {
      const { users } = await accountApi.users(value(search).trim());
      if (!users.length) { replace(list, h('p', { text: 'Geen gebruikers gevonden.' })); return; }
      replace(list, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Gebruikers' },
        h('table', {},
          h('caption', { class: 'visually-hidden', text: 'Gebruikers op gebruikersnaam' }),
          h('thead', {}, h('tr', {}, ['Gebruiker', 'Naam', 'Organisatie', 'Laag', 'Rol', 'Status', 'Acties'].map((c) => h('th', { scope: 'col', text: c })))),
          h('tbody', {}, users.map((/** @type {any} */ u) => h('tr', {},
            h('td', { class: 'mono', text: u.username }),
            h('td', { text: u.display_name }),
            h('td', { text: u.organisation }),
            h('td', { text: LAYER_LABELS[u.layer] ?? u.layer }),
            h('td', { text: ROLE_LABELS[u.role] ?? u.role }),
            h('td', { text: u.disabled ? 'geblokkeerd' : 'actief' }),
            h('td', {},
              h('button', { type: 'button', class: 'btn btn-small', text: 'Bewerken', 'aria-label': `${u.username} bewerken`, onclick: () => edit(u) }),
              ' ',
              h('button', { type: 'button', class: 'btn btn-small', text: u.disabled ? 'Deblokkeren' : 'Blokkeren',
                'aria-label': `${u.username} ${u.disabled ? 'deblokkeren' : 'blokkeren'}`, onclick: () => block(u) }))))))));
    } catch (err) {
      replace(list, h('p', { class: 'form-error', role: 'alert', text: says(err) }));
    }
  }

  /** @param {any} u */
  async function block(u) {
    try {
      await accountApi.patchUser(u.username, { disabled: !u.disabled });
      announce(u.disabled ? `${u.username} is gedeblokkeerd.` : `${u.username} is geblokkeerd; alle sessies zijn beëindigd.`);
      await load();
    } catch (err) {
      announce(says(err));
    }
  }

  /** @param {any} u */
  function edit(u) {
    const name = h('input', { name: 'display_name', type: 'text', required: true, maxlength: 200, value: u.display_name });
    const org = h('input', { name: 'organisation', type: 'text', maxlength: 200, value: u.organisation });
    const layer = select('layer', LAYER_LABELS, u.layer);
    const role = select('role', ROLE_LABELS, u.role);
    const status = h('p', { class: 'status', role: 'status' });
    const form = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-labelledby': 'edit-h' },
      h('h2', { id: 'edit-h', tabindex: '-1', text: `${u.username} bewerken` }),
      field('edit-name', 'Naam', name),
      field('edit-org', 'Organisatie', org),
      field('edit-layer', 'Overheidslaag', layer),
      field('edit-role', 'Rol', role),
      areaBoxes('edit-area', u.areas),
      moderatorBoxes(u.moderates ?? []),
      status,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-primary', text: 'Opslaan' }),
        h('button', { type: 'button', class: 'btn btn-quiet', text: 'Sluiten', onclick: () => replace(editor) }))));
    onSubmit(form, status, async () => {
      await accountApi.patchUser(u.username, {
        display_name: value(name).trim(), organisation: value(org).trim(), layer: value(layer),
        role: value(role), areas: checked(form),
      });
      // Room moderators through the moderation API (admins): only what changed.
      const want = checked(form, 'moderates');
      const user = encodeURIComponent(u.username);
      for (const slug of want.filter((s) => !u.moderates.includes(s))) {
        await call('POST', `/api/rooms/${encodeURIComponent(slug)}/moderators`, { username: u.username });
      }
      for (const slug of u.moderates.filter((/** @type {string} */ s) => !want.includes(s))) {
        await call('DELETE', `/api/rooms/${encodeURIComponent(slug)}/moderators/${user}`);
      }
      u.moderates = want;
      await load();
      return 'Opgeslagen.';
    });
    replace(editor, form);
    /** @type {HTMLElement} */ (editor.querySelector('h2')).focus();
  }

  const email = h('input', { name: 'email', type: 'email', required: true, maxlength: 254 });
  const invName = h('input', { name: 'display_name', type: 'text', maxlength: 200 });
  const invOrg = h('input', { name: 'organisation', type: 'text', maxlength: 200 });
  const invLayer = select('layer', LAYER_LABELS, 'overig');
  const invRole = select('role', ROLE_LABELS, 'member');
  const invStatus = h('p', { class: 'status', role: 'status' });
  const invite = /** @type {HTMLFormElement} */ (h('form', { class: 'account-form', novalidate: true, 'aria-labelledby': 'invite-h' },
    h('h2', { id: 'invite-h', text: 'Iemand uitnodigen' }),
    field('invite-email', 'E-mailadres', email),
    field('invite-display', 'Naam', invName),
    field('invite-org', 'Organisatie', invOrg),
    field('invite-layer', 'Overheidslaag', invLayer),
    field('invite-role', 'Rol', invRole),
    areaBoxes('invite-area', []),
    invStatus,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Uitnodiging versturen' }))));
  onSubmit(invite, invStatus, async () => {
    const { invitation } = await accountApi.invite({
      email: value(email).trim(), display_name: value(invName).trim(), organisation: value(invOrg).trim(),
      layer: value(invLayer), role: value(invRole), areas: checked(invite),
    });
    invite.reset();
    return `Uitnodiging verstuurd. De link (één keer te gebruiken, 14 dagen geldig): ${invitation.url}`;
  });

  replace(main, page('Gebruikers', searchForm, list, editor, invite));
  load();
}
