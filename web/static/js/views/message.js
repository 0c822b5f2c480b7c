/**
 * One message as an <article>: author, organisation, government layer badge, time,
 * reply reference, the text (always as text, links as <a>), and its actions menu.
 * @module views/message
 */
import { h, srOnly, uid } from '../dom.js';
import { LAYER_LABELS } from '../i18n.js';
import { MARK_LABELS } from '../between.js';
import { fileList } from '../upload.js';
import { excerpt, formatDateTime, formatTime, messageText } from '../format.js';
import { bodyNodes } from '../markdown.js';
import { historyDialog, reactionRow, topicLabel } from '../conversation.js';

/**
 * @typedef {{label: string, run: () => void, danger?: boolean}} Action
 * @typedef {{
 *   parent: import('../store.js').Message | undefined,
 *   pinned?: boolean,
 *   actions: Action[],
 *   onJump: (messageId: import('../store.js').MessageId) => void,
 *   react?: import('../conversation.js').ReactCtx,
 *   onTopic?: (topic: string) => void,
 *   slug?: string,
 * }} MessageContext
 */

/**
 * @param {import('../store.js').User} author
 */
export function authorLine(author) {
  const layer = author.layer && LAYER_LABELS[author.layer] ? author.layer : null;
  return [
    h('span', { class: 'author', text: author.display_name ?? author.username }),
    author.organisation ? h('span', { class: 'org', text: author.organisation }) : null,
    layer ? h('span', { class: `badge badge-${layer}`, title: 'Overheidslaag' }, srOnly('overheidslaag: '), LAYER_LABELS[layer]) : null,
  ];
}

/** @param {{kind: string, owner: string|null, due: string|null, status?: string|null, answered?: boolean}} mark */
function markText(mark) {
  const extra = [
    mark.status && mark.status !== 'open' ? mark.status : '',
    mark.answered ? 'beantwoord' : '',
    mark.owner ? `@${mark.owner}` : '',
    mark.due ? `uiterlijk ${mark.due}` : '',
  ].filter(Boolean).join(', ');
  return `${MARK_LABELS[mark.kind] ?? mark.kind}${extra ? ` (${extra})` : ''}`;
}

/**
 * Fill (or refill) the article of a message.
 * @param {HTMLElement} article
 * @param {import('../store.js').Message} m
 * @param {MessageContext} ctx
 */
export function fillMessage(article, m, ctx) {
  article.replaceChildren();
  article.className = m.hidden ? 'msg msg-hidden' : 'msg';
  article.id = `bericht-${m.seq}`;
  article.dataset.seq = String(m.seq);
  article.dataset.messageId = String(m.message_id);
  article.tabIndex = -1;
  const headId = uid('msg-head');
  article.setAttribute('aria-labelledby', headId);

  const head = h('header', { class: 'msg-head', id: headId },
    authorLine(m.author),
    h('time', { datetime: m.created_at, title: formatDateTime(m.created_at), text: formatTime(m.created_at) }),
    m.edited_at && !m.hidden
      ? (ctx.slug
        ? h('button', { type: 'button', class: 'link-button edited', title: `bewerkt ${formatDateTime(m.edited_at)}`, 'aria-label': `bewerkt ${formatDateTime(m.edited_at)}: eerdere versies tonen`, text: '(bewerkt)', onclick: () => historyDialog(/** @type {string} */ (ctx.slug), m) })
        : h('span', { class: 'edited', title: `bewerkt ${formatDateTime(m.edited_at)}`, text: '(bewerkt)' }))
      : null,
    ctx.pinned && !m.hidden ? h('span', { class: 'pinned-flag', text: 'vastgezet' }) : null,
    m.mark && !m.hidden ? h('span', { class: `mark-flag mark-${m.mark.kind}` }, srOnly('gemarkeerd als '), markText(m.mark)) : null);
  article.appendChild(head);
  if (ctx.onTopic && !m.hidden) {
    const topic = topicLabel(m, ctx.onTopic);
    if (topic) article.appendChild(topic);
  }

  if (m.reply_to !== null && m.reply_to !== undefined && !m.hidden) {
    const parent = ctx.parent;
    const label = parent
      ? `Antwoord op ${parent.author.display_name ?? parent.author.username}: ${parent.hidden ? 'verborgen bericht' : excerpt(parent.body, 60)}`
      : 'Antwoord op een eerder bericht';
    article.appendChild(h('p', { class: 'reply-ref' },
      h('button', { type: 'button', class: 'link-button', text: label, onclick: () => ctx.onJump(/** @type {import('../store.js').MessageId} */ (m.reply_to)) })));
  }

  if (m.hidden) {
    const text = m.retracted === true
      ? 'bericht ingetrokken'
      : m.retracted === false ? 'bericht verborgen door een moderator' : 'bericht verborgen';
    article.appendChild(h('p', { class: 'body body-hidden', text }));
  } else {
    const body = h('div', { class: 'body', dir: 'auto' });
    body.appendChild(bodyNodes(m.body ?? '', m.html));
    article.appendChild(body);
    if (m.files?.length) article.appendChild(fileList(m.files));
  }

  if (ctx.react) {
    const row = reactionRow(m, ctx.react);
    if (row) article.appendChild(row);
  }
  if (ctx.actions.length) article.appendChild(actionsMenu(m, ctx.actions));
}

