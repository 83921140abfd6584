// The console for store owners (their stores) and admins (everything): members and
// mileage grants, coupon redemption, the store's orders and their returns, the
// store's loyalty policy, products and stock, inventory with low-stock marks,
// conversations, announcements, jobs, who is connected, and a live feed.

import * as API from './api.js';
import { Live } from './live.js';
import { ChatLog, threadMessages } from './chat.js';
import { initLang, onLangChange, t, fmtNumber, fmtTime, fmtClock, fmtWon } from './i18n.js';
import { $, el, toast, showError, showOk, renderState, eventText, newKey, busy, knowStores, orderStatusText, orderPointsEl } from './ui.js';

const STORE_KEY = 'pointcast.admin.store';
const state = {
  me: null,
  stores: [],
  storeId: null,
  members: [],
  selected: null,
  grantKey: null,
  conversations: new Map(), // id -> {conv, log}
  orders: [], // the chosen store's orders, newest first
  ordersNext: null, // next_before for "show more"
  buyers: new Map(), // user id -> {name, member_no}, from the store's members
  storeDetail: null, // the chosen store as GET /stores/{id} answers
};
let live;

const isAdmin = () => state.me?.role === 'admin';
const currentStore = () => state.stores.find((s) => s.id === state.storeId);

function sectionNote(box, e) {
  box.replaceChildren(el('p', { class: e.status === 404 ? 'placeholder' : 'empty' },
    e.status === 404 ? t('admin.unavailable', { message: e.message }) : t('err.generic', { message: e.message })));
}

// ---------- stores ----------

async function loadStores() {
  const all = API.list(await API.get('/stores'), 'stores');
  knowStores(all);
  const mine = new Set(state.me.store_ids || []);
  state.stores = isAdmin() ? all : all.filter((s) => mine.has(s.id));
  const saved = Number(localStorage.getItem(STORE_KEY));
  state.storeId = state.stores.some((s) => s.id === saved) ? saved : state.stores[0]?.id ?? null;
  $('#store-select').replaceChildren(...state.stores.map((s) => el('option', { value: s.id, selected: s.id === state.storeId }, s.name)));
}

// ---------- members and mileage ----------

async function findMembers(q) {
  const box = $('#member-results');
  $('#grant-msg').textContent = '';
  if (state.storeId === null) return;
  try {
    state.members = API.list(await API.get(`/stores/${state.storeId}/members`), 'members', 'users');
  } catch (e) {
    return showError(e, $('#grant-msg'));
  }
  const needle = q.trim().toLowerCase();
  const found = state.members.filter((m) => {
    const u = m.user || m;
    return [u.member_no, u.name, u.phone, String(u.id ?? m.user_id)].some((v) => v && String(v).toLowerCase().includes(needle));
  });
  if (found.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('admin.not_found')));
  box.replaceChildren(...found.slice(0, 20).map((m) => {
    const u = m.user || m;
    const id = u.user_id ?? m.user_id ?? u.id;
    return el('button', {
      class: 'member', type: 'button', 'aria-pressed': 'false', dataset: { userId: id },
      onclick: (ev) => selectMember({ id, name: u.name, member_no: u.member_no, balance: m.balance }, ev.currentTarget),
    }, el('span', {}, el('strong', {}, u.name), ' ', el('small', { class: 'muted' }, u.member_no || '')),
    m.balance !== undefined ? el('span', { class: 'badge' }, `${fmtNumber(m.balance)} P`) : '');
  }));
}

function selectMember(member, button) {
  state.selected = member;
  state.grantKey = newKey();
  document.querySelectorAll('.member').forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
  $('#grant-form').hidden = false;
  $('#grant-who').textContent = `${member.name} · ${member.member_no || `#${member.id}`} → ${currentStore()?.name || ''}`;
  $('#grant-form').elements.points.focus();
}

