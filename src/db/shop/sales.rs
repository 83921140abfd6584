//! What sold: the sales view per day and album, and a store's inventory with its
//! recent sales and the optimum the `optimal-stock` job computed.

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use crate::db::Db;
use crate::shop::{Period, StockStatus};

/// Units sold of one album at one store on one UTC day.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SalesRow {
    pub day: String,
    pub product_id: i64,
    pub title: String,
    pub artist: String,
    pub quantity: i64,
    pub revenue: i64,
    pub orders: i64,
}

/// One line of a store's inventory view.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InventoryRow {
    pub product_id: i64,
    pub title: String,
    pub artist: String,
    pub price: i64,
    pub quantity: i64,
    /// Units sold in the last [`crate::shop::RECENT_SALES_DAYS`] days.
    pub sold_7d: i64,
    /// From the latest `optimal-stock` run; `null` until it has run.
    pub optimal_stock: Option<i64>,
    /// `low` (under the optimum), `ok`, or `unknown` before the first run.
    pub status: StockStatus,
    /// `status == low`: the one rule for the "low" mark, so pages need none of their own.
    pub low: bool,
}

/// How a store's optimum is computed and when stock is "low", as the inventory
/// answer states it (the `optimal-stock` job's formula with this store's policy).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockRule {
    pub formula: &'static str,
    /// W: days of sales looked at.
    pub window_days: i64,
    /// L: days a reorder takes to arrive.
    pub lead_days: i64,
    /// S: days of safety stock.
    pub safety_days: i64,
    pub low_when: &'static str,
}

/// The optimum's formula and the low rule, in words (see `jobs::optimal_stock`).
pub const OPTIMUM_FORMULA: &str = "ceil(units sold in the last W days / W * (L + S))";
pub const LOW_WHEN: &str = "quantity < optimal_stock";

/// A store's stock rule: its policy, or the defaults (W 14, L 3, S 2).
pub async fn stock_rule(db: &Db, store_id: i64) -> anyhow::Result<StockRule> {
    let row = sql::query(
        "SELECT window_days, lead_time_days, safety_days FROM stock_policies WHERE store_id = $1",
    )
    .bind(store_id)
    .fetch_optional(db.reader())
    .await
    .context("reading a stock policy")?;
    let (window_days, lead_days, safety_days) = match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?),
        None => (14, 3, 2),
    };
    Ok(StockRule {
        formula: OPTIMUM_FORMULA,
        window_days,
        lead_days,
        safety_days,
        low_when: LOW_WHEN,
    })
}

/// Units sold per UTC day and album at a store, within `period` (inclusive).
pub async fn sales(db: &Db, store_id: i64, period: &Period) -> anyhow::Result<Vec<SalesRow>> {
    let (from, to) = period.as_strings();
    let rows = sql::query(
        "SELECT o.day, o.product_id, p.title, p.artist,
                CAST(SUM(o.quantity) AS BIGINT), CAST(SUM(o.total) AS BIGINT), COUNT(*)
         FROM orders o JOIN products p ON p.id = o.product_id
         WHERE o.store_id = $1 AND o.day >= $2 AND o.day <= $3
         GROUP BY o.day, o.product_id, p.title, p.artist
         ORDER BY o.day, o.product_id",
    )
    .bind(store_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.reader())
    .await
    .context("reading sales")?;
    rows.iter()
        .map(|r| {
            Ok(SalesRow {
                day: r.try_get(0)?,
                product_id: r.try_get(1)?,
                title: r.try_get(2)?,
                artist: r.try_get(3)?,
                quantity: r.try_get(4)?,
                revenue: r.try_get(5)?,
                orders: r.try_get(6)?,
            })
        })
        .collect()
}

/// A store's stock with what sold since `since_millis`.
pub async fn inventory(
    db: &Db,
    store_id: i64,
    since_millis: i64,
) -> anyhow::Result<Vec<InventoryRow>> {
    let rows = sql::query(
        "SELECT p.id, p.title, p.artist, p.price, k.quantity,
                CAST(COALESCE((SELECT SUM(o.quantity) FROM orders o
                    WHERE o.store_id = k.store_id AND o.product_id = k.product_id
                      AND o.created_at >= $2), 0) AS BIGINT),
                os.optimum
         FROM stock k JOIN products p ON p.id = k.product_id
         LEFT JOIN optimal_stock os ON os.store_id = k.store_id AND os.product_id = k.product_id
         WHERE k.store_id = $1 ORDER BY p.id",
    )
    .bind(store_id)
    .bind(since_millis)
    .fetch_all(db.reader())
    .await
    .context("reading inventory")?;
    rows.iter()
        .map(|r| {
            let quantity: i64 = r.try_get(4)?;
            let optimal_stock: Option<i64> = r.try_get(6)?;
            let status = StockStatus::of(quantity, optimal_stock);
            Ok(InventoryRow {
                product_id: r.try_get(0)?,
                title: r.try_get(1)?,
                artist: r.try_get(2)?,
                price: r.try_get(3)?,
                quantity,
                sold_7d: r.try_get(5)?,
                optimal_stock,
                status,
                low: status == StockStatus::Low,
            })
        })
        .collect()
}
