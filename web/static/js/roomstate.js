/**
 * What the open room allows me now, said in Dutch above the message box: removed
 * (banned, no longer in the team), archived, locked, muted (until when), slow mode (with
 * a countdown after my own message). The box and the actions that would fail are not
 * offered. The server says my own state in `subscribed` (`muted_until`,
 * `slow_mode_seconds`), and when it changes in `muted` and `room_updated`
 * (docs/protocol.md, "Room state").
 * @module roomstate
 */
import { formatDateTime } from './format.js';

/** Why `removed` came, as the server names it (access_changes.py, moderation.py). @type {Record<string, string>} */
const REMOVED = {
  banned: 'Je bent uit deze kamer verbannen: je kunt hier niet meer lezen of schrijven.',
  membership_ended: 'Je bent geen lid meer van het team van dit gebied: je kunt hier niet meer lezen of schrijven.',
  moderator_role_ended: 'Je bent geen moderator meer van deze kamer: je kunt hier niet meer lezen of schrijven.',
  role_changed: 'Je rol is gewijzigd: je kunt in deze kamer niet meer lezen of schrijven.',
  archived: 'Deze kamer is gearchiveerd: je hebt er geen toegang meer toe.',
};
const REMOVED_OTHER = 'Je hebt geen toegang meer tot deze kamer.';

/** @param {string|null|undefined} reason the `removed` frame's reason */
export function removedText(reason) {
  return (reason && REMOVED[reason]) || REMOVED_OTHER;
}

/** @param {number} n */
function seconds(n) {
  return n === 1 ? '1 seconde' : `${n} seconden`;
}

export class RoomState {
  /**
   * @param {{slug: string, store: import('./store.js').Store, t: import('./store.js').Timeline, composer: import('./views/composer.js').Composer, announcer: import('./announcer.js').Announcer, refreshMessage: (m: import('./store.js').Message) => void}} view
   */
  constructor(view) {
    this.view = view;
    /** @type {{until: string, reason: string|null}|null} */
    this.muted = null;
    /** Seconds between two messages (0: off); null until the server said it. @type {number|null} */
    this.slow = null;
    /** When I may post again under slow mode (ms since the epoch). */
    this.nextPostAt = 0;
    /** @type {ReturnType<typeof setInterval>|undefined} */
    this.timer = undefined;
    /** Whether posting could succeed at the last render (menus follow its changes). @type {boolean|null} */
    this.couldPost = null;
    this.off = view.store.on('frame', (/** @type {any} */ f) => this.onFrame(f));
  }

  destroy() {
    this.off();
    clearInterval(this.timer);
  }

  get room() {
    return this.view.store.rooms.get(this.view.slug);
  }

  get moderator() {
    return this.view.store.mayModerate(this.view.slug);
  }

  /** @param {any} f */
  onFrame(f) {
    if (f.room !== this.view.slug) return;
    if (f.type === 'subscribed') {
      // `subscribed` has no reason: keep the one a `muted` frame gave for the same mute.
      const reason = this.muted && this.muted.until === f.muted_until ? this.muted.reason : null;
      this.muted = typeof f.muted_until === 'string' ? { until: f.muted_until, reason } : null;
      this.slow = Number(f.slow_mode_seconds) || 0;
    } else if (f.type === 'muted') {
      this.muted = typeof f.until === 'string' ? { until: f.until, reason: f.reason ?? null } : null;
      this.view.announcer.say(this.muted ? this.mutedText() : 'Je demping is opgeheven: je kunt weer schrijven.');
    } else if (f.type === 'room_updated' && typeof f.slow_mode_seconds === 'number') {
      this.slow = f.slow_mode_seconds;
      if (!this.slow) this.nextPostAt = 0;
    } else if (f.type === 'ack' && this.slow && !this.moderator) {
      this.nextPostAt = Date.now() + this.slow * 1000;
    } else {
      return;
    }
    this.render();
  }

  mutedNow() {
    return this.muted !== null && Date.parse(this.muted.until) > Date.now();
  }

  mutedText() {
    const until = this.muted ? formatDateTime(this.muted.until) : '';
    const reason = this.muted?.reason ? ` Reden: ${this.muted.reason}.` : '';
    return `Je bent gedempt tot ${until}: je kunt meelezen, maar niet schrijven.${reason}`;
  }

  /** Whether posting (a message, a reply, a reaction, a mark) can succeed now. */
  canPost() {
    const room = this.room;
    if (this.view.t.removedReason || !room) return false;
    if (room.archived || (room.locked && !this.moderator)) return false;
    return !this.mutedNow();
  }

  /** The one line that says why I cannot write, or what slow mode asks; the box follows. */
  render() {
    const composer = this.view.composer;
    const room = this.room;
    const removed = this.view.t.removedReason;
    let blocked = '';
    if (removed) blocked = removedText(removed);
    else if (room?.archived) blocked = 'Deze kamer is gearchiveerd: je kunt alleen lezen.';
    else if (room?.locked && !this.moderator) blocked = 'Deze kamer is gesloten: alleen moderatoren kunnen schrijven.';
    else if (this.mutedNow()) blocked = this.mutedText();
    let note = '';
    let wait = 0;
    if (!blocked && this.slow) {
      wait = Math.max(0, Math.ceil((this.nextPostAt - Date.now()) / 1000));
      note = this.moderator
        ? `Langzame modus: leden sturen hier één bericht per ${seconds(this.slow)} (geldt niet voor moderatoren).`
        : `Langzame modus: één bericht per ${seconds(this.slow)}.`;
      if (wait) note += ` Je kunt over ${seconds(wait)} weer een bericht sturen.`;
    }
    composer.setState(blocked, note, wait > 0);
    const can = this.canPost();
    if (this.couldPost !== null && can !== this.couldPost) {
      // Menus and reactions offer only what can succeed: draw them again.
      for (const m of this.view.t.messages) this.view.refreshMessage(m);
    }
    this.couldPost = can;
    clearInterval(this.timer);
    this.timer = undefined;
    const muteEnds = this.mutedNow() && this.muted ? Date.parse(this.muted.until) : 0;
    if (wait || (muteEnds && !removed)) {
      // Count down, and open the box again when the wait or the mute ends.
      this.timer = setInterval(() => this.render(), 1000);
    }
  }
}
