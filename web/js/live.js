// The live connection shared by every page: a thin wrapper over pointcast's own
// browser client (/client/pointcast.js, source in web/client/pointcast.js), which
// resumes from the last id across reloads, backs off with full jitter, catches up
// when a tab comes back, and holds one stream for all tabs of the browser.
// This file keeps the interface the pages were written against.

import { bearer } from './api.js';
import { PointcastStream } from '/client/pointcast.js';

/** Every event type of API v1 (stream.* are handled by the client, not passed on). */
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
    this.stream = new PointcastStream({
      topics,
      token: () => bearer(),
      onEvent: onEvent || (() => {}),
      onState: onState || (() => {}),
      onReset: onReset || (() => {}),
      // One cursor per page kind: a page with other topics reads other channels.
      storageKey: `pointcast.cursor.${location.pathname}`,
    });
  }

  /** The last event id seen (the cursor). */
  get lastId() {
    return this.stream.lastId;
  }

  get state() {
    return this.stream.state;
  }

  start() {
    this.stream.start();
    return this;
  }

  stop() {
    this.stream.stop();
  }

  /** Restart with the current credentials (after login or logout), keeping the cursor. */
  restart() {
    this.stream.restart();
  }
}
