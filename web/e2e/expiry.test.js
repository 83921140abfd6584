// Points and coupons that expire (issue #17), in a real headless Chromium against a
// real `pointcast serve`: the customer page shows when the next points expire and each
// coupon's days left, and the `mileage-expiry` job's warning arrives live in the feed,
// in words, in English and in Korean. The server runs on the real clock, so the store
// keeps points for one day only: its lot falls within the seven-day warning at once.

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

test('the customer page shows the next expiry, coupon days left and the expiry warning', async () => {
  const store = await server.store('Hapjeong Vinyl');
  // The owner sets the expiry policy in the console: points for a day, coupons for three.
  const owner = { login: 'hapjeong.owner', password: 'owner-pass-123' };
  await server.ok('POST', '/staff', { name: 'Hapjeong Owner', login: owner.login, password: owner.password, role: 'owner', store_ids: [store.id] });
  const actx = await context(browser);
  actx.setDefaultTimeout(10000);
  const console_ = await open(actx, `${server.base}/admin`);
  await console_.fill('#login-form input[name=login]', owner.login);
  await console_.fill('#login-form input[name=password]', owner.password);
  await console_.click('#login-form button[type=submit]');
  await console_.waitForSelector('#app:not([hidden])');
  await console_.selectOption('#store-select', String(store.id));
  await console_.waitForFunction(() => document.querySelector('#store-form input[name=points_valid_days]').value !== '');
  assert.equal(await console_.inputValue('#store-form input[name=points_valid_days]'), '365');
  assert.equal(await console_.inputValue('#store-form input[name=coupon_valid_days]'), '90');
  await console_.fill('#store-form input[name=points_valid_days]', '1');
  await console_.fill('#store-form input[name=coupon_valid_days]', '3');
  await console_.click('#store-form button[type=submit]');
  await console_.waitForSelector('#store-msg.ok');
  const policy = await server.ok('GET', `/stores/${store.id}`);
  assert.deepEqual([policy.points_valid_days, policy.coupon_valid_days], [1, 3]);
  assert.deepEqual(console_.errors, []);
  await actx.close();
  const user = await server.customer('Min-seo Park');
  await server.ok('PUT', `/stores/${store.id}/members/${user.id}`, {}, { token: user.token });
  // 1,600 points: one coupon (1,500) and 100 left in a lot that expires in a day.
  const grant = await server.ok('POST', `/stores/${store.id}/members/${user.id}/mileage`, { points: 1600, reason: 'welcome', reason_code: 'promotion' }, { key: randomUUID() });
  const coupon = grant.coupons[0];
  assert.ok(coupon?.expires_at, 'the coupon expires');
  assert.equal(grant.entry.remaining, 100);

  const ctx = await context(browser);
  ctx.setDefaultTimeout(10000);
  const page = await open(ctx, `${server.base}/`);
  await loginCustomer(page, user);
  await liveState(page);
  const expiry = page.locator(`.balance[data-store-id="${store.id}"] .balance-expiry[data-points="100"]`);
  await expiry.waitFor();
  const text = await expiry.textContent();
  assert.match(text, /^100 points expire on .+ \(expires in 1 day\)$/, text);
  const meta = page.locator(`.coupon[data-coupon-id="${coupon.id}"] .coupon-meta`);
  assert.equal(await meta.textContent(), `#${coupon.id} · valid · expires in 3 days`);

  // The job warns about the lot (it expires within seven days), once, live.
  const run = await server.ok('POST', '/admin/jobs/mileage-expiry/run', {});
  assert.equal(run.summary.warned, 1);
  const item = page.locator('#feed li[data-type="mileage.expiring"]');
  await item.waitFor();
  assert.match(await item.textContent(), /100 points at Hapjeong Vinyl will expire on .+: use them before then/);
  const again = await server.ok('POST', '/admin/jobs/mileage-expiry/run', {});
  assert.equal(again.summary.warned, 0, 'once per lot');

  // In Korean.
  await page.evaluate(() => localStorage.setItem('pointcast.lang', 'ko'));
  await page.reload();
  await liveState(page);
  await expiry.waitFor();
  assert.match(await expiry.textContent(), /^100점이 .+에 소멸 예정 \(1일 후 소멸\)$/);
  assert.match(await meta.textContent(), /3일 후 소멸$/);

  assert.deepEqual(page.errors, []);
  await ctx.close();
});
