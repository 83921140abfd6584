// The record shop: the album grid with live stock at the chosen store. Anyone may
// look (the products topic is public); a logged-in customer buys, and may pay part
// of it with one of their active coupons at that store. The answer says what was
// paid, the discount and the points the order earned. When the stock runs out under
// the buyer, the 409 says so in words and the grid catches up. A customer may ask to
// be told when a sold-out album is back ("Notify me"); `stock.back` then says so in
// a toast and the card shows the stock again.

import * as API from './api.js';
import { Live } from './live.js';
import { initLang, onLangChange, t, fmtWon, fmtNumber } from './i18n.js';
import { $, el, toast, showError, renderState, eventText, newKey, busy, knowStores, placeChildren } from './ui.js';

const STORE_KEY = 'pointcast.shop.store';
// `heard`: albums whose stock an event gave while a stock list was on its way.
const state = { user: null, stores: [], storeId: null, products: [], stock: new Map(), heard: null, coupons: [], watches: new Set() };

/** A colour per album, stable across loads, for the cover art. */
function cover(title) {
  let h = 0;
  for (const ch of title) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 42%)`;
}

function initials(title) {
  return title.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0]).join('').toUpperCase();
}

async function loadStores() {
  state.stores = API.list(await API.get('/stores'), 'stores');
  knowStores(state.stores);
  const saved = Number(localStorage.getItem(STORE_KEY));
  state.storeId = state.stores.some((s) => s.id === saved) ? saved : state.stores[0]?.id ?? null;
  const sel = $('#store-select');
  sel.replaceChildren(...state.stores.map((s) => el('option', { value: s.id, selected: s.id === state.storeId }, s.name)));
}

async function loadProducts() {
  state.products = API.list(await API.get('/products'), 'products');
}

/**
 * The chosen store's stock. A change heard while the list is on its way wins over
 * the list: events arrive in commit order and carry the quantity after the change,
 * so if the list holds a still newer quantity, the event of that change comes
 * next; the list, read before the change it did not see, must not undo it. A list
 * that a newer load replaced (another store chosen meanwhile) is dropped.
 */
async function loadStock() {
  const stock = new Map();
  state.stock = stock;
  state.heard = null;
  if (state.storeId === null) return;
  const heard = new Set();
  state.heard = heard;
  try {
    const data = await API.get(`/stores/${state.storeId}/stock`);
    if (state.stock !== stock) return;
    for (const s of API.list(data, 'stock', 'items')) {
      if (!heard.has(Number(s.product_id))) stock.set(s.product_id, Number(s.quantity));
    }
  } finally {
    if (state.heard === heard) state.heard = null;
  }
}

/** An event's stock for an album of the chosen store. */
function heardStock(productId, quantity) {
  state.stock.set(productId, quantity);
  state.heard?.add(productId);
}

/** The customer's active coupons (every store); the grid offers those of the chosen store. */
async function loadCoupons() {
  if (!state.user) {
    state.coupons = [];
    return;
  }
  state.coupons = API.list(await API.get(`/users/${state.user.id}/coupons?status=active`), 'coupons')
    .filter((c) => !c.status || c.status === 'active');
}

const watchKey = (storeId, productId) => `${storeId}:${productId}`;
const isCustomer = () => state.user?.role === 'customer';

/** The albums the customer waits for, at every store. */
async function loadWatches() {
  state.watches = new Set();
  if (!isCustomer()) return;
  const data = await API.get(`/users/${state.user.id}/watches`);
  for (const w of API.list(data, 'watches')) state.watches.add(watchKey(w.store_id, w.product_id));
}

const currentStore = () => state.stores.find((s) => s.id === state.storeId);

function storeCoupons() {
  return state.coupons.filter((c) => Number(c.store_id ?? c.store?.id) === state.storeId)
    .sort((a, b) => a.id - b.id);
}

/** What one coupon takes off at the chosen store (the store's coupon_value, 10,000 won by default). */
function couponValue() {
  const v = currentStore()?.coupon_value;
  return v === undefined || v === null ? 10000 : Number(v);
}

async function loadAll() {
  try {
    // Coupons are a nicety of the buy forms: the grid works without them.
    await Promise.all([loadStores(), loadProducts(), loadCoupons().catch(() => {}), loadWatches().catch(() => {})]);
    await loadStock();
    $('#shop-msg').textContent = '';
  } catch (e) {
    showError(e, $('#shop-msg'));
  }
  render();
}

function stockText(n) {
  return n > 0 ? t('shop.in_stock', { n }) : t('shop.sold_out');
}

function renderStock(card, n) {
  const s = card.querySelector('.album-stock');
  s.textContent = stockText(n);
  s.dataset.quantity = n;
  s.className = `album-stock${n <= 0 ? ' out' : n <= 3 ? ' low' : ''}`;
  card.querySelector('.btn').disabled = n <= 0;
  renderWatch(card, n);
  // No `max` on the quantity: the stock shown may be stale, the server decides (409 in words).
}

/** "Notify me" on a sold-out album for a customer; "Watching ✓ / stop" once asked. */
function renderWatch(card, n) {
  const box = card.querySelector('.album-watch');
  const productId = Number(card.dataset.productId);
  if (!isCustomer() || n > 0 || state.storeId === null) {
    box.hidden = true;
    return box.replaceChildren();
  }
  box.hidden = false;
  const msg = card.querySelector('.album-msg');
  if (state.watches.has(watchKey(state.storeId, productId))) {
    box.dataset.watching = 'true';
    box.replaceChildren(
      el('span', { class: 'watching' }, t('shop.watching')),
      el('button', { class: 'btn-ghost watch-stop', type: 'button', onclick: (ev) => setWatch(card, productId, false, msg, ev.currentTarget) }, t('shop.unwatch')));
  } else {
    box.dataset.watching = 'false';
    box.replaceChildren(
      el('button', { class: 'btn-ghost watch-start', type: 'button', onclick: (ev) => setWatch(card, productId, true, msg, ev.currentTarget) }, t('shop.notify')));
  }
}

async function setWatch(card, productId, on, msg, button) {
  const storeId = state.storeId;
  const path = `/stores/${storeId}/stock/${productId}/watch`;
  msg.textContent = '';
  await busy(button, async () => {
    try {
      if (on) await API.put(path);
      else await API.del(path);
      if (on) state.watches.add(watchKey(storeId, productId));
      else state.watches.delete(watchKey(storeId, productId));
    } catch (e) {
      if (e.code === 'in_stock') {
        // Back already: the grid catches up and the buy form is there.
        const n = Number(e.body?.quantity);
        if (Number.isFinite(n) && storeId === state.storeId) state.stock.set(productId, n);
      } else if (e.status === 404 && !on) {
        state.watches.delete(watchKey(storeId, productId));
      }
      showError(e, msg);
      msg.className = 'form-msg album-msg error';
    }
  });
  if (storeId === state.storeId) renderStock(card, state.stock.get(productId) ?? 0);
}

/** The coupon choice of one album's buy form: only when the customer has active coupons here. */
function renderCouponSelect(card) {
  const box = card.querySelector('.album-coupon');
  const coupons = storeCoupons();
  const old = box.querySelector('select')?.value || '';
  if (coupons.length === 0) {
    box.hidden = true;
    return box.replaceChildren();
  }
  const value = fmtWon(couponValue());
  const select = el('select', { name: 'coupon', 'aria-label': t('shop.coupon') },
    el('option', { value: '' }, t('shop.no_coupon')),
    coupons.map((c) => el('option', { value: c.id, selected: String(c.id) === old }, t('shop.coupon_option', { id: c.id, value }))));
  box.hidden = false;
  box.replaceChildren(select);
}

function renderCoupons() {
  document.querySelectorAll('.album').forEach(renderCouponSelect);
}

/** The customer center with this store chosen: a chat started there reaches its staff. */
function renderAsk() {
  const a = $('#ask-store');
  a.hidden = state.storeId === null;
  a.href = `/?store=${state.storeId}#chat`;
}

