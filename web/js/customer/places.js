// Stores for the customer: nearest first once a location is shared (the browser's,
// or typed in), join or leave each.

import * as API from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { $, el, showError, showOk, busy } from '../ui.js';

const state = { near: null, list: [] };

/** Stores, nearest first when a location is known. */
export async function fetchStores() {
  const q = state.near ? `?near=${state.near.lat},${state.near.lon}` : '';
  state.list = API.list(await API.get(`/stores${q}`), 'stores');
  return state.list;
}

/**
 * One row per store: its distance when known, and Join or Leave. `leave` asks on the
 * first click (the button says so) and leaves on the second.
 */
export function storeRow(s, joined, { join, leave }) {
  const distance = s.distance_km === undefined ? '' : s.distance_km === null ? t('location.far') : t('location.km', { km: fmtNumber(Math.round(s.distance_km * 10) / 10) });
  const leaveBtn = el('button', { class: 'btn-ghost small store-leave', type: 'button' }, t('store.leave'));
  leaveBtn.addEventListener('click', () => {
    if (leaveBtn.dataset.confirm !== 'yes') {
      leaveBtn.dataset.confirm = 'yes';
      leaveBtn.textContent = t('store.confirm_leave', { store: s.name });
      return;
    }
    busy(leaveBtn, () => leave(s));
  });
  return el('div', { class: 'store-row', dataset: { storeId: s.id, member: joined ? 'yes' : 'no' } },
    el('div', {}, el('strong', { translate: 'no' }, s.name), el('small', {}, el('span', { translate: 'no' }, s.address || ''), s.address && distance ? ' · ' : '', distance)),
    joined ? el('span', { class: 'row' }, el('span', { class: 'badge' }, '✓'), leaveBtn)
      : el('button', { class: 'btn btn-secondary small store-join', type: 'button', onclick: (ev) => busy(ev.currentTarget, () => join(s)) }, t('customer.join')));
}

async function saveLocation(userId, lat, lon, after) {
  try {
    await API.put(`/users/${userId}/location`, { lat, lon });
    state.near = { lat, lon };
    showOk(t('location.saved'), $('#stores-msg'));
    await after();
  } catch (e) {
    showError(e, $('#stores-msg'));
  }
}

/** Share my location: the browser's position, or the typed one when it refuses. */
export function initPlaces({ userId, after }) {
  $('#locate').addEventListener('click', (ev) => {
    const btn = ev.currentTarget;
    if (!navigator.geolocation) {
      $('#location-form').hidden = false;
      return;
    }
    btn.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (pos) => { btn.disabled = false; saveLocation(userId(), pos.coords.latitude, pos.coords.longitude, after); },
      () => {
        btn.disabled = false;
        $('#location-form').hidden = false;
        $('#stores-msg').textContent = t('location.denied');
      },
      { timeout: 10000 },
    );
  });
  $('#location-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget.elements;
    busy(ev.submitter, () => saveLocation(userId(), Number(f.lat.value), Number(f.lon.value), after));
  });
}

/** A location the server already keeps for this customer. */
export function rememberLocation(loc) {
  if (loc && Number.isFinite(Number(loc.lat)) && Number.isFinite(Number(loc.lon))) state.near = { lat: Number(loc.lat), lon: Number(loc.lon) };
}
