// Stores: the chooser at the top, the list with join dates and registration (admins),
// and the chosen store's details and loyalty policy (its staff; the daily grant cap
// only for admins, who alone may change it).

import * as API from '../api.js';
import { t, fmtDate } from '../i18n.js';
import { $, el, showError, showOk, knowStores } from '../ui.js';
import { ctx, isAdmin, currentStore, updateStore } from './ctx.js';

const STORE_KEY = 'pointcast.admin.store';
const EXPIRY_FIELDS = ['points_valid_days', 'coupon_valid_days'];
const NUMBER_FIELDS = new Set(['coupon_threshold', 'earn_percent', 'coupon_value', 'daily_grant_cap', 'lat', 'lon', ...EXPIRY_FIELDS]);
const FIELDS = ['name', 'address', 'lat', 'lon', 'time_zone', 'coupon_threshold', 'earn_percent', 'coupon_value', ...EXPIRY_FIELDS, 'daily_grant_cap'];
/** Zones offered in the pickers; the store's own zone is added when it is another. */
export const ZONES = ['Asia/Seoul', 'Asia/Tokyo', 'Asia/Shanghai', 'Asia/Singapore', 'Europe/London', 'Europe/Paris', 'America/New_York', 'America/Los_Angeles', 'UTC'];

let onChange = () => {};

/** Options for a time-zone select, with `current` chosen. */
export function zoneOptions(current) {
  const zones = ZONES.includes(current) || !current ? ZONES : [current, ...ZONES];
  return zones.map((z) => el('option', { value: z, selected: z === current }, z));
}

/** Loads the stores this person works on and fills the chooser. */
export async function loadStores() {
  const all = API.list(await API.get('/stores'), 'stores');
  knowStores(all);
  const mine = new Set(ctx.me.store_ids || []);
  ctx.stores = isAdmin() ? all : all.filter((s) => mine.has(s.id));
  const saved = Number(localStorage.getItem(STORE_KEY));
  ctx.storeId = ctx.stores.some((s) => s.id === saved) ? saved : ctx.stores[0]?.id ?? null;
  renderChooser();
  renderList();
}

function renderChooser() {
  $('#store-select').replaceChildren(...ctx.stores.map((s) => el('option', { value: s.id, selected: s.id === ctx.storeId }, s.name)));
  $('#no-stores').hidden = ctx.stores.length > 0;
}

function renderList() {
  const box = $('#store-list');
  if (!isAdmin()) return box.replaceChildren();
  box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
    el('thead', {}, el('tr', {}, el('th', {}, t('auth.name')), el('th', {}, t('stores.joined')), el('th', {}, t('stores.time_zone')))),
    el('tbody', {}, ctx.stores.map((s) => el('tr', { dataset: { storeId: s.id }, class: s.id === ctx.storeId ? 'chosen' : '' },
      el('td', {}, el('button', { class: 'link', type: 'button', onclick: () => choose(s.id) }, s.name), el('br'), el('small', { class: 'muted' }, s.address || '')),
      el('td', {}, fmtDate(s.joined_at)),
      el('td', { class: 'muted' }, s.time_zone || 'UTC')))))));
}

/** Makes `id` the chosen store and tells the panels. */
export function choose(id) {
  ctx.storeId = id;
  localStorage.setItem(STORE_KEY, String(id));
  $('#store-select').value = String(id);
  renderList();
  onChange();
}

// ---------- the chosen store's form ----------

function fillForm(store) {
  const f = $('#store-form');
  f.elements.time_zone.replaceChildren(...zoneOptions(store?.time_zone || 'UTC'));
  for (const k of FIELDS) {
    const v = store?.[k];
    if (k !== 'time_zone') f.elements[k].value = v === undefined || v === null ? '' : String(v);
  }
  $('#store-cap-label').hidden = !isAdmin();
  $('#store-cap-read').hidden = isAdmin();
  $('#store-cap-read').textContent = store ? t('stores.cap_read', { cap: Number(store.daily_grant_cap ?? 0).toLocaleString(), zone: store.time_zone || 'UTC' }) : '';
  $('#store-joined').textContent = store?.joined_at ? t('stores.joined_on', { date: fmtDate(store.joined_at) }) : '';
}

export async function loadStoreForm() {
  $('#store-msg').textContent = '';
  if (ctx.storeId === null) return;
  try {
    const data = await API.get(`/stores/${ctx.storeId}`);
    updateStore(data?.store || data);
    fillForm(currentStore());
  } catch (e) {
    showError(e, $('#store-msg'));
  }
}

/** PATCH /stores/{id} with only the fields that changed (an owner never sends the cap). */
async function saveStore(form) {
  const before = currentStore() || {};
  const body = {};
  for (const k of FIELDS) {
    if (k === 'daily_grant_cap' && !isAdmin()) continue;
    const raw = form.elements[k].value.trim();
    if ((k === 'lat' || k === 'lon') && raw === '') continue;
    const v = NUMBER_FIELDS.has(k) ? Number(raw) : raw;
    if (String(before[k] ?? '') !== String(v)) body[k] = v;
  }
  try {
    const r = Object.keys(body).length > 0 ? await API.patch(`/stores/${ctx.storeId}`, body) : before;
    updateStore({ ...before, ...(r?.store || r) });
    const now = currentStore();
    fillForm(now);
    knowStores([now]);
    const opt = $(`#store-select option[value="${ctx.storeId}"]`);
    if (opt && now.name) opt.textContent = now.name;
    renderList();
    showOk(t('admin.saved'), $('#store-msg'));
  } catch (e) {
    showError(e, $('#store-msg'));
  }
}

/** POST /stores (admins): a new store, with the day it joined when given. */
async function register(form) {
  const f = form.elements;
  const body = { name: f.name.value.trim(), address: f.address.value.trim() };
  if (f.lat.value !== '' && f.lon.value !== '') Object.assign(body, { lat: Number(f.lat.value), lon: Number(f.lon.value) });
  if (f.joined_on.value) body.joined_at = f.joined_on.value;
  try {
    const s = await API.post('/stores', body);
    const store = s?.store || s;
    ctx.stores.push(store);
    knowStores([store]);
    form.reset();
    renderChooser();
    showOk(t('stores.registered', { name: store.name }), $('#register-msg'));
    choose(store.id);
  } catch (e) {
    showError(e, $('#register-msg'));
  }
}

export function onStoreEvent(env) {
  const d = env.data || {};
  const store = d.store;
  if (env.type !== 'store.updated' || !store) return;
  updateStore(store);
  if (Number(store.id) === ctx.storeId && !$('#store-form').contains(document.activeElement)) fillForm(currentStore());
}

export function initStores({ submit, changed }) {
  onChange = changed;
  submit('#store-form', saveStore);
  submit('#register-form', register);
  $('#store-select').addEventListener('change', (ev) => choose(Number(ev.target.value)));
}

export function showStoresPanel() {
  $('#register-box').hidden = !isAdmin();
  fillForm(currentStore());
}