async function grant(form) {
  const msg = $('#grant-msg');
  const points = Number(form.elements.points.value);
  const reason = form.elements.reason.value.trim() || 'counter';
  const reasonCode = form.elements.reason_code.value;
  const m = state.selected;
  if (!m) return;
  // One key per intended grant: a double click or a retry after a network error
  // reuses it (credited once); the next grant gets a fresh one.
  const key = state.grantKey || newKey();
  state.grantKey = key;
  try {
    const r = await API.post(`/stores/${state.storeId}/members/${m.id}/mileage`, { points, reason, reason_code: reasonCode }, { idempotencyKey: key });
    state.grantKey = newKey();
    const issued = Array.isArray(r.coupons_issued) ? r.coupons_issued.length : Number(r.coupons_issued || 0);
    let text = t('admin.granted', { points: fmtNumber(points), name: m.name, balance: fmtNumber(r.balance ?? r.entry?.balance_after) });
    if (issued > 0) text += ` ${t('admin.coupons_issued', { n: issued })}`;
    showOk(text, msg);
    form.elements.points.value = '';
  } catch (e) {
    if (e.status && e.status < 500 && e.status !== 409) state.grantKey = newKey();
    showError(e, msg);
  }
}

async function redeem(form) {
  const id = Number(form.elements.coupon.value);
  try {
    await API.post(`/coupons/${id}/redeem`);
    showOk(t('admin.redeemed', { id }), $('#redeem-msg'));
    form.reset();
  } catch (e) {
    showError(e, $('#redeem-msg'));
  }
}

// ---------- orders and returns ----------

async function loadBuyers() {
  if (state.storeId === null) return;
  try {
    const members = API.list(await API.get(`/stores/${state.storeId}/members`), 'members', 'users');
    for (const m of members) {
      const u = m.user || m;
      state.buyers.set(Number(u.user_id ?? m.user_id ?? u.id), { name: u.name, member_no: u.member_no });
    }
  } catch {
    /* names are a nicety: the orders show the customer's id without them */
  }
}

async function loadStoreOrders() {
  const box = $('#store-orders');
  if (state.storeId === null) return box.replaceChildren();
  const storeId = state.storeId;
  let data;
  try {
    [data] = await Promise.all([API.get(`/stores/${storeId}/orders?limit=20`), loadBuyers()]);
  } catch (e) {
    return sectionNote(box, e);
  }
  if (storeId !== state.storeId) return;
  state.orders = API.list(data, 'orders');
  state.ordersNext = data?.next_before ?? null;
  renderStoreOrders();
}

