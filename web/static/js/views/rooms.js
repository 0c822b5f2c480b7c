/**
 * The room list: grouped as "Mijn gebieden", "Thema's" and "Bijeenkomsten" with unread
 * counts, archived rooms apart. Shown in the sidebar, and as the home screen on a phone.
 * @module views/rooms
 */
import { h, replace, srOnly } from '../dom.js';
import { KIND_GROUPS } from '../i18n.js';
import { roomHref } from '../router.js';
import { meetingHref } from '../meeting.js';
import { formatDateTime } from '../format.js';
import { hasDraft, newConversationButton } from '../conversation.js';

/**
 * @param {HTMLElement} container
 * @param {import('../store.js').Store} store
 * @param {string|null} currentSlug
 * @param {() => Promise<unknown>} [refreshRooms] given: "Nieuw gesprek" is offered
 */
export function renderRoomList(container, store, currentSlug, refreshRooms) {
  // The list is drawn anew on every count; the focus stays on the same room or meeting link.
  const focused = container.contains(document.activeElement) ? /** @type {HTMLElement} */ (document.activeElement) : null;
  const keep = focused?.dataset.slug ? `[data-slug="${CSS.escape(focused.dataset.slug)}"]`
    : focused?.dataset.meeting ? `[data-meeting="${CSS.escape(focused.dataset.meeting)}"]` : null;
  const rooms = [...store.rooms.values()].sort((a, b) => a.name.localeCompare(b.name, 'nl'));
  const active = rooms.filter((r) => !r.archived);
  const archived = rooms.filter((r) => r.archived);
  const known = new Set(KIND_GROUPS.map((g) => g.kind));
  const groups = [
    ...KIND_GROUPS.map((g) => ({ title: g.title, rooms: active.filter((r) => r.kind === g.kind) })),
    { title: 'Overig', rooms: active.filter((r) => !known.has(r.kind)) },
  ].filter((g) => g.rooms.length > 0);

  const sections = groups.map((g, i) => {
    const id = `rooms-group-${i}`;
    return h('section', { class: 'room-group', 'aria-labelledby': id },
      h('h2', { id, text: g.title }),
      h('ul', {}, g.rooms.map((r) => roomItem(r, currentSlug))));
  });
  const archive = archived.length
    ? h('details', { class: 'room-group archived', open: archived.some((r) => r.slug === currentSlug) },
      h('summary', { text: `Gearchiveerd (${archived.length})` }),
      h('ul', {}, archived.map((r) => roomItem(r, currentSlug))))
    : null;

  replace(container,
    h('h2', { class: 'visually-hidden', text: 'Gesprekken' }),
    refreshRooms ? newConversationButton(refreshRooms) : null,
    rooms.length ? null : h('p', { class: 'empty', text: 'Nog geen gesprekken.' }),
    sections, archive);

  if (keep) /** @type {HTMLElement|null} */ (container.querySelector(keep))?.focus();
}

/**
 * @param {import('../store.js').Room} r
 * @param {string|null} currentSlug
 */
function roomItem(r, currentSlug) {
  const unread = r.slug === currentSlug ? 0 : r.unread;
  return h('li', { class: r.kind === 'meeting' ? 'has-meeting-link' : null },
    h('a', { href: roomHref(r.slug), 'data-slug': r.slug, 'aria-current': r.slug === currentSlug ? 'page' : null, class: unread ? 'room-link has-unread' : 'room-link' },
      h('span', { class: 'room-name', text: r.name }),
      r.locked ? h('span', { class: 'room-flag', text: 'gesloten' }) : null,
      r.slug !== currentSlug && hasDraft(r.slug) ? h('span', { class: 'room-flag room-draft', text: 'concept' }) : null,
      r.kind === 'theme' && r.next_meeting
        ? h('span', { class: 'room-next', text: `Volgende bijeenkomst: ${formatDateTime(r.next_meeting.date)}${r.next_meeting.place ? `, ${r.next_meeting.place}` : ''}` })
        : null,
      r.unread_mentions > 0 && r.slug !== currentSlug
        // The number is shown, not only read out: "@" alone said nothing about how many.
        ? h('span', { class: 'mention-count', title: 'Je bent genoemd' },
          h('span', { 'aria-hidden': 'true', text: `@${r.unread_mentions > 99 ? '99+' : r.unread_mentions}` }),
          srOnly(r.unread_mentions === 1 ? ' 1 vermelding van jou' : ` ${r.unread_mentions} vermeldingen van jou`))
        : null,
      unread > 0
        ? h('span', { class: 'unread-count' }, String(unread > 99 ? '99+' : unread), srOnly(unread === 1 ? ' ongelezen bericht' : ' ongelezen berichten'))
        : null),
    r.kind === 'meeting'
      ? h('a', { class: 'meeting-link', href: meetingHref(r.slug), 'data-meeting': r.slug }, 'Programma en inschrijven', srOnly(`: ${r.name}`))
      : null);
}
