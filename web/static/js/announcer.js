/**
 * Tells screen reader users about new messages through one polite live region, without
 * flooding: messages are gathered and summarised ("3 nieuwe berichten in Thema X") at
 * most once per interval.
 * @module announcer
 */
import { countMessages } from './i18n.js';

/** A burst of messages is gathered this long before the first announcement. */
const GATHER_MS = 1500;
/** At most one announcement in this interval, however busy the rooms are. */
const MIN_INTERVAL_MS = 5000;

export class Announcer {
  /** @param {HTMLElement} region an element with aria-live="polite" that stays in the page */
  constructor(region) {
    this.region = region;
    /** @type {Map<string, {n: number, author: string}>} room name -> gathered */
    this.gathered = new Map();
    this.lastAt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /**
   * A new message arrived from someone else.
   * @param {string} roomName
   * @param {string} authorName
   */
  message(roomName, authorName) {
    const g = this.gathered.get(roomName) ?? { n: 0, author: authorName };
    g.n += 1;
    g.author = authorName;
    this.gathered.set(roomName, g);
    this.schedule();
  }

  /**
   * Say something now (e.g. the result of an action), still through the polite region.
   * @param {string} text
   */
  say(text) {
    this.region.textContent = '';
    // A fresh text node after clearing makes screen readers announce repeated texts too.
    setTimeout(() => { this.region.textContent = text; }, 50);
  }

  schedule() {
    if (this.timer) return;
    const wait = Math.max(GATHER_MS, this.lastAt + MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = undefined;
    if (!this.gathered.size) return;
    const parts = [];
    for (const [room, g] of this.gathered) {
      parts.push(g.n === 1 ? `Nieuw bericht van ${g.author} in ${room}.` : `${countMessages(g.n)} in ${room}.`);
    }
    this.gathered.clear();
    this.lastAt = Date.now();
    this.say(parts.slice(0, 3).join(' ') + (parts.length > 3 ? ` En in ${parts.length - 3} andere gesprekken.` : ''));
  }
}
