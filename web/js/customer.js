// The customer's page: log in or sign up, then balances per store with progress
// toward the next coupon, coupons in their store's design, orders (what each cost,
// its coupon discount, the points it earned and its returns), the customer center
// chat (with a store the customer picks, closed from either side), the mileage
// history in words, stores nearest first (join, leave), an inquiry form and a live
// feed of everything that happens to this customer.

import * as API from './api.js';
import { Live } from './live.js';
import { ChatLog, threadMessages, threadConversation } from './chat.js';
import { initLang, onLangChange, t, fmtNumber, fmtWon, fmtTime, fmtClock, fmtDate, fmtExpiry } from './i18n.js';
import { $, el, toast, showError, showOk, renderState, eventText, couponEl, progressEl, busy, knowStores, orderStatusText, orderPointsEl } from './ui.js';
import { loadHistory, initHistory, historyStore, knowActor } from './customer/history.js';
import { fetchStores, storeRow, initPlaces, rememberLocation } from './customer/places.js';

const state = {
  user: null,
  stores: new Map(), // id -> store (name, threshold, design)
  balances: new Map(), // store id -> balance
  expiring: new Map(), // store id -> {points, at}: the next points to expire
  coupons: [],
  orders: [],
  conversation: null,
  unavailable: {},
};
let chat;
let live;

function storeName(id) {
  return state.stores.get(Number(id))?.name || `#${id}`;
}

// ---------- loading ----------

async function loadStores() {
  state.stores = new Map((await fetchStores()).map((s) => [s.id, s]));
  knowStores(state.stores.values());
}

async function loadMileage() {
  try {
    const data = await API.get(`/users/${state.user.id}/mileage`);
    state.balances = new Map();
    state.expiring = new Map();
    for (const b of API.list(data, 'balances', 'stores', 'mileage')) {
      const id = Number(b.store_id ?? b.store?.id);
      // A store the customer left keeps its balance for a return, but is not shown.
      if (b.member === false) continue;
      state.balances.set(id, Number(b.balance ?? b.points ?? 0));
      if (b.expiring) state.expiring.set(id, b.expiring);
      const known = state.stores.get(id) || { id, name: b.store_name || b.store?.name };
      if (b.coupon_threshold) known.coupon_threshold = b.coupon_threshold;
      state.stores.set(id, known);
    }
    state.unavailable.mileage = null;
  } catch (e) {
    state.unavailable.mileage = e;
  }
  renderBalances();
  renderStores();
  renderHistoryChoice();
}

/** The history's store chooser: the stores the customer belongs to. */
function renderHistoryChoice() {
  if (!state.user) return;
  const sel = $('#history-store');
  const ids = [...state.balances.keys()];
  const current = ids.includes(historyStore()) ? historyStore() : ids[0] ?? null;
  sel.replaceChildren(...ids.map((id) => el('option', { value: id, selected: id === current }, storeName(id))));
  sel.hidden = ids.length === 0;
  renderChatChoice();
  if (current !== historyStore()) loadHistory(state.user.id, current);
}

/** Whom to talk to: one of the customer's stores, or the site (admins). */
function renderChatChoice() {
  const sel = $('#chat-store');
  const keep = sel.value;
  sel.replaceChildren(...[...state.balances.keys()].map((id) => el('option', { value: id }, storeName(id))),
    el('option', { value: '' }, t('chat.site')));
  // Came from a store's page in the shop (/?store=ID): that store, if a member.
  const came = new URLSearchParams(window.location.search).get('store');
  const want = keep || came || '';
  if ([...sel.options].some((o) => o.value === want)) sel.value = want;
}

async function loadCoupons() {
  try {
    state.coupons = API.list(await API.get(`/users/${state.user.id}/coupons`), 'coupons');
    state.unavailable.coupons = null;
  } catch (e) {
    state.unavailable.coupons = e;
  }
  renderCoupons();
}

async function loadOrders() {
  try {
    state.orders = API.list(await API.get(`/users/${state.user.id}/orders`), 'orders');
    state.unavailable.orders = null;
  } catch (e) {
    state.unavailable.orders = e;
  }
  renderOrders();
}

async function loadChat() {
  chat.clear();
  try {
    const convs = API.list(await API.get('/support/conversations'), 'conversations');
    const open = convs.find((c) => c.status !== 'closed');
    state.conversation = open || null;
    if (open) {
      const thread = await API.get(`/support/conversations/${open.id}`);
      threadMessages(thread).forEach((m) => chat.add(m));
    }
    renderChatHead();
  } catch (e) {
    if (e.status === 404) chat.note(t('admin.unavailable', { message: e.message }));
    else showError(e, $('#chat-msg'));
  }
}

