// A page survives its server going away: it shows 'reconnecting', and when the
// server is back (same database, same port) it resumes from its last event id and
// shows what was sent meanwhile, each event once, without a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, context, open, loginCustomer, liveState } from './harness.js';

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

test('after a server restart the page resumes and shows the missed events once each', async () => {
  const user = await server.customer('Restart Reader');
  const ctx = await context(browser);
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await liveState(page);
  await server.ok('POST', '/announcements', { text: 'before the restart', user_id: user.id });
  await page.waitForSelector('#feed li:has-text("before the restart")');
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });

  await server.kill();
  await liveState(page, 'reconnecting');

  // Start again on the same file and port; send while the page is still away.
  await server.start();
  await server.ok('POST', '/announcements', { text: 'missed one', user_id: user.id });
  await server.ok('POST', '/announcements', { text: 'missed two', user_id: user.id });
  await page.waitForSelector('#conn-state[data-state="live"]', { timeout: 15000 });
  await page.waitForSelector('#feed li:has-text("missed two")');
  await server.ok('POST', '/announcements', { text: 'after the restart', user_id: user.id });
  await page.waitForSelector('#feed li:has-text("after the restart")');

  const texts = await page.locator('#feed li').allTextContents();
  for (const text of ['before the restart', 'missed one', 'missed two', 'after the restart']) {
    assert.equal(texts.filter((x) => x.includes(text)).length, 1, `"${text}" shown once: ${JSON.stringify(texts)}`);
  }
  const ids = await page.locator('#feed li').evaluateAll((lis) => lis.map((li) => Number(li.dataset.eventId)));
  assert.equal(new Set(ids).size, ids.length, 'no event id twice');
  assert.deepEqual(navigations, [], 'no reload');
  assert.deepEqual(page.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  await ctx.close();
});
