// The customer's mileage history per store, newest first and paged, in words: who
// granted, what became a coupon, what expired. "+1,200 points: 1,500 became 1
// coupon(s), balance 200" reads a credit together with the conversion it caused.

import * as API from '../api.js';
import { t, fmtNumber, fmtTime, fmtDate } from '../i18n.js';
import { $, el, showError, busy } from '../ui.js';

const PAGE = 10;
const state = { userId: null, storeId: undefined, entries: [], next: null };

/**
 * The conversion a credit caused: the API's `converted` when it sends one, else
 * the conversion entry written right after the credit (same store, next id).
 */
function conversionOf(e, byId) {
  if (e.converted) return { points: e.converted.points, coupons: e.converted.coupon_ids?.length ?? null, balance: e.converted.balance_after, entryId: e.converted.entry_id };
  const c = byId.get(e.id + 1);
  if (e.points > 0 && c && c.kind === 'conversion' && c.store_id === e.store_id) {
    return { points: -c.points, coupons: c.coupon_ids?.length ?? null, balance: c.balance_after, entryId: c.id };
  }
  return null;
}

/** Staff names heard on this page (mileage.granted names who granted), for entries without `actor`. */
const actors = new Map();

export function knowActor(person) {
  if (person && person.id !== undefined && person.name) actors.set(Number(person.id), person.name);
}

function who(e) {
  return e.actor?.name || actors.get(Number(e.actor_id)) || (e.actor_id ? `#${e.actor_id}` : '');
}

function reasonText(e) {
  if (!e.reason) return '';
  const code = e.reason_code ? t(`admin.code.${e.reason_code}`) : '';
  return ` ${code && !code.startsWith('admin.') ? t('history.reason', { code, reason: e.reason }) : t('history.reason_only', { reason: e.reason })}`;
}

/** One entry in words (conversions the credit before them explains are folded in). */
export function entrySentence(e, conversion, threshold) {
  const pts = fmtNumber(Math.abs(e.points));
  const signed = `${e.points < 0 ? '−' : ''}${pts}`;
  let credit;
  switch (e.kind) {
    case 'grant':
      credit = (who(e) ? t('history.grant', { points: pts, who: who(e) }) : t('history.grant_anon', { points: pts })) + reasonText(e);
      break;
    case 'purchase':
      credit = t('history.purchase', { points: pts, order: e.order_id });
      break;
    case 'adjustment':
      credit = e.reason_code === 'correction' ? t('history.correction', { points: signed, who: who(e) }) + reasonText(e) : t('history.adjustment', { points: signed });
      break;
    case 'conversion': {
      const n = e.coupon_ids?.length || (threshold ? Math.round(Math.abs(e.points) / threshold) : 1);
      credit = t('history.conversion', { points: pts, n });
      break;
    }
    case 'reversal':
      credit = t('history.reversal', { points: pts, order: e.order_id });
      break;
    case 'revocation':
      credit = t('history.revocation', { points: pts });
      break;
    case 'expiry':
      credit = e.lot?.created_at ? t('history.expiry_lot', { points: pts, date: fmtDate(e.lot.created_at) }) : t('history.expiry', { points: pts });
      break;
    default:
      credit = signed;
  }
  if (conversion) {
    const n = conversion.coupons ?? (threshold ? Math.round(conversion.points / threshold) : 1);
    return t('history.converted', { credit, points: fmtNumber(conversion.points), n, balance: fmtNumber(conversion.balance) });
  }
  return t('history.balance', { credit, balance: fmtNumber(e.balance_after) });
}

export async function loadHistory(userId, storeId, more = false) {
  state.userId = userId;
  if (!more) {
    state.storeId = storeId;
    state.entries = [];
    state.next = null;
  }
  if (state.storeId === null || state.storeId === undefined) return render();
  const q = new URLSearchParams({ store_id: state.storeId, limit: String(PAGE) });
  if (more && state.next !== null) q.set('before', state.next);
  try {
    const data = await API.get(`/users/${userId}/mileage/entries?${q}`);
    state.entries.push(...API.list(data, 'entries'));
    state.next = data?.next_before ?? null;
  } catch (e) {
    showError(e, $('#history-msg'));
  }
  render();
}

function render() {
  const box = $('#history');
  const threshold = Number(state.threshold?.() || 0);
  const byId = new Map(state.entries.map((e) => [e.id, e]));
  const folded = new Set();
  const items = [];
  for (const e of state.entries) {
    if (folded.has(e.id)) continue;
    const conv = e.points > 0 ? conversionOf(e, byId) : null;
    if (conv?.entryId !== undefined) folded.add(conv.entryId);
    items.push({ e, conv });
  }
  // A conversion shown with its credit is not listed again.
  const shown = items.filter(({ e }) => !(e.kind === 'conversion' && folded.has(e.id)));
  if (shown.length === 0) {
    box.replaceChildren(el('li', { class: 'empty' }, t('history.none')));
  } else {
    box.replaceChildren(...shown.map(({ e, conv }) => el('li', { class: `history-entry kind-${e.kind}`, dataset: { entryId: e.id, kind: e.kind } },
      el('span', { class: 'history-text' }, entrySentence(e, conv, threshold)),
      el('small', { class: 'muted' }, fmtTime(e.created_at)))));
  }
  $('#history-more').hidden = state.next === null;
}

export function historyStore() {
  return state.storeId;
}

export function initHistory({ storeIds, threshold }) {
  state.threshold = threshold;
  $('#history-store').addEventListener('change', (ev) => loadHistory(state.userId, Number(ev.target.value)));
  $('#history-more').addEventListener('click', (ev) => busy(ev.currentTarget, () => loadHistory(state.userId, state.storeId, true)));
  state.storeIds = storeIds;
}
