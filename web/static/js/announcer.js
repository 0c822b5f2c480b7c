/**
 * Tells screen reader users about new messages through one polite live region, without
 * flooding: a lone message is read with its text ("Bram Peeters in Thema X: …"), a burst
 * is gathered and summarised ("3 nieuwe berichten in Thema X"), at most once per interval.
 * @module announcer
 */
import { excerpt } from './format.js';
import { countMessages } from './i18n.js';

/** A long message is cut here: the rest is in the list, one arrow key away. */
const MAX_SPOKEN_CHARS = 240;

/** A burst of messages is gathered this long before the first announcement. */
const GATHER_MS = 1500;
/** At most one announcement in this interval, however busy the rooms are. */
const MIN_INTERVAL_MS = 5000;

export class Announcer {
  /** @param {HTMLElement} region an element with aria-live="polite" that stays in the page */
  constructor(region) {
    this.region = region;
    /** @type {Map<string, {n: number, author: string, text: string}>} room name -> gathered */
    this.gathered = new Map();
    this.lastAt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /**
   * A new message arrived from someone else.
   * @param {string} roomName
   * @param {string} authorName
   * @param {string} [text] what it says (Markdown source; read as it stands)
   */
  message(roomName, authorName, text = '') {
    const g = this.gathered.get(roomName) ?? { n: 0, author: authorName, text: '' };
    g.n += 1;
    g.author = authorName;
    g.text = excerpt(text, MAX_SPOKEN_CHARS);
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
      if (g.n > 1) parts.push(`${countMessages(g.n)} in ${room}.`);
      else parts.push(g.text ? `${g.author} in ${room}: ${g.text}` : `Nieuw bericht van ${g.author} in ${room}.`);
    }
    this.gathered.clear();
    this.lastAt = Date.now();
    this.say(parts.slice(0, 3).join(' ') + (parts.length > 3 ? ` En in ${parts.length - 3} andere gesprekken.` : ''));
  }
}
