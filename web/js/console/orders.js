// The chosen store's orders, newest first, with what each cost, saved and earned,
// and returns (one idempotency key per intended return).

import * as API from '../api.js';
import { t, fmtNumber, fmtTime, fmtWon, currentLang } from '../i18n.js';
import { $, el, showError, showOk, newKey, busy, orderStatusText, orderPointsEl, placeChildren } from '../ui.js';
import { ctx } from './ctx.js';
import { buyers, loadMembers } from './members.js';

// `rows`: each order's row as drawn and what it was drawn from (see keptRow).
const state = { orders: [], ordersNext: null, rows: new Map() };

function sectionNote(box, e) {
  box.replaceChildren();
  showError(e, $('#orders-msg'));
}

export function resetOrders() {
  state.orders = [];
  state.ordersNext = null;
  state.rows.clear();
  $('#orders-msg').textContent = '';
}

export async function loadStoreOrders() {
  const box = $('#store-orders');
  if (ctx.storeId === null) return box.replaceChildren();
  const storeId = ctx.storeId;
  let data;
  try {
    [data] = await Promise.all([API.get(`/stores/${storeId}/orders?limit=20`), loadMembers().catch(() => [])]);
  } catch (e) {
    return sectionNote(box, e);
  }
  if (storeId !== ctx.storeId) return;
  state.orders = API.list(data, 'orders');
  state.ordersNext = data?.next_before ?? null;
  renderStoreOrders();
}

async function moreStoreOrders(button) {
  if (state.ordersNext === null) return;
  try {
    const data = await API.get(`/stores/${ctx.storeId}/orders?limit=20&before=${encodeURIComponent(state.ordersNext)}`);
    const seen = new Set(state.orders.map((o) => o.id));
    state.orders.push(...API.list(data, 'orders').filter((o) => !seen.has(o.id)));
    state.ordersNext = data?.next_before ?? null;
    renderStoreOrders();
  } catch (e) {
    showError(e, $('#orders-msg'));
  }
  button?.focus();
}

function buyerText(o) {
  const b = buyers.get(Number(o.user_id));
  return b ? `${b.name}${b.member_no ? ` · ${b.member_no}` : ''}` : `#${o.user_id}`;
}

/**
 * Draws the orders. Every sale at the store reloads them while staff may be typing
 * a return: a row whose order and words are unchanged is kept as it is (its form,
 * what is typed in it, its focus and its return's idempotency key); only new and
 * changed orders get a new row.
 */
function renderStoreOrders() {
  const box = $('#store-orders');
  if (state.orders.length === 0) {
    state.rows.clear();
    return box.replaceChildren(el('p', { class: 'empty' }, t('admin.no_orders')));
  }
  let tbody = box.querySelector('tbody');
  if (!tbody || box.dataset.lang !== currentLang()) {
    state.rows.clear();
    tbody = el('tbody');
    box.dataset.lang = currentLang();
    box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'table orders-table' },
      el('thead', {}, el('tr', {},
        el('th', {}, t('order.album')), el('th', {}, t('order.buyer')), el('th', { class: 'num' }, t('order.qty')),
        el('th', { class: 'num' }, t('order.total')), el('th', { class: 'num' }, t('order.discount')), el('th', { class: 'num' }, t('order.paid')),
        el('th', { class: 'num' }, t('order.points_h')), el('th', {}, t('order.status_h')))),
      tbody)),
    el('button', { class: 'btn-ghost small more-orders', type: 'button', onclick: (ev) => busy(ev.currentTarget, () => moreStoreOrders(ev.currentTarget)) }, t('admin.more')));
  }
  placeChildren(tbody, state.orders.map(keptRow));
  const shown = new Set(state.orders.map((o) => o.id));
  for (const id of state.rows.keys()) if (!shown.has(id)) state.rows.delete(id);
  box.querySelector('.more-orders').hidden = state.ordersNext === null;
}

/** The order's row as drawn, if it was drawn from the same order (its buyer's name brought up to date); else a new one. */
function keptRow(o) {
  const from = JSON.stringify(o);
  const kept = state.rows.get(o.id);
  if (kept?.from === from) {
    kept.row.querySelector('.order-buyer').textContent = buyerText(o);
    return kept.row;
  }
  const row = storeOrderRow(o);
  state.rows.set(o.id, { from, row });
  return row;
}

