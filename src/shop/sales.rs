//! What sold, for a store's staff: units per day and album over a period, and the
//! inventory with recent sales against the optimum of the `optimal-stock` job.

use super::{Period, RECENT_SALES_DAYS, ShopError};
use crate::db::Db;
use crate::db::shop::sales::{self as rows, InventoryRow, SalesRow};

/// Units sold per UTC day and album at a store, within `period` (inclusive).
pub async fn sales(db: &Db, store_id: i64, period: &Period) -> Result<Vec<SalesRow>, ShopError> {
    Ok(rows::sales(db, store_id, period).await?)
}

/// A store's stock with what sold in the last [`RECENT_SALES_DAYS`] days before
/// `now_millis`.
pub async fn inventory(
    db: &Db,
    store_id: i64,
    now_millis: i64,
) -> Result<Vec<InventoryRow>, ShopError> {
    let since = now_millis - RECENT_SALES_DAYS * 24 * 3600 * 1000;
    Ok(rows::inventory(db, store_id, since).await?)
}

/// How the store's optimum is computed and what "low" means: the inventory answer
/// states it so a page shows the API's rule rather than its own.
pub async fn stock_rule(db: &Db, store_id: i64) -> Result<rows::StockRule, ShopError> {
    Ok(rows::stock_rule(db, store_id).await?)
}
