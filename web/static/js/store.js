/**
 * What the client knows, kept in memory only: the signed-in user, the rooms with their
 * unread counts, and per room a timeline of messages in seq order. Applying events is
 * idempotent: an event whose seq was seen before changes nothing, so replays after a
 * reconnect or an overlapping page of history never show a message twice.
 * @module store
 */

/**
 * @typedef {{username: string, display_name?: string, organisation?: string, layer?: string, role?: string}} User
 * @typedef {{slug: string, name: string, kind: string, topic: string|null, last_seq: number, read_seq: number, unread: number, locked: boolean, archived: boolean, can_moderate: boolean, slow_mode_seconds: number|null, unread_mentions: number}} Room
 * @typedef {string|number} MessageId
 * @typedef {{message_id: MessageId, seq: number, author: User, body: string|null, html?: string|null, created_at: string, edited_at: string|null, hidden: boolean, hidden_by: string|null, hidden_reason: string|null, retracted: boolean|null, client_id: string|null, reply_to: MessageId|null, mark?: {kind: string, owner: string|null, due: string|null, status?: string|null, answered?: boolean}|null, topic?: string|null, reactions?: Record<string, string[]>, files?: import('./upload.js').FileInfo[]}} Message
 * @typedef {{client_id: string, room: string, body: string, reply_to: MessageId|null, topic?: string|null, status: 'pending'|'failed', error: string|null, sentAt: number, retryAt?: number, seq?: number, message_id?: MessageId, files?: number[]}} Pending
 */

/** A minimal event emitter: `on` returns an unsubscribe function. */
export class Emitter {
  constructor() {
    /** @type {Map<string, Set<(detail: any) => void>>} */
    this.handlers = new Map();
  }

  /** @param {string} name @param {(detail: any) => void} fn */
  on(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name)?.add(fn);
    return () => this.handlers.get(name)?.delete(fn);
  }

  /** @param {string} name @param {any} [detail] */
  emit(name, detail) {
    for (const fn of [...(this.handlers.get(name) ?? [])]) fn(detail);
  }
}

/** The messages of one room, ordered by seq, with the bookkeeping for gap-free sync. */
export class Timeline {
  /** @param {string} slug */
  constructor(slug) {
    this.slug = slug;
    /** Highest seq up to which every event has been applied; `since` on subscribe. */
    this.lastSeq = 0;
    /** Lowest seq loaded so far (null: nothing loaded). */
    this.firstSeq = /** @type {number|null} */ (null);
    this.hasMoreBefore = true;
    /** The held range stops short of the room's newest event: live messages are only noted. */
    this.hasMoreAfter = false;
    this.loaded = false;
    /** Seqs of live messages announced while past the window: their replay is not said again. @type {Set<number>} */
    this.noted = new Set();
    /** @type {Set<number>} */
    this.seen = new Set();
    /** Keyed by String(message_id): the wire may use numbers. @type {Map<string, Message>} */
    this.byId = new Map();
    /** @type {Message[]} ascending seq */
    this.messages = [];
    /** @type {Map<string, Pending>} */
    this.pending = new Map();
    /** @type {string[]} */
    this.online = [];
    /** @type {Map<string, number>} username -> time the indicator expires */
    this.typing = new Map();
    /** Set when access was lost (`removed`). */
    this.removedReason = /** @type {string|null} */ (null);
    /** Events drawn as a line between messages (views/eventline.js), by seq. @type {Map<number, any>} */
    this.lines = new Map();
  }

  /** Forget every event held (the server's database was restored: `subscribed.reset`). */
  clear() {
    this.lastSeq = 0;
    this.firstSeq = null;
    this.hasMoreBefore = true;
    this.hasMoreAfter = false;
    this.loaded = false;
    this.seen.clear();
    this.byId.clear();
    this.messages = [];
    this.lines.clear();
  }

  /**
   * Mark a contiguous range as the starting point (after the first page of history).
   * @param {number} lastSeq
   */
  startAt(lastSeq) {
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    this.loaded = true;
  }

