// The web pages in a real headless Chromium against a real `pointcast serve`.
// One server and one browser for the file; each scenario uses its own users and
// browser contexts. Nothing is skipped or faked: every scenario runs against the API.

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

const within = { timeout: 1000 };

async function staffLogin(page, login, password) {
  await page.fill('#login-form input[name=login]', login);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
}

async function newAdmin() {
  const login = `admin${Math.floor(Math.random() * 1e6)}`;
  await server.ok('POST', '/staff', { name: 'Console Admin', login, password: 'admin-pass-123', role: 'admin', store_ids: [] });
  return { login, password: 'admin-pass-123' };
}

test('pages are served from the binary with their types and security headers', async () => {
  for (const [path, type] of [['/', 'text/html'], ['/shop', 'text/html'], ['/admin', 'text/html']]) {
    const r = await fetch(`${server.base}${path}`);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type'), new RegExp(type));
    assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
    assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.ok(r.headers.get('referrer-policy'));
    assert.equal(r.headers.get('cache-control'), 'no-cache');
  }
  const js = await fetch(`${server.base}/assets/js/live.js`);
  assert.match(js.headers.get('content-type'), /text\/javascript/);
  const again = await fetch(`${server.base}/assets/js/live.js`, { headers: { 'If-None-Match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
  const css = await fetch(`${server.base}/assets/css/app.css`);
  assert.match(css.headers.get('content-type'), /text\/css/);
  const missing = await fetch(`${server.base}/assets/nope.js`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, 'not_found');
});

test('a visitor signs up and logs in on the customer page, in Korean or English', async () => {
  const ctx = await context(browser, { locale: 'ko-KR' });
  const page = await open(ctx, `${server.base}/`);
  await page.waitForSelector('#auth:not([hidden])');
  assert.equal(await page.textContent('#login-form h1'), '로그인', 'Korean from navigator.language');
  await page.click('#lang-switch');
  assert.equal(await page.textContent('#login-form h1'), 'Log in');
  await page.reload();
  await page.waitForSelector('#auth:not([hidden])');
  assert.equal(await page.textContent('#login-form h1'), 'Log in', 'the choice persists');

  await page.fill('#signup-form input[name=name]', '김민지');
  await page.fill('#signup-form input[name=phone]', '010-1234-5678');
  await page.fill('#signup-form input[name=password]', 'short');
  await page.click('#signup-form button[type=submit]');
  await page.waitForSelector('#signup-msg.error');
  assert.ok((await page.textContent('#signup-msg')).length > 5, 'the refusal is shown in words');

  await page.fill('#signup-form input[name=password]', 'a-good-password-1');
  await page.click('#signup-form button[type=submit]');
  await page.waitForSelector('#signup-msg.ok');
  assert.match(await page.textContent('#signup-msg'), /member number/);

  await page.fill('#login-form input[name=password]', 'wrong-password');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#login-msg.error');
  assert.match(await page.textContent('#login-msg'), /Wrong login or password/);

  await page.fill('#login-form input[name=password]', 'a-good-password-1');
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
  await liveState(page);
  assert.match(await page.textContent('#who'), /김민지/);
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('an announcement reaches the open customer page live, as a toast and in the feed', async () => {
  const user = await server.customer('Announce Reader');
  const ctx = await context(browser);
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await liveState(page);
  await server.ok('POST', '/announcements', { text: 'Vinyl night on Friday', user_id: user.id });
  await page.waitForSelector('#feed li:has-text("Vinyl night on Friday")', within);
  await page.waitForSelector('.toast:has-text("Vinyl night on Friday")', within);
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('mileage granted in the console shows on the customer page live, then the coupon', async () => {
  const store = await server.store('Gangnam Records', { coupon_threshold: 1500 });
  await server.ok('PUT', `/stores/${store.id}/coupon-design`, { shape: 'ticket', color: '#2b59c3', label: 'FREE LP' });
  const user = await server.customer('Seo-yeon Park');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });
  const admin = await newAdmin();

  const customerCtx = await context(browser);
  const customer = await open(customerCtx, `${server.base}/`);
  await loginCustomer(customer, user);
  await liveState(customer);

  const adminCtx = await context(browser);
  const console_ = await open(adminCtx, `${server.base}/admin`);
  await staffLogin(console_, admin.login, admin.password);
  await console_.selectOption('#store-select', String(store.id));
  await console_.fill('#find-form input[name=q]', user.member_no);
  await console_.click('#find-form button');
  await console_.click(`.member[data-user-id="${user.id}"]`);
  await console_.fill('#grant-form input[name=points]', '1000');
  await console_.fill('#grant-form input[name=reason]', 'two LPs');
  // A double click grants once: the key is per grant, not per click.
  await console_.dblclick('#grant-btn');
  await console_.waitForSelector('#grant-msg.ok');

  await customer.waitForSelector(`.balance[data-store-id="${store.id}"] .balance-points[data-balance="1000"]`, within);
  await customer.waitForSelector('.toast:has-text("+1,000 points")', within);

  await console_.fill('#grant-form input[name=points]', '600');
  await console_.click('#grant-btn');
  await console_.waitForSelector('#grant-msg.ok:has-text("coupon")');
  // The coupon is drawn from the store's design: its shape, colour and label.
  const coupon = customer.locator('#coupons .coupon.coupon-ticket', { hasText: 'FREE LP' });
  await coupon.waitFor(within);
  assert.equal(await coupon.evaluate((n) => n.style.getPropertyValue('--coupon-color')), '#2b59c3');
  await customer.waitForSelector(`.balance[data-store-id="${store.id}"] .balance-points[data-balance="100"]`, within);
  const mileage = await server.ok('GET', `/users/${user.id}/mileage`, undefined, { token: user.token });
  assert.equal(mileage.balances.find((b) => b.store_id === store.id).balance, 100);
  // The double click credited once: two grants (1,000 and 600) and one conversion.
  const { entries } = await server.ok('GET', `/users/${user.id}/mileage/entries?store_id=${store.id}`, undefined, { token: user.token });
  assert.deepEqual(entries.map((e) => [e.kind, e.points]).reverse(), [['grant', 1000], ['grant', 600], ['conversion', -1500]]);

  // An order: it arrives live as order.placed.
  const album = await server.ok('POST', '/products', { title: '다시 부르기 2', artist: '김광석', price: 28000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${album.id}`, { quantity: 6 });
  await server.ok('POST', '/orders', { store_id: store.id, product_id: album.id, quantity: 1 }, { token: user.token, key: randomUUID() });
  await customer.waitForSelector('#orders td:has-text("다시 부르기 2")', within);
  // And a question to the customer center, answered from the console.
  const opened = await server.ok('POST', '/support/conversations', { text: 'Will the 김광석 LP come back in stock?', store_id: store.id }, { token: user.token });
  await console_.locator('.conversation', { hasText: '김광석 LP' }).waitFor(within);
  await server.ok('POST', `/support/conversations/${opened.conversation.id}/messages`, { text: 'Yes: six copies arrive on Friday.' });
  await customer.waitForSelector('#chat-log .msg:not(.mine):has-text("six copies")', within);

  // The console with the store's members (two more, with balances) and the jobs.
  for (const [name, points] of [['김하늘', 1200], ['Ji-woo Han', 450]]) {
    const other = await server.customer(name);
    await server.ok('PUT', `/stores/${store.id}/members/${other.id}`, {}, { token: other.token });
    await server.ok('POST', `/stores/${store.id}/members/${other.id}/mileage`, { points, reason: 'purchase', reason_code: 'promotion' }, { key: randomUUID() });
  }
  await console_.fill('#find-form input[name=q]', '');
  await console_.click('#find-form button');
  await console_.waitForSelector('#member-results .member:has-text("김하늘")');
  // A job run: the console hears job.completed and shows its last run.
  const run = await server.ok('POST', '/admin/jobs/sales-rollup/run');
  await console_.waitForSelector(`#jobs .job[data-job="sales-rollup"] .job-last[data-run-id="${run.id}"][data-outcome="ok"]`);
  await console_.waitForSelector(`#inventory .stock-row[data-product-id="${album.id}"]`);
  await console_.fill('#grant-form input[name=points]', '300');
  await console_.fill('#grant-form input[name=reason]', 'one LP');
  assert.deepEqual(customer.errors, []);
  assert.deepEqual(console_.errors, []);
  await customerCtx.close();
  await adminCtx.close();
});

test('a purchase on one shop page drops the stock shown on another; a sold-out buy says so', async () => {
  const store = await server.store('Hongdae Vinyl');
  const product = await server.ok('POST', '/products', { title: 'Kind of Blue', artist: 'Miles Davis', price: 32000 });
  await server.ok('POST', '/products', { title: 'Abbey Road', artist: 'The Beatles', price: 35000 });
  for (const [title, artist, price] of [['아니 벌써', '산울림', 26000], ['Blue', 'Joni Mitchell', 31000], ['Rumours', 'Fleetwood Mac', 34000],
    ['Purple Rain', 'Prince', 33000], ['봄날은 간다', '김윤아', 27000], ['Random Access Memories', 'Daft Punk', 45000]]) {
    await server.ok('POST', '/products', { title, artist, price });
  }
  // Every other album in stock at this store, a few of them running low.
  const { products } = await server.ok('GET', '/products');
  for (const [i, p] of products.filter((p) => p.id !== product.id).entries()) {
    await server.ok('PUT', `/stores/${store.id}/stock/${p.id}`, { quantity: [12, 2, 7, 5, 1, 9, 4, 15][i % 8] });
  }
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 3 });
  const buyer = await server.customer('Ji-ho Lee');

  const watcherCtx = await context(browser);
  const watcher = await open(watcherCtx, `${server.base}/shop`);
  await watcher.selectOption('#store-select', String(store.id));
  await liveState(watcher);
  const stockOf = (page) => page.locator(`.album[data-product-id="${product.id}"] .album-stock`);
  await watcher.waitForSelector(`.album[data-product-id="${product.id}"] .album-stock[data-quantity="3"]`);

  const buyerCtx = await context(browser);
  const shop = await open(buyerCtx, `${server.base}/`);
  await loginCustomer(shop, buyer);
  await shop.goto(`${server.base}/shop`);
  await shop.selectOption('#store-select', String(store.id));
  const card = `.album[data-product-id="${product.id}"]`;
  await shop.fill(`${card} input[name=quantity]`, '2');
  await shop.click(`${card} button[type=submit]`);
  await shop.waitForSelector(`${card} .form-msg.ok`);
  // Two bought, not one: a redraw during the typing once lost the "2" (the card was rebuilt).
  assert.match(await shop.textContent(`${card} .form-msg.ok`), /Bought 2 × Kind of Blue/);
  await watcher.waitForSelector(`${card} .album-stock[data-quantity="1"]`, within).catch(async (e) => {
    // Should it happen again: say what the watcher showed and whether its stream was live.
    const shown = await watcher.evaluate((c) => ({
      stock: document.querySelector(`${c} .album-stock`)?.dataset.quantity,
      live: document.querySelector('#conn-state')?.dataset.state,
      store: document.querySelector('#store-select')?.value,
    }), card);
    throw new Error(`${e.message}\nthe watcher showed ${JSON.stringify(shown)}`);
  });

  // Someone else takes the last one while this page still shows 1.
  await server.ok('POST', '/orders', { store_id: store.id, product_id: product.id, quantity: 1 }, { token: (await server.customer('Quick Buyer')).token, key: randomUUID() });
  await shop.evaluate(() => { /* keep the page as it is */ });
  await watcher.waitForSelector(`${card} .album-stock[data-quantity="0"]`, within);
  assert.match(await stockOf(watcher).textContent(), /Sold out/);

  assert.deepEqual(watcher.errors, []);
  await watcherCtx.close();
  await buyerCtx.close();
});

test('a quantity typed in the shop stays when a live update redraws the albums', async () => {
  const store = await server.store('Seongsu Records');
  const product = await server.ok('POST', '/products', { title: 'Pet Sounds', artist: 'The Beach Boys', price: 30000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 5 });
  const buyer = await server.customer('Min-seo Park');
  const ctx = await context(browser);
  const shop = await open(ctx, `${server.base}/`);
  await loginCustomer(shop, buyer);
  await shop.goto(`${server.base}/shop`);
  await shop.selectOption('#store-select', String(store.id));
  await liveState(shop);
  const card = `.album[data-product-id="${product.id}"]`;
  await shop.waitForSelector(`${card} .album-stock[data-quantity="5"]`);
  await shop.fill(`${card} input[name=quantity]`, '2');
  // A new price is a `product.updated`: the page reloads and redraws every album.
  await server.ok('PATCH', `/products/${product.id}`, { price: 33000 });
  await shop.locator(`${card} .album-price`).filter({ hasText: '33,000' }).waitFor(within);
  assert.equal(await shop.inputValue(`${card} input[name=quantity]`), '2');
  // The card was updated, not rebuilt: the input the customer is typing in keeps
  // its focus, so a key pressed during a redraw lands in it (a rebuilt card lost
  // the focus and the key: a buy of 1 where 2 was typed).
  assert.deepEqual(await typedIn(shop, `${card} input[name=quantity]`), { focused: true, value: '2' });
  await shop.click(`${card} button[type=submit]`);
  await shop.waitForSelector(`${card} .form-msg.ok`);
  const { stock } = await server.ok('GET', `/stores/${store.id}/stock`);
  assert.equal(stock.find((s) => s.product_id === product.id).quantity, 3);
  assert.deepEqual(shop.errors, []);
  await ctx.close();
});

test('a stock change heard while the stock list loads is not undone by that list', async () => {
  const store = await server.store('Mangwon Records');
  const product = await server.ok('POST', '/products', { title: 'Blue Train', artist: 'John Coltrane', price: 30000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 3 });
  const card = `.album[data-product-id="${product.id}"]`;

  const watcherCtx = await context(browser);
  const watcher = await open(watcherCtx, `${server.base}/shop`);
  await watcher.selectOption('#store-select', String(store.id));
  await liveState(watcher);
  await watcher.waitForSelector(`${card} .album-stock[data-quantity="3"]`);

  // The next stock list is read now (3) and held until the page has heard the sale.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let asked;
  const listAsked = new Promise((resolve) => { asked = resolve; });
  await watcher.route((url) => url.pathname === `/api/v1/stores/${store.id}/stock`, async (route) => {
    const response = await route.fetch();
    asked();
    await held;
    await route.fulfill({ response });
  });
  // A product change makes the page load everything again, the stock list last.
  await server.ok('PATCH', `/products/${product.id}`, { title: 'Blue Train (Mono)' });
  await listAsked;
  await server.ok('POST', '/orders', { store_id: store.id, product_id: product.id, quantity: 2 }, { token: (await server.customer('Mangwon Buyer')).token, key: randomUUID() });
  await watcher.waitForSelector(`${card} .album-stock[data-quantity="1"]`, within);

  // The list (3, read before the sale) arrives; the grid is drawn again from it.
  release();
  await watcher.waitForSelector(`${card}:has-text("Blue Train (Mono)")`);
  assert.equal(await watcher.locator(`${card} .album-stock`).getAttribute('data-quantity'), '1');
  assert.deepEqual(watcher.errors, []);
  await watcherCtx.close();
});

test('a buy that finds the stock gone gets the 409 in words', async () => {
  const store = await server.store('Itaewon Records');
  const product = await server.ok('POST', '/products', { title: 'Blue Train', artist: 'John Coltrane', price: 30000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${product.id}`, { quantity: 1 });
  const buyer = await server.customer('Da-eun Choi');
  const ctx = await context(browser);
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, buyer);
  await page.goto(`${server.base}/shop`);
  await page.selectOption('#store-select', String(store.id));
  const card = `.album[data-product-id="${product.id}"]`;
  await page.waitForSelector(`${card} .album-stock[data-quantity="1"]`);
  // Ask for more than there is: the server refuses, the page says how many are left.
  await page.fill(`${card} input[name=quantity]`, '5');
  await page.click(`${card} button[type=submit]`);
  await page.waitForSelector(`${card} .form-msg.error`);
  assert.match(await page.textContent(`${card} .form-msg`), /only 1 left/);
  await ctx.close();
});

test('a chat message goes from the customer to the console and back', async () => {
  const user = await server.customer('Min-jun Kim');
  const admin = await newAdmin();
  const cctx = await context(browser);
  const customer = await open(cctx, `${server.base}/`);
  await loginCustomer(customer, user);
  await liveState(customer);
  const actx = await context(browser);
  const console_ = await open(actx, `${server.base}/admin`);
  await staffLogin(console_, admin.login, admin.password);
  await liveState(console_);

  await customer.fill('#chat-form input[name=text]', 'Is the Coltrane LP back in stock?');
  await customer.click('#chat-form button');
  await customer.waitForSelector('#chat-log .msg.mine:has-text("Coltrane")');
  const conv = console_.locator('.conversation', { hasText: 'Coltrane' });
  await conv.waitFor(within);
  await conv.locator('input[name=text]').fill('Yes, two copies arrived today.');
  await conv.locator('button[type=submit]').click();
  await customer.waitForSelector('#chat-log .msg:not(.mine):has-text("two copies")', within);
  assert.equal(await customer.locator('#chat-log .msg').count(), 2, 'each message shown once');
  await cctx.close();
  await actx.close();
});

test('the console lists who is connected and shows jobs or says they are not there', async () => {
  const admin = await newAdmin();
  const ctx = await context(browser);
  const page = await open(ctx, `${server.base}/admin`);
  await staffLogin(page, admin.login, admin.password);
  await liveState(page);
  await page.click('#conn-refresh');
  await page.waitForSelector('#connections td:has-text("Console Admin")');
  await page.waitForSelector('#jobs .job, #jobs .placeholder');
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('the pages fit a phone screen without sideways scrolling', async () => {
  const ctx = await context(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  for (const path of ['/', '/shop', '/admin']) {
    const page = await open(ctx, `${server.base}${path}`);
    await page.waitForLoadState('networkidle').catch(() => {});
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `${path} is ${wide}px wide on a 390px screen`);
    assert.deepEqual(page.errors, [], path);
    await page.close();
  }
  await ctx.close();
});
