/**
 * A room: header with topic and who is online, the timeline (day separators, "new
 * messages" marker, history further back on scroll), pending sends, typing line and
 * the composer; moderator tools for those who may moderate.
 * @module views/room
 */
import { api } from '../api.js';
import { formDialog } from '../dialog.js';
import { visible } from '../bidi.js';
import { h, replace } from '../dom.js';
import { dayKey, dayLabel, excerpt } from '../format.js';
import { errorText } from '../i18n.js';
import { markActions } from './marks.js';
import { meetingHref } from '../meeting.js';
import {
  banDialog, hideDialog, muteDialog, reportDialog, retractDialog, roomSettingsDialog,
} from './room-dialogs.js';
import { Composer } from './composer.js';
import { Uploads } from '../upload.js';
import { authorLine, fillMessage } from './message.js';
import { EventLines } from './eventline.js';
import { levelControl } from '../notify.js';
import { PollPanel, TopicFilter } from '../conversation.js';
import { markMentions } from '../mentions.js';
import { RoomState, removedText } from '../roomstate.js';
import { Feed } from '../feed.js';
import { MessageWindow } from './window.js';

/** Within this many pixels of the end counts as "at the newest message". */
const BOTTOM_SLACK_PX = 48;
/** Scrolling this close to the top loads older messages (to the end: newer ones). */
const TOP_LOAD_PX = 120;
/** How long opening a room waits for its backlog before showing what it has. */
const SUBSCRIBE_WAIT_MS = 3000;

export class RoomView {
  /**
   * @param {HTMLElement} main
   * @param {{store: import('../store.js').Store, sync: import('../sync.js').Sync, announcer: import('../announcer.js').Announcer, slug: string, focusSeq: number|null}} opts
   */
  constructor(main, { store, sync, announcer, slug, focusSeq }) {
    this.main = main;
    this.store = store;
    this.sync = sync;
    this.announcer = announcer;
    this.slug = slug;
    this.focusSeq = focusSeq;
    this.t = store.timeline(slug);
    /** @type {Array<() => void>} */
    this.offs = [];
    /** @type {Map<string, HTMLElement>} */
    this.msgEls = new Map();
    /** @type {Map<string, HTMLElement>} */
    this.dayEls = new Map();
    this.lines = new EventLines(this.t);
    this.loadingOlder = false;
    /** False until the first load is placed: no scrolling or read marker before that. */
    this.arrived = false;
    /** Set when the user left the room: late answers must not touch it any more. */
    this.destroyed = false;
    /** The read marker when the room was opened. */
    this.readAtOpen = store.rooms.get(slug)?.read_seq ?? 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.readTimer = undefined;
    /** Seq after which messages count as new for this visit (fixed when the room opens). */
    this.unreadFrom = /** @type {number|null} */ (null);
    this.build();
  }

  get room() {
    return this.store.rooms.get(this.slug);
  }

  get me() {
    return this.store.user?.username ?? '';
  }

