// Sales of the chosen store by day (a bar chart the page draws itself as inline SVG)
// and by album, for a period of days (UTC days, as the API counts them).

import * as API from '../api.js';
import { t, fmtNumber, fmtWon, fmtDate } from '../i18n.js';
import { $, el, showError } from '../ui.js';
import { ctx, isoDay } from './ctx.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

/** Every day from `from` to `to` inclusive, as YYYY-MM-DD. */
function days(from, to) {
  const out = [];
  const d = new Date(`${from}T00:00:00Z`);
  const end = new Date(`${to}T00:00:00Z`);
  while (d <= end && out.length < 400) {
    out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

/** Bars of revenue per day; the SVG scales to its box, so it never overflows a phone. */
export function chart(perDay) {
  const w = 600;
  const h = 200;
  const pad = 24;
  const max = Math.max(1, ...perDay.map((d) => d.revenue));
  const bw = (w - pad) / Math.max(1, perDay.length);
  const bars = perDay.map((d, i) => {
    const bh = Math.round(((h - pad * 2) * d.revenue) / max);
    const x = pad / 2 + i * bw;
    return svg('g', { class: 'bar', 'data-day': d.day, 'data-revenue': d.revenue },
      svg('rect', { x: x + 2, y: h - pad - bh, width: Math.max(1, bw - 4), height: bh, rx: 3, fill: '#e4572e' }),
      svg('title', {}, `${d.day}: ${fmtWon(d.revenue)} · ${fmtNumber(d.quantity)}`),
      perDay.length <= 16 || i % Math.ceil(perDay.length / 8) === 0
        ? svg('text', { x: x + bw / 2, y: h - 6, 'text-anchor': 'middle', 'font-size': 11, fill: '#6b6880' }, d.day.slice(5))
        : '');
  });
  return svg('svg', { viewBox: `0 0 ${w} ${h}`, class: 'chart', role: 'img', 'aria-label': t('sales.chart') },
    svg('line', { x1: pad / 2, y1: h - pad, x2: w - pad / 2, y2: h - pad, stroke: '#e5e1d8' }),
    svg('text', { x: pad / 2, y: 12, 'font-size': 11, fill: '#6b6880' }, fmtWon(max)),
    ...bars);
}

export async function loadSales() {
  const f = $('#sales-form').elements;
  if (!f.to.value) f.to.value = isoDay(new Date());
  if (!f.from.value) {
    const d = new Date();
    d.setDate(d.getDate() - 13);
    f.from.value = isoDay(d);
  }
  const box = $('#sales');
  if (ctx.storeId === null) return box.replaceChildren();
  let rows;
  try {
    rows = API.list(await API.get(`/stores/${ctx.storeId}/sales?from=${f.from.value}&to=${f.to.value}`), 'sales');
  } catch (e) {
    return showError(e, $('#sales-msg'));
  }
  $('#sales-msg').textContent = '';
  const byDay = new Map(days(f.from.value, f.to.value).map((d) => [d, { day: d, quantity: 0, revenue: 0 }]));
  const byAlbum = new Map();
  let total = { quantity: 0, revenue: 0, orders: 0 };
  for (const r of rows) {
    const d = byDay.get(r.day) || { day: r.day, quantity: 0, revenue: 0 };
    d.quantity += r.quantity;
    d.revenue += r.revenue;
    byDay.set(r.day, d);
    const a = byAlbum.get(r.product_id) || { title: r.title, artist: r.artist, quantity: 0, revenue: 0 };
    a.quantity += r.quantity;
    a.revenue += r.revenue;
    byAlbum.set(r.product_id, a);
    total = { quantity: total.quantity + r.quantity, revenue: total.revenue + r.revenue, orders: total.orders + r.orders };
  }
  if (rows.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('sales.none')));
  const albums = [...byAlbum.entries()].sort((a, b) => b[1].revenue - a[1].revenue);
  box.replaceChildren(
    el('p', { class: 'sales-total', dataset: { revenue: total.revenue, quantity: total.quantity } }, t('sales.total', { qty: fmtNumber(total.quantity), revenue: fmtWon(total.revenue), orders: fmtNumber(total.orders) })),
    el('h3', {}, t('sales.by_day')),
    el('div', { class: 'chart-box' }, chart([...byDay.values()].sort((a, b) => a.day.localeCompare(b.day)))),
    el('small', { class: 'muted' }, `${fmtDate(`${f.from.value}T00:00:00Z`)} – ${fmtDate(`${f.to.value}T00:00:00Z`)} (UTC)`),
    el('h3', {}, t('sales.by_album')),
    el('div', { class: 'table-wrap' }, el('table', { class: 'table sales-albums' },
      el('thead', {}, el('tr', {}, el('th', {}, t('order.album')), el('th', { class: 'num' }, t('sales.units')), el('th', { class: 'num' }, t('sales.revenue')))),
      el('tbody', {}, albums.map(([id, a]) => el('tr', { dataset: { productId: id } },
        el('td', { translate: 'no' }, el('strong', {}, a.title), el('br'), el('small', { class: 'muted' }, a.artist)),
        el('td', { class: 'num' }, fmtNumber(a.quantity)),
        el('td', { class: 'num' }, fmtWon(a.revenue))))))));
}

export function initSales({ submit }) {
  submit('#sales-form', loadSales);
}
