//! `sales-rollup`: daily units and revenue per store and album, kept in
//! `sales_daily`. The last [`ROLLUP_DAYS`] days are recomputed on every run, so
//! orders that land late are counted.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::Db;
use crate::db::jobs as rows;

/// Sales are rolled up again for this many days back, so late orders are counted.
pub const ROLLUP_DAYS: i64 = 7;

/// What a roll-up run reports.
#[derive(Debug, Serialize)]
pub struct RollupSummary {
    /// The first day recomputed, `YYYY-MM-DD`.
    pub from_day: String,
    /// Rows written to `sales_daily`.
    pub rows: u64,
}

/// Rolls up the sales of the last [`ROLLUP_DAYS`] days before `now`, in one
/// transaction.
pub async fn roll_up_sales(db: &Db, now: DateTime<Utc>) -> anyhow::Result<RollupSummary> {
    let from_day = (now - chrono::Duration::days(ROLLUP_DAYS))
        .format("%Y-%m-%d")
        .to_string();
    let mut tx = db.begin().await?;
    let rows = rows::roll_up_sales_from(&mut tx, &from_day).await?;
    tx.commit().await?;
    Ok(RollupSummary { from_day, rows })
}
