// The chosen store's coupon design: a form with a live preview (drawn as customers
// will see it) and the history of changes, newest first.

import * as API from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { $, el, showError, showOk, couponEl } from '../ui.js';
import { ctx, currentStore, updateStore } from './ctx.js';

const SHAPES = ['ticket', 'rounded', 'square', 'circle', 'star'];

function formDesign() {
  const f = $('#design-form').elements;
  return { shape: f.shape.value, color: f.color.value, label: f.label.value.trim() };
}

function preview() {
  const store = currentStore() || {};
  const design = formDesign();
  const node = couponEl({ id: 0, status: 'active', store_name: store.name }, { ...design, label: design.label || undefined });
  node.querySelector('.coupon-meta').textContent = t('coupon.valid');
  $('#design-preview').replaceChildren(node);
}

function fill(design = {}) {
  const f = $('#design-form').elements;
  f.shape.replaceChildren(...SHAPES.map((s) => el('option', { value: s, selected: s === design.shape }, t(`shape.${s}`))));
  f.color.value = /^#[0-9a-fA-F]{6}$/.test(design.color || '') ? design.color : '#e4572e';
  f.label.value = design.label || '';
  preview();
}

export async function loadDesign() {
  if (ctx.storeId === null) return;
  fill(currentStore()?.coupon_design);
  const box = $('#design-history');
  try {
    const data = await API.get(`/stores/${ctx.storeId}/coupon-design/history`);
    const rows = API.list(data, 'history');
    if (rows.length === 0) return box.replaceChildren(el('li', { class: 'empty' }, t('design.none')));
    box.replaceChildren(...rows.slice(0, 10).map((h) => el('li', { class: 'design-change', dataset: { id: h.id } },
      el('span', { class: 'swatch', dataset: { color: h.design.color } }), ' ',
      el('strong', {}, h.design.label), ` · ${t(`shape.${h.design.shape}`)} · `,
      el('small', { class: 'muted' }, t('design.by', { name: h.changed_by?.name || '', when: fmtTime(h.changed_at) })))));
    box.querySelectorAll('.swatch').forEach((s) => s.style.setProperty('background', s.dataset.color));
  } catch (e) {
    showError(e, $('#design-msg'));
  }
}

async function save() {
  try {
    const r = await API.put(`/stores/${ctx.storeId}/coupon-design`, formDesign());
    updateStore({ id: ctx.storeId, coupon_design: r.design || formDesign() });
    showOk(t('design.saved'), $('#design-msg'));
    await loadDesign();
  } catch (e) {
    showError(e, $('#design-msg'));
  }
}

export function initDesign({ submit }) {
  submit('#design-form', save);
  $('#design-form').addEventListener('input', preview);
  $('#design-form').addEventListener('change', preview);
}
