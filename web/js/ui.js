// Small DOM helpers shared by the pages: building elements, toasts, the
// connection badge, error messages in words, and drawing coupons.

import { t, fmtNumber, fmtDate, fmtExpiry, errorSentence } from './i18n.js';

/** el('div', {class: 'x', onclick: f}, child, 'text', ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * Makes `nodes` the children of `parent`, in order, moving only those out of place
 * and removing the rest. A redraw that keeps a node keeps its focus and what is
 * typed in it: a moved or removed node loses its focus.
 */
export function placeChildren(parent, nodes) {
  nodes.forEach((node, i) => {
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] ?? null);
  });
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

const held = new WeakMap(); // box -> { draw, later }: a redraw waiting for the focus to leave

/**
 * Runs `draw` (which redraws `box`) now, or, while the focus is inside `box` (staff
 * typing in one of its forms), once the focus leaves it: a redraw rebuilds the
 * forms and would take the input, its focus and the keys still on their way out
 * from under them. The box carries `data-held` while a redraw waits; the latest
 * `draw` asked for is the one run. A panel's own redraw calls `drawn(box)`.
 */
export function drawWhenFree(box, draw) {
  if (!box.contains(document.activeElement)) {
    drawn(box);
    return draw();
  }
  const waiting = held.get(box);
  if (waiting) {
    waiting.draw = draw;
    return undefined;
  }
  const entry = { draw };
  entry.later = (ev) => {
    if (box.contains(ev.relatedTarget)) return;
    drawn(box);
    entry.draw();
  };
  held.set(box, entry);
  box.addEventListener('focusout', entry.later);
  box.dataset.held = 'true';
  return undefined;
}

/** `box` was just redrawn: a redraw still waiting for the focus to leave is not needed. */
export function drawn(box) {
  const waiting = held.get(box);
  if (!waiting) return;
  box.removeEventListener('focusout', waiting.later);
  delete box.dataset.held;
  held.delete(box);
}

/**
 * A readable sentence for an error thrown by api(): the reader's language for the
 * error's `code` (web/js/errors.json), else the server's own message.
 */
export function errorText(e) {
  if (!e) return '';
  if (e.code === 'network') return t('err.network');
  const said = e.code ? errorSentence(e.code) : null;
  if (said) {
    const extra = [];
    if (e.body?.left !== undefined) extra.push(t('err.left', { n: fmtNumber(e.body.left) }));
    if (e.body?.available !== undefined) extra.push(t('err.available', { n: fmtNumber(e.body.available) }));
    return extra.length > 0 ? `${said} ${extra.join(' ')}` : said;
  }
  return e.message ? e.message : t('err.generic', { message: String(e) });
}