async function moreStoreOrders(button) {
  if (state.ordersNext === null) return;
  try {
    const data = await API.get(`/stores/${state.storeId}/orders?limit=20&before=${encodeURIComponent(state.ordersNext)}`);
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
  const b = state.buyers.get(Number(o.user_id));
  return b ? `${b.name}${b.member_no ? ` · ${b.member_no}` : ''}` : `#${o.user_id}`;
}

function renderStoreOrders() {
  const box = $('#store-orders');
  if (state.orders.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('admin.no_orders')));
  box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'table orders-table' },
    el('thead', {}, el('tr', {},
      el('th', {}, t('order.album')), el('th', {}, t('order.buyer')), el('th', { class: 'num' }, t('order.qty')),
      el('th', { class: 'num' }, t('order.total')), el('th', { class: 'num' }, t('order.discount')), el('th', { class: 'num' }, t('order.paid')),
      el('th', { class: 'num' }, t('order.points_h')), el('th', {}, t('order.status_h')))),
    el('tbody', {}, state.orders.map(storeOrderRow)))),
  state.ordersNext !== null ? el('button', { class: 'btn-ghost small', type: 'button', onclick: (ev) => busy(ev.currentTarget, () => moreStoreOrders(ev.currentTarget)) }, t('admin.more')) : '');
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
function upsertStoreOrder(order) {
  if (!order || Number(order.store_id) !== state.storeId) return;
  const i = state.orders.findIndex((o) => o.id === order.id);
  if (i >= 0) state.orders[i] = { ...state.orders[i], ...order };
  else state.orders.unshift(order);
  const row = $(`#store-orders tr[data-order-id="${order.id}"]`);
  const tbody = $('#store-orders tbody');
  if (row) row.replaceWith(storeOrderRow(state.orders[i >= 0 ? i : 0]));
  else if (tbody) tbody.prepend(storeOrderRow(order));
  else renderStoreOrders();
  if (!state.buyers.has(Number(order.user_id))) {
    // A new buyer becomes a member by buying: fetch the name, then redraw the row.
    loadBuyers().then(() => {
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

// ---------- the audit trail ----------

function auditQuery(form, before) {
  const q = new URLSearchParams({ limit: '20' });
  if (state.storeId !== null) q.set('store_id', state.storeId);
  const f = form.elements;
  if (f.kind.value) q.set('kind', f.kind.value);
  if (f.actor_id.value) q.set('actor_id', f.actor_id.value);
  if (f.from.value) q.set('from', new Date(`${f.from.value}T00:00:00`).toISOString());
  if (f.to.value) {
    const to = new Date(`${f.to.value}T00:00:00`);
    to.setDate(to.getDate() + 1);
    q.set('to', to.toISOString());
  }
  if (before) q.set('before', before);
  return q.toString();
}

function auditRow(r) {
  const target = r.target_type ? `${r.target_type} #${r.target_id}` : '';
  const change = `${JSON.stringify(r.before)} → ${JSON.stringify(r.after)}`;
  return el('li', { class: 'audit-row', dataset: { kind: r.kind, id: r.id } },
    el('span', { class: 'badge' }, t(`audit.${r.kind}`)), ' ',
    el('strong', {}, r.actor.name), ` (#${r.actor.id}) · ${target} · `,
    el('small', { class: 'muted' }, fmtTime(r.at)),
    el('div', { class: 'audit-change' }, change));
}

async function loadAudit(more) {
  const form = $('#audit-form');
  const list = $('#audit-list');
  const msg = $('#audit-msg');
  msg.textContent = '';
  try {
    const data = await API.get(`/audit?${auditQuery(form, more ? state.auditNext : null)}`);
    const rows = API.list(data, 'rows');
    if (!more) list.replaceChildren();
    list.append(...rows.map(auditRow));
    if (!more && rows.length === 0) list.append(el('li', { class: 'empty' }, t('admin.audit_none')));
    state.auditNext = data?.next_before ?? null;
    $('#audit-more').hidden = state.auditNext === null;
  } catch (e) {
    showError(e, msg);
  }
}

// ---------- the store and its loyalty policy ----------

const EXPIRY_FIELDS = ['points_valid_days', 'coupon_valid_days'];
const STORE_FIELDS = ['name', 'address', 'coupon_threshold', 'earn_percent', 'coupon_value', ...EXPIRY_FIELDS];
const NUMBER_FIELDS = new Set(['coupon_threshold', 'earn_percent', 'coupon_value', ...EXPIRY_FIELDS]);

function fillStoreForm(store) {
  const f = $('#store-form');
  for (const k of STORE_FIELDS) {
    const v = store?.[k];
    f.elements[k].value = v === undefined || v === null ? '' : String(v);
  }
}

async function loadStoreForm() {
  $('#store-msg').textContent = '';
  if (state.storeId === null) return;
  try {
    const data = await API.get(`/stores/${state.storeId}`);
    state.storeDetail = data?.store || data;
    fillStoreForm(state.storeDetail);
  } catch (e) {
    showError(e, $('#store-msg'));
  }
}

/** PATCH /stores/{id} with the fields that changed: the loyalty policy beside the name. */
async function saveStore(form) {
  const before = state.storeDetail || {};
  const body = {};
  for (const k of STORE_FIELDS) {
    const raw = form.elements[k].value.trim();
    const v = NUMBER_FIELDS.has(k) ? Number(raw) : raw;
    if (String(before[k] ?? '') !== String(v)) body[k] = v;
  }
  try {
    const r = Object.keys(body).length > 0 ? await API.patch(`/stores/${state.storeId}`, body) : before;
    state.storeDetail = { ...before, ...(r?.store || r) };
    fillStoreForm(state.storeDetail);
    const i = state.stores.findIndex((s) => s.id === state.storeId);
    if (i >= 0) state.stores[i] = { ...state.stores[i], ...state.storeDetail };
    knowStores([state.storeDetail]);
    const opt = $(`#store-select option[value="${state.storeId}"]`);
    if (opt && state.storeDetail.name) opt.textContent = state.storeDetail.name;
    showOk(t('admin.saved'), $('#store-msg'));
  } catch (e) {
    showError(e, $('#store-msg'));
  }
}

// ---------- products, stock, inventory ----------

async function loadInventory() {
  const box = $('#inventory');
  if (state.storeId === null) return box.replaceChildren();
  let products;
  let stock;
  let inventory = [];
  try {
    [products, stock] = await Promise.all([
      API.get('/products').then((d) => API.list(d, 'products')),
      API.get(`/stores/${state.storeId}/stock`).then((d) => API.list(d, 'stock')),
    ]);
  } catch (e) {
    return sectionNote(box, e);
  }
  try {
    inventory = API.list(await API.get(`/stores/${state.storeId}/inventory`), 'inventory');
  } catch {
    /* optional: low-stock marks need it */
  }
  const qty = new Map(stock.map((s) => [s.product_id, Number(s.quantity)]));
  const inv = new Map(inventory.map((r) => [r.product_id, r]));
  box.replaceChildren(el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, el('th', {}, t('admin.title_f')), el('th', { class: 'num' }, t('admin.price')), el('th', { class: 'num' }, t('admin.stock')), el('th', {}))),
    el('tbody', {}, products.map((p) => {
      const n = qty.get(p.id) ?? 0;
      const r = inv.get(p.id) || {};
      const optimal = r.optimum ?? r.optimal ?? r.optimal_quantity ?? r.optimal_stock;
      const low = r.low === true || r.is_low === true || (optimal !== undefined && optimal !== null && n < optimal) || n <= 2;
      const input = el('input', { type: 'number', min: '0', value: n, 'aria-label': `${p.title} ${t('admin.stock')}` });
      return el('tr', { dataset: { productId: p.id } },
        el('td', {}, el('strong', {}, p.title), el('br'), el('small', { class: 'muted' }, p.artist)),
        el('td', { class: 'num' }, fmtWon(p.price)),
        el('td', { class: 'num' }, el('span', { class: 'stock-n' }, fmtNumber(n)), ' ', low ? el('span', { class: 'badge badge-low' }, t('admin.low')) : '',
          optimal !== undefined && optimal !== null ? el('small', { class: 'muted' }, ` / ${optimal}`) : ''),
        el('td', { class: 'num' }, el('form', {
          class: 'row', onsubmit: (ev) => { ev.preventDefault(); busy(ev.submitter, () => setStock(p, Number(input.value))); },
        }, input, el('button', { class: 'btn-ghost small', type: 'submit' }, t('admin.set_stock')))));
    }))));
}

async function setStock(product, quantity) {
  try {
    await API.put(`/stores/${state.storeId}/stock/${product.id}`, { quantity });
    showOk(t('admin.stock_set', { title: product.title, n: quantity }), $('#inventory-msg'));
    loadInventory();
  } catch (e) {
    showError(e, $('#inventory-msg'));
  }
}

async function addProduct(form) {
  try {
    await API.post('/products', { title: form.elements.title.value.trim(), artist: form.elements.artist.value.trim(), price: Number(form.elements.price.value) });
    showOk(t('admin.created'), $('#product-msg'));
    form.reset();
    loadInventory();
  } catch (e) {
    showError(e, $('#product-msg'));
  }
}

// ---------- conversations ----------

async function loadConversations() {
  const box = $('#conversations');
  state.conversations.clear();
  let convs;
  try {
    convs = API.list(await API.get('/support/conversations?status=open'), 'conversations');
  } catch (e) {
    return sectionNote(box, e);
  }
  if (convs.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('admin.no_conversations')));
  box.replaceChildren();
  for (const c of convs.slice(0, 10)) {
    const card = addConversation(c);
    try {
      const thread = await API.get(`/support/conversations/${c.id}`);
      threadMessages(thread).forEach((m) => card.log.add(m));
    } catch (e) {
      card.log.note(e.message);
    }
  }
}

