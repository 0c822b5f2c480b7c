/**
 * The message composer of a room: a labelled textarea (Enter sends, Shift+Enter a new
 * line), modes for replying and editing, the characters left near the limit, and a
 * read-only state for locked, archived or lost rooms; above the box, the room's state as
 * roomstate.js words it (muted until when, slow mode with its countdown).
 * @module views/composer
 */
import { h, replace } from '../dom.js';
import { excerpt } from '../format.js';
import { errorText } from '../i18n.js';
import { MAX_TOPIC, loadDraft, saveDraft } from '../conversation.js';
import { attachMentions } from '../people.js';

const MAX_BODY = 4000;
/** From this many characters on, the hint says how many are left. */
const COUNT_FROM = 3500;
const HINT = 'Enter verstuurt, Shift+Enter geeft een nieuwe regel.';
const PLACEHOLDER = 'Schrijf een bericht…';

/**
 * @typedef {import('../store.js').MessageId} MessageId
 * @typedef {{
 *   roomName: string,
 *   slug?: string,
 *   find: (id: MessageId) => import('../store.js').Message | undefined,
 *   send: (body: string, replyTo: MessageId|null, topic: string|null) => void,
 *   edit: (id: MessageId, body: string) => boolean,
 *   typing: () => void,
 *   notice: (text: string) => void,
 *   extra?: HTMLElement,
 *   files?: () => number,
 * }} ComposerHooks
 */

export class Composer {
  /** @param {ComposerHooks} hooks */
  constructor(hooks) {
    this.hooks = hooks;
    /** @type {{mode: 'send'|'reply'|'edit', messageId: MessageId|null}} */
    this.state = { mode: 'send', messageId: null };
    this.context = h('div', { class: 'composer-context', hidden: true });
    /** Why I cannot write, or what slow mode asks (roomstate.js). */
    this.status = h('p', { class: 'composer-state', id: 'composer-state', hidden: true });
    /** Slow mode: my next message must wait; typing goes on, sending does not. */
    this.waiting = false;
    this.textarea = /** @type {HTMLTextAreaElement} */ (h('textarea', {
      id: 'composer-input', name: 'body', rows: 2, maxlength: MAX_BODY,
      'aria-describedby': 'composer-state composer-hint', placeholder: PLACEHOLDER,
    }));
    this.button = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Versturen' });
    this.hint = h('p', { class: 'hint', id: 'composer-hint', text: HINT });
    this.topicInput = /** @type {HTMLInputElement} */ (h('input', {
      id: 'composer-topic', name: 'topic', type: 'text', maxlength: MAX_TOPIC, autocomplete: 'off',
      'aria-describedby': 'composer-topic-hint',
    }));
    const topicRow = h('div', { class: 'composer-topic' },
      h('label', { for: 'composer-topic', text: 'Onderwerp (optioneel)' }), this.topicInput,
      h('span', { class: 'hint', id: 'composer-topic-hint', text: 'Een antwoord krijgt het onderwerp van het bericht waarop het antwoordt.' }));
    this.el = h('form', { class: 'composer', 'aria-label': 'Bericht schrijven' },
      this.status,
      this.context,
      topicRow,
      attachMentions(this.textarea, { room: hooks.slug }),
      h('div', { class: 'composer-row' },
        h('label', { for: 'composer-input', class: 'visually-hidden', text: `Bericht aan ${hooks.roomName}` }),
        this.textarea, this.button),
      hooks.extra ?? null,
      this.hint);
    this.el.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    this.textarea.addEventListener('keydown', (ev) => this.onKey(ev));
    this.textarea.addEventListener('input', () => {
      if (this.textarea.value.trim()) hooks.typing();
      this.updateHint();
      this.keepDraft();
    });
    this.topicInput.addEventListener('input', () => this.keepDraft());
    if (hooks.slug) {
      const draft = loadDraft(hooks.slug);
      this.textarea.value = draft.body;
      this.topicInput.value = draft.topic;
    }
  }

  /** The room's draft, kept across room switches and reloads (not while editing). */
  keepDraft() {
    if (!this.hooks.slug || this.state.mode === 'edit') return;
    saveDraft(this.hooks.slug, { body: this.textarea.value, topic: this.topicInput.value });
  }

