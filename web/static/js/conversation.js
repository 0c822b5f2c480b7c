/**
 * Conversations as people expect them (docs/conversations.md): the reaction row under a
 * message, the topic of a message and the topic filter of a room, the topic field and
 * the drafts of the composer, and "Nieuw gesprek" for direct conversations.
 * Everything is built as DOM nodes (dom.js): no text anyone typed is parsed as HTML.
 * @module conversation
 */
import { api } from './api.js';
import { formDialog } from './dialog.js';
import { h, replace, srOnly, uid } from './dom.js';
import { navigate, roomHref } from './router.js';
import { formatDateTime, messageText } from './format.js';

/** The row offered first; any other single emoji may be typed. */
export const DEFAULT_REACTIONS = ['👍', '❤️', '😄', '🎉', '🤔', '👀', '✅'];
export const MAX_TOPIC = 60;
const MAX_EMOJI_BYTES = 16;
const DRAFT_PREFIX = 'werkplaats:concept:';

/** @type {RegExp} */
let ONE_EMOJI;
try {
  ONE_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
} catch {
  ONE_EMOJI = /^\p{Extended_Pictographic}(\uFE0F|\p{Emoji_Modifier}|\u200D\p{Extended_Pictographic}\uFE0F?)*$/u;
}

/** Whether the text is one emoji the server will take (it checks again). @param {string} text */
export function isOneEmoji(text) {
  return ONE_EMOJI.test(text) && new TextEncoder().encode(text).length <= MAX_EMOJI_BYTES;
}

/**
 * @typedef {{
 *   me: string,
 *   name: (username: string) => string,
 *   react: (emoji: string, on: boolean) => boolean,
 *   mayReact: boolean,
 * }} ReactCtx
 */

/**
 * Who reacted with an emoji, as people read it: "Ann en Bram".
 * @param {string[]} names
 */
