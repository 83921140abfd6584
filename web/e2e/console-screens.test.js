// The screenshots in docs/ (README), taken from `pointcast serve --demo` as a newcomer
// sees it: the customer page of the first demo customer, the console as the demo
// owner (wide and phone-sized) and the shop. Each page must load without a script
// error, and the phone-sized console must not scroll sideways.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { Server, launch, context, open, liveState, DOCS } from './harness.js';

let server;
let browser;

before(async () => {
  server = await new Server({ args: ['--demo'] }).start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The logins `serve --demo` printed: the owner's and each customer's member number. */
function demoLogins() {
  const log = server.log.join('');
  const password = /password: (\S+)/.exec(log)?.[1];
  const customers = [...log.matchAll(/customer\s+(.+?)\s+login: (\d+)/g)].map((m) => ({ name: m[1], member_no: m[2] }));
  return { password, customers };
}

async function shot(page, name) {
  await page.evaluate(() => {
    document.querySelectorAll('.toast').forEach((n) => n.remove());
    document.activeElement?.blur();
    window.scrollTo(0, 0);
  });
  const path = join(DOCS, `screenshot-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  assert.ok(statSync(path).size < 300 * 1024, `${name} screenshot under 300 KB`);
}

test('screenshots of the demo: customer page, console (wide and phone) and shop', async () => {
  const { password, customers } = demoLogins();
  assert.ok(password && customers.length > 0, 'serve --demo printed its logins');
  const first = customers[0];

  const cctx = await context(browser);
  cctx.setDefaultTimeout(10000);
  const customer = await open(cctx, `${server.base}/`);
  await customer.fill('#login-form input[name=login]', first.member_no);
  await customer.fill('#login-form input[name=password]', password);
  await customer.click('#login-form button[type=submit]');
  await customer.waitForSelector('#app:not([hidden])');
  await liveState(customer);
  await customer.waitForSelector('#balances .balance, #balances .empty');
  await customer.waitForSelector('#history li');
  await shot(customer, 'customer');

  const shop = await open(cctx, `${server.base}/shop`);
  await liveState(shop);
  await shop.waitForSelector('.album');
  await shot(shop, 'shop');

  for (const [name, viewport] of [['admin', { width: 1280, height: 1140 }], ['admin-phone', { width: 390, height: 844 }]]) {
    const octx = await context(browser, { viewport, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
    octx.setDefaultTimeout(10000);
    const console_ = await open(octx, `${server.base}/admin`);
    await console_.fill('#login-form input[name=login]', 'owner');
    await console_.fill('#login-form input[name=password]', password);
    await console_.click('#login-form button[type=submit]');
    await console_.waitForSelector('#app:not([hidden])');
    await liveState(console_);
    await console_.waitForSelector('#member-results .member, #member-results .empty');
    await console_.waitForSelector('#inventory .stock-row');
    await console_.waitForSelector('#sales .sales-total, #sales .empty');
    const wide = await console_.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= viewport.width, `the demo console is ${wide}px wide on a ${viewport.width}px screen`);
    await shot(console_, name);
    assert.deepEqual(console_.errors, []);
    await octx.close();
  }
  assert.deepEqual(customer.errors, []);
  assert.deepEqual(shop.errors, []);
  await cctx.close();
});
