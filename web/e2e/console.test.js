// The console around roles (issue #18), in a real headless Chromium against a real
// `pointcast serve`: an owner's full day — enrol a customer, grant, watch the
// customer's page change, redeem, answer and close a chat the customer started from
// the page, look at sales — with an admin renaming an album (seen live in the shop)
// and moving a job to 07:30 in Asia/Seoul (the next run shown in Seoul time).
// Nothing is slept for: every step waits on the DOM the live events change.

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

async function newStaff(role, storeIds, name) {
  const login = `${role}${Math.floor(Math.random() * 1e6)}`;
  const staff = await server.ok('POST', '/staff', { name, login, password: 'staff-pass-123', role, store_ids: storeIds });
  return { ...staff, login, password: 'staff-pass-123' };
}

/** The text a person can see in `sel` (hidden cards excluded). */
const visibleText = (page, sel = 'body') => page.evaluate((s) => document.querySelector(s).innerText, sel);

test("an owner's full day in the console, seen from the customer's page and the shop", async () => {
  const store = await server.store('Seongsu Records', { coupon_threshold: 1500 });
  await server.ok('PATCH', `/stores/${store.id}`, { time_zone: 'Asia/Seoul' });
  const album = await server.ok('POST', '/products', { title: 'Blue Train', artist: 'John Coltrane', price: 30000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${album.id}`, { quantity: 5 });
  const owner = await newStaff('owner', [store.id], 'Seongsu Owner');
  const user = await server.customer('Yuna Jang');

  const cctx = await ctxFor();
  const customer = await open(cctx, `${server.base}/`);
  await loginCustomer(customer, user);
  await liveState(customer);

  const octx = await ctxFor();
  const console_ = await open(octx, `${server.base}/admin`);
  await staffLogin(console_, owner.login, owner.password);
  await liveState(console_);
  await console_.waitForSelector('#members-card:not([hidden])');
  // An owner sees their store's panels and nothing that would refuse them.
  for (const card of ['#products-card', '#connections-card', '#inquiries-card', '#keys-card', '#register-box']) {
    assert.equal(await console_.isVisible(card), false, `${card} is not shown to an owner`);
  }
  assert.deepEqual(await console_.$$eval('#store-select option', (os) => os.map((o) => o.textContent)), ['Seongsu Records']);
  // The panel links at the top lead only to cards the owner can see.
  await console_.waitForFunction(() => [...document.querySelectorAll('.panel-nav a')]
    .every((a) => a.hidden === Boolean(document.querySelector(a.getAttribute('href'))?.hidden)));
  assert.equal(await console_.isVisible('.panel-nav a[href="#products-card"]'), false);
  assert.doesNotMatch(await visibleText(console_), /admins only|not allowed|went wrong/i);

  // Enrol the customer by member number: the member list shows them with 0 points.
  await console_.fill('#enrol-form input[name=member_no]', user.member_no);
  await console_.click('#enrol-form button[type=submit]');
  await console_.waitForSelector('#enrol-msg.ok');
  await console_.waitForSelector(`.member-row[data-user-id="${user.id}"] .points-badge[data-balance="0"]`);

  // Grant 1,600: one coupon at 1,500, 100 left; the badge, the page and the history follow.
  await console_.click(`.member[data-user-id="${user.id}"]`);
  await console_.fill('#grant-form input[name=points]', '1600');
  await console_.selectOption('#grant-form select[name=reason_code]', 'promotion');
  await console_.fill('#grant-form input[name=reason]', 'opening week');
  await console_.click('#grant-btn');
  await console_.waitForSelector('#grant-msg.ok:has-text("1 coupon")');
  await console_.waitForSelector(`.member-row[data-user-id="${user.id}"] .points-badge[data-balance="100"]`);
  await customer.waitForSelector(`.balance[data-store-id="${store.id}"] .balance-points[data-balance="100"]`);
  const coupon = customer.locator('#coupons .coupon[data-status="active"]');
  await coupon.waitFor();
  await customer.waitForSelector('#history li:has-text("+1,600 points from Seongsu Owner")');
  assert.match(await customer.textContent('#history li[data-kind="grant"]'), /\+1,600 points from Seongsu Owner \(Promotion: opening week\): 1,500 became 1 coupon\(s\), balance 100/);
  assert.equal(await customer.locator('#history li[data-kind="conversion"]').count(), 0, 'the conversion is told with its grant');

  // Redeem the coupon at the counter: the customer's coupon turns used.
  const couponId = Number(await coupon.getAttribute('data-coupon-id'));
  await console_.fill('#redeem-form input[name=coupon]', String(couponId));
  await console_.click('#redeem-form button[type=submit]');
  await console_.waitForSelector('#redeem-msg.ok');
  await customer.waitForSelector(`#coupons .coupon[data-coupon-id="${couponId}"][data-status="redeemed"]`);

  // The customer starts a chat with the store from the page; the owner answers and closes it.
  await customer.selectOption('#chat-store', String(store.id));
  await customer.fill('#chat-form input[name=text]', 'Is Blue Train still in stock?');
  await customer.click('#chat-form button[type=submit]');
  await customer.waitForSelector('#chat-with:has-text("Seongsu Records")');
  const conv = console_.locator('.conversation', { hasText: 'Blue Train still' });
  await conv.waitFor();
  await conv.locator('input[name=text]').fill('Yes, five copies.');
  await conv.locator('button[type=submit]').click();
  await customer.waitForSelector('#chat-log .msg:not(.mine):has-text("five copies")');
  await conv.locator('.conv-close').click();
  await conv.waitFor({ state: 'detached' });
  await customer.waitForSelector('#chat-log .empty:has-text("closed")');

  // An admin renames the album; the open shop page shows the new title.
  const shop = await open(cctx, `${server.base}/shop`);
  await shop.selectOption('#store-select', String(store.id));
  await liveState(shop);
  await shop.waitForSelector(`.album[data-product-id="${album.id}"]:has-text("Blue Train")`);
  const admin = await newStaff('admin', [], 'Site Admin');
  // The admin's browser is in Seoul: what the console shows in a named zone must not depend on it.
  const actx = await ctxFor({ timezoneId: 'Asia/Seoul' });
  const adminPage = await open(actx, `${server.base}/admin`);
  await staffLogin(adminPage, admin.login, admin.password);
  // A store that joined the service before it was registered here keeps its join day.
  await adminPage.fill('#register-form input[name=name]', 'Euljiro Since 2024');
  await adminPage.fill('#register-form input[name=joined_on]', '2024-03-01');
  await adminPage.click('#register-form button[type=submit]');
  await adminPage.waitForSelector('#register-msg.ok');
  await adminPage.waitForSelector('#store-list tr.chosen:has-text("Euljiro Since 2024"):has-text("Mar 1, 2024")');
  await adminPage.fill('#albums-search', 'Coltrane');
  const row = adminPage.locator(`.album-row[data-product-id="${album.id}"]`);
  await row.locator('input[name=title]').fill('Blue Train (Remastered)');
  await row.locator('button[type=submit]').click();
  await adminPage.waitForSelector('#albums-msg.ok');
  await shop.waitForSelector(`.album[data-product-id="${album.id}"]:has-text("Blue Train (Remastered)")`);
  await row.locator('button:has-text("History")').click();
  await row.locator('.album-history li:has-text("Blue Train / John Coltrane → Blue Train (Remastered)")').waitFor();

  // The admin moves the sales job to 07:30 Seoul time: the next run reads 7:30 AM
  // in Asia/Seoul, which is 22:30 UTC.
  const job = adminPage.locator('.job[data-job="sales-rollup"]');
  await job.locator('select[name=time_zone]').selectOption('Asia/Seoul');
  await job.locator('input[name=time]').fill('07:30');
  await job.locator('button[type=submit]').click();
  await adminPage.waitForSelector('#jobs-msg.ok:has-text("07:30 (Asia/Seoul)")');
  const next = adminPage.locator('.job[data-job="sales-rollup"] .job-next[data-zone="Asia/Seoul"]');
  await next.waitFor();
  assert.match(await next.textContent(), /7:30\sAM \(Asia\/Seoul\)/);
  assert.match(await next.getAttribute('data-next'), /T22:30:00/);
  const { jobs } = await server.ok('GET', '/admin/jobs');
  assert.deepEqual(jobs.filter((j) => j.name === 'sales-rollup').map((j) => [j.schedule, j.time_zone]), [['daily 07:30', 'Asia/Seoul']]);

  // A purchase, then the owner's sales: the total and a bar for today.
  await server.ok('POST', '/orders', { store_id: store.id, product_id: album.id, quantity: 2 }, { token: user.token, key: randomUUID() });
  await console_.click('#sales-form button[type=submit]');
  await console_.waitForSelector('#sales .sales-total[data-revenue="60000"]');
  assert.equal(await console_.locator('#sales svg.chart .bar[data-revenue="60000"]').count(), 1);
  await console_.waitForSelector(`#sales .sales-albums tr[data-product-id="${album.id}"]:has-text("Blue Train (Remastered)")`);

  // Stock is paged and searchable, with the optimal-stock rule in words.
  await console_.fill('#stock-search', 'Remastered');
  await console_.waitForSelector(`#inventory .stock-row[data-product-id="${album.id}"] .stock-n[data-quantity="3"]`);
  assert.match(await console_.textContent('#stock-rule'), /Optimal stock = ceil/);

  assert.doesNotMatch(await visibleText(console_), /admins only|not allowed|went wrong/i);
  for (const p of [customer, console_, shop, adminPage]) assert.deepEqual(p.errors, []);
  await cctx.close();
  await octx.close();
  await actx.close();
});

/** Visible Latin words on the page, minus what is a name or a code rather than English. */
async function englishOnScreen(page, allowed) {
  const words = await page.evaluate(() => {
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const p = n.parentElement;
      if (!p || p.closest('select, option, script, style, [hidden], [translate="no"]') || !p.getClientRects().length) continue;
      out.push(...(n.textContent.match(/[A-Za-z][A-Za-z']+/g) || []));
    }
    return out;
  });
  return words.filter((w) => !allowed.includes(w));
}

test('an owner works in Korean: grants, a refusal and the panels read in Korean only', async () => {
  const store = await server.store('연남 레코드', { coupon_threshold: 1500 });
  const owner = await newStaff('owner', [store.id], '연남 점주');
  const user = await server.customer('박서연');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });

  const ctx = await ctxFor({ locale: 'ko-KR' });
  const page = await open(ctx, `${server.base}/admin`);
  await staffLogin(page, owner.login, owner.password);
  await liveState(page);
  await page.waitForSelector(`.member[data-user-id="${user.id}"]`);
  assert.match(await page.textContent('#who'), /연남 점주 · 점주/);

  await page.click(`.member[data-user-id="${user.id}"]`);
  await page.fill('#grant-form input[name=points]', '1200');
  await page.fill('#grant-form input[name=reason]', '매장 구매');
  await page.click('#grant-btn');
  await page.waitForSelector('#grant-msg.ok');
  assert.equal(await page.textContent('#grant-msg'), '박서연님께 1,200점을 적립했습니다. 잔액 1,200점.');
  await page.waitForSelector(`.member-row[data-user-id="${user.id}"] .points-badge[data-balance="1200"]`);

  // A correction below zero is refused, in Korean (not the server's English).
  await page.selectOption('#grant-form select[name=reason_code]', 'correction');
  await page.fill('#grant-form input[name=points]', '-5000');
  await page.click('#grant-btn');
  await page.waitForSelector('#grant-msg.error');
  assert.equal(await page.textContent('#grant-msg'), '정정으로 잔액을 0점 아래로 만들 수 없습니다.');

  await page.click('#audit-btn');
  await page.waitForSelector('#audit-list li[data-kind="grant"]');
  await page.evaluate(() => document.querySelectorAll('.toast').forEach((n) => n.remove()));
  const english = await englishOnScreen(page, ['pointcast', 'P', 'UTC', 'Asia', 'Seoul']);
  assert.deepEqual(english, [], 'no English on the Korean console');
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test('the console fits a 390 px phone for an owner and an admin, with data in every panel', async () => {
  const store = await server.store('Mangwon Vinyl and Tapes', { coupon_threshold: 1500 });
  const owner = await newStaff('owner', [store.id], 'Mangwon Owner');
  for (const [title, artist] of [['A Love Supreme (Deluxe Edition)', 'John Coltrane'], ['봄날은 간다', '김윤아']]) {
    const p = await server.ok('POST', '/products', { title, artist, price: 31000 });
    await server.ok('PUT', `/stores/${store.id}/stock/${p.id}`, { quantity: 4 });
  }
  const user = await server.customer('Phone Customer');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });
  await server.ok('POST', `/stores/${store.id}/members/${user.id}/mileage`, { points: 700, reason: 'phone', reason_code: 'promotion' }, { key: randomUUID() });
  const admin = await newStaff('admin', [], 'Phone Admin');

  for (const who of [owner, admin]) {
    const ctx = await ctxFor({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await open(ctx, `${server.base}/admin`);
    await staffLogin(page, who.login, who.password);
    await liveState(page);
    await page.selectOption('#store-select', String(store.id));
    await page.waitForSelector(`.member[data-user-id="${user.id}"]`);
    await page.waitForSelector('#inventory .stock-row');
    await page.waitForSelector('#sales .empty, #sales .sales-total');
    await page.click(`.member[data-user-id="${user.id}"]`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `the console is ${wide}px wide on a 390px screen for ${who.role}`);
    assert.deepEqual(page.errors, []);
    await ctx.close();
  }
});

test('an admin reads an inquiry sent from the customer page and moves it along', async () => {
  const user = await server.customer('Inquiring Customer');
  const admin = await newStaff('admin', [], 'Inquiry Admin');
  const cctx = await ctxFor();
  const customer = await open(cctx, `${server.base}/`);
  await loginCustomer(customer, user);
  await customer.fill('#inquiry-form input[name=subject]', 'Gift cards?');
  await customer.fill('#inquiry-form textarea[name=message]', 'Do you sell gift cards for the shop?');
  await customer.fill('#inquiry-form input[name=reply_to]', 'ask@example.com');
  await customer.click('#inquiry-form button[type=submit]');
  await customer.waitForSelector('#inquiry-msg.ok');

  const actx = await ctxFor();
  const page = await open(actx, `${server.base}/admin`);
  await staffLogin(page, admin.login, admin.password);
  const row = page.locator('#inquiries .inquiry', { hasText: 'Gift cards?' });
  await row.waitFor();
  assert.equal(await row.getAttribute('data-status'), 'new');
  await row.locator('summary').click();
  await row.locator('select[name=status]').selectOption('in_progress');
  await page.waitForSelector('#inquiries-msg.ok:has-text("In progress")');
  const { inquiries } = await server.ok('GET', '/inquiries');
  assert.equal(inquiries.find((q) => q.subject === 'Gift cards?').status, 'in_progress');
  assert.deepEqual(page.errors, []);
  assert.deepEqual(customer.errors, []);
  await cctx.close();
  await actx.close();
});

test('a count typed in the stock panel survives live changes; the count shown follows at once', async () => {
  const store = await server.store('Mapo Vinyl');
  const album = await server.ok('POST', '/products', { title: 'Moanin\'', artist: 'Art Blakey', price: 29000 });
  await server.ok('PUT', `/stores/${store.id}/stock/${album.id}`, { quantity: 6 });
  const owner = await newStaff('owner', [store.id], 'Mapo Owner');
  const buyer = await server.customer('Do-yun Choi');

  const ctx = await ctxFor();
  const page = await open(ctx, `${server.base}/admin`);
  await staffLogin(page, owner.login, owner.password);
  await liveState(page);
  await page.fill('#stock-search', 'Moanin');
  const row = `#inventory .stock-row[data-product-id="${album.id}"]`;
  await page.waitForSelector(`${row} .stock-n[data-quantity="6"]`);
  // The owner starts typing a new count and has not sent it yet.
  await page.fill(`${row} input[name=quantity]`, '12');
  const typing = () => typedIn(page, `${row} input[name=quantity]`);

  // A new price reloads the panel: the redraw is held (data-held) while the owner types.
  await server.ok('PATCH', `/products/${album.id}`, { price: 31000 });
  await page.waitForSelector('#inventory[data-held]');
  assert.deepEqual(await typing(), { focused: true, value: '12' });
  // A sale: the count shown drops at once, in place; the input keeps what was typed, and the focus.
  await server.ok('POST', '/orders', { store_id: store.id, product_id: album.id, quantity: 2 }, { token: buyer.token, key: randomUUID() });
  await page.waitForSelector(`${row} .stock-n[data-quantity="4"]`);
  await page.keyboard.type('0');
  assert.deepEqual(await typing(), { focused: true, value: '120' });
  // The owner leaves the panel: it is drawn with the new price, and nothing is held.
  await page.click('#stock-rule');
  await page.locator(row).filter({ hasText: '31,000' }).waitFor();
  await page.waitForSelector('#inventory:not([data-held])');
  assert.equal(await page.textContent(`${row} .stock-n`), '4');

  // And the panel still does its job: a count sent is the count kept.
  await page.fill(`${row} input[name=quantity]`, '9');
  await page.click(`${row} .set-form button[type=submit]`);
  await page.waitForSelector(`${row} .stock-n[data-quantity="9"]`);
  const { stock } = await server.ok('GET', `/stores/${store.id}/stock`);
  assert.equal(stock.find((s) => s.product_id === album.id).quantity, 9);
  assert.deepEqual(page.errors, []);
  await ctx.close();
});

test("an admin's rename or schedule being typed survives live changes; a job's result shows at once", async () => {
  const mine = await server.ok('POST', '/products', { title: 'Somethin\' Else', artist: 'Cannonball Adderley', price: 30000 });
  const other = await server.ok('POST', '/products', { title: 'Saxophone Colossus', artist: 'Sonny Rollins', price: 28000 });
  const admin = await newStaff('admin', [], 'Typing Admin');
  const ctx = await ctxFor();
  const page = await open(ctx, `${server.base}/admin`);
  await staffLogin(page, admin.login, admin.password);
  await liveState(page);
  // Both albums on the list's first page ("Somethin'", "Sonny"): the search keeps it short.
  await page.fill('#albums-search', 'so');
  const mineRow = `#albums .album-row[data-product-id="${mine.id}"]`;
  const otherRow = `#albums .album-row[data-product-id="${other.id}"]`;
  await page.waitForSelector(otherRow);

  // Typing a new title: another album's rename arrives and waits for the admin to leave.
  await page.fill(`${mineRow} input[name=title]`, 'Somethin\' Else (Mono)');
  await server.ok('PATCH', `/products/${other.id}`, { title: 'Saxophone Colossus (RVG)' });
  await page.waitForSelector('#albums[data-held]');
  assert.deepEqual(await typedIn(page, `${mineRow} input[name=title]`), { focused: true, value: 'Somethin\' Else (Mono)' });
  await page.click('#albums-search');
  await page.waitForSelector('#albums:not([data-held])');
  assert.equal(await page.inputValue(`${otherRow} input[name=title]`), 'Saxophone Colossus (RVG)');

  // Typing a job's time: a run's result shows at once, the schedule stays as typed.
  const job = '#jobs .job[data-job="sales-rollup"]';
  await page.waitForSelector(`${job} input[name=time]`);
  await page.fill(`${job} input[name=time]`, '06:15');
  const run = await server.ok('POST', '/admin/jobs/sales-rollup/run');
  await page.waitForSelector(`${job} .job-last[data-run-id="${run.id}"][data-outcome="ok"]`);
  await page.waitForSelector('#jobs[data-held]');
  assert.deepEqual(await typedIn(page, `${job} input[name=time]`), { focused: true, value: '06:15' });
  await page.click('#albums-search');
  await page.waitForSelector('#jobs:not([data-held])');
  await page.waitForSelector(`${job} .job-last[data-run-id="${run.id}"]`);
  assert.deepEqual(page.errors, []);
  await ctx.close();
});