function storeOrderRow(o) {
  const total = o.total ?? (o.unit_price || 0) * o.quantity;
  const discount = Number(o.discount || 0);
  const left = Number(o.quantity) - Number(o.returned_quantity || 0);
  let form = '';
  if (left > 0) {
    // One key per intended return: a double click or a retry after a network error
    // reuses it (returned once); editing the form or a new return gets a fresh one.
    const intent = { key: newKey() };
    const qty = el('input', { type: 'number', name: 'quantity', min: '1', max: String(left), step: '1', value: '1', required: true, 'aria-label': t('admin.return_qty') });
    const reason = el('input', { name: 'reason', maxlength: '200', required: true, placeholder: t('admin.return_reason'), 'aria-label': t('admin.return_reason') });
    form = el('form', {
      class: 'return-form',
      oninput: () => { intent.key = newKey(); },
      onsubmit: (ev) => {
        ev.preventDefault();
        busy(ev.submitter, () => returnOrder(o, Number(qty.value), reason.value.trim(), intent));
      },
    }, qty, reason, el('button', { class: 'btn-ghost small', type: 'submit' }, t('admin.return')));
  }
  return el('tr', { class: 'order', dataset: { orderId: o.id, status: o.status || 'placed' } },
    el('td', {}, el('strong', {}, o.title || `#${o.product_id}`), el('br'), el('small', { class: 'muted' }, `#${o.id} · ${fmtTime(o.created_at)}`)),
    el('td', { class: 'order-buyer' }, buyerText(o)),
    el('td', { class: 'num' }, `× ${o.quantity}`),
    el('td', { class: 'num' }, fmtWon(total)),
    el('td', { class: 'num' }, discount > 0 ? `−${fmtWon(discount)}` : '—'),
    el('td', { class: 'num' }, fmtWon(o.paid ?? total - discount)),
    el('td', { class: 'num' }, orderPointsEl(o)),
    el('td', {}, el('span', { class: 'order-status', dataset: { status: o.status || 'placed' } }, orderStatusText(o)), form));
}

/** An order from an event or an answer: its row is redrawn (or added first); the others keep their forms. */
export function upsertStoreOrder(order) {
  if (!order || Number(order.store_id) !== ctx.storeId) return;
  const i = state.orders.findIndex((o) => o.id === order.id);
  if (i >= 0) state.orders[i] = { ...state.orders[i], ...order };
  else state.orders.unshift(order);
  renderStoreOrders();
  if (!buyers.has(Number(order.user_id))) {
    // A new buyer becomes a member by buying: fetch the name, then redraw the row.
    loadMembers().then(() => {
      const r = $(`#store-orders tr[data-order-id="${order.id}"] .order-buyer`);
      if (r) r.textContent = buyerText(order);
    });
  }
}

async function returnOrder(order, quantity, reason, intent) {
  const msg = $('#orders-msg');
  try {
    const r = await API.post(`/orders/${order.id}/returns`, { quantity, reason }, { idempotencyKey: intent.key });
    intent.key = newKey();
    const returned = typeof r.returned === 'number' ? r.returned : quantity;
    const parts = [t('admin.returned', { qty: returned, title: order.title || `#${order.product_id}`, id: order.id })];
    if (Number(r.points_reversed) > 0) parts.push(t('admin.points_reversed', { points: fmtNumber(r.points_reversed) }));
    const revoked = Array.isArray(r.coupons_revoked) ? r.coupons_revoked : [];
    if (revoked.length > 0) parts.push(t('admin.coupons_revoked', { ids: revoked.map((c) => `#${c.id}`).join(', ') }));
    if (r.coupon_restored) parts.push(t('admin.coupon_restored', { id: r.coupon_restored.id }));
    if (r.balance !== undefined && r.balance !== null) parts.push(t('admin.balance_now', { balance: fmtNumber(r.balance) }));
    showOk(parts.join(' '), msg);
    if (r.order) upsertStoreOrder(r.order);
    await loadStoreOrders();
  } catch (e) {
    // A refusal (422, 403) will not change on a retry: the next attempt is a new return.
    if (e.status && e.status < 500 && e.status !== 409) intent.key = newKey();
    showError(e, msg);
  }
}
