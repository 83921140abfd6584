// pointcast.js: the browser client for a pointcast server's event stream.
// An ES module with no dependencies, served by pointcast at /client/pointcast.js.
//
//   import { PointcastStream } from '/client/pointcast.js';
//   const s = new PointcastStream({
//     topics: 'products',                  // optional: public topics to add
//     onEvent: (env) => render(env),       // {id, type, channel, at, data}, once each, in id order
//     onState: (st) => badge(st),          // 'connecting' | 'live' | 'reconnecting' | 'offline'
//     onReset: () => reloadEverything(),   // the server no longer holds our cursor (stream.reset)
//   }).start();
//
// What it does for you:
// - Resumes from the last event id, also across reloads (kept in localStorage).
// - Reads the stream with fetch, so every event type arrives (EventSource only
//   delivers the named types one listens for), an `Authorization: Bearer` header
//   can be sent, and a non-200 answer (a proxy's 502 while the server restarts)
//   is just one more failure to retry: reconnection uses full-jitter exponential
//   backoff (a random wait between 0 and min(maxDelay, baseDelay * 2^attempt)).
// - Catches up at once when a phone or a background tab comes back (`pageshow`,
//   `visibilitychange`, `online`), instead of waiting out a backoff.
// - Holds ONE stream per browser for all tabs of the origin that read the same
//   thing with the same credentials: the tabs elect a leader through the Web Locks
//   API; the leader reads the stream and relays every frame over a
//   BroadcastChannel. When the leader tab closes, the browser releases its lock
//   and a waiting tab takes over from its own cursor (no gap: the server resends
//   what came after it; no duplicate: ids are checked). Without Web Locks or
//   BroadcastChannel each tab reads its own stream.
// - Auth: the session cookie (default), a bearer `token` (string or function), or
//   `auth: 'ticket'`, which first trades the cookie or token for a short-lived
//   ticket at `POST /api/v1/events/ticket` and opens the stream with `?ticket=`.

const noop = () => {};

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: resume only within this page's life
  }
}

