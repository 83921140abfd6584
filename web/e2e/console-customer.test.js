// The customer's side of issue #18 in a real Chromium: stores nearest first after
// sharing a location, leaving a store, an inquiry, a chat with a chosen store closed
// from the page, and the mileage history in words — in English and in Korean.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
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

async function ctxFor(opts) {
  const ctx = await context(browser, opts);
  ctx.setDefaultTimeout(10000);
  return ctx;
}

test('a customer finds the nearest store, joins and leaves, writes an inquiry and closes a chat', async () => {
  const far = await server.store('Haeundae Far Away', { lat: 35.1587, lon: 129.1604 });
  const near = await server.store('Hongdae Around The Corner', { lat: 37.5563, lon: 126.9236 });
  const user = await server.customer('Geo Customer');
  // The browser is in Hongdae.
  const ctx = await ctxFor({ geolocation: { latitude: 37.5570, longitude: 126.9240 }, permissions: ['geolocation'] });
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await liveState(page);

  await page.click('#locate');
  await page.waitForSelector('#stores-msg.ok');
  const order = await page.$$eval('#stores .store-row', (rows) => rows.map((r) => Number(r.dataset.storeId)));
  assert.deepEqual(order.slice(0, 2), [near.id, far.id], 'the nearest store first');
  assert.match(await page.textContent(`#stores .store-row[data-store-id="${near.id}"]`), /0\.1 km/);
  const saved = await server.ok('GET', `/users/${user.id}`, undefined, { token: user.token });
  assert.ok(Math.abs(saved.location.lat - 37.557) < 1e-6, 'the location is kept by the server');

  // Join, then leave (the second click confirms).
  await page.click(`#stores .store-row[data-store-id="${near.id}"] .store-join`);
  await page.waitForSelector(`.balance[data-store-id="${near.id}"]`);
  const leave = `#stores .store-row[data-store-id="${near.id}"] .store-leave`;
  await page.click(leave);
  await page.waitForSelector(`${leave}[data-confirm="yes"]`);
  await page.click(leave);
  await page.waitForSelector('#stores-msg.ok:has-text("You left Hongdae Around The Corner")');
  await page.waitForSelector(`.balance[data-store-id="${near.id}"]`, { state: 'detached' });
  await page.waitForSelector(`#stores .store-row[data-store-id="${near.id}"][data-member="no"]`);

  // An inquiry from the form.
  await page.fill('#inquiry-form input[name=subject]', 'Opening hours');
  await page.fill('#inquiry-form textarea[name=message]', 'Are you open on Sundays?');
  await page.fill('#inquiry-form input[name=reply_to]', 'geo@example.com');
  await page.click('#inquiry-form button[type=submit]');
  await page.waitForSelector('#inquiry-msg.ok:has-text("inquiry #")');
  const { inquiries } = await server.ok('GET', '/inquiries');
  assert.ok(inquiries.some((q) => q.subject === 'Opening hours' && q.reply_to === 'geo@example.com'));

  // A chat with the far store (joined first), asked from its shop page, closed from the page.
  await server.ok('PUT', `/stores/${far.id}/members/${user.id}`, {}, { token: user.token });
  await page.goto(`${server.base}/shop`);
  await page.selectOption('#store-select', String(far.id));
  await page.click('#ask-store');
  await page.waitForURL(`**/?store=${far.id}#chat`);
  await page.waitForFunction((id) => document.querySelector('#chat-store')?.value === String(id), far.id);
  await page.fill('#chat-form input[name=text]', 'Do you ship to Seoul?');
  await page.click('#chat-form button[type=submit]');
  await page.waitForSelector('#chat-with:has-text("Haeundae Far Away")');
  await page.click('#chat-close');
  await page.waitForSelector('#chat-close', { state: 'hidden' });
  const { conversations } = await server.ok('GET', '/support/conversations?status=closed', undefined, { token: user.token });
  assert.deepEqual(conversations.map((c) => [c.store_id, c.status]), [[far.id, 'closed']]);
  // The whole page, with history, stores and forms, fits a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => window.innerWidth === 390);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `the customer page is ${wide}px wide on a 390px screen`);
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('the mileage history reads in Korean: who granted, what became a coupon, the balance', async () => {
  const store = await server.store('합정 레코드', { coupon_threshold: 1500 });
  const user = await server.customer('이하은');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });
  const login = `owner${Math.floor(Math.random() * 1e6)}`;
  const owner = await server.ok('POST', '/staff', { name: '합정 점주', login, password: 'staff-pass-123', role: 'owner', store_ids: [store.id] });
  const ownerLogin = await server.ok('POST', '/auth/login', { login, password: 'staff-pass-123' }, { token: null });
  await server.ok('POST', `/stores/${store.id}/members/${user.id}/mileage`, { points: 300, reason: '첫 방문', reason_code: 'promotion' }, { token: ownerLogin.token, key: randomUUID() });

  const ctx = await ctxFor({ locale: 'ko-KR' });
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await liveState(page);
  await page.waitForSelector('#history li[data-kind="grant"]');
  // Granted while the page is open: +1,200 of which 1,500 (with the earlier 300) became a coupon.
  await server.ok('POST', `/stores/${store.id}/members/${user.id}/mileage`, { points: 1200, reason: '생일', reason_code: 'promotion' }, { token: ownerLogin.token, key: randomUUID() });
  const newest = page.locator('#history li').first();
  await page.waitForSelector('#history li:has-text("쿠폰 1장으로 바뀜")');
  assert.equal(await newest.locator('.history-text').textContent(), '합정 점주님이 +1,200점 적립 (프로모션: 생일): 1,500점이 쿠폰 1장으로 바뀜, 잔액 0점');
  assert.equal(await page.locator('#history li').nth(1).locator('.history-text').textContent(), '합정 점주님이 +300점 적립 (프로모션: 첫 방문), 잔액 300점');
  assert.equal(owner.name, '합정 점주');
  await page.waitForSelector('#coupons .coupon .coupon-label:has-text("쿠폰")');
  await page.evaluate(() => document.querySelectorAll('.toast').forEach((n) => n.remove()));
  const english = await page.evaluate(() => {
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const p = n.parentElement;
      if (!p || p.closest('select, option, script, style, [hidden], [translate="no"]') || !p.getClientRects().length) continue;
      out.push(...(n.textContent.match(/[A-Za-z][A-Za-z']+/g) || []));
    }
    return out;
  });
  assert.deepEqual(english.filter((w) => !['pointcast'].includes(w)), [], 'no English on the Korean customer page');
  assert.deepEqual(page.errors, []);
  await ctx.close();
});