function renderEarnNote() {
  const note = $('#shop-earn');
  const store = currentStore();
  const percent = Number(store?.earn_percent || 0);
  note.hidden = !(percent > 0);
  note.textContent = percent > 0 ? t('shop.earn_note', { store: store.name, percent }) : '';
}

function render() {
  renderEarnNote();
  renderAsk();
  const grid = $('#grid');
  if (state.products.length === 0) return grid.replaceChildren(el('p', { class: 'empty' }, t('shop.no_products')));
  // Cards are kept and updated in place, never rebuilt: a live update or a reload
  // redraws while the customer types, and a rebuilt card would take the quantity
  // input (and its focus, and the keys still on their way) out from under them.
  const cards = new Map([...grid.querySelectorAll('.album')].map((c) => [c.dataset.productId, c]));
  placeChildren(grid, state.products.map((p) => {
    const card = cards.get(String(p.id)) ?? albumCard(p);
    fillCard(card, p);
    return card;
  }));
}

/** A new album card: its parts, empty, and the buy form (filled by fillCard). */
function albumCard(p) {
  const msg = el('p', { class: 'form-msg album-msg', role: 'alert' });
  const qty = el('input', { type: 'number', min: '1', value: '1', name: 'quantity' });
  const card = el('article', { class: 'album', dataset: { productId: p.id } },
    el('div', { class: 'album-art', 'aria-hidden': 'true' }, el('span', { class: 'album-initials' })),
    el('div', { class: 'album-body' },
      el('div', { class: 'album-title' }),
      el('div', { class: 'album-artist' }),
      el('div', { class: 'album-price' }),
      el('div', { class: 'album-stock' }),
      el('form', { class: 'album-buy', onsubmit: (ev) => { ev.preventDefault(); buy(card.product, card, qty, msg, ev.submitter); } },
        el('div', { class: 'album-coupon', hidden: true }),
        qty, el('button', { class: 'btn', type: 'submit' })),
      el('div', { class: 'album-watch', hidden: true }),
      msg));
  return card;
}

