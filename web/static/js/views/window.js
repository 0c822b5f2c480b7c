/**
 * The room's timeline as a window of messages (`WINDOW` in sync.js): which end goes when
 * it is full, the message on screen kept in place while others come and go above it, the
 * pages towards the newest, and the button that notes live messages past the window.
 * @module views/window
 */
import { h } from '../dom.js';
import { countMessages, errorText } from '../i18n.js';
import { WINDOW } from '../sync.js';

/** @typedef {{el: HTMLElement, offset: number}} Anchor */

export class MessageWindow {
  /**
   * @param {{
   *   timeline: HTMLElement,
   *   list: HTMLElement,
   *   t: import('../store.js').Timeline,
   *   sync: import('../sync.js').Sync,
   *   slug: string,
   *   articles: () => HTMLElement[],
   *   notice: (text: string) => void,
   *   toEnd: (focus: boolean) => void,
   * }} o timeline: the scroll box; list: the feed; articles: the messages drawn;
   *   toEnd: go to the newest message
   */
  constructor(o) {
    this.o = o;
    this.t = o.t;
    /** Live messages not in view (below it, or past the window). */
    this.newBelow = 0;
    this.loadingNewer = false;
    /** Pages on their way: the list is aria-busy while there are any. */
    this.pending = 0;
    this.button = h('button', { type: 'button', class: 'btn new-below', text: '↓ Nieuwe berichten', hidden: true, onclick: () => o.toEnd(true) });
  }

  /**
   * The list is busy (aria-busy) while a page or a new window loads.
   * @template T
   * @param {Promise<T>} work
   */
  async busy(work) {
    this.pending += 1;
    this.o.list.setAttribute('aria-busy', 'true');
    try {
      return await work;
    } finally {
      this.pending -= 1;
      if (!this.pending) this.o.list.removeAttribute('aria-busy');
    }
  }

  /**
   * The first message on screen and its place, to keep it there while messages come
   * and go above it.
   * @returns {Anchor|null}
   */
  anchor() {
    const top = this.o.timeline.scrollTop;
    for (const el of this.o.articles()) {
      if (el.offsetTop + el.offsetHeight > top) return { el, offset: el.offsetTop - top };
    }
    return null;
  }

  /** @param {Anchor|null} anchor */
  restore(anchor) {
    if (anchor?.el.isConnected) this.o.timeline.scrollTop = anchor.el.offsetTop - anchor.offset;
  }

  /**
   * A live message took the window over its size: the end farthest from what is on
   * screen goes. Reading the lower half (or following the end) the oldest go; reading
   * far up, the newest go and are only noted (the button fetches them again).
   * @param {Anchor|null} anchor @param {boolean} following at the end, or one's own message
   */
  fit(anchor, following) {
    const excess = this.t.messages.length - WINDOW;
    if (excess <= 0) return;
    const middle = this.t.messages[Math.floor(this.t.messages.length / 2)].seq;
    const lower = !anchor || Number(anchor.el.dataset.seq) >= middle;
    if (following || lower) this.t.trimStart(excess);
    else this.t.trimEnd(excess);
  }

  /** @param {number} n live messages noted that are not in view */
  note(n) {
    this.newBelow += n;
    this.render();
  }

  /** Seen to the end: nothing new below. */
  caughtUp() {
    this.newBelow = 0;
    this.render();
  }

  /** The button to the newest: with the count of new messages, or the way back down. */
  render() {
    this.button.textContent = this.newBelow > 0 ? `↓ ${countMessages(this.newBelow)}` : 'Naar nieuwste ↓';
    this.button.hidden = !(this.newBelow > 0 || (this.t.loaded && this.t.hasMoreAfter));
  }

  /** The next page towards the newest (scrolled or arrowed to the window's end). */
  async newer() {
    if (this.loadingNewer || !this.t.hasMoreAfter || !this.t.loaded) return;
    this.loadingNewer = true;
    try {
      await this.busy(this.o.sync.loadNewer(this.o.slug));
    } catch (err) {
      this.o.notice(errorText(/** @type {any} */ (err).code ?? 'network'));
    } finally {
      this.loadingNewer = false;
    }
  }

  /** Hold the newest page again; false when that failed (said in the notice). */
  async newest() {
    if (this.loadingNewer) return false;
    this.loadingNewer = true;
    try {
      await this.busy(this.o.sync.loadNewest(this.o.slug));
      return true;
    } catch (err) {
      this.o.notice(errorText(/** @type {any} */ (err).code ?? 'network'));
      return false;
    } finally {
      this.loadingNewer = false;
    }
  }
}
