// The audit trail in the console (issue #17): an owner grants mileage with a reason
// code and returns an order, then the audit view lists both, newest first, and its
// filters narrow the list — in English and in Korean.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Server, launch, context, open, liveState } from './harness.js';

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

async function staffLogin(page, login, password) {
  await page.fill('#login-form input[name=login]', login);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
}

test('an owner grants and returns, then the audit view lists both with filters', async () => {
  const store = await server.store('Hapjeong Records', { coupon_threshold: 100000 });
  const p = await server.ok('POST', '/products', { title: 'Abbey Road', artist: 'The Beatles', price: 25000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${p.id}`, { quantity: 5 });
  const owner = { login: `owner${Math.floor(Math.random() * 1e6)}`, password: 'owner-pass-123' };
  const staff = await server.ok('POST', '/staff', { name: 'Hapjeong Owner', login: owner.login, password: owner.password, role: 'owner', store_ids: [store.id] });
  const user = await server.customer('Ji-ho Kang');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });
  const placed = await server.ok('POST', '/orders', { store_id: store.id, product_id: p.id, quantity: 2 }, { token: user.token, key: randomUUID() });
  const order = placed.order;

  const ctx = await context(browser);
  ctx.setDefaultTimeout(10000);
  const console_ = await open(ctx, `${server.base}/admin`);
  await staffLogin(console_, owner.login, owner.password);
  await liveState(console_);
  await console_.selectOption('#store-select', String(store.id));

  // A grant with a reason code.
  await console_.fill('#find-form input[name=q]', user.member_no);
  await console_.click('#find-form button');
  await console_.click(`.member[data-user-id="${user.id}"]`);
  await console_.fill('#grant-form input[name=points]', '700');
  await console_.selectOption('#grant-form select[name=reason_code]', 'compensation');
  await console_.fill('#grant-form input[name=reason]', 'late delivery');
  await console_.click('#grant-btn');
  await console_.waitForSelector('#grant-msg.ok');

  // A return of one of the two records.
  const arow = `#store-orders tr[data-order-id="${order.id}"]`;
  await console_.waitForSelector(arow);
  await console_.fill(`${arow} input[name=quantity]`, '1');
  await console_.fill(`${arow} input[name=reason]`, 'scratched');
  await console_.click(`${arow} button[type=submit]`);
  await console_.waitForSelector('#orders-msg.ok');

  // The audit view: newest first, the return then the grant.
  await console_.click('#audit-btn');
  await console_.waitForSelector('#audit-list li[data-kind="order_return"]');
  const kinds = await console_.$$eval('#audit-list li[data-kind]', (ls) => ls.map((l) => l.dataset.kind));
  assert.deepEqual(kinds.slice(0, 2), ['order_return', 'grant']);
  const ret = await console_.textContent('#audit-list li[data-kind="order_return"]');
  assert.match(ret, /Return/);
  assert.match(ret, /Hapjeong Owner/);
  assert.match(ret, new RegExp(`order #${order.id}`));
  const grant = await console_.textContent('#audit-list li[data-kind="grant"]');
  assert.match(grant, /Reason code: Compensation/);
  assert.match(grant, new RegExp(`user #${user.id}`));

  // Filters: by kind, then by someone else as the actor.
  await console_.selectOption('#audit-form select[name=kind]', 'grant');
  await console_.click('#audit-btn');
  await console_.waitForFunction(() => [...document.querySelectorAll('#audit-list li[data-kind]')].every((l) => l.dataset.kind === 'grant'));
  assert.equal(await console_.locator('#audit-list li[data-kind]').count(), 1);
  await console_.selectOption('#audit-form select[name=kind]', '');
  await console_.fill('#audit-form input[name=actor_id]', String(staff.id + 100000));
  await console_.click('#audit-btn');
  await console_.waitForSelector('#audit-list li.empty');

  // The same view in Korean.
  const kctx = await context(browser, { locale: 'ko-KR' });
  kctx.setDefaultTimeout(10000);
  const ko = await open(kctx, `${server.base}/admin`);
  await staffLogin(ko, owner.login, owner.password);
  await ko.selectOption('#store-select', String(store.id));
  await ko.waitForSelector('#audit-list li[data-kind="order_return"]:has-text("반품")');
  assert.equal(await ko.textContent('#audit-card h2'), '감사 기록');

  // The API agrees, and owners see only their store.
  const api = await server.ok('GET', `/audit?store_id=${store.id}`);
  assert.deepEqual(api.rows.slice(0, 2).map((r) => [r.kind, r.actor.id]), [['order_return', staff.id], ['grant', staff.id]]);
  assert.deepEqual(console_.errors, []);
  assert.deepEqual(ko.errors, []);
});
