// The audit trail of the chosen store: who moved money or stock, newest first,
// with filters by action, staff member and period.

import * as API from '../api.js';
import { t, fmtTime, fmtNumber } from '../i18n.js';
import { $, el, showError } from '../ui.js';
import { ctx } from './ctx.js';

const state = { next: null };


function auditQuery(form, before) {
  const q = new URLSearchParams({ limit: '20' });
  if (ctx.storeId !== null) q.set('store_id', ctx.storeId);
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

/** "customer", "order"... in the reader's language (the English words stay as the API names them). */
function targetWord(type) {
  const w = t(`audit.target.${type}`);
  return w.startsWith('audit.') ? type : w;
}

/** A field's label: the console's own words where it has them. */
function fieldWord(k) {
  for (const key of [`audit.field.${k}`, `admin.${k}`]) {
    const w = t(key);
    if (w !== key) return w;
  }
  return k;
}

function valueWord(k, v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'object') return JSON.stringify(v);
  for (const key of [k === 'reason_code' ? `admin.code.${v}` : `audit.value.${v}`]) {
    const w = t(key);
    if (w !== key) return w;
  }
  return String(v);
}

/** "Balance: 0 → 700 · Points: 700 · Reason code: Compensation" from the row's before/after objects. */
function changeText(before, after) {
  const b = before && typeof before === 'object' ? before : {};
  const a = after && typeof after === 'object' ? after : {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return keys.map((k) => {
    if (k in b && k in a && b[k] !== a[k]) return `${fieldWord(k)}: ${valueWord(k, b[k])} → ${valueWord(k, a[k])}`;
    return `${fieldWord(k)}: ${valueWord(k, k in a ? a[k] : b[k])}`;
  }).join(' · ');
}

function auditRow(r) {
  const target = r.target_type ? `${targetWord(r.target_type)} #${r.target_id}` : '';
  const change = changeText(r.before, r.after);
  return el('li', { class: 'audit-row', dataset: { kind: r.kind, id: r.id } },
    el('span', { class: 'badge' }, t(`audit.${r.kind}`)), ' ',
    el('strong', {}, r.actor.name), ` (#${r.actor.id}) · ${target} · `,
    el('small', { class: 'muted' }, fmtTime(r.at)),
    el('div', { class: 'audit-change' }, change));
}

export async function loadAudit(more) {
  const form = $('#audit-form');
  const list = $('#audit-list');
  const msg = $('#audit-msg');
  msg.textContent = '';
  try {
    const data = await API.get(`/audit?${auditQuery(form, more ? state.next : null)}`);
    const rows = API.list(data, 'rows');
    if (!more) list.replaceChildren();
    list.append(...rows.map(auditRow));
    if (!more && rows.length === 0) list.append(el('li', { class: 'empty' }, t('admin.audit_none')));
    state.next = data?.next_before ?? null;
    $('#audit-more').hidden = state.next === null;
  } catch (e) {
    showError(e, msg);
  }
}