function people(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} en ${names[names.length - 1]}`;
}

/**
 * The reactions of a message, and (for those who may post) a way to add one.
 * @param {import('./store.js').Message} m
 * @param {ReactCtx} ctx
 * @returns {HTMLElement|null}
 */
export function reactionRow(m, ctx) {
  if (m.hidden) return null;
  const reactions = m.reactions ?? {};
  const who = m.author.display_name ?? m.author.username;
  const items = Object.entries(reactions).filter(([, users]) => users.length > 0).map(([emoji, users]) => {
    const mine = users.includes(ctx.me);
    const names = people(users.map(ctx.name));
    return h('li', {}, h('button', {
      type: 'button',
      'data-key': `reaction:${emoji}`,
      class: mine ? 'reaction reaction-mine' : 'reaction',
      'aria-pressed': String(mine),
      title: names,
      'aria-label': `${emoji} ${users.length}: ${names}.${ctx.mayReact ? (mine ? ' Jouw reactie weghalen.' : ' Ook zo reageren.') : ''}`,
      disabled: !ctx.mayReact,
      onclick: () => ctx.react(emoji, !mine),
    }, h('span', { 'aria-hidden': 'true', text: `${emoji} ${users.length}` })));
  });
  const row = h('div', { class: 'reactions' });
  if (items.length) row.appendChild(h('ul', { class: 'reaction-list', 'aria-label': `Reacties op bericht van ${who}` }, items));
  if (ctx.mayReact) row.appendChild(reactionPicker(who, ctx));
  return items.length || ctx.mayReact ? row : null;
}

/**
 * A "Reageren" disclosure: the default row and a field for any other emoji.
 * @param {string} who
 * @param {ReactCtx} ctx
 */
function reactionPicker(who, ctx) {
  const id = uid('react');
  const inputId = uid('react-input');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const input = /** @type {HTMLInputElement} */ (h('input', { id: inputId, type: 'text', class: 'reaction-input', maxlength: 16, autocomplete: 'off', size: 4 }));
  const panel = h('div', { class: 'reaction-picker', id, hidden: true },
    h('ul', { class: 'reaction-defaults', 'aria-label': 'Snelle reacties' }, DEFAULT_REACTIONS.map((e) => h('li', {},
      h('button', { type: 'button', class: 'reaction', 'aria-label': `Reageer met ${e}`, onclick: () => choose(e) }, h('span', { 'aria-hidden': 'true', text: e }))))),
    h('form', { class: 'reaction-other', onsubmit: (/** @type {Event} */ ev) => { ev.preventDefault(); choose(input.value.trim()); } },
      h('label', { for: inputId, text: 'Ander emoji' }), input,
      h('button', { type: 'submit', class: 'btn btn-small', text: 'Reageer' })),
    error);
  const toggle = h('button', {
    type: 'button', class: 'btn btn-small reaction-toggle', 'aria-expanded': 'false', 'aria-controls': id, 'data-key': 'reaction-toggle',
  }, h('span', { 'aria-hidden': 'true', text: '☺+' }), srOnly(`Reageren op bericht van ${who}`));
  const setOpen = (/** @type {boolean} */ open) => {
    toggle.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    if (open) /** @type {HTMLElement|null} */ (panel.querySelector('button'))?.focus();
  };
  toggle.addEventListener('click', () => setOpen(toggle.getAttribute('aria-expanded') !== 'true'));
  panel.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') { ev.preventDefault(); setOpen(false); toggle.focus(); }
  });
  /** @param {string} emoji */
  function choose(emoji) {
    if (!isOneEmoji(emoji)) {
      error.textContent = 'Kies één emoji.';
      return;
    }
    error.textContent = '';
    if (!ctx.react(emoji, true)) {
      error.textContent = 'Geen verbinding. Probeer het zo opnieuw.';
      return;
    }
    setOpen(false);
    toggle.focus();
  }
  return h('div', { class: 'reaction-add' }, toggle, panel);
}

/**
 * The topic of a message as a label that filters the room by it.
 * @param {import('./store.js').Message} m
 * @param {(topic: string) => void} onFilter
 */
export function topicLabel(m, onFilter) {
  if (!m.topic) return null;
  return h('p', { class: 'msg-topic' },
    h('button', { type: 'button', class: 'link-button', onclick: () => onFilter(/** @type {string} */ (m.topic)) },
      srOnly('Onderwerp: '), h('bdi', { text: m.topic }), srOnly(' (alleen dit onderwerp tonen)')));
}

/**
 * The topic filter of a room: "Alle onderwerpen" or one topic, with the room's list.
 */
export class TopicFilter {
  /**
   * @param {string} slug
   * @param {(topic: string|null) => void} onChange
   * @param {() => boolean} [mayRename] whether the reader may rename topics here
   */
  constructor(slug, onChange, mayRename = () => false) {
    this.slug = slug;
    this.onChange = onChange;
    this.mayRename = mayRename;
    /** @type {string|null} */
    this.topic = null;
    const id = uid('topic-filter');
    this.select = /** @type {HTMLSelectElement} */ (h('select', { id, onchange: () => this.set(this.select.value || null) }));
    // Moderators rename (or merge) the chosen topic; the server checks that they may.
    this.renameButton = h('button', {
      type: 'button', class: 'btn btn-small', text: 'Hernoemen', hidden: true,
      onclick: () => this.rename(),
    });
    this.el = h('div', { class: 'topic-filter' }, h('label', { for: id, text: 'Onderwerp' }), this.select, this.renameButton);
    this.render([]);
  }

  /** Ask for the new name of the chosen topic; an existing name merges the two. */
  rename() {
    const old = this.topic;
    if (!old) return;
    formDialog({
      title: `Onderwerp „${old}” hernoemen`,
      intro: 'Alle berichten met dit onderwerp krijgen de nieuwe naam. Kies je een bestaand onderwerp, dan worden ze samengevoegd.',
      fields: [
        { name: 'name', label: 'Nieuwe naam', required: true, maxlength: MAX_TOPIC, value: old },
        { name: 'reason', label: 'Waarom? (voor het logboek)', required: true, maxlength: 500 },
      ],
      submitLabel: 'Hernoemen',
      onSubmit: async (v) => {
        const done = await api.renameTopic(this.slug, old, String(v.name).trim(), String(v.reason ?? ''));
        await this.load();
        this.set(done.new);
      },
    });
  }

  /** Read the room's topics again (on open, and when a topic appears or is renamed). */
  async load() {
    try {
      const { topics } = await api.topics(this.slug);
      this.render(Array.isArray(topics) ? topics : []);
    } catch {
      /* no topics on this server, or no access: the filter stays empty */
    }
  }

  /** @param {{name: string, count: number}[]} topics */
  render(topics) {
    const names = topics.map((t) => t.name);
    if (this.topic && !names.includes(this.topic)) names.unshift(this.topic);
    replace(this.select,
      h('option', { value: '', text: 'Alle onderwerpen' }),
      names.map((n) => {
        const t = topics.find((x) => x.name === n);
        return h('option', { value: n, selected: n === this.topic, text: t ? `${n} (${t.count})` : n });
      }));
    this.el.hidden = names.length === 0;
  }

  /** @param {string|null} topic */
  set(topic) {
    this.topic = topic;
    this.select.value = topic ?? '';
    this.renameButton.hidden = !topic || !this.mayRename();
    if (!this.el.hidden || topic) this.el.hidden = false;
    this.onChange(topic);
  }
}

/** Whose drafts these are: a browser shared by colleagues shows each only their own. */
let draftOwner = '';

/** Drafts from here on are this user's (set at login). @param {string} username */
export function setDraftOwner(username) {
  draftOwner = username;
}

/** @param {string} slug */
function draftKey(slug) {
  return `${DRAFT_PREFIX}${draftOwner}:${slug}`;
}

/** Logging out on purpose: this browser forgets the user's drafts. @param {string} username */
export function forgetDrafts(username) {
  try {
    const mine = `${DRAFT_PREFIX}${username}:`;
    for (const k of Object.keys(localStorage)) if (k.startsWith(mine)) localStorage.removeItem(k);
  } catch { /* storage off */ }
}

/**
 * The draft of a room, kept in the browser across reloads and room switches.
 * @param {string} slug
 * @returns {{body: string, topic: string}}
 */
export function loadDraft(slug) {
  try {
    const raw = localStorage.getItem(draftKey(slug));
    const d = raw ? JSON.parse(raw) : null;
    return { body: typeof d?.body === 'string' ? d.body : '', topic: typeof d?.topic === 'string' ? d.topic : '' };
  } catch {
    return { body: '', topic: '' };
  }
}

/** @param {string} slug @param {{body: string, topic: string}} draft */
export function saveDraft(slug, draft) {
  try {
    if (!draft.body.trim()) localStorage.removeItem(draftKey(slug));
    else localStorage.setItem(draftKey(slug), JSON.stringify(draft));
  } catch {
    /* storage full or off: the draft lives as long as the page */
  }
}

/**
 * The message sent from the draft was acknowledged: the draft goes, unless more was typed.
 * @param {string} slug @param {string} body
 */
export function clearDraftOf(slug, body) {
  if (loadDraft(slug).body.trim() === body.trim()) saveDraft(slug, { body: '', topic: '' });
}

/** Whether the room has a draft (the room list says "concept"). @param {string} slug */
export function hasDraft(slug) {
  return loadDraft(slug).body.trim() !== '';
}

/**
 * "Nieuw gesprek": a direct conversation with one to nine others.
 * @param {() => Promise<unknown>} refreshRooms
 */
export function newConversationButton(refreshRooms) {
  return h('button', {
    type: 'button', class: 'btn btn-small new-conversation', text: 'Nieuw gesprek',
    onclick: () => formDialog({
      title: 'Nieuw gesprek',
      intro: 'Een besloten gesprek met één tot negen anderen, ook uit andere gebieden.',
      fields: [{ name: 'usernames', label: 'Gebruikersnamen, gescheiden door komma’s', required: true, maxlength: 400 }],
      submitLabel: 'Gesprek openen',
      onSubmit: async (v) => {
        const usernames = String(v.usernames).split(/[\s,;]+/).map((s) => s.replace(/^@/, '').trim().toLowerCase()).filter(Boolean);
        const { room } = await api.direct(usernames);
        await refreshRooms();
        navigate(roomHref(room.slug));
      },
    }),
  });
}

/**
 * "bewerkt": a dialog with the message's earlier versions, oldest first.
 * @param {string} slug
 * @param {import('./store.js').Message} m
 */
export async function historyDialog(slug, m) {
  const opener = /** @type {HTMLElement|null} */ (document.activeElement);
  const titleId = uid('history-title');
  const list = h('ol', { class: 'history-list' }, h('li', { class: 'muted', text: 'Laden…' }));
  const closeButton = h('button', { type: 'button', class: 'btn', text: 'Sluiten' });
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
    h('h2', { id: titleId, text: 'Eerdere versies' }), list, h('div', { class: 'actions' }, closeButton)));
  const close = () => {
    dialog.close();
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  };
  closeButton.addEventListener('click', close);
  dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); close(); });
  document.body.appendChild(dialog);
  dialog.showModal();
  closeButton.focus();
  try {
    const found = await api.history(slug, m.message_id);
    const versions = Array.isArray(found?.versions) ? found.versions : [];
    replace(list,
      versions.map((/** @type {{body: string, replaced_at: string}} */ v) => h('li', {},
        h('p', { class: 'muted', text: `Tot ${formatDateTime(v.replaced_at)}` }),
        h('div', { class: 'body', dir: 'auto' }, messageText(v.body)))),
      h('li', {}, h('p', { class: 'muted', text: `Nu (sinds ${formatDateTime(found.edited_at)})` }),
        h('div', { class: 'body', dir: 'auto' }, messageText(found.body))));
  } catch {
    replace(list, h('li', { class: 'form-error', text: 'De eerdere versies zijn niet te laden.' }));
  }
}

/**
 * The polls of a room: "Nieuwe peiling", and per poll a vote form and its results as a table.
 */
export class PollPanel {
  /**
   * @param {string} slug
   * @param {(text: string) => void} say announce through the polite live region
   */
  constructor(slug, say) {
    this.slug = slug;
    this.say = say;
    /** @type {any[]} */
    this.polls = [];
    this.summary = h('summary', { text: 'Peilingen' });
    this.list = h('div', { class: 'poll-list' });
    this.el = h('details', { class: 'polls' }, this.summary,
      h('button', { type: 'button', class: 'btn btn-small', text: 'Nieuwe peiling', onclick: () => this.create() }),
      this.list);
  }

  async load() {
    try {
      const { polls } = await api.polls(this.slug);
      this.polls = Array.isArray(polls) ? polls : [];
    } catch {
      return; // no polls here, or no access
    }
    this.render();
  }

  /** A live poll event: its results replace what is shown (a new poll: read the list). @param {any} ev */
  apply(ev) {
    const poll = this.polls.find((p) => p.poll_id === ev.poll_id);
    if (ev.type === 'poll_created' || !poll) {
      this.load();
      if (ev.type === 'poll_created') this.say(`Nieuwe peiling: ${ev.question}`);
      return;
    }
    Object.assign(poll, { counts: ev.counts, voters: ev.voters, votes: ev.votes ?? poll.votes });
    this.render();
    this.say(`Nieuwe stem in de peiling ${poll.question}: ${poll.voters} ${poll.voters === 1 ? 'stemmer' : 'stemmers'}.`);
  }

  render() {
    this.summary.textContent = `Peilingen (${this.polls.length})`;
    replace(this.list, this.polls.map((p) => this.pollEl(p)));
  }

  /** @param {any} p */
  pollEl(p) {
    const titleId = uid('poll');
    const kind = p.multiple ? 'checkbox' : 'radio';
    const name = uid('poll-choice');
    const mine = new Set(p.mine ?? []);
    const inputs = p.options.map((/** @type {string} */ o, /** @type {number} */ i) => {
      const id = uid('poll-option');
      return h('div', { class: 'field-check' },
        h('input', { id, type: kind, name, value: String(i), checked: mine.has(i), disabled: p.closed }),
        h('label', { for: id, text: o }));
    });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const form = h('form', {
      class: 'poll-vote',
      onsubmit: async (/** @type {Event} */ ev) => {
        ev.preventDefault();
        const chosen = [...form.querySelectorAll('input:checked')].map((x) => Number(/** @type {HTMLInputElement} */ (x).value));
        try {
          const { poll } = await api.vote(this.slug, p.poll_id, chosen);
          Object.assign(p, poll);
          this.render();
          this.say('Je stem is opgeslagen.');
        } catch (err) {
          error.textContent = /** @type {any} */ (err)?.code === 'conflict' ? 'Deze peiling is gesloten.' : 'Stemmen lukte niet. Probeer het opnieuw.';
        }
      },
    }, h('fieldset', {}, h('legend', { text: p.multiple ? 'Jouw keuzes' : 'Jouw keuze' }), inputs),
    p.closed ? null : h('button', { type: 'submit', class: 'btn btn-small', text: 'Stemmen' }), error);
    const rows = p.options.map((/** @type {string} */ o, /** @type {number} */ i) => h('tr', {},
      h('th', { scope: 'row', text: o }),
      h('td', { text: String(p.counts[i] ?? 0) }),
      p.anonymous ? null : h('td', { text: (p.votes?.[String(i)] ?? []).join(', ') })));
    const table = h('table', { class: 'poll-results' },
      h('caption', { text: `Uitslag: ${p.voters} ${p.voters === 1 ? 'stemmer' : 'stemmers'}${p.anonymous ? ', anoniem' : ''}${p.closed ? ', gesloten' : (p.closes_at ? `, sluit ${formatDateTime(p.closes_at)}` : '')}` }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Keuze' }), h('th', { scope: 'col', text: 'Stemmen' }),
        p.anonymous ? null : h('th', { scope: 'col', text: 'Wie' }))),
      h('tbody', {}, rows));
    return h('section', { class: 'poll', 'aria-labelledby': titleId }, h('h3', { id: titleId, text: p.question }), form, table);
  }

  create() {
    formDialog({
      title: 'Nieuwe peiling',
      fields: [
        { name: 'question', label: 'Vraag', required: true, maxlength: 300 },
        { name: 'options', label: 'Keuzes, één per regel (2 tot 10)', type: 'textarea', required: true, maxlength: 1100 },
        { name: 'multiple', label: 'Meer keuzes toestaan', type: 'checkbox' },
        { name: 'anonymous', label: 'Anoniem stemmen', type: 'checkbox' },
        { name: 'closes_at', label: 'Sluit op (optioneel)', type: 'datetime-local' },
      ],
      submitLabel: 'Peiling openen',
      onSubmit: async (v) => {
        const options = String(v.options).split('\n').map((s) => s.trim()).filter(Boolean);
        await api.createPoll(this.slug, {
          question: v.question, options, multiple: Boolean(v.multiple), anonymous: Boolean(v.anonymous),
          closes_at: v.closes_at || null,
        });
        /** @type {HTMLDetailsElement} */ (this.el).open = true;
      },
    });
  }
}
