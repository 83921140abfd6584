//! Jobs, their runs, and the SQL of the jobs' tasks (sales roll-up, optimal stock).

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::events::{channel, types};
use crate::jobs::tasks::optimum;

/// A job's row.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub name: String,
    pub schedule: String,
    pub time_zone: String,
    pub next_run_at: Option<i64>,
    pub last_run_at: Option<i64>,
    /// Set while a run holds the job; a lease, so a crashed run does not hold it forever.
    pub running_until: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub job: String,
    pub trigger: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    pub summary: Option<String>,
}

fn job_from_row(r: &AnyRow) -> anyhow::Result<JobRow> {
    Ok(JobRow {
        name: r.try_get(0)?,
        schedule: r.try_get(1)?,
        time_zone: r.try_get(2)?,
        next_run_at: r.try_get(3)?,
        last_run_at: r.try_get(4)?,
        running_until: r.try_get(5)?,
    })
}

/// Sales are rolled up again for this many days back, so late orders are counted.
const ROLLUP_DAYS: i64 = 7;

impl Db {
    pub async fn ensure_job(
        &self,
        name: &str,
        schedule: &str,
        tz: &str,
        next: Option<i64>,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO jobs (name, schedule, time_zone, next_run_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(schedule)
        .bind(tz)
        .bind(next)
        .execute(tx.conn())
        .await
        .context("installing a job")?;
        tx.commit().await
    }

    pub async fn jobs(&self) -> anyhow::Result<Vec<JobRow>> {
        let rows = sqlx::query(
            "SELECT name, schedule, time_zone, next_run_at, last_run_at, running_until FROM jobs ORDER BY name",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub async fn job(&self, name: &str) -> anyhow::Result<Option<JobRow>> {
        let row = sqlx::query(
            "SELECT name, schedule, time_zone, next_run_at, last_run_at, running_until FROM jobs WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Returns false if there is no such job.
    pub async fn set_job_schedule(
        &self,
        name: &str,
        schedule: &str,
        tz: &str,
        next: Option<i64>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE jobs SET schedule = $1, time_zone = $2, next_run_at = $3 WHERE name = $4",
        )
        .bind(schedule)
        .bind(tz)
        .bind(next)
        .bind(name)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Claims a job for a run and records the run's start; `None` if another run
    /// holds it (or, with `due_only`, if it is not due any more).
    pub async fn claim_job(
        &self,
        name: &str,
        now: i64,
        lease_until: i64,
        next_run_at: Option<i64>,
        due_only: bool,
        trigger: &str,
    ) -> anyhow::Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(
            "UPDATE jobs SET running_until = $1, next_run_at = COALESCE($2, next_run_at)
             WHERE name = $3 AND (running_until IS NULL OR running_until < $4)
               AND ($5 = 0 OR next_run_at <= $4)",
        )
        .bind(lease_until)
        .bind(next_run_at)
        .bind(name)
        .bind(now)
        .bind(i64::from(due_only))
        .execute(tx.conn())
        .await
        .context("claiming a job")?
        .rows_affected();
        if claimed != 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO job_runs (job, trigger_kind, started_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(trigger)
        .bind(now)
        .fetch_one(tx.conn())
        .await?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Records a run's end, frees its job and tells the admins (`job.completed`).
    pub async fn finish_job(
        &self,
        name: &str,
        run_id: i64,
        started: i64,
        finished: i64,
        outcome: &str,
        summary: &Value,
    ) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE job_runs SET finished_at = $1, outcome = $2, summary = $3 WHERE id = $4",
        )
        .bind(finished)
        .bind(outcome)
        .bind(summary.to_string())
        .bind(run_id)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE jobs SET running_until = NULL, last_run_at = $1 WHERE name = $2")
            .bind(started)
            .bind(name)
            .execute(tx.conn())
            .await?;
        tx.append_json(
            channel::ADMIN,
            types::JOB_COMPLETED,
            &json!({ "job": name, "run_id": run_id, "outcome": outcome, "summary": summary,
                     "started_at": crate::time::rfc3339(started), "finished_at": crate::time::rfc3339(finished) }),
        )
        .await?;
        tx.commit().await
    }

    pub async fn job_runs(&self, name: &str, limit: i64) -> anyhow::Result<Vec<RunRow>> {
        let rows = sqlx::query(
            "SELECT id, job, trigger_kind, started_at, finished_at, outcome, summary FROM job_runs
             WHERE job = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(name)
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RunRow {
                    id: r.try_get(0)?,
                    job: r.try_get(1)?,
                    trigger: r.try_get(2)?,
                    started_at: r.try_get(3)?,
                    finished_at: r.try_get(4)?,
                    outcome: r.try_get(5)?,
                    summary: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// `sales-rollup`: daily units and revenue per store and product, recomputed for
    /// the last [`ROLLUP_DAYS`] days.
    pub async fn roll_up_sales(&self, now: DateTime<Utc>) -> anyhow::Result<Value> {
        let from = (now - chrono::Duration::days(ROLLUP_DAYS))
            .format("%Y-%m-%d")
            .to_string();
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM sales_daily WHERE day >= $1")
            .bind(&from)
            .execute(tx.conn())
            .await?;
        let rows = sqlx::query(
            "INSERT INTO sales_daily (store_id, product_id, day, units, revenue)
             SELECT store_id, product_id, day, SUM(quantity), SUM(total) FROM orders
             WHERE day >= $1 GROUP BY store_id, product_id, day",
        )
        .bind(&from)
        .execute(tx.conn())
        .await
        .context("rolling up sales")?
        .rows_affected();
        tx.commit().await?;
        Ok(json!({ "from_day": from, "rows": rows }))
    }

    /// `optimal-stock`: the optimum of every stocked product (see
    /// [`crate::jobs::tasks`] for the formula), and `stock.low` for those under it.
    pub async fn compute_optimal_stock(&self, now: DateTime<Utc>) -> anyhow::Result<Value> {
        let now_ms = now.timestamp_millis();
        let mut tx = self.begin().await?;
        let rows = sqlx::query(
            "SELECT s.store_id, s.product_id, s.quantity, p.title,
                    COALESCE(sp.window_days, 14), COALESCE(sp.lead_time_days, 3), COALESCE(sp.safety_days, 2),
                    (SELECT CAST(COALESCE(SUM(o.quantity), 0) AS BIGINT) FROM orders o
                      WHERE o.store_id = s.store_id AND o.product_id = s.product_id
                        AND o.created_at >= $1 - COALESCE(sp.window_days, 14) * 86400000)
             FROM stock s
             JOIN products p ON p.id = s.product_id
             LEFT JOIN stock_policies sp ON sp.store_id = s.store_id
             ORDER BY s.store_id, s.product_id",
        )
        .bind(now_ms)
        .fetch_all(tx.conn())
        .await
        .context("reading stock and sales")?;
        let (mut products, mut low) = (0, 0);
        let mut alerts = Vec::new();
        for r in &rows {
            let (store_id, product_id, quantity): (i64, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let title: String = r.try_get(3)?;
            let (window, lead, safety, sold): (i64, i64, i64, i64) =
                (r.try_get(4)?, r.try_get(5)?, r.try_get(6)?, r.try_get(7)?);
            let opt = optimum(sold, window, lead, safety);
            sqlx::query(
                "INSERT INTO optimal_stock (store_id, product_id, optimum, units_sold, window_days, computed_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (store_id, product_id) DO UPDATE SET optimum = excluded.optimum,
                   units_sold = excluded.units_sold, window_days = excluded.window_days,
                   computed_at = excluded.computed_at",
            )
            .bind(store_id)
            .bind(product_id)
            .bind(opt)
            .bind(sold)
            .bind(window)
            .bind(now_ms)
            .execute(tx.conn())
            .await?;
            products += 1;
            if quantity < opt {
                low += 1;
                alerts.push((store_id, json!({
                    "store_id": store_id, "product_id": product_id, "title": title,
                    "quantity": quantity, "optimum": opt, "units_sold": sold, "window_days": window,
                })));
            }
        }
        for (store_id, data) in &alerts {
            tx.append_json(&channel::store(*store_id), types::STOCK_LOW, data)
                .await?;
        }
        tx.commit().await?;
        Ok(json!({ "products": products, "low": low }))
    }
}
