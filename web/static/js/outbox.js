/**
 * The outbox: sends not yet acknowledged, kept in localStorage per user and message, so a
 * reload or a closed tab loses none. Restored as pending, they go out again with the same
 * client_id once the connection is back (the server's send is idempotent per client_id,
 * so a message it already has is acknowledged, not stored twice). One key per message,
 * so two tabs never overwrite each other's. Also the last signed-in user (no e-mail, no
 * token), so that a reload without a network can show the client and its outbox.
 * @module outbox
 */

const PREFIX = 'werkplaats:outbox:';
const USER_KEY = 'werkplaats:gebruiker';

/** @param {string} user @param {string} clientId */
const key = (user, clientId) => `${PREFIX}${user}:${clientId}`;

/**
 * Keep a send until its ack; false when the browser stores nothing (then the draft stays).
 * @param {string} user
 * @param {import('./store.js').Pending} p
 */
export function keep(user, p) {
  const { client_id, room, body, reply_to, topic, files } = p;
  try {
    localStorage.setItem(key(user, client_id), JSON.stringify({ client_id, room, body, reply_to, topic: topic ?? null, files: files ?? [] }));
    return true;
  } catch {
    return false;
  }
}

/** The send was acknowledged or discarded. @param {string} user @param {string} clientId */
export function drop(user, clientId) {
  try { localStorage.removeItem(key(user, clientId)); } catch { /* storage off */ }
}

/** The user's keys in storage. @param {string} user */
function keysOf(user) {
  const found = [];
  try {
    for (let i = 0; i < localStorage.length; i += 1) {
      const k = localStorage.key(i);
      if (k?.startsWith(`${PREFIX}${user}:`)) found.push(k);
    }
  } catch { /* storage off */ }
  return found;
}

/**
 * The user's unsent messages, as pending sends not yet transmitted.
 * @param {string} user
 * @returns {import('./store.js').Pending[]}
 */
export function kept(user) {
  /** @type {import('./store.js').Pending[]} */
  const found = [];
  for (const k of keysOf(user)) {
    try {
      const d = JSON.parse(localStorage.getItem(k) ?? 'null');
      if (typeof d?.client_id !== 'string' || typeof d.room !== 'string' || typeof d.body !== 'string') continue;
      found.push({ client_id: d.client_id, room: d.room, body: d.body, reply_to: d.reply_to ?? null,
        topic: d.topic ?? null, files: Array.isArray(d.files) ? d.files : [], status: 'pending', error: null, sentAt: 0 });
    } catch { /* a damaged entry is skipped */ }
  }
  return found;
}

/** @param {import('./store.js').User} user */
export function rememberUser(user) {
  try { localStorage.setItem(USER_KEY, JSON.stringify(user)); } catch { /* storage off */ }
}

/** The last signed-in user, or null. @returns {import('./store.js').User|null} */
export function rememberedUser() {
  try {
    const u = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null');
    return typeof u?.username === 'string' ? u : null;
  } catch {
    return null;
  }
}

/** Logging out on purpose: this browser forgets the user and their unsent messages. @param {string} user */
export function forgetUser(user) {
  try {
    localStorage.removeItem(USER_KEY);
    for (const k of keysOf(user)) localStorage.removeItem(k);
  } catch { /* storage off */ }
}
