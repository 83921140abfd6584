// Stock of the chosen store: search, ten albums a page, set a count or adjust by a
// delta, and the optimal stock with its formula. Low or not is the API's own
// verdict (the inventory's `low`/`status`, computed by the optimal-stock job's rule);
// the page never applies a rule of its own.

import * as API from '../api.js';
import { t, fmtNumber, fmtWon } from '../i18n.js';
import { $, el, showError, showOk, busy, drawWhenFree, drawn } from '../ui.js';
import { ctx } from './ctx.js';
import { pager } from './albums.js';

const PAGE = 6;
const state = { rows: [], rule: null, query: '', page: 0 };

/**
 * Loads the chosen store's stock and draws it. A reload a live event asked for
 * (`{ live: true }`) waits until staff are not typing in the panel.
 */
export async function loadStock({ live = false } = {}) {
  const box = $('#inventory');
  if (ctx.storeId === null) {
    // No store: a redraw still held for the previous one must not come back.
    drawn(box);
    return box.replaceChildren();
  }
  const storeId = ctx.storeId;
  let products;
  let inventory;
  try {
    [products, inventory] = await Promise.all([
      API.get('/products').then((d) => API.list(d, 'products')),
      API.get(`/stores/${storeId}/inventory`),
    ]);
  } catch (e) {
    return showError(e, $('#inventory-msg'));
  }
  if (storeId !== ctx.storeId) return;
  const inv = new Map(API.list(inventory, 'inventory').map((r) => [r.product_id, r]));
  // Albums the store never held are listed at 0, so staff can stock them.
  state.rows = products.map((p) => ({ product_id: p.id, title: p.title, artist: p.artist, price: p.price, quantity: 0, status: 'unknown', optimal_stock: null, ...inv.get(p.id) }));
  // Low first, then what the store holds, then the rest of the catalogue.
  const rank = (r) => (isLow(r) ? 0 : inv.has(r.product_id) ? 1 : 2);
  state.rows.sort((a, b) => rank(a) - rank(b));
  state.rule = inventory?.rule || null;
  if (live) drawWhenFree(box, render);
  else render();
}

function isLow(r) {
  return r.low === true || r.status === 'low';
}

function render() {
  drawn($('#inventory'));
  // The API's own numbers in the reader's words; its formula as written stays in the tooltip.
  const rule = $('#stock-rule');
  rule.textContent = state.rule
    ? t('stock.rule', { w: state.rule.window_days, l: state.rule.lead_days, s: state.rule.safety_days })
    : t('stock.rule_default');
  rule.title = state.rule ? `${state.rule.formula}; ${state.rule.low_when}` : '';
  const needle = state.query.toLowerCase();
  const found = state.rows.filter((r) => !needle || `${r.title} ${r.artist}`.toLowerCase().includes(needle));
  const pages = Math.max(1, Math.ceil(found.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  const box = $('#inventory');
  if (found.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('stock.none')));
  box.replaceChildren(el('ul', { class: 'stock-list' }, found.slice(state.page * PAGE, (state.page + 1) * PAGE).map(stockRow)),
    pager(state.page, pages, (p) => { state.page = p; render(); }));
}

function stockRow(r) {
  const low = isLow(r);
  const optimal = r.optimal_stock ?? r.optimum;
  const count = el('input', { type: 'number', name: 'quantity', min: '0', step: '1', value: r.quantity, required: true, 'aria-label': `${r.title} ${t('admin.stock')}` });
  const delta = el('input', { type: 'number', name: 'delta', step: '1', required: true, placeholder: '±', 'aria-label': `${r.title} ${t('stock.delta')}` });
  return el('li', { class: `stock-row${low ? ' is-low' : ''}`, dataset: { productId: r.product_id, status: low ? 'low' : r.status || 'unknown' } },
    el('div', { class: 'stock-head' },
      el('span', {}, el('strong', { translate: 'no' }, r.title), ' ', el('small', { class: 'muted' }, el('span', { translate: 'no' }, r.artist), ` · ${fmtWon(r.price)}`)),
      el('span', { class: 'stock-n', dataset: { quantity: r.quantity } }, fmtNumber(r.quantity))),
    el('div', { class: 'stock-meta muted small' },
      optimal === null || optimal === undefined ? t('stock.optimal_none') : t('stock.optimal_n', { n: fmtNumber(optimal) }),
      ' · ', t('stock.sold_7d', { n: fmtNumber(r.sold_7d ?? 0) }), ' ',
      low ? el('span', { class: 'badge badge-low' }, t('stock.low')) : ''),
    el('div', { class: 'stock-forms' },
      el('form', { class: 'row set-form', onsubmit: (ev) => { ev.preventDefault(); busy(ev.submitter, () => setStock(r, Number(count.value))); } },
        count, el('button', { class: 'btn-ghost small', type: 'submit' }, t('admin.set_stock'))),
      el('form', { class: 'row adjust-form', onsubmit: (ev) => { ev.preventDefault(); busy(ev.submitter, () => adjust(r, Number(delta.value))); } },
        delta, el('button', { class: 'btn-ghost small', type: 'submit' }, t('stock.adjust')))));
}

async function setStock(r, quantity) {
  try {
    await API.put(`/stores/${ctx.storeId}/stock/${r.product_id}`, { quantity });
    showOk(t('admin.stock_set', { title: r.title, n: quantity }), $('#inventory-msg'));
    await loadStock();
  } catch (e) {
    showError(e, $('#inventory-msg'));
  }
}

async function adjust(r, delta) {
  try {
    const c = await API.post(`/stores/${ctx.storeId}/stock/${r.product_id}/adjust`, { delta });
    showOk(t('stock.adjusted', { title: r.title, n: fmtNumber(c.quantity) }), $('#inventory-msg'));
    await loadStock();
  } catch (e) {
    showError(e, $('#inventory-msg'));
  }
}

/** A stock change at the chosen store: the row's count follows (its verdict on the next load). */
export function onStockEvent(env) {
  const d = env.data || {};
  if (['stock.changed', 'stock.low', 'stock.back'].includes(env.type) && Number(d.store_id ?? d.store?.id) !== ctx.storeId) return;
  if (env.type === 'product.updated' || env.type === 'stock.low') return loadStock({ live: true });
  if (env.type !== 'stock.changed') return;
  const r = state.rows.find((x) => x.product_id === Number(d.product_id));
  if (!r) return loadStock({ live: true });
  r.quantity = Number(d.quantity);
  // The count shown follows at once, even while its row is being typed in.
  const n = $(`#inventory .stock-row[data-product-id="${r.product_id}"] .stock-n`);
  if (n) {
    n.dataset.quantity = r.quantity;
    n.textContent = fmtNumber(r.quantity);
  }
  drawWhenFree($('#inventory'), render);
}

export function initStock() {
  $('#stock-search').addEventListener('input', (ev) => { state.query = ev.target.value.trim(); state.page = 0; render(); });
}
