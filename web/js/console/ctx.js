// What every console panel shares: who is logged in, the stores they may work on,
// the chosen store, and small helpers for panels that a role may not see.

export const ctx = {
  me: null,
  /** The stores this person works on (all of them for an admin). */
  stores: [],
  /** The chosen store's id, or null when there is none. */
  storeId: null,
};

export const isAdmin = () => ctx.me?.role === 'admin';
export const currentStore = () => ctx.stores.find((s) => s.id === ctx.storeId) || null;

/** Replaces the chosen store's fields everywhere the console keeps them. */
export function updateStore(store) {
  const i = ctx.stores.findIndex((s) => s.id === store.id);
  if (i >= 0) ctx.stores[i] = { ...ctx.stores[i], ...store };
  else ctx.stores.push(store);
}

/**
 * A panel whose data the server refuses to this person (403) or does not have yet
 * (404: an endpoint not on this server) hides itself: an owner must never see a
 * panel that only says "admins only".
 */
export function hideIfRefused(card, e) {
  if (e && (e.status === 403 || e.status === 404)) {
    card.hidden = true;
    syncNav();
    return true;
  }
  return false;
}

/** The panel links at the top point only at cards this person can see. */
export function syncNav() {
  document.querySelectorAll('.panel-nav a[href^="#"]').forEach((a) => {
    const card = document.querySelector(a.getAttribute('href'));
    a.hidden = !card || card.hidden;
  });
}

/** "2026-12-01" for a Date, in the browser's own calendar. */
export function isoDay(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
