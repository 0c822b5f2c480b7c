/**
 * One WebSocket to `/ws` that keeps itself alive: it reconnects after a loss with
 * exponential backoff and full jitter, notices a dead link by a missing `pong`, and
 * drops the socket at once when the browser goes offline. It knows nothing of rooms;
 * it hands every parsed frame to `onFrame`.
 * @module ws
 */

/** First retry waits up to this long; each further failure doubles it. */
const BACKOFF_BASE_MS = 500;
/** Upper bound, so a long outage still retries twice a minute. */
const BACKOFF_CAP_MS = 30_000;
/** A ping this often; quiet links through proxies tend to be cut after 60 s. */
const PING_EVERY_MS = 25_000;
/** No answer at all within this time after a ping: the link is dead. */
const PONG_TIMEOUT_MS = 10_000;

/** @typedef {'connecting' | 'open' | 'waiting' | 'offline' | 'stopped'} ConnState */

export class Connection {
  /**
   * @param {{onFrame: (frame: any) => void, onState: (state: ConnState, info?: {retryInMs?: number, code?: number}) => void, url?: string}} opts
   */
  constructor({ onFrame, onState, url }) {
    this.onFrame = onFrame;
    this.onState = onState;
    this.url = url ?? `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {ConnState} */
    this.state = 'stopped';
    this.failures = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pongTimer = undefined;
    this.onOnline = () => { if (this.state !== 'stopped') { this.failures = 0; this.connectNow(); } };
    this.onOffline = () => { if (this.state !== 'stopped') this.drop('offline'); };
  }

  /** Open the connection and keep it open until stop(). */
  start() {
    if (this.state !== 'stopped') return;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.failures = 0;
    this.connectNow();
  }

  /** Close for good (logout). */
  stop() {
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    this.drop('stopped');
  }

  /**
   * Send one frame; false when the socket is not open (the caller keeps it for later).
   * @param {object} frame
   */
  send(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN || this.state !== 'open') return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** The server said hello: the connection is good, so the backoff starts over. */
  markHealthy() {
    this.failures = 0;
  }

  /** @param {boolean} [evenOffline] try although the browser says it is offline */
  connectNow(evenOffline = false) {
    clearTimeout(this.retryTimer);
    this.detach();
    if (!navigator.onLine && !evenOffline) {
      // The browser's word is usually right, but not always (a server on localhost with
      // no network): try now and then anyway; the `online` event tries at once.
      this.setState('offline');
      this.retryTimer = setTimeout(() => this.connectNow(true), BACKOFF_CAP_MS);
      return;
    }
    this.setState('connecting');
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.setState('open');
      this.startHeartbeat();
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = undefined;
      if (typeof ev.data !== 'string') return;
      // One server message may hold several frames, one per line.
      for (const line of ev.data.split('\n')) {
        if (!line.trim()) continue;
        let frame;
        try {
          frame = JSON.parse(line);
        } catch {
          continue;
        }
        if (frame && typeof frame === 'object') this.onFrame(frame);
      }
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.detach();
      this.failures += 1;
      this.scheduleRetry(ev.code);
    };
    socket.onerror = () => { /* a close event follows */ };
  }

  /** @param {number} [code] */
  scheduleRetry(code) {
    if (this.state === 'stopped') return;
    if (!navigator.onLine) {
      this.connectNow();
      return;
    }
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.failures, 16));
    // Full jitter spreads a crowd of clients reconnecting after a server restart.
    const delay = Math.max(250, Math.round(Math.random() * ceiling));
    this.setState('waiting', { retryInMs: delay, code });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  startHeartbeat() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: 'ping' })) return;
      if (this.pongTimer) return;
      this.pongTimer = setTimeout(() => {
        // Nothing came back: do not wait for TCP to notice, start over now.
        this.drop('waiting');
        this.failures += 1;
        this.scheduleRetry();
      }, PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  /** @param {ConnState} state */
  drop(state) {
    clearTimeout(this.retryTimer);
    this.detach();
    this.setState(state);
  }

  detach() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try { socket.close(1000); } catch { /* already closed */ }
    }
  }

  /** @param {ConnState} state @param {{retryInMs?: number, code?: number}} [info] */
  setState(state, info) {
    this.state = state;
    this.onState(state, info);
  }
}