function addConversation(c) {
  if (state.conversations.has(c.id)) return state.conversations.get(c.id);
  const logNode = el('div', { class: 'chat-log' });
  const input = el('input', { name: 'text', required: true, maxlength: '2000', autocomplete: 'off', placeholder: t('chat.placeholder') });
  const msg = el('p', { class: 'form-msg', role: 'alert' });
  const log = new ChatLog(logNode, state.me.id);
  const node = el('div', { class: 'conversation', dataset: { conversationId: c.id } },
    el('h3', {}, el('span', {}, `${c.customer?.name || ''} #${c.id}`), el('small', { class: 'muted' }, c.store_id ? (state.stores.find((s) => s.id === c.store_id)?.name || `#${c.store_id}`) : '')),
    logNode,
    el('form', {
      class: 'chat-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        await busy(ev.submitter, async () => {
          try {
            const r = await API.post(`/support/conversations/${c.id}/messages`, { text: input.value.trim() });
            log.add(r.message || r);
            input.value = '';
            msg.textContent = '';
          } catch (e) {
            showError(e, msg);
          }
        });
      },
    }, input, el('button', { class: 'btn', type: 'submit' }, t('admin.reply'))),
    msg);
  const box = $('#conversations');
  box.querySelector('.empty')?.remove();
  box.prepend(node);
  const entry = { conv: c, log, node };
  state.conversations.set(c.id, entry);
  return entry;
}