/**
 * A disclosure button with a short list of actions. The list is a popover: it sits in
 * the top layer, so the scrolling message list cannot clip it (the last message's menu
 * used to show one item), and it is placed beside the button within the viewport.
 * @param {import('../store.js').Message} m
 * @param {Action[]} actions
 */
function actionsMenu(m, actions) {
  const menuId = uid('msg-menu');
  const who = m.author.display_name ?? m.author.username;
  const toggle = h('button', {
    type: 'button', class: 'msg-menu-toggle', 'aria-expanded': 'false', 'aria-controls': menuId,
  }, h('span', { 'aria-hidden': 'true', text: '⋯' }), srOnly(`Acties voor bericht van ${who} om ${formatTime(m.created_at)}`));
  const list = h('ul', { class: 'msg-menu', id: menuId, popover: 'manual' },
    actions.map((a) => h('li', {}, h('button', {
      type: 'button', class: a.danger ? 'menu-item danger' : 'menu-item', text: a.label,
      onclick: () => {
        // Focus goes back to ⋯ first: a dialog the action opens returns it there.
        setOpen(false);
        toggle.focus();
        a.run();
      },
    }))));
  const isOpen = () => list.matches(':popover-open');
  const setOpen = (/** @type {boolean} */ open) => {
    toggle.setAttribute('aria-expanded', String(open));
    if (open && !isOpen() && list.isConnected) {
      list.showPopover();
      placeMenu(list, toggle);
      document.addEventListener('pointerdown', outside, true);
      window.addEventListener('resize', follow);
      list.closest('.timeline')?.addEventListener('scroll', follow, { passive: true });
    } else if (!open) {
      if (isOpen()) list.hidePopover();
      document.removeEventListener('pointerdown', outside, true);
      window.removeEventListener('resize', follow);
      list.closest('.timeline')?.removeEventListener('scroll', follow);
    }
  };
  // The menu follows its button when the list scrolls (new messages, the user).
  const follow = () => {
    if (!isOpen()) return;
    const box = list.closest('.timeline')?.getBoundingClientRect();
    const a = toggle.getBoundingClientRect();
    if (box && (a.bottom < box.top || a.top > box.bottom)) setOpen(false);
    else placeMenu(list, toggle);
  };
  const outside = (/** @type {Event} */ ev) => {
    const t = /** @type {Node} */ (ev.target);
    if (!list.contains(t) && !toggle.contains(t)) setOpen(false);
  };
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    document.querySelectorAll('.msg-menu-toggle[aria-expanded="true"]').forEach((t) => {
      if (t !== toggle) t.dispatchEvent(new CustomEvent('menu-close'));
    });
    setOpen(open);
    if (open) /** @type {HTMLElement|null} */ (list.querySelector('button'))?.focus();
  });
  toggle.addEventListener('menu-close', () => setOpen(false));
  list.addEventListener('keydown', (ev) => {
    const items = /** @type {HTMLElement[]} */ ([...list.querySelectorAll('button')]);
    const i = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      setOpen(false);
      toggle.focus();
    } else if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    } else if (ev.key === 'Home' || ev.key === 'End') {
      ev.preventDefault();
      items[ev.key === 'Home' ? 0 : items.length - 1]?.focus();
    } else if (ev.key === 'Tab') {
      // Leaving the menu closes it; the focus moves on from ⋯.
      setOpen(false);
      toggle.focus();
    }
  });
  return h('div', { class: 'msg-actions' }, toggle, list);
}

/** Space kept between the menu and the edge of the viewport, in CSS pixels. */
const EDGE_PX = 8;

/**
 * Place an open menu below its button, or above when there is more room there, and
 * always inside the viewport; a menu taller than the viewport scrolls.
 * @param {HTMLElement} menu
 * @param {HTMLElement} anchor
 */
function placeMenu(menu, anchor) {
  const a = anchor.getBoundingClientRect();
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  menu.style.maxHeight = `${vh - 2 * EDGE_PX}px`;
  const height = menu.offsetHeight;
  const down = vh - a.bottom >= height + EDGE_PX || vh - a.bottom >= a.top;
  const top = down ? a.bottom + 2 : a.top - 2 - height;
  const left = a.right - menu.offsetWidth;
  menu.style.top = `${clamp(top, EDGE_PX, vh - EDGE_PX - height)}px`;
  menu.style.left = `${clamp(left, EDGE_PX, vw - EDGE_PX - menu.offsetWidth)}px`;
}

/** @param {number} n @param {number} lo @param {number} hi */
function clamp(n, lo, hi) {
  return Math.max(lo, Math.min(n, Math.max(hi, lo)));
}
