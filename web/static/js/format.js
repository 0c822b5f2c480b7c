/**
 * Turning wire data into display: times and days in Dutch, message text with clickable
 * links, and search snippets with highlighted words. Everything is built from text
 * nodes and elements, never from markup.
 * @module format
 */
import { h } from './dom.js';

const timeFmt = new Intl.DateTimeFormat('nl-NL', { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat('nl-NL', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric',
});
const fullFmt = new Intl.DateTimeFormat('nl-NL', { dateStyle: 'medium', timeStyle: 'short' });

/** @param {string} iso */
export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d);
}

/** @param {string} iso */
export function formatDateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : fullFmt.format(d);
}

/**
 * The local calendar day of a timestamp, as a key "YYYY-MM-DD".
 * @param {string} iso
 */
export function dayKey(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'onbekend';
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/**
 * "Vandaag", "Gisteren" or the full date in Dutch.
 * @param {string} iso
 * @param {Date} [now]
 */
export function dayLabel(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'Onbekende datum';
  const today = dayKey(now.toISOString());
  const y = new Date(now);
  y.setDate(y.getDate() - 1);
  const key = dayKey(iso);
  if (key === today) return 'Vandaag';
  if (key === dayKey(y.toISOString())) return 'Gisteren';
  return dayFmt.format(d);
}

// Stops at whitespace and at characters that rarely end a URL but often follow one.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"»]+$/;

/**
 * Message text as nodes: plain text, with http(s) URLs as links opening in a new tab.
 * Line breaks stay in the text; CSS `white-space: pre-wrap` shows them.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function messageText(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let raw = match[0];
    const trail = raw.match(TRAILING);
    if (trail) raw = raw.slice(0, raw.length - trail[0].length);
    const start = /** @type {number} */ (match.index);
    const href = safeHref(raw);
    if (!href) continue;
    if (start > last) frag.appendChild(document.createTextNode(text.slice(last, start)));
    frag.appendChild(h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: raw }));
    last = start + raw.length;
  }
  if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
  return frag;
}

/**
 * The URL if it parses and is http(s), else null.
 * @param {string} raw
 */
export function safeHref(raw) {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

export const MARK_START = '\uE000';
export const MARK_END = '\uE001';

/**
 * A search snippet as nodes: words between U+E000 and U+E001 become <mark>.
 * Unbalanced markers are dropped, never shown.
 * @param {string} snippet
 * @returns {DocumentFragment}
 */
export function snippetNodes(snippet) {
  const frag = document.createDocumentFragment();
  let inMark = false;
  let buf = '';
  const flush = () => {
    if (!buf) return;
    frag.appendChild(inMark ? h('mark', { text: buf }) : document.createTextNode(buf));
    buf = '';
  };
  for (const ch of snippet ?? '') {
    if (ch === MARK_START) { flush(); inMark = true; } else if (ch === MARK_END) { flush(); inMark = false; } else buf += ch;
  }
  flush();
  return frag;
}

/**
 * A short one-line excerpt of a message for reply previews.
 * @param {string | null | undefined} body
 * @param {number} [max]
 */
export function excerpt(body, max = 80) {
  if (!body) return '';
  const one = body.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
