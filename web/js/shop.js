// The record shop: the album grid with live stock at the chosen store. Anyone may
// look (the products topic is public); a logged-in customer buys. When the stock
// runs out under the buyer, the 409 says so in words and the grid catches up.

import * as API from './api.js';
import { Live } from './live.js';
import { initLang, onLangChange, t, fmtWon } from './i18n.js';
import { $, el, toast, showError, renderState, eventText, newKey, busy, knowStores } from './ui.js';

const STORE_KEY = 'pointcast.shop.store';
const state = { user: null, stores: [], storeId: null, products: [], stock: new Map() };

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

async function loadStock() {
  state.stock = new Map();
  if (state.storeId === null) return;
  const data = await API.get(`/stores/${state.storeId}/stock`);
  for (const s of API.list(data, 'stock', 'items')) state.stock.set(s.product_id, Number(s.quantity));
}

async function loadAll() {
  try {
    await Promise.all([loadStores(), loadProducts()]);
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
  // No `max` on the quantity: the stock shown may be stale, the server decides (409 in words).
}

function render() {
  const grid = $('#grid');
  if (state.products.length === 0) return grid.replaceChildren(el('p', { class: 'empty' }, t('shop.no_products')));
  grid.replaceChildren(...state.products.map((p) => {
    const art = el('div', { class: 'album-art', 'aria-hidden': 'true' }, el('span', { class: 'album-initials' }, initials(p.title)));
    // Two flat colours with a hard edge: a sleeve design, and small in screenshots.
    art.style.background = `linear-gradient(135deg, ${cover(p.title)} 0 62%, ${cover(p.artist || p.title)} 62% 100%)`;
    const msg = el('p', { class: 'form-msg album-msg', role: 'alert' });
    const qty = el('input', { type: 'number', min: '1', value: '1', 'aria-label': t('shop.qty'), name: 'quantity' });
    const card = el('article', { class: 'album', dataset: { productId: p.id } },
      art,
      el('div', { class: 'album-body' },
        el('div', { class: 'album-title' }, p.title),
        el('div', { class: 'album-artist' }, p.artist),
        el('div', { class: 'album-price' }, fmtWon(p.price)),
        el('div', { class: 'album-stock' }),
        el('form', { class: 'album-buy', onsubmit: (ev) => { ev.preventDefault(); buy(p, card, qty, msg, ev.submitter); } },
          qty, el('button', { class: 'btn', type: 'submit' }, t('shop.buy'))),
        msg));
    renderStock(card, state.stock.get(p.id) ?? 0);
    return card;
  }));
}

async function buy(product, card, qtyInput, msg, button) {
  msg.textContent = '';
  if (!state.user) {
    msg.className = 'form-msg album-msg error';
    msg.textContent = t('shop.login_to_buy');
    return;
  }
  const quantity = Number(qtyInput.value);
  const key = newKey();
  await busy(button, async () => {
    try {
      await API.post('/orders', { store_id: state.storeId, product_id: product.id, quantity }, { idempotencyKey: key });
      msg.className = 'form-msg album-msg ok';
      msg.textContent = t('shop.bought', { qty: quantity, title: product.title });
      toast(msg.textContent, 'ok');
    } catch (e) {
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

function onEvent(env) {
  const d = env.data || {};
  if (env.type === 'stock.changed') {
    if (Number(d.store_id) !== state.storeId) return;
    state.stock.set(Number(d.product_id), Number(d.quantity));
    const card = $(`.album[data-product-id="${d.product_id}"]`);
    if (card) renderStock(card, Number(d.quantity));
    else loadAll();
  } else if (env.type === 'product.updated') {
    loadAll();
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