/** A short, non-reversible tag of the credentials, so tabs with different tokens never share. */
async function credentialTag(token) {
  if (!token) return 'cookie';
  if (!globalThis.crypto?.subtle) return `t${token.length}`;
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return Array.from(new Uint8Array(d).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class PointcastStream {
  constructor(opts = {}) {
    this.base = opts.base || '';
    this.path = opts.path || '/api/v1/events';
    this.topics = opts.topics;
    this.types = opts.types;
    this.token = opts.token || null;
    this.auth = opts.auth || 'cookie';
    this.onEvent = opts.onEvent || noop;
    this.onState = opts.onState || noop;
    this.onReset = opts.onReset || noop;
    this.baseDelay = opts.baseDelay ?? 500;
    this.maxDelay = opts.maxDelay ?? 10000;
    this.staleAfter = opts.staleAfter ?? 40000; // heartbeats come every 15 s
    this.shared = opts.shared !== false && typeof BroadcastChannel === 'function' && !!navigator.locks;
    this.storageKey = opts.storageKey || 'pointcast.cursor';
    this.lastId = null;
    this.state = 'connecting';
    this.role = 'none'; // 'leader' | 'follower' | 'none'
    this.stopped = true;
    this.attempt = 0;
    this.lastByte = 0;
    this.wake = noop;
    this.fetchAbort = null;
    this.lockAbort = null;
    this.channel = null;
    this.onWindow = (e) => this.windowEvent(e);
  }

  bearer() {
    return typeof this.token === 'function' ? this.token() : this.token;
  }

  /** Starts (or restarts) reading; returns this. */
  start() {
    if (!this.stopped) return this;
    this.stopped = false;
    this.lastId = this.storedCursor();
    for (const e of ['online', 'offline', 'pageshow']) window.addEventListener(e, this.onWindow);
    document.addEventListener('visibilitychange', this.onWindow);
    this.setState(this.state === 'live' ? 'live' : 'connecting');
    this.join();
    return this;
  }

  /** Stops reading and leaves the group (another tab takes over if this one led). */
  stop() {
    this.stopped = true;
    for (const e of ['online', 'offline', 'pageshow']) window.removeEventListener(e, this.onWindow);
    document.removeEventListener('visibilitychange', this.onWindow);
    this.fetchAbort?.abort();
    this.lockAbort?.abort();
    this.wake();
    this.channel?.close();
    this.channel = null;
    this.role = 'none';
  }

  /** New credentials (after a login or logout): reopen with them, keeping the cursor. */
  restart() {
    if (this.role === 'follower') {
      // The leader reads for us; it reopens with the (shared) cookie.
      this.channel?.postMessage({ kind: 'restart' });
      return;
    }
    this.stop();
    this.start();
  }

  // --- the group of tabs ---

  async join() {
    const scope = [this.base, this.path, this.topics ?? '', this.types ?? '', this.auth, await credentialTag(this.bearer())].join('|');
    if (this.stopped) return;
    if (!this.shared) {
      this.role = 'leader';
      this.lead();
      return;
    }
    this.channel = new BroadcastChannel(`pointcast:${scope}`);
    this.channel.onmessage = (m) => this.relayed(m.data);
    this.role = 'follower';
    this.channel.postMessage({ kind: 'hello' });
    this.lockAbort = new AbortController();
    navigator.locks
      .request(`pointcast:${scope}`, { signal: this.lockAbort.signal }, async () => {
        if (this.stopped) return;
        this.role = 'leader';
        // Resume from what THIS tab delivered, never from a later cursor another tab
        // stored: the old leader's last frames may still be on their way to us over
        // the channel (the lock and the channel are separate paths), and a cursor
        // taken from storage would make the server skip them. Storage only helps a
        // tab that has no cursor at all.
        if (this.lastId === null) this.lastId = this.storedCursor();
        await this.lead();
      })
      .catch(noop); // aborted by stop()
  }

  /** A frame relayed by the leader, or a follower's request. */
  relayed(msg) {
    if (this.stopped || !msg) return;
    // A leader ignores events still relayed by the one before it: it resumes from
    // its own cursor, so the server resends them.
    if (this.role === 'leader') {
      if (msg.kind === 'hello') this.channel?.postMessage({ kind: 'state', state: this.state, cursor: this.lastId });
      if (msg.kind === 'restart') this.fetchAbort?.abort();
      return;
    }
    if (msg.kind === 'event') this.deliver(msg.id, msg.data);
    else if (msg.kind === 'state') {
      // A tab with no cursor of its own gets every frame after the leader's
      // (its channel was open before it said hello), so it starts from there.
      if (this.lastId === null && Number.isFinite(msg.cursor)) this.lastId = msg.cursor;
      this.setState(msg.state);
    } else if (msg.kind === 'reset') this.reset(msg.id);
  }

  broadcast(msg) {
    this.channel?.postMessage(msg);
  }

  // --- the leader's stream ---

  async lead() {
    while (!this.stopped && this.role === 'leader') {
      const abort = new AbortController();
      this.fetchAbort = abort;
      try {
        const res = await fetch(await this.url(), {
          headers: this.headers(),
          credentials: 'same-origin',
          cache: 'no-store',
          signal: abort.signal,
        });
        if (res.status !== 200 || !res.body) throw new Error(`HTTP ${res.status}`);
        await this.read(res.body, abort.signal);
      } catch {
        /* a refused connection, a non-200 answer, a cut stream: all retried below */
      }
      if (this.stopped) return;
      this.attempt += 1;
      this.setState(navigator.onLine === false || this.attempt > 6 ? 'offline' : 'reconnecting');
      const cap = Math.min(this.maxDelay, this.baseDelay * 2 ** Math.min(this.attempt, 20));
      await this.sleep(Math.random() * cap);
    }
  }

  headers() {
    const h = { Accept: 'text/event-stream' };
    const token = this.auth === 'ticket' ? null : this.bearer();
    if (token) h.Authorization = `Bearer ${token}`;
    return h;
  }

  async url() {
    const q = new URLSearchParams();
    if (this.lastId !== null) q.set('cursor', String(this.lastId));
    if (this.topics !== undefined) q.set('topics', this.topics);
    if (this.types !== undefined) q.set('types', this.types);
    if (this.auth === 'ticket') {
      const token = this.bearer();
      const r = await fetch(`${this.base}/api/v1/events/ticket`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      if (!r.ok) throw new Error(`ticket: HTTP ${r.status}`);
      q.set('ticket', (await r.json()).ticket);
    }
    const s = q.toString();
    return `${this.base}${this.path}${s ? `?${s}` : ''}`;
  }

  /** Parses SSE off the body until it ends; dispatches each frame. */
  async read(body, signal) {
    const reader = body.getReader();
    signal.addEventListener('abort', () => reader.cancel().catch(noop), { once: true });
    const decoder = new TextDecoder();
    let buf = '';
    let frame = { id: null, type: '', data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.lastByte = Date.now();
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (frame.data.length) this.frame(frame.id, frame.type || 'message', frame.data.join('\n'));
          frame = { id: null, type: '', data: [] };
          continue;
        }
        if (line.startsWith(':')) continue; // heartbeat
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (field === 'id') frame.id = v;
        else if (field === 'event') frame.type = v;
        else if (field === 'data') frame.data.push(v);
      }
    }
  }

  frame(idText, type, data) {
    const id = Number(idText);
    if (type === 'stream.open') {
      this.attempt = 0;
      if (Number.isFinite(id) && (this.lastId === null || id > this.lastId)) this.saveCursor(id);
      this.setState('live');
      return;
    }
    if (type === 'stream.reset') {
      this.broadcast({ kind: 'reset', id });
      this.reset(id);
      return;
    }
    if (!Number.isFinite(id)) return;
    this.broadcast({ kind: 'event', id, data });
    this.deliver(id, data);
  }

  // --- every tab ---

  deliver(id, data) {
    // Ids only grow: anything at or below the cursor was delivered already.
    if (this.lastId !== null && id <= this.lastId) return;
    this.saveCursor(id);
    let env;
    try {
      env = JSON.parse(data);
    } catch {
      return;
    }
    this.onEvent(env);
  }

  reset(id) {
    if (Number.isFinite(id)) this.saveCursor(id, true);
    this.onReset();
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    if (this.role === 'leader') this.broadcast({ kind: 'state', state: s });
    this.onState(s);
  }

  storedCursor() {
    const v = storage()?.getItem(this.storageKey);
    const n = v == null ? NaN : Number(v);
    return Number.isFinite(n) ? n : null;
  }

  saveCursor(id, force = false) {
    if (!force && this.lastId !== null && id <= this.lastId) return;
    this.lastId = id;
    try {
      storage()?.setItem(this.storageKey, String(id));
    } catch {
      /* quota or privacy mode: the in-memory cursor still works */
    }
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Back in view, back online, or restored from the back-forward cache: catch up now. */
  windowEvent(e) {
    if (this.stopped) return;
    if (e.type === 'offline') {
      this.setState('offline');
      return;
    }
    if (e.type === 'visibilitychange' && document.visibilityState !== 'visible') return;
    if (this.role !== 'leader') return;
    if (this.state === 'live' && Date.now() - this.lastByte > this.staleAfter) {
      this.fetchAbort?.abort(); // a silent stream (a suspended phone): reopen
    }
    this.attempt = 0;
    this.wake();
  }
}

/** Shorthand: `connect(opts)` is `new PointcastStream(opts).start()`. */
export function connect(opts) {
  return new PointcastStream(opts).start();
}
