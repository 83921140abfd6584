// Members of the chosen store: find by member number or name, enrol a customer by
// member number, remove one, and keep each member's points badge live (grants,
// conversions, purchases, returns, expiry all carry the new balance). Grants with a
// reason code (a correction may take points back) and coupon redemption.

import * as API from '../api.js';
import { t, fmtNumber } from '../i18n.js';
import { $, el, showError, showOk, newKey } from '../ui.js';
import { ctx, currentStore } from './ctx.js';

const state = {
  members: [], // the chosen store's members, as GET /stores/{id}/members answers
  query: '',
  selected: null,
  grantKey: null,
};

/** Names of the chosen store's members by user id (orders show who bought). */
export const buyers = new Map();

const userId = (m) => Number(m.user_id ?? m.user?.id ?? m.id);

export async function loadMembers() {
  if (ctx.storeId === null) return [];
  const storeId = ctx.storeId;
  const data = await API.get(`/stores/${storeId}/members`);
  if (storeId !== ctx.storeId) return state.members;
  state.members = API.list(data, 'members', 'users');
  for (const m of state.members) buyers.set(userId(m), { name: m.name ?? m.user?.name, member_no: m.member_no ?? m.user?.member_no });
  return state.members;
}

function matches(m, needle) {
  if (!needle) return true;
  const name = String(m.name ?? m.user?.name ?? '').toLowerCase();
  const no = String(m.member_no ?? m.user?.member_no ?? '');
  return no.startsWith(needle) || name.includes(needle);
}

/** Shows the members matching `q` (member number prefix or part of the name). */
export async function findMembers(q) {
  state.query = q.trim().toLowerCase();
  $('#grant-msg').textContent = '';
  try {
    await loadMembers();
  } catch (e) {
    return showError(e, $('#grant-msg'));
  }
  renderMembers();
}

function renderMembers() {
  const box = $('#member-results');
  const found = state.members.filter((m) => matches(m, state.query));
  $('#member-count').textContent = t('members.count', { n: fmtNumber(state.members.length) });
  if (found.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('admin.not_found')));
  box.replaceChildren(...found.slice(0, 20).map(memberRow));
}

function memberRow(m) {
  const id = userId(m);
  const name = m.name ?? m.user?.name;
  const no = m.member_no ?? m.user?.member_no;
  const selected = state.selected?.id === id;
  return el('div', { class: 'member-row', dataset: { userId: id } },
    el('button', {
      class: 'member', type: 'button', 'aria-pressed': String(selected), dataset: { userId: id },
      onclick: () => select({ id, name, member_no: no }),
    }, el('span', {}, el('strong', { translate: 'no' }, name), ' ', el('small', { class: 'muted' }, no || '')),
    el('span', { class: 'badge points-badge', dataset: { balance: Number(m.balance ?? 0) } }, `${fmtNumber(m.balance ?? 0)} P`)),
    el('button', { class: 'btn-ghost small remove', type: 'button', 'aria-label': `${t('members.remove')} ${name}`, onclick: (ev) => remove({ id, name }, ev.currentTarget) }, t('members.remove')));
}

function select(member) {
  state.selected = member;
  state.grantKey = newKey();
  document.querySelectorAll('#member-results .member').forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.userId) === member.id)));
  $('#grant-form').hidden = false;
  $('#grant-who').textContent = `${member.name} · ${member.member_no || `#${member.id}`} → ${currentStore()?.name || ''}`;
  $('#grant-form').elements.points.focus();
}

/** A balance from an event or an answer: the member's badge changes at once. */
export function setBalance(uid, balance) {
  const m = state.members.find((x) => userId(x) === Number(uid));
  if (m) m.balance = Number(balance);
  const badge = $(`#member-results .member-row[data-user-id="${uid}"] .points-badge`);
  if (badge) {
    badge.dataset.balance = String(balance);
    badge.textContent = `${fmtNumber(balance)} P`;
  }
}

// ---------- enrol and remove ----------

/**
 * Enrols a customer by exact member number: the server looks the number up (so staff
 * cannot browse every customer), then the membership is created.
 */