  build() {
    const name = this.room?.name ?? this.slug;
    this.title = h('h1', { tabindex: '-1', id: 'room-title', text: name });
    this.topic = h('p', { class: 'topic' });
    this.flags = h('p', { class: 'room-flags' });
    this.presenceSummary = h('summary', { text: 'Online' });
    this.presenceList = h('ul', { class: 'presence-list' });
    this.jumpButton = h('button', { type: 'button', class: 'btn btn-small', hidden: true, text: 'Naar eerste ongelezen', onclick: () => this.jumpToFirstUnread() });
    this.settingsButton = h('button', {
      type: 'button', class: 'btn btn-small', text: 'Kamerbeheer', hidden: !this.store.mayModerate(this.slug),
      onclick: () => roomSettingsDialog(this),
    });
    this.pinsSummary = h('summary', { text: 'Vastgezet' });
    this.pinsList = h('ul', { class: 'pins-list' });
    this.pinsBox = h('details', { class: 'pins', hidden: true }, this.pinsSummary, this.pinsList);
    /** Pinned message ids (as strings); null until this server said it has pins. @type {Set<string>|null} */
    this.pinned = null;
    this.polls = new PollPanel(this.slug, (text) => this.announcer.say(text));
    const tools = h('div', { class: 'room-tools' },
      h('details', {
        class: 'presence',
        // Escape closes the list of who is online, as it does a menu, back on its summary.
        onkeydown: (/** @type {KeyboardEvent} */ e) => {
          const box = /** @type {HTMLDetailsElement} */ (e.currentTarget);
          if (e.key !== 'Escape' || !box.open) return;
          e.preventDefault();
          box.open = false;
          this.presenceSummary.focus();
        },
      }, this.presenceSummary, this.presenceList),
      this.pinsBox,
      this.polls.el,
      this.jumpButton,
      this.settingsButton,
      levelControl(this.slug));
    this.topicFilter = new TopicFilter(this.slug, () => this.renderAll(), () => this.store.mayModerate(this.slug));
    // On small or zoomed screens the header folds to its title behind "Kamerinfo" (style.css).
    this.headToggle = h('button', {
      type: 'button', class: 'btn btn-small room-head-toggle', 'aria-expanded': 'false', text: 'Kamerinfo',
      onclick: () => {
        const open = this.headToggle.getAttribute('aria-expanded') !== 'true';
        this.headToggle.setAttribute('aria-expanded', String(open));
        head.classList.toggle('head-open', open);
      },
    });
    const head = h('header', { class: 'room-head' },
      h('a', { class: 'back-link', href: '/' }, h('span', { 'aria-hidden': 'true', text: '← ' }), h('span', { class: 'back-text', text: 'Alle gesprekken' })),
      this.title, this.headToggle, this.topic, this.flags,
      this.room?.kind === 'meeting'
        ? h('p', { class: 'meeting-head-link' }, h('a', { href: meetingHref(this.slug), text: 'Programma, aanmelden en agenda van deze bijeenkomst' }))
        : null,
      tools, this.topicFilter.el);

    this.olderButton = h('button', { type: 'button', class: 'btn btn-small', text: 'Oudere berichten laden', onclick: () => this.loadOlder(true) });
    this.historyTop = h('div', { class: 'history-top' });
    this.list = h('div', { class: 'messages' });
    this.pendingList = h('div', { class: 'pending-list' });
    // The list is one Tab stop (feed.js); focusing the scroll box lands on its article.
    this.timeline = h('div', { class: 'timeline', tabindex: '-1' }, this.historyTop, this.list, this.pendingList);
    this.timeline.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.timeline.addEventListener('focus', () => this.feed.focusActive());
    this.feed = new Feed(this.list, {
      label: `Berichten in ${name}`,
      complete: () => this.t.loaded && !this.t.hasMoreBefore && !this.t.hasMoreAfter,
      older: () => this.loadOlder(false),
      newer: () => (this.t.hasMoreAfter ? this.win.newer() : null),
      before: () => this.title.focus(),
      after: () => this.composer.focus(),
      // Arrowed onto the window's last message: the scroll loads on; End goes to the newest.
      end: (focus) => { if (focus || !this.t.hasMoreAfter) this.scrollToBottom(focus); },
    });

    this.win = new MessageWindow({
      timeline: this.timeline,
      list: this.list,
      t: this.t,
      sync: this.sync,
      slug: this.slug,
      articles: () => this.feed.articles(),
      notice: (text) => this.showNotice(text),
      toEnd: (focus) => this.scrollToBottom(focus),
    });
    this.typingLine = h('p', { class: 'typing' });
    this.notice = h('p', { class: 'room-notice' });

    this.uploads = new Uploads(this.slug, (text) => this.announcer.say(text));
    this.composer = new Composer({
      roomName: name,
      slug: this.slug,
      find: (id) => this.t.byId.get(String(id)),
      extra: this.uploads.el,
      files: () => this.uploads.count(),
      send: (body, replyTo, topic) => {
        this.sync.send(this.slug, body, replyTo, this.uploads.take(), topic);
        this.composer.el.classList.remove('composer-open');
        this.scrollToBottom(false);
      },
      edit: (id, body) => {
        const ok = this.sync.edit(this.slug, id, body);
        if (ok) this.announcer.say('Wijziging verstuurd.');
        return ok;
      },
      typing: () => this.sync.typing(this.slug),
      notice: (text) => this.showNotice(text),
    });
    this.roomState = new RoomState(this);

    // The composer's optional rows (style.css) unfold when one starts to write.
    this.composer.el.addEventListener('focusin', () => this.composer.el.classList.add('composer-open'));
    this.root = h('section', { class: 'room', 'aria-labelledby': 'room-title' },
      head, this.timeline, this.win.button, this.typingLine, this.notice, this.composer.el);
    replace(this.main, this.root);
    this.uploads.dropOn(this.root);
    document.title = `${visible(name)} – Werkplaats`;
  }