function toastBox() {
  let box = document.getElementById('toasts');
  if (!box) {
    box = el('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  return box;
}

/** A short-lived notice; kind is 'info', 'ok' or 'error'. */
export function toast(text, kind = 'info', ms = 5000) {
  const node = el('div', { class: `toast toast-${kind}` }, text);
  toastBox().append(node);
  setTimeout(() => {
    node.classList.add('toast-out');
    setTimeout(() => node.remove(), 400);
  }, ms);
  return node;
}

/** Shows an action's failure both near the form (if given) and as a toast. */
export function showError(e, where) {
  const text = errorText(e);
  if (where) {
    where.textContent = text;
    where.className = 'form-msg error';
  }
  toast(text, 'error', 8000);
}

export function showOk(text, where) {
  if (where) {
    where.textContent = text;
    where.className = 'form-msg ok';
  }
  toast(text, 'ok');
}

/** Keeps the connection badge (id conn-state) in step with the live feed. */
export function renderState(state) {
  const b = document.getElementById('conn-state');
  if (!b) return;
  b.dataset.state = state;
  b.textContent = t(`state.${state}`);
}

const storeNames = new Map();

/** Remembers store names, so events that carry only a store id read with its name. */
export function knowStores(stores) {
  for (const s of stores) if (s && s.id !== undefined && s.name) storeNames.set(Number(s.id), s.name);
}

/** A job's name in the reader's language ("sales-rollup" reads "Sales totals"). */
export function jobName(job) {
  const w = t(`job.${job}`);
  return w === `job.${job}` ? job : w;
}

/** Pulls the values a sentence needs out of an event's data, whatever its nesting. */
export function eventVars(env) {
  const d = env.data || {};
  const pick = (...vals) => vals.find((v) => v !== undefined && v !== null);
  const store = pick(d.store?.name, d.store_name, d.order?.store_name, d.coupon?.store_name, d.store_id !== undefined ? storeNames.get(Number(d.store_id)) || `#${d.store_id}` : undefined, '');
  return {
    type: env.type,
    store,
    points: fmtNumber(pick(d.points, d.entry?.points, 0)),
    balance: fmtNumber(pick(d.balance, d.entry?.balance_after, 0)),
    qty: pick(d.order?.quantity, d.quantity, 1),
    title: pick(d.product?.title, d.order?.title, d.title, ''),
    n: pick(d.stock_left, d.stock, d.available, d.quantity, ''),
    name: pick(d.message?.sender?.name, d.from?.name, d.user?.name, d.conversation?.customer?.name, d.customer?.name, d.name, typeof d.job === 'string' ? jobName(d.job) : undefined, ''),
    text: pick(d.text, d.message?.text, ''),
    subject: pick(d.subject, d.inquiry?.subject, ''),
    order_id: pick(d.order_id, d.order?.id, ''),
    coupon_id: pick(d.coupon?.id, d.coupon_id, ''),
    // order.returned: how many came back this time (d.order.quantity is what was bought).
    returned: pick(d.quantity, ''),
    // mileage.expiring: when the points go.
    date: d.expires_at ? fmtDate(d.expires_at) : '',
  };
}

/** The toast sentence for an event. */
export function eventText(env) {
  const d = env.data || {};
  const hasOrder = d.order_id !== undefined && d.order_id !== null;
  let key = `ev.${env.type}`;
  if (env.type === 'product.updated' && d.change === 'created') key = 'ev.product.created';
  // Points earned on a purchase (granted_by is null then), a coupon paid at checkout.
  else if (env.type === 'mileage.granted' && hasOrder) key = 'ev.mileage.earned';
  // A staff correction that took points back.
  else if (env.type === 'mileage.granted' && d.points < 0) key = 'ev.mileage.corrected';
  else if (env.type === 'coupon.redeemed' && hasOrder) key = 'ev.coupon.redeemed_order';
  const s = t(key, eventVars(env));
  return s === key ? t('ev.other', { type: env.type }) : s;
}

/** An order's status in words: placed, partially returned (n of m), returned. */
export function orderStatusText(o) {
  const returned = Number(o.returned_quantity || 0);
  if (o.status === 'returned') return t('order.status.returned', { n: returned || o.quantity });
  if (o.status === 'partially_returned' || returned > 0) return t('order.status.partially_returned', { n: returned, qty: o.quantity });
  return t('order.status.placed');
}

/** The points an order still stands for: floor(points_earned * kept / bought). */
export function standingPoints(o) {
  const qty = Number(o.quantity || 0);
  const earned = Number(o.points_earned || 0);
  if (qty <= 0) return earned;
  return Math.floor((earned * (qty - Number(o.returned_quantity || 0))) / qty);
}

/** "+540 points", and "(270 taken back)" once part of the order came back. */
export function orderPointsEl(o) {
  const earned = Number(o.points_earned || 0);
  const back = earned - standingPoints(o);
  if (earned === 0) return el('span', { class: 'order-points muted', dataset: { points: 0 } }, '—');
  return el('span', { class: 'order-points', dataset: { points: earned } },
    t('order.points', { points: fmtNumber(earned) }),
    back > 0 ? el('small', { class: 'muted' }, ` ${t('order.points_back', { points: fmtNumber(back) })}`) : '');
}

/** A store's label, or the word for "coupon" in the reader's language when the store kept the default. */
export function couponLabel(label) {
  return !label || label === 'COUPON' ? t('coupon.default_label') : label;
}

/** A coupon drawn in its store's design: shape, colour and label. */
export function couponEl(coupon, design = {}) {
  const shape = ['ticket', 'circle', 'rounded', 'square', 'star', 'heart'].includes(design.shape) ? design.shape : 'ticket';
  const revoked = coupon.status === 'revoked';
  const expired = coupon.status === 'expired';
  const redeemed = !revoked && !expired && coupon.status !== 'active' && Boolean(coupon.redeemed_at || coupon.status === 'redeemed' || coupon.redeemed === true);
  const status = revoked ? 'revoked' : expired ? 'expired' : redeemed ? 'redeemed' : 'active';
  const valid = coupon.expires_at ? `${t('coupon.valid')} · ${fmtExpiry(coupon.expires_at)}` : t('coupon.valid');
  const word = revoked ? t('coupon.revoked') : expired ? t('coupon.expired') : redeemed ? t('coupon.redeemed') : valid;
  const node = el('div', {
    class: `coupon coupon-${shape}${redeemed || revoked || expired ? ' coupon-used' : ''}`,
    dataset: { couponId: coupon.id, status },
    title: `#${coupon.id}`,
  },
  el('div', { class: 'coupon-label' }, couponLabel(design.label || coupon.label)),
  el('div', { class: 'coupon-store' }, coupon.store_name || coupon.store?.name || ''),
  el('div', { class: 'coupon-meta' }, `#${coupon.id} · ${word}`));
  const color = /^#[0-9a-fA-F]{3,8}$|^[a-z]{3,20}$/.test(design.color || '') ? design.color : '#e4572e';
  node.style.setProperty('--coupon-color', color);
  return node;
}

/** A progress bar toward a threshold. */
export function progressEl(value, max) {
  const pct = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  const fill = el('div', { class: 'progress-fill' });
  fill.style.width = `${pct}%`;
  return el('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(max), 'aria-valuenow': String(value) }, fill);
}

/** A fresh idempotency key per click. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Runs an async action with its button disabled, so a double click sends once. */
export async function busy(button, f) {
  if (button) button.disabled = true;
  try {
    return await f();
  } finally {
    if (button) button.disabled = false;
  }
}
