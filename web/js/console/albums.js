// Albums (admins): add, rename (title, artist, price) and the rename history. A
// rename reaches every open shop page as product.updated.

import * as API from '../api.js';
import { t, fmtTime, fmtWon } from '../i18n.js';
import { $, el, showError, showOk, busy, drawWhenFree, drawn } from '../ui.js';

const PAGE = 8;
const state = { products: [], query: '', page: 0 };

export async function loadAlbums() {
  try {
    state.products = API.list(await API.get('/products'), 'products');
  } catch (e) {
    return showError(e, $('#albums-msg'));
  }
  render();
}

function render() {
  const needle = state.query.toLowerCase();
  const found = state.products.filter((p) => !needle || `${p.title} ${p.artist}`.toLowerCase().includes(needle));
  const pages = Math.max(1, Math.ceil(found.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  const box = $('#albums');
  drawn(box);
  if (found.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('albums.none')));
  box.replaceChildren(el('ul', { class: 'album-list' }, found.slice(state.page * PAGE, (state.page + 1) * PAGE).map(albumRow)),
    pager(state.page, pages, (p) => { state.page = p; render(); }));
}

/** Previous / "page 2 of 5" / next. */
export function pager(page, pages, go) {
  if (pages <= 1) return '';
  return el('div', { class: 'pager' },
    el('button', { class: 'btn-ghost small', type: 'button', disabled: page === 0, onclick: () => go(page - 1) }, t('stock.prev')),
    el('span', { class: 'muted small' }, t('stock.page', { page: page + 1, pages })),
    el('button', { class: 'btn-ghost small', type: 'button', disabled: page >= pages - 1, onclick: () => go(page + 1) }, t('stock.next')));
}

function albumRow(p) {
  const title = el('input', { name: 'title', value: p.title, required: true, maxlength: '200', 'aria-label': t('admin.title_f') });
  const artist = el('input', { name: 'artist', value: p.artist, required: true, maxlength: '200', 'aria-label': t('admin.artist') });
  const price = el('input', { name: 'price', type: 'number', min: '0', value: p.price, required: true, 'aria-label': t('admin.price') });
  const history = el('ol', { class: 'album-history', hidden: true });
  return el('li', { class: 'album-row', dataset: { productId: p.id } },
    el('form', {
      class: 'rename-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        busy(ev.submitter, () => rename(p, { title: title.value.trim(), artist: artist.value.trim(), price: Number(price.value) }));
      },
    }, title, artist, price,
    el('div', { class: 'row' },
      el('button', { class: 'btn-ghost small', type: 'submit' }, t('albums.rename')),
      el('button', { class: 'btn-ghost small', type: 'button', onclick: (ev) => busy(ev.currentTarget, () => showHistory(p, history)) }, t('albums.history')),
      el('small', { class: 'muted' }, fmtWon(p.price)))),
    history);
}

async function rename(p, body) {
  const change = {};
  for (const k of ['title', 'artist', 'price']) if (body[k] !== p[k]) change[k] = body[k];
  if (Object.keys(change).length === 0) return;
  try {
    const r = await API.patch(`/products/${p.id}`, change);
    Object.assign(p, r?.product || r);
    showOk(t('albums.renamed', { title: p.title }), $('#albums-msg'));
    render();
  } catch (e) {
    showError(e, $('#albums-msg'));
  }
}

/** Who made a change: a person object, or only an id in older answers. */
function byName(who) {
  if (!who) return '';
  return typeof who === 'object' ? who.name || `#${who.id}` : `#${who}`;
}

async function showHistory(p, box) {
  try {
    const rows = API.list(await API.get(`/products/${p.id}/history`), 'history');
    box.replaceChildren(...rows.slice().reverse().map((h) => el('li', {},
      h.previous
        ? t('albums.history_item', { when: fmtTime(h.changed_at), from: `${h.previous.title} / ${h.previous.artist}`, to: `${h.title} / ${h.artist}`, by: byName(h.changed_by) })
        : t('albums.created_item', { when: fmtTime(h.changed_at), to: `${h.title} / ${h.artist}`, by: byName(h.changed_by) }))));
    box.hidden = false;
  } catch (e) {
    showError(e, $('#albums-msg'));
  }
}

async function addAlbum(form) {
  try {
    const r = await API.post('/products', { title: form.elements.title.value.trim(), artist: form.elements.artist.value.trim(), price: Number(form.elements.price.value) });
    showOk(t('albums.created', { title: (r?.product || r).title }), $('#product-msg'));
    form.reset();
    await loadAlbums();
  } catch (e) {
    showError(e, $('#product-msg'));
  }
}

export function onAlbumEvent(env) {
  if (env.type !== 'product.updated') return;
  const p = env.data?.product;
  if (!p) return;
  const i = state.products.findIndex((x) => x.id === p.id);
  if (i >= 0) state.products[i] = p;
  else state.products.push(p);
  // Drawn once the admin leaves the rename they may be typing.
  drawWhenFree($('#albums'), render);
}

export function initAlbums({ submit }) {
  submit('#product-form', addAlbum);
  $('#albums-search').addEventListener('input', (ev) => { state.query = ev.target.value.trim(); state.page = 0; render(); });
}