  /** Subscribe to the store and start loading. */
  async mount() {
    const s = this.store;
    this.offs.push(
      s.on(`timeline:${this.slug}`, (d) => this.onTimeline(d)),
      s.on(`typing:${this.slug}`, () => this.renderTyping()),
      s.on(`presence:${this.slug}`, () => this.renderPresence()),
      s.on(`removed:${this.slug}`, (d) => this.onRemoved(d)),
      s.on(`read:${this.slug}`, (d) => this.onReadElsewhere(d)),
      s.on('rooms', () => this.renderHeader()),
      s.on('conn', (d) => { if (d.state !== 'open') delete this.timeline.dataset.live; }),
      s.on('error', (d) => { if (d.room === this.slug || d.room === null) this.showNotice(errorText(d.code, d.retryAfter)); }),
    );
    this.onVisible = () => this.maybeMarkRead();
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('focus', this.onVisible);
    this.renderHeader();
    this.renderPresence();
    this.renderAll();
    this.title.focus();
    this.loadPins();
    this.topicFilter.load();
    this.polls.load();
    await this.load();
    this.checkRoomModerator();
  }

  /** Pinned messages (this server's extra: `GET /api/rooms/{slug}/pins`). */
  async loadPins() {
    let pins;
    try {
      ({ pins } = await api.pins(this.slug));
    } catch {
      return; // no pins on this server, or no access: nothing to show
    }
    if (this.destroyed || !Array.isArray(pins)) return;
    const before = this.pinned;
    this.pinned = new Set(pins.map((/** @type {any} */ p) => String(p.message_id)));
    this.pinsSummary.textContent = `Vastgezet (${pins.length})`;
    this.pinsBox.hidden = pins.length === 0;
    replace(this.pinsList, pins.map((/** @type {any} */ p) => h('li', {},
      h('button', {
        type: 'button', class: 'link-button',
        text: `${p.author?.display_name ?? p.author?.username ?? ''}: ${excerpt(p.body, 70)}`,
        onclick: () => { /** @type {HTMLDetailsElement} */ (this.pinsBox).open = false; this.showMessage(Number(p.seq)); },
      }))));
    // Refresh the messages whose pinned state changed (label and menu); the first answer
    // also brings the pin actions into moderators' menus.
    const first = before === null && this.store.mayModerate(this.slug);
    for (const m of this.t.messages) {
      const id = String(m.message_id);
      if (first || (before?.has(id) ?? false) !== this.pinned.has(id)) this.refreshMessage(m);
    }
  }

  /**
   * Room moderators (not staff) are not marked in the room list; this server lists a
   * room's moderators to its readers, so ask. Without that endpoint nothing changes.
   */
  async checkRoomModerator() {
    const room = this.room;
    if (!room || this.store.isStaff() || room.can_moderate) return;
    try {
      const data = await api.moderators(this.slug);
      const names = Array.isArray(data?.moderators) ? data.moderators.map((/** @type {any} */ m) => (typeof m === 'string' ? m : m.username)) : [];
      if (!names.includes(this.me) || !this.root.isConnected) return;
      room.can_moderate = true;
      this.settingsButton.hidden = false;
      for (const m of this.t.messages) this.refreshMessage(m);
      this.renderHeader();
    } catch {
      /* not offered by this server: no room moderator tools */
    }
  }