async function enrol(form) {
  const no = form.elements.member_no.value.trim();
  const msg = $('#enrol-msg');
  try {
    const c = await API.get(`/stores/${ctx.storeId}/customers?member_no=${encodeURIComponent(no)}`);
    const already = c.member === true;
    if (!already) await API.put(`/stores/${ctx.storeId}/members/${c.user_id}`);
    showOk(t(already ? 'members.already' : 'members.enrolled', { name: c.name, no: c.member_no }), msg);
    form.reset();
    state.query = c.member_no;
    $('#find-form').elements.q.value = c.member_no;
    await loadMembers();
    renderMembers();
    select({ id: c.user_id, name: c.name, member_no: c.member_no });
  } catch (e) {
    showError(e, msg);
  }
}

/** Two clicks: the first asks (the button says so), the second removes. */
async function remove(member, button) {
  if (button.dataset.confirm !== 'yes') {
    button.dataset.confirm = 'yes';
    button.textContent = t('members.confirm_remove', { name: member.name });
    return;
  }
  button.disabled = true;
  try {
    await API.del(`/stores/${ctx.storeId}/members/${member.id}`);
    state.members = state.members.filter((m) => userId(m) !== member.id);
    if (state.selected?.id === member.id) {
      state.selected = null;
      $('#grant-form').hidden = true;
    }
    renderMembers();
    showOk(t('members.removed', { name: member.name }), $('#enrol-msg'));
  } catch (e) {
    button.disabled = false;
    showError(e, $('#enrol-msg'));
  }
}

// ---------- grants, corrections, redemption ----------

async function grant(form) {
  const msg = $('#grant-msg');
  const points = Number(form.elements.points.value);
  const reason = form.elements.reason.value.trim() || t(`admin.code.${form.elements.reason_code.value}`);
  const reasonCode = form.elements.reason_code.value;
  const m = state.selected;
  if (!m) return;
  // One key per intended grant: a double click or a retry after a network error
  // reuses it (credited once); the next grant gets a fresh one.
  const key = state.grantKey || newKey();
  state.grantKey = key;
  try {
    const r = await API.post(`/stores/${ctx.storeId}/members/${m.id}/mileage`, { points, reason, reason_code: reasonCode }, { idempotencyKey: key });
    state.grantKey = newKey();
    const issued = r.coupons_issued ?? r.coupons?.length ?? 0;
    const balance = r.balance ?? r.entry?.balance_after;
    const vars = { points: fmtNumber(Math.abs(points)), name: m.name, balance: fmtNumber(balance) };
    let text = points < 0 ? t('admin.corrected', vars) : t('admin.granted', vars);
    if (issued > 0) text += ` ${t('admin.coupons_issued', { n: issued })}`;
    setBalance(m.id, balance);
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

function onReasonCode() {
  const correction = $('#grant-form').elements.reason_code.value === 'correction';
  $('#grant-form').elements.points.min = correction ? '-100000' : '1';
  $('#grant-hint').hidden = !correction;
}

/** Events that carry a member's balance at the chosen store. */
export function onMemberEvent(env) {
  const d = env.data || {};
  const storeId = Number(d.store?.id ?? d.store_id);
  if (storeId !== ctx.storeId) return;
  if (env.type === 'member.joined' || env.type === 'member.left') {
    loadMembers().then(renderMembers).catch(() => {});
    return;
  }
  if (d.user_id !== undefined && d.balance !== undefined && d.balance !== null) setBalance(d.user_id, d.balance);
}

export function resetMembers() {
  state.members = [];
  state.selected = null;
  state.query = '';
  buyers.clear();
  $('#member-results').replaceChildren();
  $('#member-count').textContent = '';
  $('#grant-form').hidden = true;
}

export function initMembers({ submit }) {
  submit('#find-form', (f) => findMembers(f.elements.q.value));
  submit('#enrol-form', enrol);
  submit('#grant-form', grant);
  submit('#redeem-form', redeem);
  $('#grant-form').addEventListener('input', () => { state.grantKey = newKey(); });
  $('#grant-form').elements.reason_code.addEventListener('change', onReasonCode);
  onReasonCode();
}
