// Batch jobs: what each does (in the reader's language), its schedule as a local
// time in a time zone (a Seoul store's "07:30" is entered and shown as 07:30
// Asia/Seoul), the next run in that zone, the last run's result, and "run now".
// Owners read (when the server lets them); only admins change or run.

import * as API from '../api.js';
import { t, fmtInZone, fmtNumber } from '../i18n.js';
import { $, el, showError, showOk, busy, jobName, drawWhenFree, drawn } from '../ui.js';
import { isAdmin, hideIfRefused, syncNav } from './ctx.js';
import { zoneOptions } from './stores.js';

const lastRuns = new Map(); // job name -> RunView

export async function loadJobs() {
  const card = $('#jobs-card');
  const box = $('#jobs');
  let jobs;
  try {
    jobs = API.list(await API.get('/admin/jobs'), 'jobs');
  } catch (e) {
    if (hideIfRefused(card, e)) return;
    return showError(e, $('#jobs-msg'));
  }
  card.hidden = false;
  syncNav();
  await Promise.all(jobs.map(async (j) => {
    if (j.last_run !== undefined) {
      if (j.last_run) lastRuns.set(j.name, j.last_run);
      return;
    }
    try {
      const run = API.list(await API.get(`/admin/jobs/${encodeURIComponent(j.name)}/runs?limit=1`), 'runs')[0];
      if (run) lastRuns.set(j.name, run);
    } catch {
      /* the last result is a nicety */
    }
  }));
  drawn(box);
  box.replaceChildren(...jobs.map(jobEl));
}

/** A summary object in words: "3 lots expired · 1,200 points expired". */
export function summaryText(summary) {
  if (!summary || typeof summary !== 'object') return '';
  return Object.entries(summary).filter(([, v]) => typeof v === 'number').map(([k, v]) => {
    const s = t(`summary.${k}`, { n: fmtNumber(v) });
    return s === `summary.${k}` ? t('summary.other', { k, n: fmtNumber(v) }) : s;
  }).join(' · ');
}

function lastRunEl(name) {
  const r = lastRuns.get(name);
  if (!r) return el('div', { class: 'muted small job-last' }, t('jobs.last_none'));
  const outcome = r.outcome ? t(`jobs.outcome.${r.outcome}`) : t('jobs.outcome.running');
  const trigger = t(`jobs.trigger.${r.trigger}`);
  return el('div', { class: 'small job-last', dataset: { outcome: r.outcome || 'running', runId: r.id } },
    t('jobs.last', { when: fmtInZone(r.finished_at || r.started_at, Intl.DateTimeFormat().resolvedOptions().timeZone), outcome }),
    trigger.startsWith('jobs.') ? '' : ` (${trigger})`,
    el('div', { class: 'muted' }, summaryText(r.summary)));
}

function jobEl(j) {
  const zone = j.time_zone || 'UTC';
  const daily = /^daily (\d{2}:\d{2})$/.exec(j.schedule || '');
  const desc = t(`job.${j.name}.desc`);
  const next = j.next_run_at ? t('jobs.next_local', { when: fmtInZone(j.next_run_at, zone), zone }) : t('jobs.never');
  const node = el('div', { class: 'job', dataset: { job: j.name } },
    el('div', { class: 'job-head' }, el('strong', {}, jobName(j.name)), j.running ? el('span', { class: 'badge' }, t('jobs.outcome.running')) : ''),
    el('div', { class: 'muted small' }, desc.startsWith('job.') ? j.description || '' : desc),
    el('div', { class: 'small job-next', dataset: { next: j.next_run_at || '', zone } }, next),
    lastRunEl(j.name));
  if (isAdmin()) node.append(scheduleForm(j, daily ? daily[1] : null, zone));
  return node;
}

function scheduleForm(j, time, zone) {
  const timeInput = el('input', { type: 'time', name: 'time', value: time || '', required: !!time, 'aria-label': t('jobs.local', { zone }) });
  const cron = el('input', { name: 'cron', value: time ? '' : (j.schedule || ''), hidden: !!time, 'aria-label': t('jobs.cron') });
  timeInput.hidden = !time;
  const zoneSel = el('select', { name: 'time_zone', 'aria-label': t('jobs.zone') }, zoneOptions(zone));
  const run = el('button', { class: 'btn-ghost small', type: 'button', onclick: (ev) => busy(ev.currentTarget, async () => {
    try {
      await API.post(`/admin/jobs/${encodeURIComponent(j.name)}/run`);
      showOk(t('admin.run_started', { name: jobName(j.name) }), $('#jobs-msg'));
    } catch (e) {
      showError(e, $('#jobs-msg'));
    }
  }) }, t('admin.run'));
  return el('form', {
    class: 'row wrap job-controls',
    onsubmit: (ev) => {
      ev.preventDefault();
      busy(ev.submitter, async () => {
        const schedule = time !== null ? `daily ${timeInput.value}` : cron.value.trim();
        try {
          await API.put(`/admin/jobs/${encodeURIComponent(j.name)}`, { schedule, time_zone: zoneSel.value });
          showOk(time !== null ? t('jobs.saved', { name: jobName(j.name), time: timeInput.value, zone: zoneSel.value }) : t('admin.saved'), $('#jobs-msg'));
          await loadJobs();
        } catch (e) {
          showError(e, $('#jobs-msg'));
        }
      });
    },
  }, timeInput, cron, zoneSel, el('button', { class: 'btn-ghost small', type: 'submit' }, t('admin.save')), run);
}

export function onJobEvent(env) {
  if (env.type !== 'job.completed') return;
  const d = env.data || {};
  lastRuns.set(d.job, { id: d.run_id, job: d.job, trigger: d.trigger || 'manual', started_at: d.started_at, finished_at: d.finished_at, outcome: d.outcome, summary: d.summary });
  // The run's result shows at once; the rest (the next run) once the admin leaves
  // the schedule they may be typing.
  $(`#jobs .job[data-job="${CSS.escape(d.job)}"] .job-last`)?.replaceWith(lastRunEl(d.job));
  drawWhenFree($('#jobs'), loadJobs);
}