// ---------- announcements ----------

async function announce(form) {
  const text = form.elements.text.value.trim();
  const body = form.elements.scope.value === 'all' ? { text, all: true } : { text, store_id: state.storeId };
  try {
    await API.post('/announcements', body);
    showOk(t('admin.announced'), $('#announce-msg'));
    form.reset();
  } catch (e) {
    showError(e, $('#announce-msg'));
  }
}

// ---------- jobs ----------

async function loadJobs() {
  const box = $('#jobs');
  let jobs;
  try {
    jobs = API.list(await API.get('/admin/jobs'), 'jobs');
  } catch (e) {
    if (e.status === 404) return box.replaceChildren(el('p', { class: 'placeholder' }, t('admin.jobs_missing')));
    return sectionNote(box, e);
  }
  box.replaceChildren(...jobs.map((j) => {
    const input = el('input', { value: j.schedule || '', 'aria-label': t('admin.schedule'), name: 'schedule' });
    const save = el('button', { class: 'btn-ghost small', type: 'button', onclick: (ev) => busy(ev.currentTarget, async () => {
      try {
        await API.put(`/admin/jobs/${encodeURIComponent(j.name)}`, { schedule: input.value.trim() });
        toast(t('admin.saved'), 'ok');
        loadJobs();
      } catch (e) {
        showError(e);
      }
    }) }, t('admin.save'));
    const run = el('button', { class: 'btn-ghost small', type: 'button', onclick: (ev) => busy(ev.currentTarget, async () => {
      try {
        await API.post(`/admin/jobs/${encodeURIComponent(j.name)}/run`);
        toast(t('admin.run_started', { name: j.name }), 'ok');
      } catch (e) {
        showError(e);
      }
    }) }, t('admin.run'));
    return el('div', { class: 'job', dataset: { job: j.name } },
      el('div', { class: 'job-head' }, el('strong', {}, j.name), j.running ? el('span', { class: 'badge' }, '…') : ''),
      el('div', { class: 'muted small' }, j.description || ''),
      el('div', { class: 'muted small' }, `${t('admin.next_run')}: ${fmtTime(j.next_run_at) || '—'} · ${t('admin.last_run')}: ${fmtTime(j.last_run_at) || '—'}`),
      el('div', { class: 'row job-controls' }, input, save, run));
  }));
}

// ---------- connections ----------

async function loadConnections() {
  const box = $('#connections');
  let data;
  try {
    data = await API.get('/admin/connections');
  } catch (e) {
    return sectionNote(box, e);
  }
  const list = API.list(data, 'connections');
  if (list.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('admin.no_connections')));
  box.replaceChildren(el('table', { class: 'table' }, el('tbody', {}, list.map((c) => el('tr', {},
    el('td', {}, c.name || t('admin.visitor'), ' ', el('small', { class: 'muted' }, c.role || '')),
    el('td', {}, el('span', { class: 'badge' }, c.transport)),
    el('td', { class: 'num muted' }, fmtClock(c.since)))))));
}

// ---------- live ----------

function onEvent(env) {
  const d = env.data || {};
  const li = el('li', { dataset: { eventId: env.id, type: env.type } }, el('time', {}, fmtClock(env.at)), el('span', {}, eventText(env)));
  $('#feed').prepend(li);
  while ($('#feed').children.length > 80) $('#feed').lastChild.remove();
  switch (env.type) {
    case 'support.opened':
      if (d.conversation) {
        const c = addConversation(d.conversation);
        if (d.message) c.log.add(d.message);
      }
      toast(eventText(env));
      break;
    case 'support.message': {
      const id = d.conversation_id ?? d.message?.conversation_id;
      const c = state.conversations.get(id);
      if (c) c.log.add(d.message);
      else loadConversations();
      if (d.message?.sender?.id !== state.me.id) toast(eventText(env));
      break;
    }
    case 'support.closed':
      loadConversations();
      break;
    case 'stock.changed':
    case 'stock.low':
    case 'product.updated':
      if (env.type === 'stock.low') toast(eventText(env), 'error');
      if (d.store_id === undefined || Number(d.store_id) === state.storeId) loadInventory();
      // The staff's copy of an order's stock change names the order: a new order
      // at this store (order.placed goes to the buyer only).
      if (env.type === 'stock.changed' && d.reason === 'order' && d.order_id && Number(d.store_id) === state.storeId) loadStoreOrders();
      break;
    case 'order.placed':
    case 'order.returned':
      upsertStoreOrder(d.order);
      break;
    case 'store.updated':
      if (Number(d.store?.id ?? d.store_id) === state.storeId && !$('#store-form').contains(document.activeElement)) loadStoreForm();
      break;
    case 'inquiry.received':
    case 'job.completed':
      toast(eventText(env));
      if (env.type === 'job.completed') loadJobs();
      break;
    default:
  }
}