  /**
   * Apply one room event. Returns what happened so views can update. A live event past
   * the held range (`hasMoreAfter`) only changes the messages held; a message there is
   * `beyond`: noted, not kept, and fetched again when the reader scrolls down to it.
   * @param {any} ev
   * @param {boolean} [live]
   * @returns {{kind: 'added'|'changed'|'other'|'beyond', message?: Message, gap: boolean} | null} null for a duplicate
   */
  apply(ev, live = false) {
    const seq = Number(ev.seq);
    if (!Number.isInteger(seq) || seq < 1) return null;
    if (this.seen.has(seq)) return null;
    if (live && this.hasMoreAfter && seq > this.lastSeq) return this.applyBeyond(ev);
    // A late backfill below a window that moved on (trimStart): older history by now.
    if (live && this.firstSeq !== null && seq < this.firstSeq) return { ...this.applyChange(ev), gap: false };
    this.seen.add(seq);
    if (this.firstSeq === null || seq < this.firstSeq) this.firstSeq = seq;
    // A restore from a backup skipped the seqs between `after` and this event (`werkplaats
    // restore`): they hold no event, so the jump is no gap to fill.
    const after = Number(ev.after);
    if (ev.type === 'restored' && Number.isInteger(after) && this.lastSeq >= after && this.lastSeq < seq) {
      this.lastSeq = seq - 1;
    }
    const gap = seq > this.lastSeq + 1 && this.loaded;
    while (this.seen.has(this.lastSeq + 1)) this.lastSeq += 1;

    if (ev.type === 'message') return { ...this.applyMessage(ev), gap };
    if (ev.type === 'meeting_report_published') {
      this.lines.set(seq, ev);
      return { kind: 'other', gap };
    }
    return { ...this.applyChange(ev), gap };
  }

  /** @param {any} ev a live event past the held range */
  applyBeyond(ev) {
    if (ev.type !== 'message') return { ...this.applyChange(ev), gap: false };
    // Our own message is durable and shown once the reader goes there: no longer pending.
    if (ev.client_id) this.pending.delete(ev.client_id);
    const kind = /** @type {'beyond'} */ ('beyond');
    return { kind, message: toMessage(ev), gap: false };
  }

  /**
   * An event that changes a message held (edit, mark, reactions, hide) or a topic.
   * @param {any} ev
   * @returns {{kind: 'changed'|'other', message?: Message}}
   */
  applyChange(ev) {
    /** @type {{kind: 'changed'|'other', message?: Message}} */
    let result = { kind: 'other' };
    if (ev.type === 'message_edited') {
      const m = this.byId.get(String(ev.message_id));
      // A replayed edit of a message hidden since carries no body: nothing to show.
      if (m && !m.hidden && typeof ev.body === 'string') {
        m.body = ev.body;
        m.html = ev.html ?? null;
        m.edited_at = ev.edited_at ?? m.edited_at;
        result = { kind: 'changed', message: m };
      }
    } else if (ev.type === 'message_marked' || ev.type === 'message_unmarked') {
      // Marks (vraag, besluit, actiepunt) are this server's extra room events.
      const m = this.byId.get(String(ev.message_id));
      if (m) {
        // An actiepunt keeps its course when re-marked; a new one starts open.
        const status = ev.kind === 'actiepunt' ? (m.mark?.status ?? 'open') : null;
        m.mark = ev.type === 'message_marked' ? { kind: String(ev.kind), owner: ev.owner ?? null, due: ev.due ?? null, status } : null;
        result = { kind: 'changed', message: m };
      }
    } else if (ev.type === 'action_status_changed' || ev.type === 'question_answered') {
      const m = this.byId.get(String(ev.message_id));
      if (m && m.mark) {
        if (ev.type === 'question_answered') m.mark.answered = true;
        else m.mark.status = String(ev.status);
        result = { kind: 'changed', message: m };
      }
    } else if (ev.type === 'reactions') {
      // The message's whole set after the change (replayed: as it is now).
      const m = this.byId.get(String(ev.message_id));
      if (m && ev.reactions && typeof ev.reactions === 'object') {
        m.reactions = ev.reactions;
        result = { kind: 'changed', message: m };
      }
    } else if (ev.type === 'topic_renamed') {
      for (const m of this.messages) if (m.topic === ev.old) m.topic = ev.new;
    } else if (ev.type === 'message_hidden') {
      const m = this.byId.get(String(ev.message_id));
      if (m) {
        hide(m, ev.by ?? null, ev.reason ?? null);
        result = { kind: 'changed', message: m };
      }
    }
    return result;
  }

