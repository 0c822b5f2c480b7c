/**
 * Invisible controls made visible. The server removes bidi overrides, embeddings,
 * isolates and invisible characters from what people type (rooms/text.py); text stored
 * before that still has them, and a client must never let them reorder what it shows:
 * "Betaal naar \u202eLN12BANK0001\u202c" would read "Betaal naar 1000KNAB21NL". Each one
 * becomes a visible "⟨U+202E⟩". Isolation (<bdi>, `unicode-bidi: isolate`, `dir="auto"`)
 * keeps right-to-left text from reordering the words around it.
 * @module bidi
 */

// Embeddings, overrides, isolates; zero-width space, word joiner, invisible operators,
// deprecated format controls, BOM, interlinear annotation, Mongolian vowel separator.
const CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200B\u2060-\u2064\u206A-\u206F\uFEFF\uFFF9-\uFFFB\u180E]/g;

/**
 * The text with every bidi or invisible control shown as "⟨U+XXXX⟩".
 * @param {string} text
 * @returns {string}
 */
export function visible(text) {
  return text.replace(CONTROLS, (ch) => `⟨U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}
