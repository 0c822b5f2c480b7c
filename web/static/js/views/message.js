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
import { markdownNodes } from '../markdown.js';
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
    body.appendChild(markdownNodes(m.body ?? ''));
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
 * A disclosure button with a short list of actions.
 * @param {import('../store.js').Message} m
 * @param {Action[]} actions
 */
function actionsMenu(m, actions) {
  const menuId = uid('msg-menu');
  const who = m.author.display_name ?? m.author.username;
  const toggle = h('button', {
    type: 'button', class: 'msg-menu-toggle', 'aria-expanded': 'false', 'aria-controls': menuId,
  }, h('span', { 'aria-hidden': 'true', text: '⋯' }), srOnly(`Acties voor bericht van ${who} om ${formatTime(m.created_at)}`));
  const list = h('ul', { class: 'msg-menu', id: menuId, hidden: true },
    actions.map((a) => h('li', {}, h('button', {
      type: 'button', class: a.danger ? 'menu-item danger' : 'menu-item', text: a.label,
      onclick: () => { setOpen(false); a.run(); },
    }))));
  const setOpen = (/** @type {boolean} */ open) => {
    toggle.setAttribute('aria-expanded', String(open));
    list.hidden = !open;
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
      setOpen(false);
      toggle.focus();
    } else if (ev.key === 'ArrowDown') {
      ev.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (ev.key === 'ArrowUp') {
      ev.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    }
  });
  return h('div', { class: 'msg-actions' }, toggle, list);
}
