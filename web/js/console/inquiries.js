// Inquiries sent from the site's form (admins): the newest first, with their mail
// status, and a status each (new, in progress, closed) once the server keeps one.

import * as API from '../api.js';
import { t, fmtTime } from '../i18n.js';
import { $, el, showError, showOk } from '../ui.js';
import { hideIfRefused } from './ctx.js';

const STATUSES = ['new', 'in_progress', 'closed'];

export async function loadInquiries() {
  const card = $('#inquiries-card');
  let rows;
  try {
    rows = API.list(await API.get('/inquiries?limit=20'), 'inquiries');
  } catch (e) {
    if (hideIfRefused(card, e)) return;
    return showError(e, $('#inquiries-msg'));
  }
  card.hidden = false;
  const box = $('#inquiries');
  if (rows.length === 0) return box.replaceChildren(el('p', { class: 'empty' }, t('inquiries.none')));
  box.replaceChildren(...rows.map(inquiryEl));
}

function inquiryEl(q) {
  const status = q.status
    ? el('select', { name: 'status', 'aria-label': t('inquiries.status'), onchange: (ev) => setStatus(q, ev.target.value) },
      STATUSES.map((s) => el('option', { value: s, selected: s === q.status }, t(`inquiry.status.${s}`))))
    : '';
  return el('details', { class: 'inquiry', dataset: { inquiryId: q.id, status: q.status || '' } },
    el('summary', {}, el('strong', {}, q.subject), ' ', el('small', { class: 'muted' }, `${q.reply_to} · ${fmtTime(q.created_at)} · ${t(`inquiries.mail.${q.mail_status || 'none'}`)}`)),
    el('p', { class: 'inquiry-text' }, q.message),
    status);
}

async function setStatus(q, status) {
  try {
    const r = await API.patch(`/inquiries/${q.id}`, { status });
    q.status = r?.status || status;
    showOk(t('inquiries.saved', { id: q.id, status: t(`inquiry.status.${q.status}`) }), $('#inquiries-msg'));
  } catch (e) {
    showError(e, $('#inquiries-msg'));
  }
}

export function onInquiryEvent(env) {
  if (env.type === 'inquiry.received') loadInquiries();
}
