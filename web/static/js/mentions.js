/**
 * Mentions of me in the message list: the article is marked (a badge "noemt jou", not
 * colour alone) and each `@mijnnaam` in the text is a <mark>. The rule is the server's
 * (rooms/mentions.py): `@` not after a letter, digit, `@`, `/` or `.`, the longest
 * username, trailing `.`, `-`, `_` belong to the sentence.
 * @module mentions
 */
import { h } from './dom.js';

const MENTION = /(?<![\p{L}\p{N}_@/.])@([A-Za-z0-9._-]{2,40})/gu;

/**
 * Whether the text names `me` with `@`.
 * @param {string|null|undefined} body
 * @param {string} me
 */
export function mentionsMe(body, me) {
  if (!body || !me) return false;
  for (const m of body.matchAll(MENTION)) if (m[1].replace(/[._-]+$/, '').toLowerCase() === me.toLowerCase()) return true;
  return false;
}

/**
 * Mark the article of a message that mentions me (after `fillMessage` drew it).
 * @param {HTMLElement} article
 * @param {import('./store.js').Message} m
 * @param {string} me
 */
export function markMentions(article, m, me) {
  const mine = !m.hidden && m.author.username !== me && mentionsMe(m.body, me);
  article.classList.toggle('msg-mentions-me', mine);
  if (!mine) return;
  article.querySelector('.msg-head')?.appendChild(h('span', { class: 'mention-flag', text: 'noemt jou' }));
  const body = article.querySelector('.body');
  if (!body) return;
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  /** @type {Text[]} */
  const texts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(/** @type {Text} */ (n));
  for (const text of texts) markIn(text, me);
}

/** @param {Text} text @param {string} me */
function markIn(text, me) {
  const value = text.data;
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of value.matchAll(MENTION)) {
    const name = m[1].replace(/[._-]+$/, '');
    if (name.toLowerCase() !== me.toLowerCase()) continue;
    const start = /** @type {number} */ (m.index);
    frag.append(value.slice(last, start), h('mark', { class: 'mention-me', text: `@${name}` }));
    last = start + 1 + name.length;
  }
  if (last === 0) return;
  frag.append(value.slice(last));
  text.replaceWith(frag);
}
