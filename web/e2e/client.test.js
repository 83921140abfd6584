// The browser client library (/client/pointcast.js) in a real Chromium: eight tabs
// share one stream and each gets every event once; the leader tab closes and
// another takes over without a gap, from its own cursor; a proxy answering 502
// once does not stop it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Server, launch, context, freePort } from './harness.js';

let server;
let browser;

before(async () => {
  server = await new Server().start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A tab on `origin` running the client on the announcements topic (more options in
 * `opts`); events land in window.got. */
async function tab(ctx, origin, opts = {}) {
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${origin}/client/pointcast.js`);
  await page.evaluate(async (opts) => {
    const { PointcastStream } = await import('/client/pointcast.js');
    window.got = [];
    window.s = new PointcastStream({
      topics: 'announcements',
      baseDelay: 100,
      onEvent: (e) => window.got.push(e.id),
      ...opts,
    }).start();
  }, opts);
  return page;
}

const live = (page) => page.waitForFunction(() => window.s.state === 'live', null, { timeout: 10000 });

/** Visitors' streams opened since `from` (ms); a closed tab's stream is noticed only
 * at the server's next heartbeat, so older ones may linger. */
async function connections(from = 0) {
  const list = (await server.ok('GET', '/admin/connections')).connections;
  return list.filter((c) => !c.user_id && Date.parse(c.since) >= from - 1000).length;
}

async function until(check, what, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function announce(text) {
  return (await server.ok('POST', '/announcements', { text, all: true })).last_event_id;
}

/** The ids `page` got once it has `n`; on a timeout, what every open tab of its context holds. */
async function got(page, n) {
  try {
    await page.waitForFunction((k) => window.got.length >= k, n, { timeout: 10000 });
  } catch (e) {
    const tabs = await Promise.all(
      page.context().pages().filter((p) => !p.isClosed()).map((p) =>
        p.evaluate(() => window.s && { got: window.got, role: window.s.role, state: window.s.state, cursor: window.s.lastId }).catch(String)),
    );
    throw new Error(`${e.message}\nwanted ${n} events; the tabs: ${JSON.stringify(tabs)}`);
  }
  return page.evaluate(() => window.got.slice());
}

test('eight tabs hold one connection between them and every tab gets every event once', async () => {
  const start = Date.now();
  const ctx = await context(browser);
  const tabs = [];
  for (let i = 0; i < 8; i++) tabs.push(await tab(ctx, server.base));
  for (const t of tabs) await live(t);
  await until(async () => (await connections(start)) === 1, 'one connection');
  const roles = await Promise.all(tabs.map((t) => t.evaluate(() => window.s.role)));
  assert.equal(roles.filter((r) => r === 'leader').length, 1, `one leader: ${roles}`);

  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await announce(`shared ${i}`));
  for (const t of tabs) assert.deepEqual(await got(t, 5), ids);
  // Nothing more arrives late (a duplicate would).
  await announce('marker');
  for (const t of tabs) assert.equal((await got(t, 6)).length, 6);
  assert.equal(await connections(start), 1);
  for (const t of tabs) assert.deepEqual(t.errors, []);
  await ctx.close();
});

test('the leader tab closes and another takes over without a gap', async () => {
  const ctx = await context(browser);
  const tabs = [];
  for (let i = 0; i < 3; i++) tabs.push(await tab(ctx, server.base));
  for (const t of tabs) await live(t);
  const roles = await Promise.all(tabs.map((t) => t.evaluate(() => window.s.role)));
  const leader = tabs[roles.indexOf('leader')];
  const rest = tabs.filter((t) => t !== leader);
  const before = await Promise.all(rest.map((t) => t.evaluate(() => window.got.length)));

  const a = await announce('before the hand-over');
  for (const [i, t] of rest.entries()) await got(t, before[i] + 1);
  const closed = Date.now();
  await leader.close();
  // Sent while nobody may be reading: the new leader resumes from its cursor.
  const b = await announce('during the hand-over');
  const c = await announce('after the hand-over');
  await until(
    async () => (await Promise.all(rest.map((t) => t.evaluate(() => window.s.role)))).includes('leader'),
    'a new leader',
  );
  for (const [i, t] of rest.entries()) {
    const seen = (await got(t, before[i] + 3)).slice(before[i]);
    assert.deepEqual(seen, [a, b, c], 'each event once, in order, none missing');
  }
  // One new stream took over (the closed tab's is noticed at the server's next
  // heartbeat write, so it is not counted here).
  assert.equal(await connections(closed), 1, 'the new leader alone opened a stream');
  await ctx.close();
});

test('a tab that takes over resumes from what it delivered, not from a later cursor another tab stored', async () => {
  const ctx = await context(browser);
  const lock = 'pointcast:|/api/v1/events|announcements||cookie|cookie'; // PointcastStream's scope
  // An old leader that holds the group's lock and whose frames never arrive.
  const old = await ctx.newPage();
  await old.goto(`${server.base}/client/pointcast.js`);
  const start = await announce('before anyone reads');
  await old.evaluate(([lock, start]) => {
    localStorage.setItem('pointcast.cursor', String(start));
    navigator.locks.request(lock, () => new Promise((r) => { window.release = r; }));
  }, [lock, start]);
  await old.waitForFunction(() => typeof window.release === 'function');
  const t = await tab(ctx, server.base);
  await t.waitForFunction(() => window.s.role === 'follower');
  const a = await announce('relayed by nobody');
  const b = await announce('also relayed by nobody');
  // The old leader read both and stored its cursor; it goes before its frames do.
  await old.evaluate((b) => localStorage.setItem('pointcast.cursor', String(b)), b);
  await t.waitForFunction((b) => localStorage.getItem('pointcast.cursor') === String(b), b);
  await old.evaluate(() => window.release());
  await live(t);
  assert.equal(await t.evaluate(() => window.s.role), 'leader');
  const c = await announce('after the hand-over');
  assert.deepEqual(await got(t, 3), [a, b, c], 'the server resent what the tab had not delivered');
  assert.deepEqual(t.errors, []);
  await ctx.close();
});

test('a tab with no cursor of its own starts from the leader\'s, so taking over later misses nothing', async () => {
  const ctx = await context(browser);
  const leader = await tab(ctx, server.base);
  await live(leader);
  // Another storage key: this tab finds no cursor of its own in storage.
  const t = await tab(ctx, server.base, { storageKey: 'pointcast.cursor.elsewhere' });
  await live(t);
  const cursor = await leader.evaluate(() => window.s.lastId);
  assert.notEqual(cursor, null);
  assert.equal(await t.evaluate(() => window.s.lastId), cursor, 'the leader\'s cursor, from its answer to hello');
  await leader.close();
  const a = await announce('while nobody reads');
  await until(async () => (await t.evaluate(() => window.s.role)) === 'leader', 'a new leader');
  const b = await announce('after the hand-over');
  assert.deepEqual(await got(t, 2), [a, b]);
  await ctx.close();
});

test('a proxy answering 502 once does not stop the client', async () => {
  const port = await freePort();
  let refused = 0;
  const proxy = http.createServer((req, res) => {
    if (req.url.startsWith('/api/v1/events') && refused === 0) {
      refused += 1;
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<h1>502 Bad Gateway</h1>');
      return;
    }
    const up = http.request(
      { host: '127.0.0.1', port: server.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(port, '127.0.0.1', r));
  try {
    const ctx = await context(browser);
    const page = await tab(ctx, `http://127.0.0.1:${port}`);
    await live(page);
    assert.equal(refused, 1, 'the first stream request got the 502');
    const id = await announce('through the proxy');
    assert.deepEqual((await got(page, 1)).slice(-1), [id]);
    await ctx.close();
  } finally {
    proxy.closeAllConnections?.();
    await new Promise((r) => proxy.close(r));
  }
});