  /**
   * @param {any} ev a `message` event, live or replayed
   * @returns {{kind: 'added'|'changed', message: Message}}
   */
  applyMessage(ev) {
    const known = this.byId.get(String(ev.message_id));
    if (known) {
      // A replay shows the message as it is now: hidden wins, a later edit wins.
      if (ev.hidden) hide(known, ev.hidden_by ?? null, ev.reason ?? null);
      else if (!known.hidden && ev.edited_at && (!known.edited_at || ev.edited_at > known.edited_at)) {
        known.body = ev.body;
        known.html = ev.html ?? null;
        known.edited_at = ev.edited_at;
      }
      if (ev.reactions) known.reactions = ev.reactions;
      if (ev.topic !== undefined) known.topic = ev.topic;
      return { kind: 'changed', message: known };
    }
    const m = toMessage(ev);
    this.byId.set(String(m.message_id), m);
    insertBySeq(this.messages, m);
    if (m.client_id) this.pending.delete(m.client_id);
    return { kind: 'added', message: m };
  }

  /**
   * Drop the `count` oldest messages (the window moved down); their events go too.
   * @param {number} count
   */
  trimStart(count) {
    if (count <= 0 || count >= this.messages.length) return;
    const cut = this.messages[count].seq;
    for (const m of this.messages.splice(0, count)) this.byId.delete(String(m.message_id));
    for (const seq of this.seen) if (seq < cut) this.seen.delete(seq);
    for (const seq of this.lines.keys()) if (seq < cut) this.lines.delete(seq);
    this.firstSeq = cut;
    this.hasMoreBefore = true;
    // Cut past a gap still being filled: what is held starts at the cut, gap-free.
    if (this.lastSeq < cut - 1) this.lastSeq = cut - 1;
    while (this.seen.has(this.lastSeq + 1)) this.lastSeq += 1;
  }

  /**
   * Drop the `count` newest messages (the window moved up): the range now ends before
   * the room's newest event, and live messages are noted instead of kept.
   * @param {number} count
   */
  trimEnd(count) {
    if (count <= 0 || count >= this.messages.length) return;
    const kept = this.messages.length - count;
    const last = this.messages[kept - 1].seq;
    for (const m of this.messages.splice(kept)) this.byId.delete(String(m.message_id));
    for (const seq of this.seen) if (seq > last) this.seen.delete(seq);
    for (const seq of this.lines.keys()) if (seq > last) this.lines.delete(seq);
    this.lastSeq = last;
    this.hasMoreAfter = true;
  }

  /**
   * The server acknowledged a send: drop it from pending once its message is here.
   * @param {{client_id: string, message_id: string, seq: number}} ack
   */
  acknowledge(ack) {
    const p = this.pending.get(ack.client_id);
    if (!p) return false;
    if (this.byId.has(String(ack.message_id)) || this.seen.has(Number(ack.seq))) {
      this.pending.delete(ack.client_id);
    } else {
      // Durable, but its `message` event has not arrived yet: keep showing it until then.
      p.seq = Number(ack.seq);
      p.message_id = ack.message_id;
    }
    return true;
  }

  /** The seq of the newest message, 0 if none. */
  newestMessageSeq() {
    return this.messages.length ? this.messages[this.messages.length - 1].seq : 0;
  }

  /**
   * Messages after a read marker not written by `me`.
   * @param {number} readSeq
   * @param {string} me
   */
  unreadAfter(readSeq, me) {
    let n = 0;
    for (let i = this.messages.length - 1; i >= 0 && this.messages[i].seq > readSeq; i -= 1) {
      const m = this.messages[i];
      if (!m.hidden && m.author.username !== me) n += 1;
    }
    return n;
  }
}

/**
 * A message as held, from its `message` event.
 * @param {any} ev
 * @returns {Message}
 */
function toMessage(ev) {
  return {
    message_id: ev.message_id,
    seq: Number(ev.seq),
    author: ev.author ?? { username: '?' },
    body: ev.hidden ? null : (ev.body ?? ''),
    html: ev.hidden ? null : (ev.html ?? null),
    created_at: ev.created_at,
    edited_at: ev.edited_at ?? null,
    hidden: Boolean(ev.hidden),
    hidden_by: ev.hidden_by ?? null,
    hidden_reason: null,
    retracted: typeof ev.retracted === 'boolean' ? ev.retracted : null,
    client_id: ev.client_id ?? null,
    reply_to: ev.reply_to ?? null,
    files: Array.isArray(ev.files) ? ev.files : [],
    topic: ev.topic ?? null,
    reactions: ev.reactions ?? {},
  };
}

