/**
 * Live unread and mention counts of the rooms that are not open: the server's `activity`
 * frames (docs/protocol.md, "Live room activity") list the seqs of new messages by others
 * and of those that mention me. Each seq is counted once, whatever the order and however
 * often it arrives (an `activity` frame, a `mention` frame, a room list read before or
 * after it): the room list counts up to its `last_seq`, this module what came after.
 * @module activity
 */

/** Seqs remembered per room above its read marker; more and the room list is read again. */
const MAX_COUNTED = 2000;
/** At most one room list read for `resync` (or an unknown room) in this time. */
const RESYNC_GAP_MS = 5000;

export class Activity {
  /**
   * @param {import('./store.js').Store} store
   * @param {() => Promise<unknown>} refreshRooms read the room list again
   */
  constructor(store, refreshRooms) {
    this.store = store;
    this.refreshRooms = refreshRooms;
    /** slug -> seq -> whether it mentions me. @type {Map<string, Map<number, boolean>>} */
    this.counted = new Map();
    /** slug -> the `last_seq` up to which a room list or a loaded timeline counted. @type {Map<string, number>} */
    this.base = new Map();
    this.lastResync = 0;
  }

  /**
   * A room list (`hello`, GET /api/rooms) was merged: its counts hold up to each room's
   * `last_seq`; add back what was counted after it.
   * @param {any[]} list
   */
  listed(list) {
    for (const r of list) {
      const room = this.store.rooms.get(r.slug);
      const seqs = this.counted.get(r.slug);
      const upto = Number(r.last_seq ?? 0);
      this.base.set(r.slug, upto);
      if (!room || !seqs) continue;
      for (const [seq, mention] of [...seqs]) {
        if (seq <= upto || seq <= room.read_seq) {
          seqs.delete(seq);
        } else {
          room.unread += 1;
          if (mention) room.unread_mentions += 1;
        }
      }
    }
    this.store.emit('rooms');
  }

  /** @param {any} f an `activity` frame */
  onFrame(f) {
    const room = this.store.rooms.get(f.room);
    if (!room || f.resync) {
      this.resync();
      return;
    }
    const mentions = new Set(Array.isArray(f.mentions) ? f.mentions.map(Number) : []);
    for (const seq of Array.isArray(f.unread) ? f.unread.map(Number) : []) {
      this.count(f.room, seq, mentions.has(seq), true);
    }
    room.last_seq = Math.max(room.last_seq, Number(f.last_seq) || 0);
    this.store.emit('rooms');
  }

  /**
   * Count a message of a room that is not open: unread (unless `unread` is false) and,
   * when it names me, a mention. Returns whether anything changed.
   * @param {string} slug
   * @param {number} seq
   * @param {boolean} mention
   * @param {boolean} unread
   */
  count(slug, seq, mention, unread) {
    const room = this.store.rooms.get(slug);
    const t = this.store.timelines.get(slug);
    const base = Math.max(this.base.get(slug) ?? 0, t?.loaded ? t.lastSeq : 0);
    if (!room || !Number.isInteger(seq) || seq <= room.read_seq || seq <= base) return false;
    let seqs = this.counted.get(slug);
    if (!seqs) this.counted.set(slug, (seqs = new Map()));
    const known = seqs.get(seq);
    if (known === undefined) {
      seqs.set(seq, mention);
      if (unread) room.unread += 1;
      if (mention) room.unread_mentions += 1;
      room.last_seq = Math.max(room.last_seq, seq);
      if (seqs.size > MAX_COUNTED) this.resync();
      return true;
    }
    if (mention && !known) {
      seqs.set(seq, true);
      room.unread_mentions += 1;
      return true;
    }
    return false;
  }

  /** The read marker moved: forget what lies before it. @param {string} slug */
  read(slug) {
    const room = this.store.rooms.get(slug);
    const seqs = this.counted.get(slug);
    if (!room || !seqs) return;
    for (const seq of [...seqs.keys()]) if (seq <= room.read_seq) seqs.delete(seq);
  }

  /** The counts are unknown (too many, an unknown room): read the room list, not too often. */
  resync() {
    const now = Date.now();
    if (now - this.lastResync < RESYNC_GAP_MS) return;
    this.lastResync = now;
    this.refreshRooms().catch(() => { /* the next hello brings the list */ });
  }

  clear() {
    this.counted.clear();
    this.base.clear();
  }
}
