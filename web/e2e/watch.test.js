// "Tell me when it is back in stock" (issue #17), in a real headless Chromium against
// a real `pointcast serve`: a customer asks to be told about a sold-out album in the
// shop, an admin restocks it through the API, the toast says it is back, the card
// shows the stock again and the watch is gone.

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

test('a customer is told when a sold-out album is back, and the watch ends', async () => {
  const store = await server.store('Hapjeong Vinyl');
  const product = await server.ok('POST', '/products', { title: 'Blue Train', artist: 'John Coltrane', price: 30000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 0 });
  const user = await server.customer('Min-ji Seo');

  const ctx = await context(browser);
  ctx.setDefaultTimeout(10000);
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await page.goto(`${server.base}/shop`);
  await page.selectOption('#store-select', String(store.id));
  await liveState(page);
  const card = `.album[data-product-id="${product.id}"]`;
  await page.waitForSelector(`${card} .album-stock[data-quantity="0"]`);
  assert.equal(await page.textContent(`${card} .album-watch .watch-start`), 'Notify me');

  await page.click(`${card} .album-watch .watch-start`);
  await page.waitForSelector(`${card} .album-watch[data-watching="true"]`);
  assert.equal(await page.textContent(`${card} .album-watch .watching`), 'Watching ✓');
  let { watches } = await server.ok('GET', `/users/${user.id}/watches`, undefined, { token: user.token });
  assert.deepEqual(watches.map((w) => [w.store_id, w.product_id]), [[store.id, product.id]]);

  // Stop, and ask again: the page keeps up with both.
  await page.click(`${card} .album-watch .watch-stop`);
  await page.waitForSelector(`${card} .album-watch[data-watching="false"]`);
  ({ watches } = await server.ok('GET', `/users/${user.id}/watches`, undefined, { token: user.token }));
  assert.deepEqual(watches, []);
  await page.click(`${card} .album-watch .watch-start`);
  await page.waitForSelector(`${card} .album-watch[data-watching="true"]`);

  // An admin restocks through the API: the toast says so, the card sells again.
  await server.ok('POST', `/stores/${store.id}/stock/${product.id}/adjust`, { delta: 4, reason: 'delivery' });
  await page.waitForSelector('.toast:has-text("Blue Train is back in stock at Hapjeong Vinyl (4 in stock)")');
  await page.waitForSelector(`${card} .album-stock[data-quantity="4"]`);
  assert.equal(await page.locator(`${card} .album-watch`).isHidden(), true, 'no Notify me on an album in stock');
  assert.equal(await page.isDisabled(`${card} .album-buy .btn`), false);
  ({ watches } = await server.ok('GET', `/users/${user.id}/watches`, undefined, { token: user.token }));
  assert.deepEqual(watches, [], 'the watch ended with the restock');
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('visitors and staff see no Notify me; Korean reads in Korean', async () => {
  const store = await server.store('망원 레코드 2');
  const product = await server.ok('POST', '/products', { title: '사랑하기 때문에', artist: '유재하', price: 25000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 0 });
  const card = `.album[data-product-id="${product.id}"]`;

  const visitor = await context(browser);
  visitor.setDefaultTimeout(10000);
  const anon = await open(visitor, `${server.base}/shop`);
  await anon.selectOption('#store-select', String(store.id));
  await anon.waitForSelector(`${card} .album-stock[data-quantity="0"]`);
  assert.equal(await anon.locator(`${card} .album-watch`).isHidden(), true);
  await visitor.close();

  const user = await server.customer('Do-yun Han');
  const ctx = await context(browser, { locale: 'ko-KR' });
  ctx.setDefaultTimeout(10000);
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await page.goto(`${server.base}/shop`);
  await page.evaluate(() => localStorage.setItem('pointcast.lang', 'ko'));
  await page.reload();
  await page.selectOption('#store-select', String(store.id));
  await liveState(page);
  await page.waitForSelector(`${card} .album-watch .watch-start:has-text("입고 알림 받기")`);
  await page.click(`${card} .album-watch .watch-start`);
  await page.waitForSelector(`${card} .album-watch .watching:has-text("알림 신청됨 ✓")`);
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 2 });
  await page.waitForSelector('.toast:has-text("사랑하기 때문에이(가) 망원 레코드 2에 다시 입고되었습니다 (재고 2개)")');
  assert.deepEqual(page.errors, []);
  await ctx.close();
});