  /** First load of the room; on failure a retry button (a network loss is not final). */
  async load() {
    this.historyTop.replaceChildren(h('p', { class: 'muted', text: 'Berichten laden…' }));
    try {
      await this.sync.openRoom(this.slug);
    } catch (err) {
      const e = /** @type {any} */ (err);
      if (e.code === 'forbidden' || e.code === 'not_found') {
        this.historyTop.replaceChildren(h('p', { class: 'form-error', text: errorText(e.code) }));
        this.composer.disable(errorText(e.code));
        return;
      }
      const retry = h('button', { type: 'button', class: 'btn btn-small', text: 'Opnieuw proberen', onclick: () => this.load() });
      this.historyTop.replaceChildren(h('p', { class: 'form-error', text: errorText(e.code ?? 'network') }), retry);
      // Opened without a network (the offline shell): load once the connection is back.
      const off = this.store.on('conn', (d) => { if (d.state === 'open') { off(); if (!this.destroyed) this.load(); } });
      this.offs.push(off);
      return;
    }
    if (this.t.removedReason) this.onRemoved({ reason: this.t.removedReason });
    // A room seen before catches up through the backlog: place the "new" line after it.
    await this.untilSubscribed(SUBSCRIBE_WAIT_MS);
    this.arrive();
  }

