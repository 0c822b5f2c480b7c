/**
 * Turning wire data into display: times and days in Dutch, on the Dutch clock
 * (Europe/Amsterdam, wherever the browser is), message text with clickable links, and
 * search snippets with highlighted words. Everything is built from text nodes and
 * elements, never from markup, with bidi controls made visible (bidi.js).
 * @module format
 */
import { h, textNode } from './dom.js';

/** Every time a person reads is Dutch time, as the server reads what they type. */
export const TIME_ZONE = 'Europe/Amsterdam';
const timeFmt = new Intl.DateTimeFormat('nl-NL', { hour: '2-digit', minute: '2-digit', timeZone: TIME_ZONE });
const dayFmt = new Intl.DateTimeFormat('nl-NL', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: TIME_ZONE,
});
const fullFmt = new Intl.DateTimeFormat('nl-NL', {
  weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: TIME_ZONE,
});
const keyFmt = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: TIME_ZONE });

/** @param {string} iso */
export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFmt.format(d);
}

/**
 * "dinsdag 1 december 2026 om 10:00", Dutch time.
 * @param {string} iso
 */
export function formatDateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : fullFmt.format(d);
}

/**
 * The calendar day of a timestamp in the Netherlands, as a key "YYYY-MM-DD".
 * @param {string} iso
 */
export function dayKey(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'onbekend';
  const part = Object.fromEntries(keyFmt.formatToParts(d).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day}`;
}

/**
 * The key of the day before a day key (a calendar step: DST days have 23 or 25 hours).
 * @param {string} key
 */
function dayBefore(key) {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
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
  const key = dayKey(iso);
  if (key === today) return 'Vandaag';
  if (key === dayBefore(today)) return 'Gisteren';
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
    if (start > last) frag.appendChild(textNode(text.slice(last, start)));
    frag.appendChild(h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: raw }));
    last = start + raw.length;
  }
  if (last < text.length) frag.appendChild(textNode(text.slice(last)));
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
    frag.appendChild(inMark ? h('mark', { text: buf }) : textNode(buf));
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
