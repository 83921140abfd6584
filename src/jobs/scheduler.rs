//! Runs jobs when they are due, on demand, and never two runs of one job at once.
//!
//! A run starts by *claiming* its job in the database: one conditional UPDATE that
//! succeeds only if no unexpired lease is held (and, for a scheduled run, only if
//! the job is due), and that moves `next_run_at` past now. Two triggers at once, or
//! two instances' schedulers, therefore make one run. Because the next time is
//! computed from now, a run missed while the server was down is caught up once at
//! start, not once per missed day. A lease that outlives a crashed run expires.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::events::JobCompleted;
use super::schedule::Schedule;
use super::{JOBS, JobError, tasks};
use crate::db::Db;
use crate::db::jobs::{self as rows, JobRow, RunRow};
use crate::events::channel;
use crate::time::rfc3339;

/// How long a claimed run may hold its job before another may take it over.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);
/// Longest sleep between looks at the schedule.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// A job as `GET /admin/jobs` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub name: String,
    pub description: &'static str,
    pub schedule: String,
    pub time_zone: String,
    /// UTC.
    pub next_run_at: Option<String>,
    /// The same instant in `time_zone`, with its offset (`2026-12-01T07:30:00+09:00`),
    /// so a page shows the time the schedule was entered in.
    pub next_run_local: Option<String>,
    pub last_run_at: Option<String>,
    pub running: bool,
    /// The latest run, finished or not: its outcome and summary.
    pub last_run: Option<RunView>,
}

