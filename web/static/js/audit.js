/**
 * The audit log in Dutch: one pure function from a server entry (its action and the values
 * it set) to a sentence, so "Langzame modus op 30 s" and "Langzame modus uit" differ.
 * @module audit
 */
import { dayKey, formatDateTime, formatTime } from './format.js';

/** The audit filter's kinds of action, as the server groups them (rooms.moderation.AUDIT_KINDS). */
export const AUDIT_KINDS = {
  sanctions: 'Dempen en verbannen',
  messages: 'Berichten',
  room: 'Kamerinstellingen',
  people: 'Leden en rollen',
  reports: 'Meldingen',
  glossary: 'Woordenlijst',
};

/** Actions whose sentence needs no value; an unknown action is shown as the server names it. */
/** @type {Record<string, string>} */
const PLAIN = {
  hide: 'Bericht verborgen',
  unban: 'Verbanning opgeheven',
  unmute: 'Demping opgeheven',
  lock: 'Kamer gesloten',
  unlock: 'Kamer heropend',
  archive: 'Kamer gearchiveerd',
  unarchive: 'Kamer uit het archief gehaald',
  room_updated: 'Kamer gewijzigd',
  add_moderator: 'Moderator benoemd',
  remove_moderator: 'Moderatorrol beëindigd',
  add_member: 'Lid toegevoegd',
  remove_member: 'Lid verwijderd',
  pin: 'Bericht vastgezet',
  unpin: 'Bericht losgemaakt',
  rename_topic: 'Onderwerp hernoemd',
  create_meeting: 'Bijeenkomst aangemaakt',
  export_room: 'Kamer geëxporteerd',
  export_room_hidden: 'Kamer geëxporteerd met verborgen berichten',
  export_user: 'Gegevens van deelnemer geëxporteerd',
  pseudonymise: 'Deelnemer gepseudonimiseerd',
  purge: 'Oude berichten opgeschoond',
  report_resolved: 'Melding afgehandeld',
  report_dismissed: 'Melding afgewezen',
  disable_user: 'Account geblokkeerd',
  enable_user: 'Account weer toegelaten',
};

/** Actions whose target is a message id (a link to it when the entry knows its seq). */
export const MESSAGE_ACTIONS = new Set(['hide', 'pin', 'unpin', 'report_resolved', 'report_dismissed']);

/**
 * An end moment: the time alone on the entry's own day, else the date with it.
 * @param {string} until @param {string|null|undefined} at
 */
export function untilText(until, at) {
  return at && dayKey(until) === dayKey(at) ? formatTime(until) : formatDateTime(until);
}

/**
 * The entry as a Dutch sentence with its values.
 * @param {{action: string, at?: string|null, values?: Record<string, any>}} entry
 * @returns {string}
 */
export function auditText(entry) {
  const v = entry.values ?? {};
  switch (entry.action) {
    case 'set_slow_mode_seconds': {
      const s = Number(v.slow_mode_seconds);
      if (!Number.isFinite(s)) return 'Langzame modus gewijzigd';
      return s > 0 ? `Langzame modus op ${s} s` : 'Langzame modus uit';
    }
    case 'mute':
      return v.until ? `Gedempt tot ${untilText(v.until, entry.at)}` : 'Gedempt';
    case 'ban':
      return v.until ? `Verbannen tot ${untilText(v.until, entry.at)}` : 'Verbannen tot opheffen';
    case 'glossary_add':
    case 'glossary_remove': {
      const verb = entry.action === 'glossary_add' ? 'toegevoegd' : 'verwijderd';
      if (typeof v.term !== 'string' || typeof v.means !== 'string') return `Woordenlijst: term ${verb}`;
      return `Woordenlijst: “${v.term}” = “${v.means}” ${verb}`;
    }
    case 'set_topic':
      return typeof v.topic === 'string' && v.topic ? `Onderwerp: “${v.topic}”` : 'Onderwerp gewist';
    default:
      return PLAIN[entry.action] ?? entry.action;
  }
}
