// What the browser tests share: a pointcast server started from the built binary on
// a free port with its own SQLite file, an HTTP client for setting up data, and a
// headless Chromium (Debian's, driven by playwright-core).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.POINTCAST_BIN || join(ROOT, 'target', 'debug', 'pointcast');
export const DOCS = join(ROOT, 'docs');
export const ADMIN_TOKEN = `e2e-admin-${randomUUID()}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A running pointcast serve; stop() kills it, start() brings it back on the same port and file. */
export class Server {
  /** `args`: more `serve` arguments, e.g. ['--demo'] for the demo data. */
  constructor({ args = [] } = {}) {
    this.args = args;
    this.dir = mkdtempSync(join(tmpdir(), 'pointcast-e2e-'));
    this.db = `sqlite://${join(this.dir, 'e2e.db')}`;
    this.port = null;
    this.proc = null;
    this.log = [];
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run cargo build first`);
    if (this.port === null) this.port = await freePort();
    this.proc = spawn(BIN, ['serve', '--listen', `127.0.0.1:${this.port}`, '--database-url', this.db, ...this.args], {
      env: { ...process.env, POINTCAST_ADMIN_TOKEN: ADMIN_TOKEN, RUST_LOG: process.env.RUST_LOG || 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (b) => { this.log.push(b.toString()); if (this.log.length > 200) this.log.shift(); };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    const exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      const done = await Promise.race([exited.then((c) => ({ exited: c })), sleep(0).then(() => null)]);
      if (done) throw new Error(`pointcast exited (${done.exited}):\n${this.log.join('')}`);
      try {
        const r = await fetch(`${this.base}/readyz`);
        if (r.ok) return this;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    throw new Error(`pointcast did not become ready:\n${this.log.join('')}`);
  }

  /** Kills the process (SIGKILL: no goodbye to the clients) and waits for it to go. */
  async kill() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }

  async stop() {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Calls the API; returns {status, body}. */
  async call(method, path, body, { token = ADMIN_TOKEN, key } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (key) headers['Idempotency-Key'] = key;
    const r = await fetch(`${this.base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: r.status, body: json };
  }

  /** Like call, but throws unless the status is 2xx. */
  async ok(method, path, body, opts) {
    const r = await this.call(method, path, body, opts);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  // --- data set-up ---
  async customer(name, password = 'pass-word-123') {
    const u = await this.ok('POST', '/users', { name, phone: `010-${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}-${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`, password }, { token: null });
    const login = await this.ok('POST', '/auth/login', { login: u.member_no, password }, { token: null });
    return { ...u, password, token: login.token };
  }

  async store(name, extra = {}) {
    return this.ok('POST', '/stores', { name, address: 'Seoul', ...extra });
  }
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context (own cookies and storage) with English pages. */
export async function context(browser, opts = {}) {
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 900 }, ...opts });
  ctx.setDefaultTimeout(5000);
  return ctx;
}

/** A page that fails the test on script errors (kept in page.errors). */
export async function open(ctx, url) {
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // Failed requests are logged by the browser itself; the pages show them in words.
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.errors.push(m.text()); });
  await page.goto(url);
  return page;
}

/** Logs a customer in through the page's form. */
export async function loginCustomer(page, user) {
  await page.fill('#login-form input[name=login]', user.member_no);
  await page.fill('#login-form input[name=password]', user.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
}

/** What the input at `selector` holds, and whether it has the focus (a redraw must keep both). */
export function typedIn(page, selector) {
  return page.evaluate((s) => {
    const input = document.querySelector(s);
    return { focused: document.activeElement === input, value: input?.value };
  }, selector);
}

export async function liveState(page, state = 'live') {
  await page.waitForSelector(`#conn-state[data-state="${state}"]`);
}