/** A card's album, price, stock, coupons and words (in the reader's language) as they are now. */
function fillCard(card, p) {
  card.product = p;
  const art = card.querySelector('.album-art');
  // Two flat colours with a hard edge: a sleeve design, and small in screenshots.
  art.style.background = `linear-gradient(135deg, ${cover(p.title)} 0 62%, ${cover(p.artist || p.title)} 62% 100%)`;
  art.querySelector('.album-initials').textContent = initials(p.title);
  card.querySelector('.album-title').textContent = p.title;
  card.querySelector('.album-artist').textContent = p.artist ?? '';
  card.querySelector('.album-price').textContent = fmtWon(p.price);
  card.querySelector('input[name=quantity]').setAttribute('aria-label', t('shop.qty'));
  card.querySelector('.album-buy .btn').textContent = t('shop.buy');
  renderStock(card, state.stock.get(p.id) ?? 0);
  renderCouponSelect(card);
}

async function buy(product, card, qtyInput, msg, button) {
  msg.textContent = '';
  if (!state.user) {
    msg.className = 'form-msg album-msg error';
    msg.textContent = t('shop.login_to_buy');
    return;
  }
  const quantity = Number(qtyInput.value);
  const couponId = Number(card.querySelector('.album-coupon select')?.value || 0);
  const body = { store_id: state.storeId, product_id: product.id, quantity };
  if (couponId) body.coupon_id = couponId;
  const key = newKey();
  await busy(button, async () => {
    try {
      const r = await API.post('/orders', body, { idempotencyKey: key });
      msg.className = 'form-msg album-msg ok';
      msg.textContent = boughtText(r.order || {}, quantity, product);
      toast(msg.textContent, 'ok');
      if (couponId) {
        state.coupons = state.coupons.filter((c) => c.id !== couponId);
        renderCoupons();
      }
    } catch (e) {
      if (['coupon_not_active', 'not_found', 'forbidden'].includes(e.code) && couponId) refreshCoupons();
      if (e.code === 'insufficient_stock') {
        try {
          await loadStock();
        } catch {
          /* the grid keeps what it had */
        }
        const left = Number.isFinite(Number(e.body?.available)) ? Number(e.body.available) : state.stock.get(product.id) ?? 0;
        renderStock(card, left);
        msg.className = 'form-msg album-msg error';
        msg.textContent = t('shop.insufficient', { n: left, title: product.title, qty: quantity });
        toast(msg.textContent, 'error', 8000);
      } else {
        showError(e, msg);
        msg.className = 'form-msg album-msg error';
      }
    }
  });
}