/**
 * @param {Message} m
 * @param {string|null} by
 * @param {string|null} reason
 */
function hide(m, by, reason) {
  m.hidden = true;
  m.body = null;
  m.html = null;
  // Its reactions go with its text (the server replays none for a hidden message).
  m.reactions = {};
  if (by) {
    m.hidden_by = by;
    m.retracted = by === m.author.username;
  }
  if (reason) m.hidden_reason = reason;
}

/**
 * Insert keeping ascending seq; nearly always at the end.
 * @param {Message[]} list
 * @param {Message} m
 */
function insertBySeq(list, m) {
  let i = list.length;
  while (i > 0 && list[i - 1].seq > m.seq) i -= 1;
  list.splice(i, 0, m);
}

/** The whole client state. */
export class Store extends Emitter {
  constructor() {
    super();
    /** @type {User|null} */
    this.user = null;
    /** @type {Map<string, Room>} */
    this.rooms = new Map();
    /** @type {Map<string, Timeline>} */
    this.timelines = new Map();
    /** Display data of everyone seen, for typing and presence lines. @type {Map<string, User>} */
    this.people = new Map();
  }

  /** @param {User|null} user */
  setUser(user) {
    this.user = user;
    if (user) this.people.set(user.username, user);
    this.emit('user', user);
  }

  isStaff() {
    return this.user?.role === 'moderator' || this.user?.role === 'admin';
  }

  /** @param {string} slug */
  mayModerate(slug) {
    return this.isStaff() || Boolean(this.rooms.get(slug)?.can_moderate);
  }

  /**
   * Merge room data from `GET /api/rooms` (full: rooms missing from it are gone) or
   * from `hello` (which lacks names).
   * @param {any[]} list
   * @param {boolean} full
   */
  mergeRooms(list, full) {
    const slugs = new Set();
    for (const r of list) {
      slugs.add(r.slug);
      const old = this.rooms.get(r.slug);
      /** @type {Room} */
      const room = {
        slug: r.slug,
        name: r.name ?? old?.name ?? r.slug,
        kind: r.kind ?? old?.kind ?? 'theme',
        topic: r.topic !== undefined ? r.topic : (old?.topic ?? null),
        last_seq: Math.max(Number(r.last_seq ?? 0), old?.last_seq ?? 0),
        read_seq: Math.max(Number(r.read_seq ?? 0), old?.read_seq ?? 0),
        unread: Number(r.unread ?? old?.unread ?? 0),
        locked: r.locked !== undefined ? Boolean(r.locked) : (old?.locked ?? false),
        archived: r.archived !== undefined ? Boolean(r.archived) : (old?.archived ?? false),
        can_moderate: r.can_moderate !== undefined ? Boolean(r.can_moderate) : (old?.can_moderate ?? false),
        slow_mode_seconds: typeof r.slow_mode_seconds === 'number' ? r.slow_mode_seconds : (old?.slow_mode_seconds ?? null),
        unread_mentions: typeof r.unread_mentions === 'number' ? r.unread_mentions : (old?.unread_mentions ?? 0),
      };
      this.rooms.set(r.slug, room);
    }
    if (full) {
      for (const slug of [...this.rooms.keys()]) if (!slugs.has(slug)) this.rooms.delete(slug);
    }
    this.emit('rooms');
  }

  /** @param {string} slug */
  timeline(slug) {
    let t = this.timelines.get(slug);
    if (!t) {
      t = new Timeline(slug);
      this.timelines.set(slug, t);
    }
    return t;
  }

  /** @param {User} author */
  remember(author) {
    if (author?.username && author.display_name) this.people.set(author.username, author);
  }

  /** @param {string} username */
  displayName(username) {
    return this.people.get(username)?.display_name ?? username;
  }

  clear() {
    this.user = null;
    this.rooms.clear();
    this.timelines.clear();
    this.emit('rooms');
  }
}