async function loadAll() {
  try {
    await loadStores();
  } catch (e) {
    showError(e, $('#stores-msg'));
  }
  await Promise.all([loadMileage(), loadCoupons(), loadOrders(), loadChat()]);
}

// ---------- rendering ----------

function unavailableNote(e) {
  if (!e) return null;
  return el('p', { class: 'empty' }, e.status === 404 ? t('admin.unavailable', { message: e.message }) : t('err.generic', { message: e.message }));
}

function renderBalances() {
  const box = $('#balances');
  const note = unavailableNote(state.unavailable.mileage);
  if (note) return box.replaceChildren(note);
  if (state.balances.size === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('customer.no_stores')));
  box.replaceChildren(...[...state.balances.entries()].map(([id, balance]) => {
    const store = state.stores.get(id) || {};
    const threshold = Number(store.coupon_threshold || 1500);
    const toward = ((balance % threshold) + threshold) % threshold;
    return el('div', { class: 'balance', dataset: { storeId: id } },
      el('div', { class: 'balance-head' },
        el('span', { class: 'balance-store', translate: 'no' }, store.name || `#${id}`),
        el('span', { class: 'balance-points', dataset: { balance } }, fmtNumber(balance), el('small', {}, 'P'))),
      progressEl(toward, threshold),
      el('div', { class: 'balance-next' }, t('customer.next_coupon', { left: fmtNumber(threshold - toward), threshold: fmtNumber(threshold) })),
      expiryEl(state.expiring.get(id)));
  }));
}

/** "500 points expire on 8 Dec 2026 (expires in 7 days)", or nothing. */
function expiryEl(expiring) {
  if (!expiring || !expiring.points) return '';
  return el('div', { class: 'balance-expiry', dataset: { points: expiring.points, at: expiring.at } },
    t('expiry.points', { points: fmtNumber(expiring.points), date: fmtDate(expiring.at), when: fmtExpiry(expiring.at) }));
}

function renderCoupons() {
  const box = $('#coupons');
  const note = unavailableNote(state.unavailable.coupons);
  if (note) return box.replaceChildren(note);
  if (state.coupons.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('customer.no_coupons')));
  box.replaceChildren(...state.coupons.map((c) => {
    const store = state.stores.get(Number(c.store_id)) || {};
    const design = c.design || c.coupon_design || store.coupon_design || {};
    return couponEl({ ...c, store_name: c.store_name || store.name }, design);
  }));
}

function renderOrders() {
  const box = $('#orders');
  const note = unavailableNote(state.unavailable.orders);
  if (note) return box.replaceChildren(note);
  if (state.orders.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('customer.no_orders')));
  box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'table orders-table' },
    el('thead', {}, el('tr', {},
      el('th', {}, t('order.album')), el('th', { class: 'num' }, t('order.qty')), el('th', { class: 'num' }, t('order.total')),
      el('th', { class: 'num' }, t('order.discount')), el('th', { class: 'num' }, t('order.paid')),
      el('th', { class: 'num' }, t('order.points_h')), el('th', {}, t('order.status_h')))),
    el('tbody', {}, state.orders.slice(0, 20).map(orderRow)))));
}

function orderRow(o) {
  const total = o.total ?? (o.unit_price || 0) * o.quantity;
  const discount = Number(o.discount || 0);
  return el('tr', { class: 'order', dataset: { orderId: o.id, status: o.status || 'placed' } },
    el('td', {}, el('strong', {}, o.title || `#${o.product_id}`), el('br'),
      el('small', { class: 'muted' }, `${o.store_name || storeName(o.store_id)} · #${o.id} · ${fmtTime(o.created_at)}`)),
    el('td', { class: 'num' }, `× ${o.quantity}`),
    el('td', { class: 'num order-total' }, fmtWon(total)),
    el('td', { class: 'num order-discount' }, discount > 0 ? `−${fmtWon(discount)}` : '—'),
    el('td', { class: 'num order-paid' }, fmtWon(o.paid ?? total - discount)),
    el('td', { class: 'num' }, orderPointsEl(o)),
    el('td', {}, el('span', { class: 'order-status', dataset: { status: o.status || 'placed' } }, orderStatusText(o))));
}

/** An order from an event (placed or returned): replace it in the list, or put it first. */
function upsertOrder(order) {
  if (!order || order.id === undefined) return;
  const i = state.orders.findIndex((o) => o.id === order.id);
  if (i >= 0) state.orders[i] = { ...state.orders[i], ...order };
  else state.orders.unshift(order);
  renderOrders();
}