/** "Bought 2 × Kind of Blue: paid ₩54,000 (₩10,000 off with a coupon), +5,400 points" */
function boughtText(order, quantity, product) {
  const paid = order.paid ?? order.total ?? product.price * quantity;
  let text = t('shop.bought_paid', { qty: order.quantity ?? quantity, title: order.title || product.title, paid: fmtWon(paid) });
  if (Number(order.discount) > 0) text += t('shop.bought_discount', { discount: fmtWon(order.discount) });
  if (Number(order.points_earned) > 0) text += t('shop.bought_points', { points: fmtNumber(order.points_earned) });
  return text;
}

let couponTimer = null;
/** Reloads the coupons soon (events come in bursts: a grant, then its coupons). */
function refreshCoupons() {
  clearTimeout(couponTimer);
  couponTimer = setTimeout(async () => {
    try {
      await loadCoupons();
    } catch {
      /* the selects keep what they had */
    }
    renderCoupons();
  }, 100);
}

function onEvent(env) {
  const d = env.data || {};
  if (env.type === 'stock.changed') {
    if (Number(d.store_id) !== state.storeId) return;
    heardStock(Number(d.product_id), Number(d.quantity));
    const card = $(`.album[data-product-id="${d.product_id}"]`);
    if (card) renderStock(card, Number(d.quantity));
    else loadAll();
  } else if (env.type === 'stock.back') {
    const storeId = Number(d.store?.id);
    const productId = Number(d.product?.id);
    state.watches.delete(watchKey(storeId, productId));
    toast(t('shop.back', { title: d.product?.title ?? '', store: d.store?.name ?? '', n: fmtNumber(d.quantity) }), 'ok', 8000);
    if (storeId !== state.storeId) return;
    heardStock(productId, Number(d.quantity));
    const card = $(`.album[data-product-id="${productId}"]`);
    if (card) renderStock(card, Number(d.quantity));
  } else if (env.type === 'product.updated' || env.type === 'store.updated') {
    loadAll();
  } else if (env.type.startsWith('coupon.')) {
    refreshCoupons();
  } else if (env.type === 'order.placed' || env.type === 'announcement') {
    toast(eventText(env));
  }
}

async function main() {
  initLang();
  onLangChange(render);
  const live = new Live({ onEvent, onState: renderState, onReset: loadAll });
  $('#store-select').addEventListener('change', async (ev) => {
    state.storeId = Number(ev.target.value);
    localStorage.setItem(STORE_KEY, String(state.storeId));
    try {
      await loadStock();
    } catch (e) {
      showError(e, $('#shop-msg'));
    }
    render();
  });
  $('#logout').addEventListener('click', async () => {
    try {
      await API.logout();
    } catch (e) {
      showError(e);
    }
    state.user = null;
    state.coupons = [];
    state.watches = new Set();
    renderCoupons();
    render();
    $('#who').hidden = true;
    $('#logout').hidden = true;
    live.restart();
  });
  try {
    state.user = await API.me();
  } catch {
    state.user = null;
  }
  if (state.user) {
    $('#who').hidden = false;
    $('#who').textContent = state.user.name;
    $('#logout').hidden = false;
  }
  // Open the feed first: a stock change during the load arrives on it.
  live.start();
  await loadAll();
}

main();