  /** @param {number} ms */
  untilSubscribed(ms) {
    if (!this.sync.subscribing.has(this.slug)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const off = this.store.on(`timeline:${this.slug}`, (d) => { if (d.kind === 'subscribed') done(); });
      function done() {
        clearTimeout(timer);
        off();
        resolve(undefined);
      }
    });
  }

  destroy() {
    // Leaving right after scrolling to the end still counts as having read it.
    if (this.readTimer !== undefined) this.maybeMarkRead();
    this.destroyed = true;
    clearTimeout(this.readTimer);
    for (const off of this.offs) off();
    this.roomState.destroy();
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('focus', this.onVisible);
    this.sync.closeRoom(this.slug);
    this.uploads?.abortAll();
  }

  /** After the first load: place the "new" marker and scroll to it, a message, or the end. */
  async arrive() {
    if (this.destroyed) return;
    this.arrived = true;
    const readSeq = Math.min(this.readAtOpen, this.room?.read_seq ?? this.readAtOpen);
    const firstUnread = this.t.messages.find((m) => m.seq > readSeq && m.author.username !== this.me);
    const olderUnread = this.t.firstSeq !== null && readSeq < this.t.firstSeq - 1 && readSeq > 0;
    if (firstUnread || olderUnread) this.unreadFrom = readSeq;
    this.renderAll();
    if (this.focusSeq) {
      await this.showMessage(this.focusSeq);
    } else if (firstUnread && !olderUnread) {
      this.scrollToUnreadMarker();
    } else {
      this.scrollToBottom(false);
    }
    const before = this.unreadFrom !== null && this.t.firstSeq !== null && this.unreadFrom < this.t.firstSeq - 1;
    if (before && this.unreadFrom !== null && this.unreadFrom > 0) this.jumpButton.hidden = false;
    this.maybeMarkRead();
  }

  // ---- rendering -------------------------------------------------------------

  renderHeader() {
    const room = this.room;
    if (!room) return;
    this.topic.textContent = visible(room.topic ?? '');
    this.topic.hidden = !room.topic;
    const flags = [];
    if (room.archived) flags.push('Gearchiveerd: alleen lezen.');
    else if (room.locked) flags.push(this.store.mayModerate(this.slug) ? 'Gesloten: alleen moderatoren kunnen schrijven.' : 'Gesloten: alleen lezen.');
    this.flags.textContent = flags.join(' ');
    this.flags.hidden = flags.length === 0;
    this.roomState.render();
  }

  renderPresence() {
    const names = this.t.online.map((u) => this.store.displayName(u)).sort((a, b) => a.localeCompare(b, 'nl'));
    this.presenceSummary.textContent = names.length ? `${names.length} online` : 'Niemand online';
    this.presenceSummary.classList.toggle('nobody', names.length === 0);
    replace(this.presenceList, names.map((n) => h('li', { text: n })));
  }

  renderTyping() {
    const names = [...this.t.typing.keys()].map((u) => this.store.displayName(u));
    let text = '';
    if (names.length === 1) text = `${names[0]} typt…`;
    else if (names.length === 2) text = `${names[0]} en ${names[1]} typen…`;
    else if (names.length > 2) text = `${names.length} mensen typen…`;
    this.typingLine.textContent = visible(text);
  }

  /** @param {{kind: string, message?: import('../store.js').Message, type?: string, event?: any}} d */
  onTimeline(d) {
    if (d.type === 'message_pinned' || d.type === 'message_unpinned' || (d.type === 'message_hidden' && this.pinned?.size)) {
      this.loadPins();
    }
    if (d.type === 'topic_renamed' || (d.kind === 'added' && d.message?.topic)) this.topicFilter.load();
    if (d.type === 'topic_renamed' && d.event) {
      for (const m of this.t.messages) if (m.topic === d.event.new) this.refreshMessage(m);
      if (this.topicFilter.topic === d.event.old) this.topicFilter.set(d.event.new);
    }
    if ((d.type === 'poll_created' || d.type === 'poll_votes') && d.event) this.polls.apply(d.event);
    const wasAtBottom = this.atBottom();
    if (d.kind === 'beyond') {
      // Past the window: not drawn, only noted on the button that goes to the newest.
      if (d.message && d.message.author.username !== this.me) this.win.note(1);
      return;
    }
    if (d.kind === 'changed' && d.message) {
      this.refreshMessage(d.message);
      // Replies quote their parent: refresh them too.
      for (const m of this.t.messages) if (m.reply_to !== null && String(m.reply_to) === String(d.message.message_id)) this.refreshMessage(m);
      return;
    }
    const mine = d.kind === 'added' && d.message?.author.username === this.me;
    const anchor = this.win.anchor();
    if (d.kind === 'added') this.win.fit(anchor, wasAtBottom || mine);
    this.renderAll();
    if (d.kind === 'prepend' || d.kind === 'append') {
      this.win.restore(anchor);
    } else if (d.kind === 'added' && d.message) {
      if ((wasAtBottom || mine) && !this.t.hasMoreAfter) this.scrollToBottom(false);
      else {
        this.win.restore(anchor);
        this.win.note(1);
      }
    } else if (d.kind === 'pending' && wasAtBottom) {
      this.scrollToBottom(false);
    } else if (d.kind === 'subscribed') {
      // Live from here on; tests and styles can tell a caught-up room by this.
      this.timeline.dataset.live = 'true';
    }
    this.maybeMarkRead();
  }

  /** Bring the DOM in line with the timeline, moving only what changed. */
  renderAll() {
    this.renderHistoryTop();
    /** @type {HTMLElement[]} */
    const desired = [];
    let lastDay = '';
    // The line goes only where it is true: before the first unread message, once the
    // history back to it is loaded (not at the top of a partial page).
    const from = this.unreadFrom;
    let markerPlaced = from === null || (this.t.hasMoreBefore && (this.t.firstSeq ?? Infinity) > from + 1);
    this.lines.start();
    for (const m of this.t.messages) {
      desired.push(...this.lines.before(m.seq));
      const day = dayKey(m.created_at);
      if (day !== lastDay) {
        desired.push(this.dayEl(day, m.created_at));
        lastDay = day;
      }
      if (!markerPlaced && from !== null && m.seq > from && m.author.username !== this.me) {
        desired.push(this.unreadMarker());
        markerPlaced = true;
      }
      const el = this.messageEl(m);
      el.hidden = this.topicFilter.topic !== null && m.topic !== this.topicFilter.topic;
      desired.push(el);
    }
    desired.push(...this.lines.before(Infinity));
    const keep = new Set(desired);
    for (const child of [...this.list.children]) if (!keep.has(/** @type {HTMLElement} */ (child))) child.remove();
    desired.forEach((el, i) => {
      if (this.list.children[i] !== el) this.list.insertBefore(el, this.list.children[i] ?? null);
    });
    // Messages that left the window leave the memory too.
    if (this.msgEls.size > this.t.messages.length) {
      for (const id of this.msgEls.keys()) if (!this.t.byId.has(id)) this.msgEls.delete(id);
    }
    this.renderPending();
    this.win.render();
    this.feed.schedule();
  }

  renderHistoryTop() {
    if (!this.t.loaded) return;
    if (this.t.hasMoreBefore) this.historyTop.replaceChildren(this.olderButton);
    else this.historyTop.replaceChildren(h('p', { class: 'muted', text: this.t.messages.length ? 'Begin van het gesprek.' : 'Nog geen berichten. Schrijf het eerste!' }));
  }

  /** @param {string} day @param {string} iso */
  dayEl(day, iso) {
    let el = this.dayEls.get(day);
    if (!el) {
      // Drawn for the eye; the day describes the article after it (feed.js).
      el = h('h2', { class: 'day-sep', id: `dag-${day}`, 'aria-hidden': 'true' }, h('span', { text: dayLabel(iso) }));
      this.dayEls.set(day, el);
    }
    return el;
  }

  unreadMarker() {
    if (!this.marker) this.marker = h('p', { class: 'unread-sep', id: 'eerste-ongelezen', 'aria-hidden': 'true' }, h('span', { text: 'Nieuwe berichten' }));
    return this.marker;
  }

  /** @param {import('../store.js').Message} m */
  messageEl(m) {
    let el = this.msgEls.get(String(m.message_id));
    if (!el) {
      el = h('article');
      this.msgEls.set(String(m.message_id), el);
      fillMessage(el, m, this.context(m));
      markMentions(el, m, this.me);
    }
    return el;
  }

  /** @param {import('../store.js').Message} m */
  refreshMessage(m) {
    const el = this.msgEls.get(String(m.message_id));
    if (!el) return;
    const hadFocus = el.contains(document.activeElement);
    // Keep the focus on the same control (a reaction button) when it is drawn again.
    const key = hadFocus ? /** @type {HTMLElement} */ (document.activeElement).dataset.key : undefined;
    fillMessage(el, m, this.context(m));
    markMentions(el, m, this.me);
    const again = key ? /** @type {HTMLElement|null} */ (el.querySelector(`[data-key="${CSS.escape(key)}"]`)) : null;
    if (hadFocus) (again ?? el).focus();
  }

  /** @param {import('../store.js').Message} m */
  context(m) {
    return {
      parent: m.reply_to !== null ? this.t.byId.get(String(m.reply_to)) : undefined,
      pinned: Boolean(this.pinned?.has(String(m.message_id))),
      actions: this.actionsFor(m),
      onJump: (/** @type {import('../store.js').MessageId} */ id) => this.jumpToMessageId(id),
      onTopic: (/** @type {string} */ topic) => this.topicFilter.set(topic),
      slug: this.slug,
      react: {
        me: this.me,
        name: (/** @type {string} */ u) => this.store.displayName(u),
        react: (/** @type {string} */ emoji, /** @type {boolean} */ on) => this.sync.react(this.slug, m.message_id, emoji, on),
        mayReact: this.roomState.canPost(),
      },
    };
  }

  renderPending() {
    const items = [...this.t.pending.values()].map((p) => {
      const status = p.status === 'failed'
        ? h('p', { class: 'pending-status failed' }, `Niet verzonden: ${errorText(p.error ?? 'internal')} `,
          h('button', { type: 'button', class: 'link-button', text: 'Opnieuw proberen', onclick: () => this.sync.retryPending(this.slug, p.client_id) }),
          ' ',
          h('button', { type: 'button', class: 'link-button', text: 'Weggooien', onclick: () => this.sync.discardPending(this.slug, p.client_id) }))
        : h('p', {
          class: 'pending-status',
          text: p.seq !== undefined ? 'Verzonden' : (p.retryAt && p.retryAt > Date.now() ? 'Even wachten: wordt zo vanzelf verzonden…' : 'Wordt verzonden…'),
        });
      const body = h('div', { class: 'body' });
      body.textContent = visible(p.body);
      return h('article', { class: `msg msg-pending${p.status === 'failed' ? ' msg-failed' : ''}`, 'data-client-id': p.client_id, 'aria-label': 'Jouw bericht, nog niet bevestigd' },
        h('header', { class: 'msg-head' }, this.store.user ? authorLine(this.store.user) : null),
        body, status);
    });
    replace(this.pendingList, items);
  }

  // ---- scrolling, read markers, history ----------------------------------------

  atBottom() {
    const el = this.timeline;
    return el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
  }

  /** @param {boolean} focusLast */
  scrollToBottom(focusLast) {
    if (this.t.hasMoreAfter) {
      this.toNewest(focusLast);
      return;
    }
    this.timeline.scrollTop = this.timeline.scrollHeight;
    this.win.caughtUp();
    if (focusLast) {
      if (this.feed.articles().length) this.feed.focusLast();
      else this.composer.focus();
      this.timeline.scrollTop = this.timeline.scrollHeight;
    }
    this.maybeMarkRead();
  }

  scrollToUnreadMarker() {
    const marker = this.marker;
    if (!marker || !marker.isConnected) return this.scrollToBottom(false);
    // .timeline is the offsetParent of its content.
    this.timeline.scrollTop = Math.max(0, marker.offsetTop - 8);
    return undefined;
  }

  /** Whether the "new messages" line is on screen (then the jump button has done its job). */
  markerInView() {
    const m = this.marker;
    if (!m || !m.isConnected) return false;
    const top = this.timeline.scrollTop;
    return m.offsetTop >= top && m.offsetTop < top + this.timeline.clientHeight;
  }

  onScroll() {
    if (this.atBottom() && !this.t.hasMoreAfter) this.win.caughtUp();
    if (this.markerInView()) this.jumpButton.hidden = true;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.maybeMarkRead(), 250);
    if (!this.arrived) return;
    const el = this.timeline;
    if (el.scrollTop < TOP_LOAD_PX) this.loadOlder(false);
    else if (el.scrollHeight - el.scrollTop - el.clientHeight < TOP_LOAD_PX) this.win.newer();
  }

  /**
   * Go to the newest message, loading it when the window stops short of it.
   * @param {boolean} focusLast
   */
  async toNewest(focusLast) {
    if (!(await this.win.newest()) || this.destroyed) return;
    this.renderAll();
    this.scrollToBottom(focusLast);
  }

  /** @param {boolean} fromButton */
  async loadOlder(fromButton) {
    if (this.loadingOlder || !this.t.hasMoreBefore || !this.t.loaded) return;
    this.loadingOlder = true;
    try {
      const n = await this.win.busy(this.sync.loadOlder(this.slug));
      if (fromButton) this.announcer.say(n ? `${n} oudere gebeurtenissen geladen.` : 'Geen oudere berichten.');
      if (fromButton) {
        // The button may have been replaced by "Begin van het gesprek"; keep focus in the list.
        if (this.olderButton.isConnected) this.olderButton.focus();
        else this.feed.focusActive();
      }
    } catch (err) {
      this.showNotice(errorText(/** @type {any} */ (err).code ?? 'network'));
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Move the read marker to the last message the user can see (all of it at the end). */
  maybeMarkRead() {
    if (this.destroyed || !this.arrived || !this.t.loaded || document.visibilityState !== 'visible' || this.t.removedReason) return;
    // At the end of a window short of the newest, only what is on screen was read.
    if (this.atBottom() && !this.t.hasMoreAfter) {
      this.sync.markRead(this.slug, this.t.lastSeq);
      return;
    }
    const visibleEnd = this.timeline.scrollTop + this.timeline.clientHeight;
    for (let i = this.t.messages.length - 1; i >= 0; i -= 1) {
      const el = this.msgEls.get(String(this.t.messages[i].message_id));
      // Fully on screen counts as read; .timeline is the offsetParent of the articles.
      if (el?.isConnected && el.offsetTop + el.offsetHeight <= visibleEnd) {
        this.sync.markRead(this.slug, this.t.messages[i].seq);
        return;
      }
    }
  }

  async jumpToFirstUnread() {
    const from = this.unreadFrom ?? this.room?.read_seq ?? 0;
    try {
      await this.win.busy(this.sync.reach(this.slug, from + 1));
    } catch (err) {
      this.showNotice(errorText(/** @type {any} */ (err).code ?? 'network'));
      return;
    }
    this.renderAll();
    const marker = this.marker?.isConnected ? this.marker : null;
    const first = /** @type {HTMLElement|null} */ (this.list.querySelector(marker ? '#eerste-ongelezen ~ article:not([hidden])' : 'article'));
    (marker ?? first)?.scrollIntoView({ block: 'start' });
    if (first) {
      this.feed.setActive(first);
      first.focus({ preventScroll: true });
    }
    this.jumpButton.hidden = true;
  }

  /** @param {import('../store.js').MessageId} messageId */
  jumpToMessageId(messageId) {
    const el = this.msgEls.get(String(messageId));
    if (el?.isConnected) {
      el.scrollIntoView({ block: 'center' });
      this.feed.setActive(el);
      el.focus({ preventScroll: true });
    } else {
      this.showNotice('Dat bericht staat verder terug in de geschiedenis en is nog niet geladen.');
    }
  }

  /** Show one message (from search): load history back to it, then focus it. @param {number} seq */
  async showMessage(seq) {
    try {
      await this.win.busy(this.sync.reach(this.slug, seq));
    } catch {
      /* shown below */
    }
    this.renderAll();
    const m = this.t.messages.find((x) => x.seq === seq);
    const el = m ? this.msgEls.get(String(m.message_id)) : null;
    if (el) {
      el.classList.add('msg-target');
      el.scrollIntoView({ block: 'center' });
      this.feed.setActive(el);
      el.focus({ preventScroll: true });
    } else {
      this.scrollToBottom(false);
      this.showNotice('Dat bericht is niet (meer) te vinden.');
    }
  }

  // ---- events from elsewhere -----------------------------------------------------

  /** @param {{reason?: string}} d */
  onRemoved(d) {
    // The reason in Dutch, in place of whatever was said before (a refused send's "muted").
    this.showNotice(removedText(d.reason));
    this.roomState.render();
  }

  /** Another tab of this user read further. @param {{seq: number}} d */
  onReadElsewhere(d) {
    if (d.seq >= this.t.lastSeq) {
      this.jumpButton.hidden = true;
    }
  }

  /** @param {string} text */
  showNotice(text) {
    this.notice.textContent = text;
  }

  // ---- actions -----------------------------------------------------------------------

  /** @param {import('../store.js').Message} m */
  actionsFor(m) {
    const mine = m.author.username === this.me;
    const mod = this.store.mayModerate(this.slug);
    const who = m.author.display_name ?? m.author.username;
    /** @type {import('./message.js').Action[]} */
    const list = [];
    if (m.hidden) return mod && !mine ? this.userActions(m, who) : [];
    // Only what can succeed now: no reply, edit or mark when I cannot post (roomstate.js).
    const canPost = this.roomState.canPost();
    if (canPost) list.push({ label: 'Beantwoorden', run: () => this.composer.setMode('reply', m.message_id) });
    if (mine) {
      if (canPost) list.push({ label: 'Bewerken', run: () => this.composer.setMode('edit', m.message_id) });
      if (!this.t.removedReason) list.push({ label: 'Intrekken', danger: true, run: () => retractDialog(this, m) });
    } else if (!this.t.removedReason) {
      list.push({ label: 'Melden', run: () => reportDialog(this, m, who) });
    }
    if (canPost) list.push(...markActions(this.slug, m, this.announcer, formDialog, (id) => this.t.byId.get(String(id))));
    if (mod && this.pinned) {
      const pinned = this.pinned.has(String(m.message_id));
      list.push({ label: pinned ? 'Losmaken' : 'Vastzetten', run: () => this.togglePin(m, pinned) });
    }
    if (mod) {
      list.push({ label: 'Verbergen (moderatie)', danger: true, run: () => hideDialog(this, m, who) });
      if (!mine) list.push(...this.userActions(m, who));
    }
    return list;
  }

  /** @param {import('../store.js').Message} m @param {string} who */
  userActions(m, who) {
    return [
      { label: `${who} dempen`, run: () => muteDialog(this, m.author.username, who) },
      { label: `${who} verbannen`, danger: true, run: () => banDialog(this, m.author.username, who) },
    ];
  }

  /**
   * @param {import('../store.js').Message} m
   * @param {boolean} pinned
   */
  async togglePin(m, pinned) {
    try {
      if (pinned) await api.unpin(this.slug, m.message_id);
      else await api.pin(this.slug, m.message_id);
      this.announcer.say(pinned ? 'Bericht losgemaakt.' : 'Bericht vastgezet.');
      await this.loadPins();
    } catch (err) {
      const e = /** @type {any} */ (err);
      this.showNotice(errorText(e.code ?? 'network', e.retryAfter));
    }
  }
}
