// Orders that earn points, coupons that pay at checkout, and returns (issue #16), in a
// real headless Chromium against a real `pointcast serve`: the shop says what an order
// earned and lets the customer apply a coupon, the customer page lists what each order
// cost, saved and earned, and the console returns an order while the customer watches.
// One server and one browser for the file; each scenario has its own store and users.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Server, launch, context, open, loginCustomer, liveState, typedIn } from './harness.js';

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

/** A context with room for a busy machine: live updates are waited on, never slept for. */
async function ctxFor(opts) {
  const ctx = await context(browser, opts);
  ctx.setDefaultTimeout(10000);
  return ctx;
}

async function staffLogin(page, login, password) {
  await page.fill('#login-form input[name=login]', login);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
}

async function album(store, title, artist, price, quantity) {
  const p = await server.ok('POST', '/products', { title, artist, price });
  await server.ok('PUT', `/stores/${store.id}/stock/${p.id}`, { quantity });
  return p;
}

const latin = /[A-Za-z]/;

test('the shop and the customer page show what an order earned', async () => {
  // A store that gives 10% of what is paid; no coupon before 10,000 points.
  const store = await server.store('Mapo Records', { coupon_threshold: 10000 });
  const patched = await server.ok('PATCH', `/stores/${store.id}`, { earn_percent: 10 });
  assert.equal(patched.earn_percent, 10);
  const product = await album(store, 'Kind of Blue', 'Miles Davis', 27000, 5);
  const user = await server.customer('Ha-eun Yoon');

  const ctx = await ctxFor();
  const customer = await open(ctx, `${server.base}/`);
  await loginCustomer(customer, user);
  await liveState(customer);
  const shop = await open(ctx, `${server.base}/shop`);
  await shop.selectOption('#store-select', String(store.id));
  await shop.waitForSelector('#shop-earn:not([hidden]):has-text("Purchases at Mapo Records earn 10%")');
  await liveState(shop);
  const card = `.album[data-product-id="${product.id}"]`;
  await shop.waitForSelector(`${card} .album-stock[data-quantity="5"]`);
  assert.equal(await shop.locator(`${card} select[name=coupon]`).count(), 0, 'no coupon, no coupon choice');

  await shop.fill(`${card} input[name=quantity]`, '2');
  await shop.click(`${card} button[type=submit]`);
  await shop.waitForSelector(`${card} .form-msg.ok`);
  assert.equal(await shop.textContent(`${card} .form-msg`), 'Bought 2 × Kind of Blue: paid ₩54,000, +5,400 points');

  const { orders } = await server.ok('GET', `/users/${user.id}/orders`, undefined, { token: user.token });
  const order = orders[0];
  assert.equal(order.points_earned, 5400);
  // The customer page hears order.placed: the order with what it cost and earned.
  const row = customer.locator(`#orders tr[data-order-id="${order.id}"][data-status="placed"]`);
  await row.waitFor();
  assert.equal(await row.locator('.order-points').textContent(), '+5,400 points');
  assert.equal(await row.locator('.order-total').textContent(), '₩54,000');
  assert.equal(await row.locator('.order-discount').textContent(), '—');
  assert.equal(await row.locator('.order-paid').textContent(), '₩54,000');
  assert.equal(await row.locator('.order-status').textContent(), 'Placed');
  // Buying there made the customer a member, with the points as the balance, and the
  // feed says where they came from.
  await customer.waitForSelector(`.balance[data-store-id="${store.id}"] .balance-points[data-balance="5400"]`);
  await customer.waitForSelector(`#feed li[data-type="mileage.granted"]:has-text("+5,400 points earned on order #${order.id} at Mapo Records (balance 5,400)")`);
  assert.deepEqual(customer.errors, []);
  assert.deepEqual(shop.errors, []);
  await ctx.close();
});

