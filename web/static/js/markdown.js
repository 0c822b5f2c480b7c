/**
 * A message body as DOM nodes. The server renders a body's Markdown (emphasis, lists,
 * quotes, inline and block code, links) with markdown-it-py, raw HTML off, and cleans it
 * with nh3 (rooms/markdown.py): that HTML comes as `html` on `message` and
 * `message_edited`. A body without marks has no `html` and shows as text, its web
 * addresses as links, exactly as before. The stored body stays the source text.
 * @module markdown
 */
import { messageText } from './format.js';

/** What the server's cleaner lets through; anything else here would be a fault. */
const TAGS = new Set(['P', 'BR', 'STRONG', 'EM', 'DEL', 'S', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'A']);
const ATTRIBUTES = { A: ['href', 'title', 'rel'], OL: ['start'] };

/**
 * @param {string} body the source text
 * @param {string|null|undefined} html the server's rendering, if it has marks
 * @returns {DocumentFragment}
 */
export function bodyNodes(body, html) {
  if (typeof html !== 'string') return messageText(body);
  // Parsed inert (no script runs, nothing loads), then checked again before it is used.
  const parsed = new DOMParser().parseFromString(html, 'text/html').body;
  const frag = document.createDocumentFragment();
  for (const node of [...parsed.childNodes]) frag.appendChild(document.importNode(node, true));
  for (const el of [...frag.querySelectorAll('*')]) {
    if (!TAGS.has(el.tagName)) {
      el.replaceWith(document.createTextNode(el.textContent ?? ''));
      continue;
    }
    const allowed = ATTRIBUTES[/** @type {'A'|'OL'} */ (el.tagName)] ?? [];
    for (const attr of [...el.attributes]) if (!allowed.includes(attr.name)) el.removeAttribute(attr.name);
    if (el.tagName === 'A') {
      const href = el.getAttribute('href') ?? '';
      if (!/^(https?:|mailto:)/i.test(href)) el.replaceWith(document.createTextNode(el.textContent ?? ''));
      else el.setAttribute('target', '_blank');
    }
  }
  linkBareAddresses(frag);
  return frag;
}

/**
 * Web addresses written bare in the text become links, as in a plain message; not inside
 * a link or code.
 * @param {DocumentFragment} frag
 */
function linkBareAddresses(frag) {
  const walker = document.createTreeWalker(frag, NodeFilter.SHOW_TEXT);
  /** @type {Text[]} */
  const texts = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(/** @type {Text} */ (n));
  for (const text of texts) {
    if (text.parentElement?.closest('a, code, pre') || !/https?:\/\//i.test(text.data)) continue;
    text.replaceWith(messageText(text.data));
  }
}
