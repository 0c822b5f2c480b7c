/**
 * A Markdown subset for message bodies, built as DOM nodes (dom.js), never as markup:
 * **vet**, *cursief* or _cursief_, `code`, ```codeblokken```, > citaten, - lijsten,
 * 1. genummerde lijsten and [tekst](https://…) links. Raw HTML is text like any other:
 * nothing a member typed is ever parsed as HTML. The stored body stays the source text
 * (search indexes it); a body without any of these marks renders exactly as before.
 * @module markdown
 */
import { h, textNode } from './dom.js';
import { messageText, safeHref } from './format.js';

const BLOCK = /^(```|> ?|[-*] +|\d+[.)] +)/m;
const FENCE = /^```/;
const QUOTE = /^> ?/;
const BULLET = /^[-*] +/;
const NUMBER = /^\d+[.)] +/;
// Inline marks; `_` and `*` only at word edges, so user_names and 2*3*4 stay text.
const INLINE = /`([^`\n]+)`|\*\*(?=\S)([^*\n]*?\S)\*\*|(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])|\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)/g;
const INLINE_ONE = new RegExp(INLINE.source);

/**
 * A message body as nodes.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function markdownNodes(text) {
  // No block and no inline mark: plain text, exactly as it always was.
  if (!BLOCK.test(text) && !INLINE_ONE.test(text)) return messageText(text);
  const frag = document.createDocumentFragment();
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (FENCE.test(line)) {
      const code = [];
      i += 1;
      while (i < lines.length && !FENCE.test(lines[i])) code.push(lines[i++]);
      i += 1; // the closing fence (or the end)
      frag.appendChild(h('pre', {}, h('code', { text: code.join('\n') })));
    } else if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(lines[i++].replace(QUOTE, ''));
      frag.appendChild(h('blockquote', {}, h('p', {}, inline(quoted.join('\n')))));
    } else if (BULLET.test(line) || NUMBER.test(line)) {
      const marker = BULLET.test(line) ? BULLET : NUMBER;
      const items = [];
      while (i < lines.length && marker.test(lines[i])) items.push(lines[i++].replace(marker, ''));
      frag.appendChild(h(marker === BULLET ? 'ul' : 'ol', {}, items.map((it) => h('li', {}, inline(it)))));
    } else if (!line.trim()) {
      i += 1;
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !QUOTE.test(lines[i])
        && !BULLET.test(lines[i]) && !NUMBER.test(lines[i])) para.push(lines[i++]);
      frag.appendChild(h('p', {}, inline(para.join('\n'))));
    }
  }
  return frag;
}

/**
 * Inline marks of one block as nodes; the text between them as `messageText` (links).
 * @param {string} text
 * @returns {DocumentFragment}
 */
function inline(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    const start = /** @type {number} */ (m.index);
    if (start > last) frag.appendChild(messageText(text.slice(last, start)));
    if (m[1] !== undefined) frag.appendChild(h('code', { text: m[1] }));
    else if (m[2] !== undefined) frag.appendChild(h('strong', {}, messageText(m[2])));
    else if (m[3] !== undefined || m[4] !== undefined) frag.appendChild(h('em', {}, messageText(m[3] ?? m[4])));
    else {
      const href = safeHref(m[6]);
      frag.appendChild(href
        ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: m[5] })
        : textNode(m[0]));
    }
    last = start + m[0].length;
  }
  if (last < text.length) frag.appendChild(messageText(text.slice(last)));
  return frag;
}
