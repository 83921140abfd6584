//! Jobs as rows: their schedules, the lease a run holds, the runs' records; and the
//! statements the job bodies in [`crate::jobs`] run (the sales roll-up, the stock
//! and sales the optimum is computed from, the optimum kept per album).

use crate::db::sql;
use anyhow::Context;

use super::{Db, Tx};

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

/// A run's row.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub job: String,
    pub trigger: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    /// The run's summary, JSON text.
    pub summary: Option<String>,
}

fn job_from_row(r: &sql::Row) -> anyhow::Result<JobRow> {
    Ok(JobRow {
        name: r.try_get(0)?,
        schedule: r.try_get(1)?,
        time_zone: r.try_get(2)?,
        next_run_at: r.try_get(3)?,
        last_run_at: r.try_get(4)?,
        running_until: r.try_get(5)?,
    })
}

/// Installs a job's row unless it exists (a changed schedule is kept).
pub async fn ensure_job(
    db: &Db,
    name: &str,
    schedule: &str,
    tz: &str,
    next: Option<i64>,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sql::query(
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

/// Every job, by name.
pub async fn jobs(db: &Db) -> anyhow::Result<Vec<JobRow>> {
    let rows = sql::query(
        "SELECT name, schedule, time_zone, next_run_at, last_run_at, running_until FROM jobs ORDER BY name",
    )
    .fetch_all(db.reader())
    .await
    .context("listing jobs")?;
    rows.iter().map(job_from_row).collect()
}

/// One job, if it exists.
pub async fn job(db: &Db, name: &str) -> anyhow::Result<Option<JobRow>> {
    let row = sql::query(
        "SELECT name, schedule, time_zone, next_run_at, last_run_at, running_until FROM jobs WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(db.reader())
    .await
    .context("reading a job")?;
    row.as_ref().map(job_from_row).transpose()
}

/// Changes a job's schedule and next run; false if there is no such job.
pub async fn set_schedule(
    db: &Db,
    name: &str,
    schedule: &str,
    tz: &str,
    next: Option<i64>,
) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let n = sql::query(
        "UPDATE jobs SET schedule = $1, time_zone = $2, next_run_at = $3 WHERE name = $4",
    )
    .bind(schedule)
    .bind(tz)
    .bind(next)
    .bind(name)
    .execute(tx.conn())
    .await
    .context("changing a job's schedule")?
    .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

/// Claims a job for a run and records the run's start, together; `None` if another
/// run holds an unexpired lease (or, with `due_only`, if it is not due any more).
pub async fn claim(
    db: &Db,
    name: &str,
    now: i64,
    lease_until: i64,
    next_run_at: Option<i64>,
    due_only: bool,
    trigger: &str,
) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let claimed = sql::query(
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
    let id = sql::query("INSERT INTO job_runs (job, trigger_kind, started_at) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(trigger)
        .bind(now)
        .insert_id(tx.conn())
        .await
        .context("recording a run")?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Records a run's end and frees its job (the lease and the run's record together).
pub async fn finish(
    tx: &mut Tx,
    name: &str,
    run_id: i64,
    started: i64,
    finished: i64,
    outcome: &str,
    summary: &str,
) -> anyhow::Result<()> {
    sql::query("UPDATE job_runs SET finished_at = $1, outcome = $2, summary = $3 WHERE id = $4")
        .bind(finished)
        .bind(outcome)
        .bind(summary)
        .bind(run_id)
        .execute(tx.conn())
        .await
        .context("recording a run's end")?;
    sql::query("UPDATE jobs SET running_until = NULL, last_run_at = $1 WHERE name = $2")
        .bind(started)
        .bind(name)
        .execute(tx.conn())
        .await
        .context("freeing a job")?;
    Ok(())
}

/// A job's runs, newest first.
pub async fn runs(db: &Db, name: &str, limit: i64) -> anyhow::Result<Vec<RunRow>> {
    let rows = sql::query(
        "SELECT id, job, trigger_kind, started_at, finished_at, outcome, summary FROM job_runs
         WHERE job = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(name)
    .bind(limit)
    .fetch_all(db.reader())
    .await
    .context("listing a job's runs")?;
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

/// Recomputes `sales_daily` (units and revenue per store, album and day) from the
/// orders of `from_day` on; answers how many rows it wrote.
pub async fn roll_up_sales_from(tx: &mut Tx, from_day: &str) -> anyhow::Result<u64> {
    sql::query("DELETE FROM sales_daily WHERE day >= $1")
        .bind(from_day)
        .execute(tx.conn())
        .await
        .context("clearing rolled-up sales")?;
    Ok(sql::query(
        "INSERT INTO sales_daily (store_id, product_id, day, units, revenue)
         SELECT store_id, product_id, day, SUM(quantity), SUM(total) FROM orders
         WHERE day >= $1 GROUP BY store_id, product_id, day",
    )
    .bind(from_day)
    .execute(tx.conn())
    .await
    .context("rolling up sales")?
    .rows_affected())
}

/// A stocked album with its store's stock policy and what sold in its window.
#[derive(Debug, Clone)]
pub struct StockSales {
    pub store_id: i64,
    pub product_id: i64,
    pub title: String,
    pub quantity: i64,
    /// W: the days of sales looked at (default 14).
    pub window_days: i64,
    /// L: a reorder's lead time (default 3).
    pub lead_time_days: i64,
    /// S: safety stock, in days of sales (default 2).
    pub safety_days: i64,
    /// Units sold in the last `window_days` days.
    pub units_sold: i64,
}

/// Every stocked album with its store's policy (defaults where none is set) and its
/// sales in the policy's window before `now`, by store and album.
pub async fn stock_with_sales(tx: &mut Tx, now: i64) -> anyhow::Result<Vec<StockSales>> {
    let rows = sql::query(
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
    .bind(now)
    .fetch_all(tx.conn())
    .await
    .context("reading stock and sales")?;
    rows.iter()
        .map(|r| {
            Ok(StockSales {
                store_id: r.try_get(0)?,
                product_id: r.try_get(1)?,
                quantity: r.try_get(2)?,
                title: r.try_get(3)?,
                window_days: r.try_get(4)?,
                lead_time_days: r.try_get(5)?,
                safety_days: r.try_get(6)?,
                units_sold: r.try_get(7)?,
            })
        })
        .collect()
}

/// Keeps the optimum computed for an album at a store (replacing the last one).
pub async fn save_optimum(
    tx: &mut Tx,
    row: &StockSales,
    optimum: i64,
    now: i64,
) -> anyhow::Result<()> {
    sql::query(
        "INSERT INTO optimal_stock (store_id, product_id, optimum, units_sold, window_days, computed_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (store_id, product_id) DO UPDATE SET optimum = excluded.optimum,
           units_sold = excluded.units_sold, window_days = excluded.window_days,
           computed_at = excluded.computed_at",
    )
    .bind(row.store_id)
    .bind(row.product_id)
    .bind(optimum)
    .bind(row.units_sold)
    .bind(row.window_days)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("saving an optimum")?;
    Ok(())
}
