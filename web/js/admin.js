// The console for store owners (their stores) and admins (everything). This file
// logs in, decides what the person may see, and routes live events to the panels in
// web/js/console/ (one module per panel). An owner never sees a panel the server
// would refuse them: admin-only cards carry data-admin-only, and a panel whose data
// the server refuses (403) or lacks (404) hides itself.

import * as API from './api.js';
import { Live } from './live.js';
import { initLang, onLangChange, t, fmtClock } from './i18n.js';
import { $, el, toast, showError, renderState, eventText, busy } from './ui.js';
import { ctx, isAdmin, syncNav } from './console/ctx.js';
import { loadStores, loadStoreForm, initStores, showStoresPanel, onStoreEvent } from './console/stores.js';
import { initMembers, resetMembers, findMembers, onMemberEvent } from './console/members.js';
import { loadDesign, initDesign } from './console/design.js';
import { loadAlbums, initAlbums, onAlbumEvent } from './console/albums.js';
import { loadStock, initStock, onStockEvent } from './console/stock.js';
import { loadSales, initSales } from './console/sales.js';
import { loadJobs, onJobEvent } from './console/jobs.js';
import { loadConversations, onSupportEvent } from './console/support.js';
import { loadInquiries, onInquiryEvent } from './console/inquiries.js';
import { loadStoreOrders, upsertStoreOrder, resetOrders } from './console/orders.js';
import { loadAudit } from './console/audit.js';
import { loadConnections, loadKeys, initMisc, showMisc } from './console/misc.js';

let live;

// ---------- live ----------

function onEvent(env) {
  const d = env.data || {};
  $('#feed').prepend(el('li', { dataset: { eventId: env.id, type: env.type } }, el('time', {}, fmtClock(env.at)), el('span', {}, eventText(env))));
  while ($('#feed').children.length > 80) $('#feed').lastChild.remove();
  onMemberEvent(env);
  onStockEvent(env);
  onAlbumEvent(env);
  onSupportEvent(env);
  onStoreEvent(env);
  onJobEvent(env);
  onInquiryEvent(env);
  switch (env.type) {
    case 'stock.low':
      toast(eventText(env), 'error');
      break;
    case 'stock.changed':
      // The staff's copy of an order's stock change names the order: a new order
      // at this store (order.placed goes to the buyer only).
      if (d.reason === 'order' && d.order_id && Number(d.store_id) === ctx.storeId) loadStoreOrders();
      break;
    case 'order.placed':
    case 'order.returned':
      upsertStoreOrder(d.order);
      break;
    case 'inquiry.received':
    case 'job.completed':
      toast(eventText(env));
      break;
    default:
  }
}

// ---------- start ----------

/** Everything that belongs to the chosen store, reloaded when another is chosen. */
async function refreshStore() {
  resetMembers();
  resetOrders();
  const hasStore = ctx.storeId !== null;
  document.querySelectorAll('[data-needs-store]').forEach((n) => { n.hidden = !hasStore || (n.hasAttribute('data-admin-only') && !isAdmin()); });
  syncNav();
  if (!hasStore) return;
  await loadStoreForm();
  await Promise.all([findMembers(''), loadStock(), loadStoreOrders(), loadDesign(), loadSales(), loadAudit(false)]);
}

function roleWord(role) {
  const w = t(`admin.role.${role}`);
  return w.startsWith('admin.') ? role : w;
}

async function showApp(me) {
  if (me.role !== 'admin' && me.role !== 'owner') {
    showAuth();
    showError({ message: t('auth.staff_only') }, $('#login-msg'));
    return;
  }
  ctx.me = me;
  $('#auth').hidden = true;
  $('#app').hidden = false;
  $('#who').hidden = false;
  $('#who').textContent = `${me.name} · ${roleWord(me.role)}`;
  $('#logout').hidden = false;
  document.body.dataset.role = me.role;
  // Admin-only cards are not even drawn for an owner.
  document.querySelectorAll('[data-admin-only]').forEach((n) => { n.hidden = !isAdmin(); });
  live.restart();
  try {
    await loadStores();
  } catch (e) {
    showError(e);
  }
  showStoresPanel();
  showMisc();
  const adminOnly = isAdmin() ? [loadAlbums(), loadConnections(), loadInquiries(), loadKeys()] : [];
  await Promise.all([refreshStore(), loadJobs(), loadConversations(), ...adminOnly]);
  syncNav();
}

function showAuth() {
  ctx.me = null;
  $('#auth').hidden = false;
  $('#app').hidden = true;
  $('#who').hidden = true;
  $('#logout').hidden = true;
  live.stop();
  renderState('offline');
}

function submit(sel, handler) {
  $(sel).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = ev.currentTarget;
    busy(ev.submitter || f.querySelector('button[type="submit"]'), () => handler(f));
  });
}

async function main() {
  initLang();
  live = new Live({ onEvent, onState: renderState, onReset: () => ctx.me && refreshStore() });
  $('#feed').dataset.empty = t('customer.no_events');
  onLangChange(() => ctx.me && showApp(ctx.me));

  submit('#login-form', async (f) => {
    try {
      const r = await API.login(f.elements.login.value.trim(), f.elements.password.value);
      f.reset();
      $('#login-msg').textContent = '';
      await showApp({ ...r.user, ...(await API.me()) });
    } catch (e) {
      showError(e, $('#login-msg'));
    }
  });
  submit('#token-form', async (f) => {
    API.setBearer(f.elements.token.value.trim());
    try {
      const me = await API.me();
      if (!me) throw new API.ApiError(401, 'unauthorized', 'that token is not valid');
      f.reset();
      await showApp(me);
    } catch (e) {
      API.setBearer('');
      showError(e, $('#token-msg'));
    }
  });
  initStores({ submit, changed: refreshStore });
  initMembers({ submit });
  initDesign({ submit });
  initAlbums({ submit });
  initStock();
  initSales({ submit });
  initMisc({ submit });
  submit('#audit-form', () => loadAudit(false));
  $('#audit-more').addEventListener('click', (ev) => busy(ev.currentTarget, () => loadAudit(true)));
  $('#orders-refresh').addEventListener('click', (ev) => busy(ev.currentTarget, loadStoreOrders));
  $('#logout').addEventListener('click', async () => {
    try {
      await API.logout();
    } catch (e) {
      showError(e);
    }
    showAuth();
  });
  setInterval(() => ctx.me && isAdmin() && loadConnections(), 10000);

  try {
    const me = await API.me();
    if (me) await showApp(me);
    else showAuth();
  } catch (e) {
    showAuth();
    showError(e, $('#login-msg'));
  }
}

main();