test('the customer applies a coupon in the shop, in English and in Korean', async () => {
  // Default threshold 1,500 and coupon value 10,000 won; 2% earned on what is paid.
  const store = await server.store('망원 레코드');
  await server.ok('PATCH', `/stores/${store.id}`, { earn_percent: 2 });
  const product = await album(store, '봄날은 간다', '김윤아', 27000, 5);
  const user = await server.customer('Ye-jin Kang');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });
  const grant = await server.ok('POST', `/stores/${store.id}/members/${user.id}/mileage`, { points: 1500, reason: 'welcome', reason_code: 'promotion' }, { key: randomUUID() });
  const first = grant.coupons[0];
  assert.ok(first, 'the grant issued a coupon');

  const ctx = await ctxFor();
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await page.goto(`${server.base}/shop`);
  await page.selectOption('#store-select', String(store.id));
  await liveState(page);
  const card = `.album[data-product-id="${product.id}"]`;
  const select = `${card} select[name=coupon]`;
  await page.waitForSelector(`${select} option[value="${first.id}"]`, { state: 'attached' });
  assert.deepEqual(await page.locator(`${select} option`).allTextContents(), ['No coupon', `Coupon #${first.id}: ₩10,000 off`]);

  await page.selectOption(select, String(first.id));
  await page.click(`${card} button[type=submit]`);
  await page.waitForSelector(`${card} .form-msg.ok`);
  assert.equal(await page.textContent(`${card} .form-msg`), 'Bought 1 × 봄날은 간다: paid ₩17,000 (₩10,000 off with a coupon), +340 points');
  // The coupon is used: no longer offered (and with no other coupon, no choice at all).
  await page.waitForSelector(`${select}`, { state: 'detached' });
  const { coupons } = await server.ok('GET', `/users/${user.id}/coupons`, undefined, { token: user.token });
  assert.equal(coupons.find((c) => c.id === first.id).status, 'redeemed');
  const { orders } = await server.ok('GET', `/users/${user.id}/orders`, undefined, { token: user.token });
  assert.deepEqual([orders[0].total, orders[0].discount, orders[0].paid, orders[0].coupon_id, orders[0].points_earned], [27000, 10000, 17000, first.id, 340]);

  // Another coupon arrives live while the shop is open; the Korean page uses it.
  const again = await server.ok('POST', `/stores/${store.id}/members/${user.id}/mileage`, { points: 1500, reason: 'event', reason_code: 'promotion' }, { key: randomUUID() });
  const second = again.coupons[0];
  await page.waitForSelector(`${select} option[value="${second.id}"]`, { state: 'attached' });
  await page.click('#lang-switch');
  await page.waitForSelector(`${select} option[value="${second.id}"]:has-text("할인")`, { state: 'attached' });
  assert.deepEqual(await page.locator(`${select} option`).allTextContents(), ['쿠폰 사용 안 함', `쿠폰 #${second.id}: 10,000원 할인`]);
  assert.equal(await page.textContent('#shop-earn'), '망원 레코드에서 구매하면 결제 금액의 2%가 포인트로 적립됩니다.');
  await page.selectOption(select, String(second.id));
  await page.click(`${card} button[type=submit]`);
  await page.waitForSelector(`${card} .form-msg.ok`);
  const korean = await page.textContent(`${card} .form-msg`);
  assert.equal(korean, '봄날은 간다 1장을 구매했습니다. 결제 금액 17,000원 (쿠폰 10,000원 할인), 340점 적립');
  assert.doesNotMatch(korean, latin, 'no English in the Korean page');
  await page.waitForSelector(`${select}`, { state: 'detached' });
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('the console returns part of an order; the customer page updates live', async () => {
  const store = await server.store('연남 바이닐', { coupon_threshold: 100000 });
  await server.ok('PATCH', `/stores/${store.id}`, { earn_percent: 10 });
  const product = await album(store, '아니 벌써', '산울림', 30000, 5);
  const owner = { login: `owner${Math.floor(Math.random() * 1e6)}`, password: 'owner-pass-123' };
  await server.ok('POST', '/staff', { name: 'Yeonnam Owner', login: owner.login, password: owner.password, role: 'owner', store_ids: [store.id] });
  const user = await server.customer('Do-yun Lim');
  const placed = await server.ok('POST', '/orders', { store_id: store.id, product_id: product.id, quantity: 3 }, { token: user.token, key: randomUUID() });
  const order = placed.order;
  assert.equal(order.points_earned, 9000);

  // The customer watches their page, in Korean.
  const cctx = await ctxFor({ locale: 'ko-KR' });
  const customer = await open(cctx, `${server.base}/`);
  await loginCustomer(customer, user);
  await liveState(customer);
  const crow = `#orders tr[data-order-id="${order.id}"]`;
  await customer.waitForSelector(`${crow}[data-status="placed"] .order-status:has-text("주문 완료")`);

  // The owner opens the console: the store's orders, each with a return form.
  const actx = await ctxFor();
  const console_ = await open(actx, `${server.base}/admin`);
  await staffLogin(console_, owner.login, owner.password);
  await liveState(console_);
  await console_.selectOption('#store-select', String(store.id));
  const arow = `#store-orders tr[data-order-id="${order.id}"]`;
  await console_.waitForSelector(`${arow} .order-buyer:has-text("Do-yun Lim")`);
  assert.equal(await console_.textContent(`${arow} .order-points`), '+9,000 points');

  // The owner starts a return. Meanwhile a new order reaches the console live (the
  // staff's stock.changed names it) and the orders are reloaded: the row being typed
  // in is kept, with what was typed and its focus.
  await console_.fill(`${arow} input[name=reason]`, 'scratched sleeve');
  const later = await server.ok('POST', '/orders', { store_id: store.id, product_id: product.id, quantity: 1 }, { token: user.token, key: randomUUID() });
  await console_.waitForSelector(`#store-orders tr[data-order-id="${later.order.id}"][data-status="placed"]`);
  assert.deepEqual(await typedIn(console_, `${arow} input[name=reason]`), { focused: true, value: 'scratched sleeve' });

  await console_.fill(`${arow} input[name=quantity]`, '1');
  await console_.click(`${arow} button[type=submit]`);
  await console_.waitForSelector('#orders-msg.ok');
  assert.equal(await console_.textContent('#orders-msg'),
    `Returned 1 × 아니 벌써 (order #${order.id}). 3,000 points taken back. The customer's balance is now 9,000.`);
  await console_.waitForSelector(`${arow}[data-status="partially_returned"] .order-status:has-text("Partially returned (1 of 3)")`);
  assert.equal(await console_.getAttribute(`${arow} input[name=quantity]`, 'max'), '2', 'two are left to return');
  assert.equal(await console_.textContent(`${arow} .order-points`), '+9,000 points (3,000 taken back)');

  // The customer's page, live: the order partially returned, the points taken back
  // (9,000 + 3,000 from the later order, less 3,000).
  await customer.waitForSelector(`${crow}[data-status="partially_returned"] .order-status:has-text("부분 반품 (3장 중 1장)")`);
  assert.equal(await customer.textContent(`${crow} .order-points`), '+9,000점 (3,000점 차감)');
  await customer.waitForSelector(`.balance[data-store-id="${store.id}"] .balance-points[data-balance="9000"]`);
  const reversed = customer.locator(`#feed li[data-type="mileage.reversed"]`);
  await reversed.waitFor();
  assert.equal(await reversed.locator('span').textContent(), `연남 바이닐 주문 #${order.id} 반품으로 3,000점 차감 (잔액 9,000점)`);
  await customer.waitForSelector(`#feed li[data-type="order.returned"]:has-text("반품: 연남 바이닐 아니 벌써 1장")`);
  for (const text of [await customer.textContent(crow), await reversed.textContent()]) assert.doesNotMatch(text, latin, text);

  const after = await server.ok('GET', `/users/${user.id}/orders`, undefined, { token: user.token });
  const back = after.orders.find((o) => o.id === order.id);
  assert.deepEqual([back.returned_quantity, back.status], [1, 'partially_returned']);
  const { stock } = await server.ok('GET', `/stores/${store.id}/stock`);
  assert.equal(stock.find((s) => s.product_id === product.id).quantity, 5 - 3 - 1 + 1);

  // The loyalty policy is edited where the store is: PATCH /stores/{id}.
  await console_.waitForFunction(() => document.querySelector('#store-form input[name=earn_percent]').value !== '');
  assert.equal(await console_.inputValue('#store-form input[name=earn_percent]'), '10');
  await console_.fill('#store-form input[name=earn_percent]', '5');
  await console_.fill('#store-form input[name=coupon_value]', '5000');
  await console_.click('#store-form button[type=submit]');
  await console_.waitForSelector('#store-msg.ok');
  const policy = await server.ok('GET', `/stores/${store.id}`);
  assert.deepEqual([policy.earn_percent, policy.coupon_value, policy.coupon_threshold], [5, 5000, 100000]);

  assert.deepEqual(customer.errors, []);
  assert.deepEqual(console_.errors, []);
  await cctx.close();
  await actx.close();
});