  focus() {
    this.textarea.focus();
  }

  /** Read-only, saying why in the placeholder. @param {string} why */
  disable(why) {
    this.textarea.disabled = true;
    this.button.setAttribute('disabled', '');
    this.textarea.placeholder = why;
  }

  enable() {
    this.textarea.disabled = false;
    this.button.removeAttribute('disabled');
    this.textarea.placeholder = PLACEHOLDER;
  }

  /**
   * The room's state: `blocked` (a reason) turns the box off; `note` is said above it;
   * `waiting` holds the send button while slow mode counts down.
   * @param {string} blocked
   * @param {string} note
   * @param {boolean} waiting
   */
  setState(blocked, note, waiting) {
    const text = blocked || note;
    if (this.status.textContent !== text) this.status.textContent = text;
    this.status.hidden = !text;
    this.status.classList.toggle('composer-blocked', Boolean(blocked));
    this.waiting = !blocked && waiting;
    if (blocked) this.disable(blocked);
    else this.enable();
    if (this.waiting) this.button.setAttribute('disabled', '');
  }

  updateHint() {
    const n = this.textarea.value.length;
    const text = n >= COUNT_FROM ? `${HINT} Nog ${Math.max(0, MAX_BODY - n)} tekens.` : HINT;
    if (this.hint.textContent !== text) this.hint.textContent = text;
    this.hint.classList.toggle('hint-near-limit', n >= COUNT_FROM);
  }

  /** @param {KeyboardEvent} ev */
  onKey(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.ctrlKey && !ev.metaKey && !ev.isComposing) {
      ev.preventDefault();
      this.submit();
    } else if (ev.key === 'Escape' && this.state.mode !== 'send') {
      ev.preventDefault();
      this.setMode('send', null);
    }
  }

  /** @returns {boolean} whether something was sent (or an edit handed over) */
  submit() {
    const files = this.state.mode === 'edit' ? 0 : (this.hooks.files?.() ?? 0);
    // A message of files alone still has a text: the contract wants one.
    const body = this.textarea.value.trim() || (files ? 'Bijlage' : '');
    if (!body || this.textarea.disabled || this.waiting) return false;
    if (body.length > MAX_BODY) {
      this.hooks.notice(errorText('too_large'));
      return false;
    }
    this.hooks.notice('');
    const { mode, messageId } = this.state;
    if (mode === 'edit' && messageId !== null) {
      if (!this.hooks.edit(messageId, body)) {
        this.hooks.notice('Geen verbinding: de wijziging is niet opgeslagen. Probeer het zo opnieuw.');
        return false;
      }
    } else {
      this.hooks.send(body, mode === 'reply' ? messageId : null, this.topicInput.value.trim() || null);
    }
    // The stored draft stays until the message's ack (sync.js): a reload before it loses nothing.
    this.textarea.value = '';
    this.setMode('send', null);
    return true;
  }

  /**
   * Plain, replying to a message, or editing one's own message; focuses the textarea.
   * @param {'send'|'reply'|'edit'} mode
   * @param {MessageId|null} messageId
   */
  setMode(mode, messageId) {
    const wasEdit = this.state.mode === 'edit';
    this.state = { mode, messageId };
    const m = messageId !== null ? this.hooks.find(messageId) : undefined;
    if (mode === 'send' || !m) {
      this.context.hidden = true;
      this.context.replaceChildren();
      this.button.textContent = 'Versturen';
      if (wasEdit) this.textarea.value = '';
    } else {
      const who = m.author.display_name ?? m.author.username;
      const text = mode === 'reply' ? `Antwoord op ${who}: ${excerpt(m.body, 60)}` : 'Je bewerkt je bericht.';
      replace(this.context, h('span', { text }), ' ',
        h('button', { type: 'button', class: 'link-button', text: 'Annuleren', onclick: () => this.setMode('send', null) }));
      this.context.hidden = false;
      this.button.textContent = mode === 'edit' ? 'Opslaan' : 'Versturen';
      if (mode === 'edit') this.textarea.value = m.body ?? '';
    }
    this.updateHint();
    this.textarea.focus();
  }
}
