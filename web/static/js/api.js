/**
 * The HTTP API of the contract. The session lives only in the HttpOnly cookie the
 * server sets: this module never reads or keeps the token from the login answer.
 * @module api
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 when the network failed)
   * @param {string} code contract error code
   * @param {string} message
   * @param {number | null} retryAfter seconds, from `Retry-After`
   */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** @type {Set<() => void>} */
const unauthenticatedListeners = new Set();

/** Call `fn` whenever the server says the session is gone. @param {() => void} fn */
export function onUnauthenticated(fn) {
  unauthenticatedListeners.add(fn);
}

/**
 * One JSON request. Throws ApiError for every non-2xx answer and for network failure.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function request(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'network error');
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : {};
    const retry = Number(res.headers.get('Retry-After'));
    const apiErr = new ApiError(
      res.status,
      err.code ?? (res.status === 404 ? 'not_found' : `http_${res.status}`),
      err.message ?? res.statusText,
      Number.isFinite(retry) && retry > 0 ? retry : null,
    );
    if (res.status === 401 && path !== '/api/session') {
      for (const fn of unauthenticatedListeners) fn();
    }
    throw apiErr;
  }
  return data;
}

/**
 * A query string from the non-empty values.
 * @param {Record<string, string | number | null | undefined>} params
 */
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const room = (/** @type {string} */ slug) => `/api/rooms/${encodeURIComponent(slug)}`;

/**
 * @typedef {{username: string, display_name?: string, organisation?: string, layer?: string, role?: string}} User
 * @typedef {{slug: string, name?: string, kind: string, topic?: string|null, last_seq: number, read_seq: number, unread: number, locked?: boolean, archived?: boolean, can_moderate?: boolean}} RoomInfo
 */

export const api = {
  /** @param {string} username @param {string} password @returns {Promise<{user: User}>} */
  async login(username, password) {
    const data = await request('POST', '/api/session', { username, password });
    return { user: data.user };
  },
  /**
   * Log out; the provider's logout address when the session came from single sign-on at
   * a provider that offers one (the `Logout-Location` header), else null.
   * @returns {Promise<string|null>}
   */
  logout: async () => {
    let res;
    try {
      res = await fetch('/api/session', { method: 'DELETE', credentials: 'same-origin', headers: { Accept: 'application/json' } });
    } catch {
      throw new ApiError(0, 'network', 'network error');
    }
    const url = res.headers.get('Logout-Location');
    return res.ok && url && /^https?:\/\//.test(url) ? url : null;
  },
  /** @returns {Promise<{user: User}>} */
  me: () => request('GET', '/api/me'),
  /** @returns {Promise<{rooms: RoomInfo[]}>} */
  rooms: () => request('GET', '/api/rooms'),
  /**
   * @param {string} slug
   * @param {{after?: number, before?: number, limit?: number}} opts
   * @returns {Promise<{events: any[], last_seq: number, has_more: boolean}>}
   */
  events: (slug, opts) => request('GET', `${room(slug)}/events${query(opts)}`),
  /** @param {Record<string, string|number|null|undefined>} params */
  search: (params) => request('GET', `/api/search${query(params)}`),
  /** @param {string} slug @param {string|number} messageId @param {string} reason */
  hide: (slug, messageId, reason) =>
    request('POST', `${room(slug)}/messages/${encodeURIComponent(String(messageId))}/hide`, { reason }),
  /** @param {string} slug @param {string|number} messageId @param {string} reason */
  report: (slug, messageId, reason) =>
    request('POST', `${room(slug)}/messages/${encodeURIComponent(String(messageId))}/report`, { reason }),
  /** @param {string} slug @param {{username: string, reason: string, until?: string}} body */
  ban: (slug, body) => request('POST', `${room(slug)}/bans`, body),
  /** @param {string} slug @param {string} username */
  unban: (slug, username) => request('DELETE', `${room(slug)}/bans/${encodeURIComponent(username)}`),
  /** @param {string} slug @param {{username: string, minutes: number, reason: string}} body */
  mute: (slug, body) => request('POST', `${room(slug)}/mutes`, body),
  /** @param {string} slug @param {{topic?: string, locked?: boolean, archived?: boolean, slow_mode_seconds?: number, reason?: string}} body */
  patchRoom: (slug, body) => request('PATCH', room(slug), body),
  /** Not in the contract; this server lets every reader see a room's moderators. @param {string} slug */
  moderators: (slug) => request('GET', `${room(slug)}/moderators`),
  /** Not in the contract; this server has pins. @param {string} slug @returns {Promise<{pins: any[]}>} */
  pins: (slug) => request('GET', `${room(slug)}/pins`),
  /** @param {string} slug @param {string|number} messageId */
  pin: (slug, messageId) => request('POST', `${room(slug)}/pins/${encodeURIComponent(String(messageId))}`),
  /** @param {string} slug @param {string|number} messageId */
  unpin: (slug, messageId) => request('DELETE', `${room(slug)}/pins/${encodeURIComponent(String(messageId))}`),
  /** @returns {Promise<{reports: any[]}>} */
  reports: () => request('GET', '/api/reports'),
  /**
   * Not in the contract; this server offers it. @param {number|string} id
   * @param {{status: 'resolved'|'dismissed', reason?: string}} body
   */
  handleReport: (id, body) => request('PATCH', `/api/reports/${encodeURIComponent(String(id))}`, body),
  /** A room's topics, newest first. @param {string} slug @returns {Promise<{topics: {name: string, count: number, last_seq: number}[]}>} */
  topics: (slug) => request('GET', `${room(slug)}/topics`),
  /** Rename (or merge) a topic of the room (moderators). @param {string} slug @param {string} old @param {string} name @param {string} reason @returns {Promise<{old: string, new: string, messages: number}>} */
  renameTopic: (slug, old, name, reason) => request('POST', `${room(slug)}/topics/rename`, { old, new: name, reason }),
  /** A message's earlier versions. @param {string} slug @param {string|number} id */
  history: (slug, id) => request('GET', `${room(slug)}/messages/${encodeURIComponent(String(id))}/history`),
  /** @param {string} slug */
  polls: (slug) => request('GET', `${room(slug)}/polls`),
  /** @param {string} slug @param {{question: string, options: string[], multiple: boolean, anonymous: boolean, closes_at: string|null}} body */
  createPoll: (slug, body) => request('POST', `${room(slug)}/polls`, body),
  /** @param {string} slug @param {number} id @param {number[]} choices */
  vote: (slug, id, choices) => request('POST', `${room(slug)}/polls/${encodeURIComponent(String(id))}/vote`, { choices }),
  /** The direct conversation with these others. @param {string[]} usernames @returns {Promise<{room: {slug: string, kind: string, members: string[]}}>} */
  direct: (usernames) => request('POST', '/api/direct', { usernames }),
  /** @param {{room?: string, limit?: number}} params @returns {Promise<{entries: any[]}>} */
  audit: (params) => request('GET', `/api/audit${query(params)}`),
};
