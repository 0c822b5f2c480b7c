/**
 * The between-meetings API (docs/meetings.md): catch-up, marks, agenda, overview.
 * Its requests go through `api.js`: every non-2xx answer throws an ApiError.
 * @module between
 */
import { request } from './api.js';

const message = (/** @type {string} */ slug, /** @type {string|number} */ id) =>
  `/api/rooms/${encodeURIComponent(slug)}/messages/${encodeURIComponent(String(id))}`;

export const between = {
  /** @param {'last_meeting'|'last_visit'} since */
  catchup: (since) => request('GET', `/api/catchup?since=${encodeURIComponent(since)}`),
  /** @param {Record<string, number>} rooms */
  markRead: (rooms) => request('POST', '/api/catchup/read', { rooms }),
  overview: () => request('GET', '/api/overview'),
  preferences: () => request('GET', '/api/me/preferences'),
  /** @param {{digest?: boolean, email?: string|null}} body */
  setPreferences: (body) => request('PATCH', '/api/me', body),
  /** @param {string} slug */
  agenda: (slug) => request('GET', `/api/meetings/${encodeURIComponent(slug)}/agenda`),
  /** @param {string} slug */
  agendaMarkdownHref: (slug) => `/api/meetings/${encodeURIComponent(slug)}/agenda?format=md`,
  /**
   * @param {string} slug @param {string|number} id
   * @param {{kind: string, owner?: string, due?: string}} body
   */
  mark: (slug, id, body) => request('POST', `${message(slug, id)}/mark`, body),
  /** @param {string} slug @param {string|number} id @param {string[]} themes */
  tag: (slug, id, themes) => request('POST', `${message(slug, id)}/tags`, { themes }),
  /** @param {string} slug @param {string|number} id */
  unmark: (slug, id) => request('DELETE', `${message(slug, id)}/mark`),
  /** @param {string} slug @param {string|number} question @param {string|number} reply */
  answered: (slug, question, reply) => request('POST', `${message(slug, question)}/answered`, { reply_id: reply }),
  /** @param {string} slug @param {string|number} id @param {string} status */
  actionStatus: (slug, id, status) => request('POST', `${message(slug, id)}/status`, { status }),
};

/** Dutch names of the marks. */
export const MARK_LABELS = /** @type {Record<string, string>} */ ({
  vraag: 'Vraag',
  besluit: 'Besluit',
  actiepunt: 'Actiepunt',
});
