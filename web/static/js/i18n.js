/**
 * Dutch words the client shows: labels for layers and room kinds, and error texts per
 * contract error code.
 * @module i18n
 */

/** @type {Record<string, string>} */
export const LAYER_LABELS = {
  rijk: 'Rijk',
  provincie: 'Provincie',
  gemeente: 'Gemeente',
  waterschap: 'Waterschap',
  overig: 'Overig',
};

/** Room kinds in the order the room list shows them. */
export const KIND_GROUPS = [
  { kind: 'area', title: 'Mijn gebieden' },
  { kind: 'theme', title: "Thema's" },
  { kind: 'meeting', title: 'Bijeenkomsten' },
  { kind: 'direct', title: 'Directe gesprekken' },
];

/** @type {Record<string, string>} */
const ERROR_TEXTS = {
  bad_credentials: 'Gebruikersnaam of wachtwoord klopt niet.',
  unauthenticated: 'Je bent niet (meer) ingelogd. Log opnieuw in.',
  forbidden: 'Dat mag je hier niet doen.',
  not_found: 'Dat bestaat niet (meer).',
  muted: 'Je bent tijdelijk gedempt in deze kamer: je kunt lezen, maar niet schrijven.',
  room_locked: 'Deze kamer is gesloten: er kunnen geen berichten bij.',
  rate_limited: 'Je verstuurt te veel tegelijk. Wacht even en probeer het opnieuw.',
  too_large: 'Het bericht is te lang (hoogstens 4000 tekens).',
  bad_frame: 'De server begreep het verzoek niet.',
  bad_request: 'Het verzoek is niet volledig of niet geldig.',
  conflict: 'Dat kon niet: de gegevens zijn intussen veranderd.',
  internal: 'Er ging iets mis op de server. Probeer het later nog eens.',
  unavailable: 'Het is nu erg druk op de server. Probeer het zo opnieuw.',
  network: 'Geen verbinding met de server. Controleer je netwerk en probeer het opnieuw.',
};

/**
 * A Dutch sentence for a contract error code.
 * @param {string} code
 * @param {number | null} [retryAfter] seconds, for `rate_limited`
 */
export function errorText(code, retryAfter) {
  if ((code === 'rate_limited' || code === 'unavailable') && retryAfter) {
    const s = Math.max(1, Math.ceil(retryAfter));
    const when = `over ${s} ${s === 1 ? 'seconde' : 'seconden'}`;
    return code === 'rate_limited'
      ? `Je verstuurt te veel tegelijk. Probeer het ${when} opnieuw.`
      : `Het is nu erg druk op de server. Probeer het ${when} opnieuw.`;
  }
  return ERROR_TEXTS[code] ?? `Er ging iets mis (${code}).`;
}

/**
 * "1 nieuw bericht" / "3 nieuwe berichten".
 * @param {number} n
 */
export function countMessages(n) {
  return n === 1 ? '1 nieuw bericht' : `${n} nieuwe berichten`;
}