// ---------- start ----------

async function refreshStore() {
  $('#member-results').replaceChildren();
  $('#grant-form').hidden = true;
  state.selected = null;
  state.orders = [];
  state.ordersNext = null;
  $('#orders-msg').textContent = '';
  await Promise.all([loadInventory(), loadConversations(), loadStoreOrders(), loadStoreForm(), loadAudit(false)]);
}

async function showApp(me) {
  if (me.role !== 'admin' && me.role !== 'owner') {
    showAuth();
    showError({ message: t('auth.staff_only') }, $('#login-msg'));
    return;
  }
  state.me = me;
  $('#auth').hidden = true;
  $('#app').hidden = false;
  $('#who').hidden = false;
  $('#who').textContent = `${me.name} · ${me.role}`;
  $('#logout').hidden = false;
  $('#products-card').hidden = !isAdmin();
  live.restart();
  try {
    await loadStores();
  } catch (e) {
    showError(e);
  }
  await Promise.all([refreshStore(), loadJobs(), loadConnections()]);
}

function showAuth() {
  state.me = null;
  $('#auth').hidden = false;
  $('#app').hidden = true;
  $('#who').hidden = true;
  $('#logout').hidden = true;
  live.stop();
  renderState('offline');
}

function on(id, handler) {
  $(id).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget;
    busy(f.querySelector('button[type="submit"]'), () => handler(f));
  });
}

async function main() {
  initLang();
  live = new Live({ onEvent, onState: renderState, onReset: () => state.me && refreshStore() });
  $('#feed').dataset.empty = t('customer.no_events');
  onLangChange(() => state.me && showApp(state.me));

  on('#login-form', async (f) => {
    try {
      const r = await API.login(f.elements.login.value.trim(), f.elements.password.value);
      f.reset();
      $('#login-msg').textContent = '';
      await showApp({ ...r.user, ...(await API.me()) });
    } catch (e) {
      showError(e, $('#login-msg'));
    }
  });
  on('#token-form', async (f) => {
    API.setBearer(f.elements.token.value.trim());
    try {
      const me = await API.me();
      if (!me) throw new API.ApiError(401, 'unauthorized', 'that token is not valid');
      f.reset();
      await showApp(me);
    } catch (e) {
      API.setBearer('');
      showError(e, $('#token-msg'));
    }
  });
  on('#find-form', (f) => findMembers(f.elements.q.value));
  on('#grant-form', grant);
  on('#redeem-form', redeem);
  on('#product-form', addProduct);
  on('#announce-form', announce);
  on('#store-form', saveStore);
  on('#audit-form', () => loadAudit(false));
  $('#audit-more').addEventListener('click', (ev) => busy(ev.currentTarget, () => loadAudit(true)));
  $('#orders-refresh').addEventListener('click', (ev) => busy(ev.currentTarget, loadStoreOrders));
  $('#grant-form').addEventListener('input', () => { state.grantKey = newKey(); });
  $('#conn-refresh').addEventListener('click', loadConnections);
  $('#store-select').addEventListener('change', (ev) => {
    state.storeId = Number(ev.target.value);
    localStorage.setItem(STORE_KEY, String(state.storeId));
    refreshStore();
  });
  $('#logout').addEventListener('click', async () => {
    try {
      await API.logout();
    } catch (e) {
      showError(e);
    }
    showAuth();
  });
  setInterval(() => state.me && isAdmin() && loadConnections(), 10000);

  try {
    const me = await API.me();
    if (me) await showApp(me);
    else showAuth();
  } catch (e) {
    showAuth();
    showError(e, $('#login-msg'));
  }
}

main();
