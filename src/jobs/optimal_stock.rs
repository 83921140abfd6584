//! `optimal-stock`: the optimum of every stocked album at every store, and a
//! `stock.low` alert for each one under it.
//!
//! Per store and album (settings per store in `stock_policies`, defaults W = 14
//! days, L = 3 days lead time, S = 2 days safety stock):
//!
//! ```text
//! optimum = ceil( units sold in the last W days / W * (L + S) )
//! ```
//!
//! that is, average daily sales times the days of stock needed to cover a reorder's
//! lead time plus a safety margin. An album whose stock is below its optimum gets
//! one `stock.low` event on its store's staff channel per run.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::Db;
use crate::db::jobs as rows;
use crate::events::channel;
use crate::shop::events::StockLow;

/// What an optimal-stock run reports.
#[derive(Debug, Serialize)]
pub struct OptimalStockSummary {
    /// Albums (per store) whose optimum was computed.
    pub products: u64,
    /// How many of them are under it (each got a `stock.low`).
    pub low: u64,
}

/// The formula, kept apart so it can be tested on its own.
pub fn optimum(units_sold: i64, window_days: i64, lead_days: i64, safety_days: i64) -> i64 {
    if units_sold <= 0 || window_days <= 0 {
        return 0;
    }
    let need = units_sold.saturating_mul(lead_days + safety_days);
    (need + window_days - 1) / window_days
}

/// Computes and keeps every optimum as of `now` and appends the `stock.low`
/// alerts, in one transaction (the alerts last, after the rows).
pub async fn compute_optimal_stock(
    db: &Db,
    now: DateTime<Utc>,
) -> anyhow::Result<OptimalStockSummary> {
    let now_ms = now.timestamp_millis();
    let mut tx = db.begin().await?;
    let stocked = rows::stock_with_sales(&mut tx, now_ms).await?;
    let mut alerts = Vec::new();
    for row in &stocked {
        let opt = optimum(
            row.units_sold,
            row.window_days,
            row.lead_time_days,
            row.safety_days,
        );
        rows::save_optimum(&mut tx, row, opt, now_ms).await?;
        if row.quantity < opt {
            alerts.push(StockLow {
                store_id: row.store_id,
                product_id: row.product_id,
                title: row.title.clone(),
                quantity: row.quantity,
                optimum: opt,
                units_sold: row.units_sold,
                window_days: row.window_days,
            });
        }
    }
    for alert in &alerts {
        tx.emit(&channel::store(alert.store_id), alert).await?;
    }
    tx.commit().await?;
    Ok(OptimalStockSummary {
        products: stocked.len() as u64,
        low: alerts.len() as u64,
    })
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
