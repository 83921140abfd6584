//! What each job does. Each runs in one transaction and returns a JSON summary.
//!
//! Optimal stock, per store and product (settings per store in `stock_policies`,
//! defaults W = 14 days, L = 3 days lead time, S = 2 days safety stock):
//!
//! ```text
//! optimum = ceil( units sold in the last W days / W * (L + S) )
//! ```
//!
//! that is, average daily sales times the days of stock needed to cover a reorder's
//! lead time plus a safety margin. A product whose stock is below its optimum gets
//! one `stock.low` event on its store's staff channel per run.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::db::Db;

/// Runs job `name` as of `now`.
pub async fn run(db: &Db, name: &str, now: DateTime<Utc>) -> anyhow::Result<Value> {
    match name {
        "sales-rollup" => db.roll_up_sales(now).await,
        "optimal-stock" => db.compute_optimal_stock(now).await,
        other => anyhow::bail!("no task for job {other}"),
    }
}

/// The formula, kept apart so it can be tested on its own.
pub fn optimum(units_sold: i64, window_days: i64, lead_days: i64, safety_days: i64) -> i64 {
    if units_sold <= 0 || window_days <= 0 {
        return 0;
    }
    let need = units_sold.saturating_mul(lead_days + safety_days);
    (need + window_days - 1) / window_days
}

/// The summary a run reports when it has nothing to say.
pub fn empty() -> Value {
    json!({})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_optimum_is_average_daily_sales_times_cover_rounded_up() {
        assert_eq!(optimum(28, 14, 3, 2), 10); // 2 a day for 5 days
        assert_eq!(optimum(15, 14, 3, 2), 6); // 15/14*5 = 5.36 -> 6
        assert_eq!(optimum(0, 14, 3, 2), 0);
        assert_eq!(optimum(10, 0, 3, 2), 0);
    }
}