/// `millis` as RFC 3339 in the IANA zone `tz` (UTC if the name is unknown).
fn local_time(millis: i64, tz: &str) -> Option<String> {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Tz::UTC);
    DateTime::<Utc>::from_timestamp_millis(millis).map(|t| {
        t.with_timezone(&zone)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

/// One run as its history shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: i64,
    pub job: String,
    /// `schedule`, `catch-up` or `manual`.
    pub trigger: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `ok` or `error`; absent while running.
    pub outcome: Option<String>,
    pub summary: Option<serde_json::Value>,
}

pub struct Scheduler {
    db: Db,
    clock: Arc<dyn Clock>,
    /// Woken when a schedule changes, so a new time takes effect at once.
    wake: Notify,
}

impl Scheduler {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            db,
            clock,
            wake: Notify::new(),
        })
    }

    /// Makes sure every known job has a row (first start), keeping changed schedules.
    pub async fn install(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        for (name, default, _) in JOBS {
            let s = Schedule::parse(default, None).map_err(anyhow::Error::from)?;
            let next = s.next_after(now).map(|t| t.timestamp_millis());
            rows::ensure_job(&self.db, name, s.text(), "UTC", next).await?;
        }
        Ok(())
    }

    /// The scheduling loop, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        loop {
            let next = match self.run_due().await {
                Ok(next) => next,
                Err(e) => {
                    tracing::warn!(error = ?e, "scheduler pass failed");
                    None
                }
            };
            let now = self.clock.now();
            let sleep = next
                .and_then(|n| (n - now).to_std().ok())
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP);
            let sleep = if next.is_none() { MAX_SLEEP } else { sleep };
            let moved = self.clock.moved();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(sleep) => {}
                _ = self.wake.notified() => {}
                _ = async { match moved { Some(n) => n.notified().await, None => std::future::pending().await } } => {}
            }
        }
    }

    /// Runs every due job; returns the earliest next run time.
    async fn run_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let now = self.clock.now();
        for job in rows::jobs(&self.db).await? {
            let due = job.next_run_at.is_some_and(|t| t <= now.timestamp_millis());
            if !due {
                continue;
            }
            // More than a minute late means the server was not running at the time.
            let late = job
                .next_run_at
                .is_some_and(|t| now.timestamp_millis() - t > 60_000);
            let trigger = if late { "catch-up" } else { "schedule" };
            match self.execute(&job, trigger, true).await {
                Ok(_) | Err(JobError::Running) => {}
                Err(e) => {
                    tracing::warn!(job = %job.name, error = %e, "scheduled run failed to start")
                }
            }
        }
        Ok(rows::jobs(&self.db)
            .await?
            .iter()
            .filter_map(|j| j.next_run_at)
            .min()
            .and_then(DateTime::from_timestamp_millis))
    }

    /// Runs a job now, whatever its schedule.
    pub async fn run_now(&self, name: &str) -> Result<RunView, JobError> {
        let job = rows::job(&self.db, name).await?.ok_or(JobError::Unknown)?;
        self.execute(&job, "manual", false).await
    }

    async fn execute(
        &self,
        job: &JobRow,
        trigger: &str,
        due_only: bool,
    ) -> Result<RunView, JobError> {
        let schedule = Schedule::parse(&job.schedule, Some(&job.time_zone))?;
        let now = self.clock.now();
        let next = if due_only {
            schedule.next_after(now).map(|t| t.timestamp_millis())
        } else {
            None
        };
        let run_id = rows::claim(
            &self.db,
            &job.name,
            now.timestamp_millis(),
            (now + LEASE).timestamp_millis(),
            next,
            due_only,
            trigger,
        )
        .await?
        .ok_or(JobError::Running)?;
        tracing::info!(job = %job.name, run = run_id, trigger, "job started");
        let (outcome, summary) = match tasks::run(&self.db, &job.name, now).await {
            Ok(summary) => ("ok", summary),
            Err(e) => {
                tracing::warn!(job = %job.name, error = ?e, "job failed");
                let failed = tasks::Failed {
                    error: e.to_string(),
                };
                ("error", tasks::summary(&failed)?)
            }
        };
        let finished = self.clock.now();
        self.finish(&job.name, run_id, now, finished, outcome, &summary)
            .await?;
        tracing::info!(
            target: "pointcast::action",
            action = "job_run",
            job = %job.name,
            run = run_id,
            trigger,
            ms = (finished - now).num_milliseconds(),
            outcome,
            "job finished"
        );
        Ok(RunView {
            id: run_id,
            job: job.name.clone(),
            trigger: trigger.into(),
            started_at: rfc3339(now.timestamp_millis()),
            finished_at: Some(rfc3339(finished.timestamp_millis())),
            outcome: Some(outcome.into()),
            summary: Some(summary),
        })
    }

    /// Changes a job's schedule; it takes effect at once. A bad schedule changes nothing.
    pub async fn reschedule(
        &self,
        name: &str,
        text: &str,
        tz: Option<&str>,
    ) -> Result<JobView, JobError> {
        let schedule = Schedule::parse(text, tz)?;
        let next = schedule
            .next_after(self.clock.now())
            .map(|t| t.timestamp_millis());
        if !rows::set_schedule(&self.db, name, schedule.text(), schedule.tz.name(), next).await? {
            return Err(JobError::Unknown);
        }
        self.wake.notify_one();
        tracing::info!(job = name, schedule = %schedule, "schedule changed");
        let job = rows::job(&self.db, name).await?.ok_or(JobError::Unknown)?;
        self.view(job).await
    }

    pub async fn list(&self) -> Result<Vec<JobView>, JobError> {
        let mut list = Vec::new();
        for j in rows::jobs(&self.db).await? {
            list.push(self.view(j).await?);
        }
        Ok(list)
    }

    pub async fn runs(&self, name: &str, limit: i64) -> Result<Vec<RunView>, JobError> {
        rows::job(&self.db, name).await?.ok_or(JobError::Unknown)?;
        Ok(rows::runs(&self.db, name, limit)
            .await?
            .into_iter()
            .map(run_view)
            .collect())
    }

    /// Records a run's end, frees its job and tells the admins (`job.completed`),
    /// in one transaction.
    async fn finish(
        &self,
        name: &str,
        run_id: i64,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        outcome: &str,
        summary: &Value,
    ) -> anyhow::Result<()> {
        let (started, finished) = (started.timestamp_millis(), finished.timestamp_millis());
        let mut tx = self.db.begin().await?;
        let text = summary.to_string();
        rows::finish(&mut tx, name, run_id, started, finished, outcome, &text).await?;
        let completed = JobCompleted {
            job: name,
            run_id,
            outcome,
            summary,
            started_at: rfc3339(started),
            finished_at: rfc3339(finished),
        };
        tx.emit(channel::ADMIN, &completed).await?;
        tx.commit().await
    }

    async fn view(&self, j: JobRow) -> Result<JobView, JobError> {
        let now = self.clock.now().timestamp_millis();
        let last_run = rows::runs(&self.db, &j.name, 1)
            .await?
            .into_iter()
            .next()
            .map(run_view);
        Ok(JobView {
            description: JOBS
                .iter()
                .find(|(n, _, _)| *n == j.name)
                .map(|(_, _, d)| *d)
                .unwrap_or(""),
            schedule: j.schedule,
            next_run_at: j.next_run_at.map(rfc3339),
            next_run_local: j.next_run_at.and_then(|t| local_time(t, &j.time_zone)),
            last_run_at: j.last_run_at.map(rfc3339),
            running: j.running_until.is_some_and(|t| t > now),
            last_run,
            time_zone: j.time_zone,
            name: j.name,
        })
    }
}

fn run_view(r: RunRow) -> RunView {
    RunView {
        id: r.id,
        job: r.job,
        trigger: r.trigger,
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        outcome: r.outcome,
        summary: r.summary.and_then(|s| serde_json::from_str(&s).ok()),
    }
}