function renderStores() {
  $('#stores').replaceChildren(...[...state.stores.values()].map((s) => storeRow(s, state.balances.has(s.id), { join, leave })));
}

/** The open conversation's store, and its close button. */
function renderChatHead() {
  if (!state.user) return;
  const c = state.conversation;
  $('#chat-with').textContent = c ? t('chat.with', { store: c.store_id ? (c.store_name || storeName(c.store_id)) : t('chat.site') }) : '';
  $('#chat-close').hidden = !c;
  $('#chat-store-label').hidden = !!c;
}

function renderAll() {
  renderBalances();
  renderCoupons();
  renderOrders();
  renderStores();
  renderHistoryChoice();
  renderChatHead();
  $('#feed').dataset.empty = t('customer.no_events');
  if (chat) chat.node.dataset.empty = t('chat.empty');
}

// ---------- actions ----------

async function join(store) {
  try {
    await API.put(`/stores/${store.id}/members/${state.user.id}`);
    showOk(t('customer.joined', { store: store.name }), $('#stores-msg'));
    await loadMileage();
  } catch (e) {
    showError(e, $('#stores-msg'));
  }
}

async function leave(store) {
  try {
    await API.del(`/stores/${store.id}/members/${state.user.id}`);
    showOk(t('store.left', { store: store.name }), $('#stores-msg'));
    await loadMileage();
  } catch (e) {
    showError(e, $('#stores-msg'));
  }
}

async function closeChat() {
  const c = state.conversation;
  if (!c) return;
  try {
    await API.post(`/support/conversations/${c.id}/close`);
  } catch (e) {
    if (e.code !== 'conversation_closed') return showError(e, $('#chat-msg'));
  }
  state.conversation = null;
  chat.note(t('chat.closed_now'));
  renderChatHead();
}

async function sendInquiry(form) {
  const f = form.elements;
  try {
    const r = await API.post('/inquiries', { subject: f.subject.value.trim(), message: f.message.value.trim(), reply_to: f.reply_to.value.trim() });
    showOk(t('inquiry.sent', { id: r.id }), $('#inquiry-msg'));
    form.reset();
  } catch (e) {
    showError(e, $('#inquiry-msg'));
  }
}

async function sendChat(form) {
  const input = form.elements.text;
  const text = input.value.trim();
  if (!text) return;
  const msg = $('#chat-msg');
  msg.textContent = '';
  try {
    let message;
    if (state.conversation && state.conversation.status !== 'closed') {
      const r = await API.post(`/support/conversations/${state.conversation.id}/messages`, { text });
      message = r.message || r;
    } else {
      const store = $('#chat-store').value;
      const body = store ? { text, store_id: Number(store) } : { text };
      const r = await API.post('/support/conversations', body);
      state.conversation = r.conversation || r;
      message = r.message || threadMessages(r)[0];
      if (chat.node.querySelector('.empty')) chat.clear();
    }
    chat.add(message);
    renderChatHead();
    input.value = '';
  } catch (e) {
    if (e.code === 'conversation_closed' || e.status === 409) {
      state.conversation = null;
      renderChatHead();
    }
    showError(e, msg);
  }
}

// ---------- live ----------

function reloadHistory() {
  if (state.user) loadHistory(state.user.id, historyStore());
}

function addFeed(env) {
  const li = el('li', { dataset: { eventId: env.id, type: env.type } },
    el('time', {}, fmtClock(env.at)), el('span', {}, eventText(env)));
  $('#feed').prepend(li);
  while ($('#feed').children.length > 50) $('#feed').lastChild.remove();
}

// Events come in bursts (an order, its points, its coupons): each loader runs once
// after the burst, whichever events asked for it.
let reloadTimer = null;
const pending = new Set();
function reloadSoon(...loaders) {
  loaders.forEach((f) => pending.add(f));
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    const run = [...pending];
    pending.clear();
    run.forEach((f) => f());
  }, 150);
}

function showBalance(d) {
  const storeId = Number(d.store_id ?? d.store?.id ?? d.entry?.store_id);
  const balance = d.balance ?? d.entry?.balance_after;
  if (Number.isFinite(storeId) && balance !== undefined && balance !== null) {
    state.balances.set(storeId, Number(balance));
    renderBalances();
    renderStores();
    $(`.balance[data-store-id="${storeId}"]`)?.classList.add('flash');
  }
}

