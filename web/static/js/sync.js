/**
 * Keeps the store in step with the server: the WebSocket frames, the subscription of the
 * open room with `since`, backfill over HTTP when the backlog was truncated or a gap
 * shows, sends that stay pending (and are resent with the same client_id) until their
 * `ack`, read markers, typing and presence.
 * @module sync
 */
import { api } from './api.js';
import { Connection } from './ws.js';
import { clearDraftOf } from './conversation.js';
import { Activity } from './activity.js';
import { drop, keep, kept } from './outbox.js';

/** First page of a room. */
const PAGE = 50;
/** Page size when filling a gap; the contract allows up to 1000. */
const BACKFILL_PAGE = 500;
/**
 * At most this many messages are held per room, and so drawn (about 58 elements each):
 * six pages of history, several screens either way of what one reads, while the DOM
 * stays under 18,000 elements however far one scrolls (docs/performance.md).
 */
export const WINDOW = 300;
/** A send without `ack` after this long is sent again (same client_id, so no duplicate). */
const RESEND_AFTER_MS = 10_000;
/** Someone's typing indicator disappears after this long without a new `typing`. */
const TYPING_SHOWN_MS = 6000;
/** We tell others we type at most this often. */
const TYPING_EVERY_MS = 3000;

/** A client_id: 128 random bits, URL-safe. */
export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Sync {
  /**
   * @param {import('./store.js').Store} store
   * @param {import('./announcer.js').Announcer} announcer
   */
  constructor(store, announcer) {
    this.store = store;
    this.announcer = announcer;
    this.conn = new Connection({
      onFrame: (f) => this.onFrame(f),
      onState: (s, info) => {
        if (s !== 'open' && this.ready) this.forgetEphemeral();
        if (s !== 'open') this.ready = false;
        this.store.emit('conn', { state: s, ...info });
      },
    });
    /** The room the user has open (subscribed), if any. @type {string|null} */
    this.openSlug = null;
    /** Rooms subscribed on the current connection, waiting for `subscribed`. @type {Set<string>} */
    this.subscribing = new Set();
    /** @type {Map<string, Promise<void>>} */
    this.backfills = new Map();
    /** ref -> what it was for, to place a refusal. @type {Map<string, {room: string, action: string}>} */
    this.refs = new Map();
    /** @type {Map<string, number>} */
    this.readToSend = new Map();
    /** @type {Map<string, number>} */
    this.typingSentAt = new Map();
    this.connEpoch = 0;
    /** True between `hello` and the loss of that connection: only then do we subscribe. */
    this.ready = false;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.tick = undefined;
    /** Live counts of the rooms not open (`activity` frames): no polling of the room list. */
    this.activity = new Activity(store, () => this.refreshRooms());
  }

  /** Presence and typing are only true while connected; drop them when the link goes. */
  forgetEphemeral() {
    for (const t of this.store.timelines.values()) {
      t.online = [];
      t.typing.clear();
      this.store.emit(`presence:${t.slug}`);
      this.store.emit(`typing:${t.slug}`);
    }
  }

  start() {
    // Unsent messages of an earlier page: pending again, resent when the connection says hello.
    for (const p of kept(this.me)) {
      const t = this.store.timeline(p.room);
      if (!t.pending.has(p.client_id)) t.pending.set(p.client_id, p);
    }
    this.conn.start();
    clearInterval(this.tick);
    this.tick = setInterval(() => this.onTick(), 1000);
  }

  stop() {
    clearInterval(this.tick);
    this.conn.stop();
    this.openSlug = null;
    this.activity.clear();
  }

  get me() {
    return this.store.user?.username ?? '';
  }

  async refreshRooms() {
    const { rooms } = await api.rooms();
    this.store.mergeRooms(rooms, true);
    this.activity.listed(rooms);
    if (this.openSlug) this.recountOpen(this.openSlug);
  }

  // ---- rooms ---------------------------------------------------------------

  /**
   * Show a room: load its newest page once, then subscribe from the last seq we have.
   * @param {string} slug
   */
  async openRoom(slug) {
    if (this.openSlug && this.openSlug !== slug) this.closeRoom(this.openSlug);
    this.openSlug = slug;
    const t = this.store.timeline(slug);
    // A window left somewhere in the history is not kept: the room opens afresh.
    if (t.loaded && t.hasMoreAfter) t.clear();
    if (!t.loaded) await this.loadInitial(slug);
    if (this.openSlug === slug) this.subscribe(slug);
  }

  /** @param {string} slug */
  closeRoom(slug) {
    if (this.openSlug === slug) this.openSlug = null;
    this.subscribing.delete(slug);
    this.conn.send({ type: 'unsubscribe', room: slug });
    const t = this.store.timelines.get(slug);
    if (t) {
      t.online = [];
      t.typing.clear();
    }
  }

  /** @param {string} slug */
  async loadInitial(slug) {
    const t = this.store.timeline(slug);
    const room = this.store.rooms.get(slug);
    const last = room?.last_seq ?? 0;
    // Enough to reach the first unread message, so the room opens there with its line;
    // past a window of unread it opens there with the history after it still to load.
    // A room never read opens at its end, as before.
    const unread = room?.read_seq ? Math.max(0, last - room.read_seq) : 0;
    if (room && unread > WINDOW - PAGE) {
      const after = Math.max(0, room.read_seq - PAGE / 2);
      const { events, has_more: more } = await api.events(slug, { after, limit: PAGE * 2 });
      if (!t.loaded) this.place(slug, events, after + 1, more);
      return;
    }
    const limit = Math.min(WINDOW, Math.max(PAGE, unread + PAGE / 2));
    const { events } = await api.events(slug, last > 0 ? { before: last + 1, limit } : { after: 0, limit: PAGE });
    if (!t.loaded) this.place(slug, events, events.length ? Number(events[0].seq) : last + 1, false);
  }

  /**
   * Hold one page of a room (a new window) in an emptied timeline.
   * @param {string} slug
   * @param {any[]} events ascending
   * @param {number} first the seq the page starts at
   * @param {boolean} more events follow the page
   */
  place(slug, events, first, more) {
    const t = this.store.timeline(slug);
    t.lastSeq = Math.max(0, first - 1);
    t.hasMoreBefore = first > 1;
    for (const ev of events) this.applyEvent(slug, ev, false);
    const end = events.length ? Number(events[events.length - 1].seq) : first - 1;
    t.startAt(end);
    t.hasMoreAfter = more;
    if (!events.length) t.hasMoreBefore = false;
    this.recountOpen(slug);
    this.store.emit(`timeline:${slug}`, { kind: 'reset' });
  }

  /**
   * One page further back in history; the newest messages past the window go.
   * Returns the number of events loaded.
   * @param {string} slug
   */
  async loadOlder(slug) {
    const t = this.store.timeline(slug);
    if (!t.hasMoreBefore || t.firstSeq === null) return 0;
    const from = t.firstSeq;
    const { events } = await api.events(slug, { before: from, limit: PAGE });
    if (t.firstSeq !== from) return 0; // the window moved meanwhile (a jump)
    for (const ev of events) this.applyEvent(slug, ev, false);
    t.hasMoreBefore = events.length > 0 && Number(events[0].seq) > 1;
    t.trimEnd(t.messages.length - WINDOW);
    this.store.emit(`timeline:${slug}`, { kind: 'prepend' });
    return events.length;
  }

  /**
   * One page further towards the newest; the oldest messages past the window go. Once
   * the newest is held, the subscription replays what came meanwhile and follows on.
   * @param {string} slug
   */
  async loadNewer(slug) {
    const t = this.store.timeline(slug);
    if (!t.hasMoreAfter || !t.loaded) return 0;
    const from = t.lastSeq;
    const { events, has_more: more } = await api.events(slug, { after: from, limit: PAGE });
    if (t.lastSeq !== from || !t.hasMoreAfter) return 0;
    for (const ev of events) this.applyEvent(slug, ev, false);
    if (events.length) t.startAt(Number(events[events.length - 1].seq));
    t.hasMoreAfter = more;
    t.trimStart(t.messages.length - WINDOW);
    if (!more) this.follow(slug);
    this.store.emit(`timeline:${slug}`, { kind: 'append' });
    return events.length;
  }

  /**
   * Hold the window around `seq` (a search hit, a mention, the first unread), unless
   * it is held already. Returns whether the window changed.
   * @param {string} slug
   * @param {number} seq
   */
  async reach(slug, seq) {
    const t = this.store.timeline(slug);
    if (t.loaded && t.firstSeq !== null && seq >= t.firstSeq && (seq <= t.lastSeq || !t.hasMoreAfter)) return false;
    const answer = await api.events(slug, { around: seq, limit: PAGE * 2 });
    const events = answer.events ?? [];
    t.clear();
    const first = events.length ? Number(events[0].seq) : seq;
    this.place(slug, events, first, Boolean(answer.has_more_after));
    this.follow(slug);
    return true;
  }

  /** Hold the newest page of the room again (End, "Naar nieuwste"). @param {string} slug */
  async loadNewest(slug) {
    const t = this.store.timeline(slug);
    const last = this.store.rooms.get(slug)?.last_seq ?? t.lastSeq;
    const { events } = await api.events(slug, { before: last + 1, limit: PAGE * 2 });
    t.clear();
    this.place(slug, events, events.length ? Number(events[0].seq) : last + 1, false);
    this.follow(slug);
  }

  /**
   * Subscribe again from what is held: at the newest with `since` (the backlog fills
   * what came while the page was on its way), elsewhere for live events only.
   * @param {string} slug
   */
  follow(slug) {
    if (this.openSlug !== slug) return;
    this.subscribing.delete(slug);
    this.subscribe(slug);
  }

  /** @param {string} slug */
  subscribe(slug) {
    const t = this.store.timeline(slug);
    // Before `hello` the next hello subscribes; subscribing twice would replay twice.
    if (!t.loaded || !this.ready || this.subscribing.has(slug)) return;
    const since = t.hasMoreAfter ? null : t.lastSeq;
    if (this.conn.send({ type: 'subscribe', room: slug, since })) this.subscribing.add(slug);
  }

  /**
   * Fill seqs after `t.lastSeq` from the events API (after truncation or a gap).
   * @param {string} slug
   * @param {number} upTo fill at least to this seq
   */
  backfill(slug, upTo) {
    const running = this.backfills.get(slug);
    if (running) return running;
    const job = (async () => {
      const t = this.store.timeline(slug);
      let guard = 0;
      // A window short of the newest (hasMoreAfter) fills on scrolling, not here.
      while (t.lastSeq < upTo && !t.hasMoreAfter && guard < 1000) {
        guard += 1;
        const before = t.lastSeq;
        const { events, has_more: more } = await api.events(slug, { after: t.lastSeq, limit: BACKFILL_PAGE });
        for (const ev of events) this.applyEvent(slug, ev, true);
        if (!events.length || (!more && t.lastSeq === before)) break;
      }
    })().catch(() => { /* the next reconnect resubscribes with since and tries again */ })
      .finally(() => this.backfills.delete(slug));
    this.backfills.set(slug, job);
    return job;
  }

  /**
   * @param {string} slug
   * @param {any} ev
   * @param {boolean} live arrived now (announce it, count it unread)
   */
  applyEvent(slug, ev, live) {
    const t = this.store.timeline(slug);
    if (ev.author) this.store.remember(ev.author);
    const res = t.apply(ev, live);
    if (!res) return;
    const room = this.store.rooms.get(slug);
    if (room) room.last_seq = Math.max(room.last_seq, Number(ev.seq));
    if (room && ev.type !== 'message' && ev.type !== 'message_edited' && ev.type !== 'message_hidden') {
      // Room events a server adds (topic, lock, archive) may carry the new values.
      if (ev.topic !== undefined) room.topic = ev.topic;
      if (typeof ev.locked === 'boolean') room.locked = ev.locked;
      if (typeof ev.archived === 'boolean') room.archived = ev.archived;
      if (typeof ev.slow_mode_seconds === 'number') room.slow_mode_seconds = ev.slow_mode_seconds;
      this.store.emit('rooms');
    }
    if (live && ev.type === 'reactions' && ev.by && ev.by !== this.me && res.message) {
      // Said, not only shown: a screen reader hears a new reaction as it hears a message.
      this.announcer.say(`${this.store.displayName(ev.by)} reageerde in ${room?.name ?? slug}.`);
    }
    const arrived = res.kind === 'added' || res.kind === 'beyond';
    if (arrived && res.message && t.typing.delete(res.message.author.username)) {
      // Their message is here: they stopped typing.
      this.store.emit(`typing:${slug}`);
    }
    // Said once: a window that reaches the newest again replays what was noted meanwhile.
    const fresh = live && !t.noted.delete(Number(ev.seq));
    if (res.kind === 'beyond') {
      if (t.noted.size >= BACKFILL_PAGE) t.noted.clear();
      t.noted.add(Number(ev.seq));
    }
    if (arrived && res.message && fresh) {
      const fromMe = res.message.author.username === this.me;
      if (fromMe) clearDraftOf(slug, res.message.body ?? '');
      if (!fromMe && !res.message.hidden) {
        this.announcer.message(room?.name ?? slug, res.message.author.display_name ?? res.message.author.username, res.message.body ?? '');
        if (room) room.unread += 1;
        this.store.emit('rooms');
      }
    }
    // History pages are announced once per page by the caller ('reset', 'prepend'), so an
    // older message never counts as "new below".
    if (live) this.store.emit(`timeline:${slug}`, { kind: res.kind, message: res.message, type: ev.type, event: ev });
    if (res.gap && live && !this.subscribing.has(slug)) this.backfill(slug, Number(ev.seq) - 1);
  }

  /** Recount the unread messages of a loaded room from its timeline. @param {string} slug */
  recountOpen(slug) {
    const room = this.store.rooms.get(slug);
    const t = this.store.timelines.get(slug);
    // Short of the newest, the server's count stands (refreshed on `read` frames).
    if (!room || !t?.loaded || t.hasMoreAfter) return;
    if (t.firstSeq === null || room.read_seq >= t.firstSeq - 1) {
      room.unread = t.unreadAfter(room.read_seq, this.me);
      this.store.emit('rooms');
    }
  }

  // ---- frames ----------------------------------------------------------------

  /** @param {any} f */
  onFrame(f) {
    // Room state (roomstate.js) follows `subscribed`, `muted`, `ack` and `removed` here.
    this.store.emit('frame', f);
    switch (f.type) {
      case 'activity': return this.activity.onFrame(f);
      case 'hello': return this.onHello(f);
      case 'subscribed': return this.onSubscribed(f);
      case 'ack': return this.onAck(f);
      case 'typing': return this.onTyping(f);
      case 'presence': return this.onPresence(f);
      case 'read': return this.onRead(f);
      case 'removed': return this.onRemoved(f);
      case 'error': return this.onError(f);
      case 'pong': return undefined;
      case 'mention': return this.onMention(f);
      case 'notice':
        this.store.emit('notice', f);
        this.store.emit('meeting', f);
        return undefined;
      case 'room_added': return this.refreshRooms().catch(() => {});
      default:
        if (f.type === 'meeting_changed' || f.type === 'meeting_updated') this.store.emit('meeting', f);
        if (typeof f.room === 'string' && f.seq !== undefined && this.store.timelines.get(f.room)?.loaded) {
          this.applyEvent(f.room, f, true);
        } else if (typeof f.room === 'string' && f.type === 'message' && f.author?.username !== this.me) {
          if (this.activity.count(f.room, Number(f.seq), false, true)) this.store.emit('rooms');
        }
    }
    return undefined;
  }

  /** @param {any} f */
  onHello(f) {
    this.conn.markHealthy();
    this.connEpoch += 1;
    this.ready = true;
    this.subscribing.clear();
    if (f.user) this.store.setUser({ ...this.store.user, ...f.user });
    if (Array.isArray(f.rooms)) {
      const unknown = f.rooms.some((/** @type {any} */ r) => !this.store.rooms.has(r.slug));
      this.store.mergeRooms(f.rooms, false);
      this.activity.listed(f.rooms);
      if (unknown || f.rooms.length !== this.store.rooms.size) this.refreshRooms().catch(() => {});
    }
    if (this.openSlug) {
      this.subscribe(this.openSlug);
      this.recountOpen(this.openSlug);
    }
    for (const [room, seq] of this.readToSend) {
      if (this.conn.send({ type: 'read', room, seq })) this.readToSend.delete(room);
    }
    this.resendPending(true);
  }

  /** @param {any} f */
  onSubscribed(f) {
    const slug = f.room;
    this.subscribing.delete(slug);
    const t = this.store.timelines.get(slug);
    if (!t) return;
    if (f.reset) {
      // The room was restored from a backup: what this tab holds past last_seq is not the
      // room's any more. Read the room again from the server; live events follow on.
      t.clear();
      this.loadInitial(slug).then(() => this.store.emit(`timeline:${slug}`, { kind: 'subscribed' }));
      return;
    }
    if (t.hasMoreAfter) {
      // Live events only: the history after the window loads as one scrolls.
    } else if (f.truncated && typeof f.first_seq === 'number') {
      this.backfill(slug, f.first_seq - 1);
    } else if (typeof f.last_seq === 'number' && t.lastSeq < f.last_seq) {
      this.backfill(slug, f.last_seq);
    }
    this.store.emit(`timeline:${slug}`, { kind: 'subscribed' });
  }

  /** @param {any} f */
  onAck(f) {
    // The server has the message: the outbox need not keep it, whichever room shows it.
    if (typeof f.client_id === 'string') drop(this.me, f.client_id);
    for (const t of this.store.timelines.values()) {
      const sent = t.pending.get(f.client_id);
      if (t.acknowledge(f)) {
        // The draft was this message: durable now, so the draft goes (docs/conversations.md).
        if (sent) clearDraftOf(t.slug, sent.body);
        this.store.emit(`timeline:${t.slug}`, { kind: 'pending' });
        return;
      }
    }
  }

  /** @param {any} f */
  onTyping(f) {
    const t = this.store.timelines.get(f.room);
    const who = typeof f.user === 'string' ? f.user : f.user?.username;
    if (!t || !who || who === this.me) return;
    if (typeof f.user === 'object') this.store.remember(f.user);
    t.typing.set(who, Date.now() + TYPING_SHOWN_MS);
    this.store.emit(`typing:${f.room}`);
  }

  /** Someone wrote @me (this server's extra frame). @param {any} f */
  onMention(f) {
    const room = this.store.rooms.get(f.room);
    const who = f.author?.display_name ?? f.author?.username ?? 'Iemand';
    const t = this.store.timelines.get(f.room);
    const seen = this.openSlug === f.room && t?.loaded && document.visibilityState === 'visible';
    if (room && !seen && this.openSlug === f.room) {
      room.unread_mentions = (room.unread_mentions ?? 0) + 1;
      this.store.emit('rooms');
    } else if (room && !seen && this.activity.count(f.room, Number(f.message_seq), true, true)) {
      // Counted once with the room's `activity` frame, whichever comes first.
      this.store.emit('rooms');
    }
    this.announcer.say(`${who} noemde je in ${room?.name ?? f.room}.`);
  }

  /** @param {any} f */
  onPresence(f) {
    const t = this.store.timelines.get(f.room);
    if (!t || !Array.isArray(f.online)) return;
    t.online = f.online.map((/** @type {any} */ u) => (typeof u === 'string' ? u : u.username));
    this.store.emit(`presence:${f.room}`);
  }

  /** Another tab (or this one) moved the read marker. @param {any} f */
  onRead(f) {
    const room = this.store.rooms.get(f.room);
    if (!room) return;
    const seq = Number(f.seq);
    if (seq > room.read_seq) room.read_seq = seq;
    if (room.read_seq >= room.last_seq) room.unread_mentions = 0;
    this.activity.read(f.room);
    const t = this.store.timelines.get(f.room);
    // Only the open room's timeline is current; a closed one stopped at its unsubscribe.
    if (t?.loaded && this.openSlug === f.room && !t.hasMoreAfter) this.recountOpen(f.room);
    else if (room.read_seq >= room.last_seq) room.unread = 0;
    else this.refreshRooms().catch(() => {});
    this.store.emit('rooms');
    this.store.emit(`read:${f.room}`, { seq: room.read_seq });
  }

  /** @param {any} f */
  onRemoved(f) {
    const t = this.store.timelines.get(f.room);
    if (t) t.removedReason = f.reason ?? 'removed';
    this.subscribing.delete(f.room);
    this.store.rooms.delete(f.room);
    this.store.emit('rooms');
    this.store.emit(`removed:${f.room}`, { reason: f.reason });
  }

  /** @param {any} f */
  onError(f) {
    const ref = typeof f.ref === 'string' ? f.ref : null;
    if (ref) {
      for (const t of this.store.timelines.values()) {
        const p = t.pending.get(ref);
        if (!p) continue;
        if (f.code === 'rate_limited' || f.code === 'internal') {
          // Sent again by itself later, with the same client_id (the server dedupes); slow
          // mode answers like this too. Not an error the user has to act on.
          const waitMs = (Number(f.retry_after) || 2) * 1000;
          p.sentAt = Date.now() + Math.max(0, waitMs - RESEND_AFTER_MS);
          p.retryAt = Date.now() + waitMs;
          this.store.emit(`timeline:${t.slug}`, { kind: 'pending' });
          return;
        }
        p.status = 'failed';
        p.error = f.code;
        this.store.emit(`timeline:${t.slug}`, { kind: 'pending' });
        this.store.emit('error', { code: f.code, retryAfter: f.retry_after, room: t.slug });
        return;
      }
      const ctx = this.refs.get(ref);
      this.refs.delete(ref);
      this.store.emit('error', { code: f.code, retryAfter: f.retry_after, room: ctx?.room ?? null });
      return;
    }
    this.store.emit('error', { code: f.code, retryAfter: f.retry_after, room: f.room ?? null });
  }

  // ---- user actions ----------------------------------------------------------

  /**
   * Post a message: shown at once as pending, sent now or after the next reconnect.
   * @param {string} slug
   * @param {string} body
   * @param {string|number|null} replyTo
   * @param {number[]} [files] ids of uploaded attachments
   * @param {string|null} [topic]
   */
  send(slug, body, replyTo, files = [], topic = null) {
    const t = this.store.timeline(slug);
    const clientId = newClientId();
    /** @type {import('./store.js').Pending} */
    const p = { client_id: clientId, room: slug, body, reply_to: replyTo, topic, status: 'pending', error: null, sentAt: 0, files };
    t.pending.set(clientId, p);
    // Kept in the outbox, the message survives a reload: the draft it came from can go.
    if (keep(this.me, p)) clearDraftOf(slug, body);
    this.transmit(p);
    this.store.emit(`timeline:${slug}`, { kind: 'pending' });
  }

  /** @param {import('./store.js').Pending} p */
  transmit(p) {
    /** @type {Record<string, unknown>} */
    const frame = { type: 'send', room: p.room, body: p.body, client_id: p.client_id, ref: p.client_id };
    if (p.reply_to !== null) frame.reply_to = p.reply_to;
    if (p.files?.length) frame.files = p.files;
    if (p.topic) frame.topic = p.topic;
    p.sentAt = Date.now();
    this.conn.send(frame);
  }

  /** @param {boolean} all resend everything pending (new connection) */
  resendPending(all) {
    const now = Date.now();
    for (const t of this.store.timelines.values()) {
      for (const p of t.pending.values()) {
        if (p.status !== 'pending' || p.seq !== undefined) continue;
        if (all || now - p.sentAt >= RESEND_AFTER_MS) this.transmit(p);
      }
    }
  }

  /** @param {string} slug @param {string} clientId */
  retryPending(slug, clientId) {
    const p = this.store.timeline(slug).pending.get(clientId);
    if (!p) return;
    p.status = 'pending';
    p.error = null;
    this.transmit(p);
    this.store.emit(`timeline:${slug}`, { kind: 'pending' });
  }

  /** @param {string} slug @param {string} clientId */
  discardPending(slug, clientId) {
    this.store.timeline(slug).pending.delete(clientId);
    drop(this.me, clientId);
    this.store.emit(`timeline:${slug}`, { kind: 'pending' });
  }

  /**
   * @param {string} action
   * @param {string} slug
   * @param {Record<string, unknown>} frame
   * @returns {boolean} false when offline
   */
  request(action, slug, frame) {
    const ref = `${action[0]}${newClientId().slice(0, 20)}`;
    this.refs.set(ref, { room: slug, action });
    if (this.refs.size > 200) this.refs.delete(this.refs.keys().next().value ?? '');
    return this.conn.send({ ...frame, ref });
  }

  /** @param {string} slug @param {string|number} messageId @param {string} body */
  edit(slug, messageId, body) {
    return this.request('edit', slug, { type: 'edit', room: slug, message_id: messageId, body });
  }

  /** @param {string} slug @param {string|number} messageId @param {string} emoji @param {boolean} on */
  react(slug, messageId, emoji, on) {
    return this.request('react', slug, { type: 'react', room: slug, message_id: messageId, emoji, on });
  }

  /** @param {string} slug @param {string|number} messageId */
  retract(slug, messageId) {
    return this.request('retract', slug, { type: 'retract', room: slug, message_id: messageId });
  }

  /** @param {string} slug */
  typing(slug) {
    const now = Date.now();
    if (now - (this.typingSentAt.get(slug) ?? 0) < TYPING_EVERY_MS) return;
    this.typingSentAt.set(slug, now);
    this.conn.send({ type: 'typing', room: slug });
  }

  /**
   * Move the read marker forward (never back); other tabs follow through `read` frames.
   * @param {string} slug
   * @param {number} seq
   */
  markRead(slug, seq) {
    const room = this.store.rooms.get(slug);
    if (!room || seq <= room.read_seq) return;
    room.read_seq = seq;
    if (seq >= room.last_seq) room.unread_mentions = 0;
    this.activity.read(slug);
    this.recountOpen(slug);
    if (this.conn.send({ type: 'read', room: slug, seq })) this.readToSend.delete(slug);
    else this.readToSend.set(slug, seq);
    this.store.emit('rooms');
  }

  onTick() {
    const now = Date.now();
    if (this.conn.state === 'open') this.resendPending(false);
    for (const t of this.store.timelines.values()) {
      let changed = false;
      for (const [who, until] of t.typing) {
        if (until <= now) {
          t.typing.delete(who);
          changed = true;
        }
      }
      if (changed) this.store.emit(`typing:${t.slug}`);
    }
  }
}
