/**
 * Room events the timeline draws as a line between the messages (they are no message):
 * today `meeting_report_published`, with a link to the meeting's page and its verslag.
 * The store keeps them by seq (`Timeline.lines`); the room view asks for the lines
 * before each message it places.
 * @module views/eventline
 */
import { h } from '../dom.js';
import { meetingHref } from '../meeting.js';

/**
 * An article, as a feed may own articles only (its link would otherwise be an owned child
 * axe refuses); the arrow keys reach it like a message.
 * @param {any} ev
 */
function lineEl(ev) {
  return h('article', { class: 'event-line', 'data-seq': String(ev.seq), 'data-type': ev.type, 'aria-label': 'Verslag gepubliceerd' },
    h('p', {}, 'Het verslag van ', h('a', { href: meetingHref(String(ev.meeting)), text: String(ev.title ?? ev.meeting) }),
      ' is gepubliceerd.'));
}

export class EventLines {
  /** @param {import('../store.js').Timeline} t */
  constructor(t) {
    this.t = t;
    /** @type {Map<number, HTMLElement>} */
    this.els = new Map();
    /** @type {any[]} */
    this.queue = [];
  }

  /** Start a pass over the timeline in seq order. */
  start() {
    this.queue = [...this.t.lines.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The lines of this pass with a seq below `seq` (Infinity: the rest). @param {number} seq */
  before(seq) {
    /** @type {HTMLElement[]} */
    const out = [];
    while (this.queue.length && this.queue[0].seq < seq) {
      const ev = this.queue.shift();
      let el = this.els.get(ev.seq);
      if (!el) {
        el = lineEl(ev);
        this.els.set(ev.seq, el);
      }
      out.push(el);
    }
    return out;
  }
}