function onEvent(env) {
  const d = env.data || {};
  addFeed(env);
  toast(eventText(env), env.type === 'coupon.issued' || env.type === 'coupon.restored' ? 'ok' : 'info');
  switch (env.type) {
    case 'mileage.granted':
    case 'mileage.reversed':
    case 'mileage.expired':
      knowActor(d.granted_by);
      showBalance(d);
      reloadSoon(loadMileage, loadCoupons, reloadHistory);
      break;
    case 'coupon.issued':
    case 'coupon.redeemed':
    case 'coupon.revoked':
    case 'coupon.restored':
    case 'coupon.expired':
      if (d.balance !== undefined) showBalance(d);
      reloadSoon(loadMileage, loadCoupons, reloadHistory);
      break;
    case 'mileage.expiring':
    case 'member.joined':
    case 'member.left':
      reloadSoon(loadMileage);
      break;
    case 'order.placed':
    case 'order.returned':
      upsertOrder(d.order);
      reloadSoon(loadOrders);
      break;
    case 'support.message': {
      const m = d.message;
      const convId = d.conversation_id ?? m?.conversation_id;
      if (!state.conversation || state.conversation.id === convId) {
        if (!state.conversation) state.conversation = { id: convId, status: 'open' };
        chat.add(m);
      }
      break;
    }
    case 'support.opened':
      if (d.conversation && !state.conversation) state.conversation = d.conversation;
      if (d.message) chat.add(d.message);
      renderChatHead();
      break;
    case 'support.closed':
      if (state.conversation && state.conversation.id === (d.conversation?.id ?? d.conversation_id)) {
        state.conversation = null;
        chat.note(t('chat.closed'));
        renderChatHead();
      }
      break;
    default:
  }
}

// ---------- start ----------

async function showApp(user) {
  state.user = user;
  $('#auth').hidden = true;
  $('#app').hidden = false;
  $('#who').hidden = false;
  $('#who').textContent = `${user.name}${user.member_no ? ` · ${user.member_no}` : ''}`;
  $('#logout').hidden = false;
  chat = new ChatLog($('#chat-log'), user.id);
  try {
    rememberLocation((await API.get(`/users/${user.id}`))?.location);
  } catch {
    /* the order of the stores is a nicety */
  }
  // Open the feed first: whatever happens while the state loads arrives on it.
  live.restart();
  await loadAll();
}

function showAuth() {
  state.user = null;
  $('#auth').hidden = false;
  $('#app').hidden = true;
  $('#who').hidden = true;
  $('#logout').hidden = true;
  live.restart();
}

async function main() {
  initLang();
  onLangChange(renderAll);
  // The customer's own channel and announcements; the shop's stock changes stay on /shop.
  live = new Live({ onEvent, onState: renderState, onReset: () => state.user && loadAll(), topics: 'announcements' });
  $('#feed').dataset.empty = t('customer.no_events');

  $('#login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget;
    await busy(f.querySelector('button'), async () => {
      try {
        const r = await API.login(f.elements.login.value.trim(), f.elements.password.value);
        f.reset();
        $('#login-msg').textContent = '';
        await showApp(r.user);
      } catch (e) {
        showError(e, $('#login-msg'));
      }
    });
  });
  $('#signup-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget;
    await busy(f.querySelector('button'), async () => {
      try {
        const u = await API.post('/users', { name: f.elements.name.value.trim(), phone: f.elements.phone.value.trim(), password: f.elements.password.value });
        showOk(t('auth.signed_up', { no: u.member_no }), $('#signup-msg'));
        $('#login-form').elements.login.value = u.member_no;
        $('#login-form').elements.password.value = f.elements.password.value;
        f.reset();
      } catch (e) {
        showError(e, $('#signup-msg'));
      }
    });
  });
  $('#chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget;
    busy(f.querySelector('button'), () => sendChat(f));
  });
  $('#chat-close').addEventListener('click', (ev) => busy(ev.currentTarget, closeChat));
  $('#inquiry-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(ev.submitter, () => sendInquiry(ev.currentTarget));
  });
  initHistory({ threshold: () => state.stores.get(historyStore())?.coupon_threshold });
  initPlaces({ userId: () => state.user.id, after: async () => { await loadStores(); renderStores(); } });
  $('#logout').addEventListener('click', async () => {
    try {
      await API.logout();
    } catch (e) {
      showError(e);
    }
    showAuth();
  });

  try {
    const user = await API.me();
    if (user) await showApp(user);
    else showAuth();
  } catch (e) {
    showAuth();
    showError(e, $('#login-msg'));
  }
}

main();
