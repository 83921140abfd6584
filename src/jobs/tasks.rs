//! Which body each job runs, and its summary as JSON for the run's record. The
//! bodies are [`super::sales_rollup`] and [`super::optimal_stock`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::optimal_stock::compute_optimal_stock;
use super::sales_rollup::roll_up_sales;
use crate::db::Db;

/// Runs job `name` as of `now`; answers its summary.
pub async fn run(db: &Db, name: &str, now: DateTime<Utc>) -> anyhow::Result<Value> {
    match name {
        "sales-rollup" => summary(&roll_up_sales(db, now).await?),
        "optimal-stock" => summary(&compute_optimal_stock(db, now).await?),
        "mileage-expiry" => summary(&crate::mileage::expiry::run(db, now).await?),
        other => anyhow::bail!("no task for job {other}"),
    }
}

/// What a failed run reports.
#[derive(Debug, Serialize)]
pub struct Failed {
    pub error: String,
}

/// A body's summary as the run's record and `job.completed` keep it.
pub fn summary(s: &impl Serialize) -> anyhow::Result<Value> {
    Ok(serde_json::to_value(s)?)
}
