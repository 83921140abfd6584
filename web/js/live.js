// The live connection shared by every page: one EventSource on /api/v1/events, a
// listener per named event type (onmessage never sees named events), a visible
// state (live / reconnecting / offline), and resumption after a drop without a
// reload and without delivering anything twice.

import { bearer } from './api.js';

/** Every event type of API v1 (stream.* are handled here, not passed on). */
export const EVENT_TYPES = [
  'mileage.granted', 'coupon.issued', 'coupon.redeemed', 'order.placed',
  'stock.changed', 'stock.low', 'product.updated', 'support.opened',
  'support.message', 'support.closed', 'inquiry.received', 'announcement',
  'job.completed', 'member.joined', 'member.left', 'store.updated',
  'order.returned', 'mileage.reversed', 'coupon.revoked', 'coupon.restored',
  'mileage.expiring', 'mileage.expired', 'coupon.expired',
  'stock.back',
];

/**
 * A live feed.
 *   onEvent(envelope)  once per event, in id order
 *   onState(state)     'connecting' | 'live' | 'reconnecting' | 'offline'
 *   onReset()          the server no longer holds our cursor: reload state
 */
export class Live {
  constructor({ onEvent, onState, onReset, topics } = {}) {
    this.onEvent = onEvent || (() => {});
    this.onState = onState || (() => {});
    this.onReset = onReset || (() => {});
    this.topics = topics;
    this.lastId = null; // the last event id seen (the cursor)
    this.es = null;
    this.failures = 0;
    this.timer = null;
    this.state = 'connecting';
    this.stopped = false;
    window.addEventListener('offline', () => this.setState('offline'));
    window.addEventListener('online', () => {
      if (this.stopped) return;
      this.setState('reconnecting');
      this.reopen(0);
    });
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.onState(s);
  }

  url() {
    const q = new URLSearchParams();
    // Only a freshly created EventSource needs the cursor in the URL; on its own
    // reconnects the browser sends Last-Event-ID, which the server prefers.
    if (this.lastId !== null) q.set('cursor', String(this.lastId));
    if (this.topics !== undefined) q.set('topics', this.topics);
    const token = bearer();
    if (token) q.set('access_token', token);
    const s = q.toString();
    return `/api/v1/events${s ? `?${s}` : ''}`;
  }

  start() {
    this.stopped = false;
    this.open();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  /** Restart with the current credentials (after login or logout), keeping the cursor. */
  restart() {
    this.stop();
    this.start();
  }

  open() {
    if (this.es) this.es.close();
    const es = new EventSource(this.url(), { withCredentials: true });
    this.es = es;
    es.addEventListener('open', () => {
      this.failures = 0;
    });
    es.addEventListener('stream.open', (m) => {
      this.failures = 0;
      this.advance(m.lastEventId);
      this.setState('live');
    });
    es.addEventListener('stream.reset', (m) => {
      // Our cursor is gone (retention, or another database): take the server's.
      const id = Number(m.lastEventId);
      if (Number.isFinite(id)) this.lastId = id;
      this.onReset();
    });
    for (const type of EVENT_TYPES) es.addEventListener(type, (m) => this.deliver(m));
    es.addEventListener('error', () => {
      if (es !== this.es || this.stopped) return;
      this.failures += 1;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (a refused connection, an HTTP error): make a new
        // EventSource ourselves, resuming from the last id we saw.
        this.setState(navigator.onLine === false || this.failures > 6 ? 'offline' : 'reconnecting');
        this.reopen(Math.min(500 * 2 ** (this.failures - 1), 10000));
      } else {
        // The browser is reconnecting by itself, sending Last-Event-ID.
        this.setState(navigator.onLine === false || this.failures > 6 ? 'offline' : 'reconnecting');
      }
    });
  }

  reopen(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  advance(idText) {
    const id = Number(idText);
    if (Number.isFinite(id) && (this.lastId === null || id > this.lastId)) this.lastId = id;
  }

  deliver(m) {
    const id = Number(m.lastEventId);
    // Ids only grow on one feed: anything at or below the cursor was shown already.
    if (!Number.isFinite(id) || (this.lastId !== null && id <= this.lastId)) return;
    this.lastId = id;
    let env;
    try {
      env = JSON.parse(m.data);
    } catch {
      return;
    }
    this.onEvent(env);
  }
}
