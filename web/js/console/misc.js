// The small panels: who is connected (admins), announcements (a store's members,
// or everyone for admins) and API keys (admins; hidden on a server without them).

import * as API from '../api.js';
import { t, fmtClock, fmtTime } from '../i18n.js';
import { $, el, showError, showOk, busy } from '../ui.js';
import { ctx, isAdmin, hideIfRefused } from './ctx.js';

// ---------- connections ----------

export async function loadConnections() {
  const card = $('#connections-card');
  let data;
  try {
    data = await API.get('/admin/connections');
  } catch (e) {
    if (hideIfRefused(card, e)) return;
    return showError(e);
  }
  const box = $('#connections');
  const list = API.list(data, 'connections');
  if (list.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('admin.no_connections')));
  const word = (k, v) => {
    const s = t(`${k}.${v}`);
    return s.startsWith(`${k}.`) ? v : s;
  };
  box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { class: 'table' }, el('tbody', {}, list.map((c) => el('tr', {},
    el('td', {}, c.name || t('admin.visitor'), ' ', el('small', { class: 'muted' }, c.role ? word('conn.role', c.role) : '')),
    el('td', {}, el('span', { class: 'badge' }, word('conn.transport', c.transport))),
    el('td', { class: 'num muted' }, fmtClock(c.since))))))));
}

// ---------- announcements ----------

async function announce(form) {
  const text = form.elements.text.value.trim();
  const all = isAdmin() && form.elements.scope.value === 'all';
  const body = all ? { text, all: true } : { text, store_id: ctx.storeId };
  try {
    await API.post('/announcements', body);
    showOk(t('admin.announced'), $('#announce-msg'));
    form.reset();
  } catch (e) {
    showError(e, $('#announce-msg'));
  }
}

// ---------- API keys ----------

const SCOPES = ['grant', 'order', 'announce', 'publish', 'read'];

export async function loadKeys() {
  const card = $('#keys-card');
  if (!isAdmin()) {
    card.hidden = true;
    return;
  }
  let keys;
  try {
    keys = API.list(await API.get('/keys'), 'keys');
  } catch (e) {
    // 404: a server without API keys yet. The panel stays out of the way.
    if (hideIfRefused(card, e)) return;
    return showError(e, $('#keys-msg'));
  }
  card.hidden = false;
  const box = $('#keys');
  if (keys.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('keys.none')));
  box.replaceChildren(el('ul', { class: 'key-list' }, keys.map((k) => el('li', { class: 'key-row', dataset: { keyId: k.id, revoked: k.revoked_at ? 'yes' : 'no' } },
    el('strong', {}, k.name), ' ',
    el('small', { class: 'muted' }, `${(k.scopes || []).map((s) => t(`scope.${s}`)).join(', ')} · ${k.last_used_at ? t('keys.last_used', { when: fmtTime(k.last_used_at) }) : t('keys.never_used')}`), ' ',
    k.revoked_at ? el('span', { class: 'badge' }, t('keys.revoked'))
      : el('button', { class: 'btn-ghost small', type: 'button', onclick: (ev) => busy(ev.currentTarget, () => revoke(k)) }, t('keys.revoke'))))));
}

async function createKey(form) {
  const scopes = SCOPES.filter((s) => form.elements[`scope_${s}`].checked);
  const body = { name: form.elements.name.value.trim(), scopes, store_ids: ctx.storeId === null ? [] : [ctx.storeId] };
  try {
    const k = await API.post('/keys', body);
    form.reset();
    $('#key-once').hidden = false;
    $('#key-once-value').textContent = k.key;
    await loadKeys();
  } catch (e) {
    showError(e, $('#keys-msg'));
  }
}

async function revoke(k) {
  try {
    await API.del(`/keys/${k.id}`);
    showOk(t('keys.revoked_ok', { name: k.name }), $('#keys-msg'));
    await loadKeys();
  } catch (e) {
    showError(e, $('#keys-msg'));
  }
}

export function initMisc({ submit }) {
  submit('#announce-form', announce);
  submit('#key-form', createKey);
  $('#conn-refresh').addEventListener('click', loadConnections);
}

export function showMisc() {
  $('#announce-all').hidden = !isAdmin();
}
