//! Stock: how many of an album each store holds, and the history of every change.
//!
//! Stock never goes negative, and that is decided here only: a change is one
//! conditional `UPDATE` (`shift`) judged by `rows_affected()`, backed by the
//! `CHECK (quantity >= 0)` constraint. Every public call that changes stock also
//! writes the change's `stock_changes` row, so no caller can move stock without
//! history ([`set`], [`add`], and [`super::orders::insert`] for orders).

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use crate::db::{Db, Tx};
use crate::shop::{Delta, StockLevel};
use crate::time::rfc3339;

/// The stock of one album at one store.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockItem {
    pub store_id: i64,
    pub store_name: String,
    pub product_id: i64,
    pub title: String,
    pub artist: String,
    pub price: i64,
    pub quantity: i64,
    /// When the stock last changed; `None` for a store that never held the album.
    pub updated_at: Option<String>,
}

/// Not enough stock for a change: nothing was written; holds the quantity left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Available(pub i64);

/// Why stock changed and who changed it, as its history row keeps it.
#[derive(Clone, Copy, Debug)]
pub struct Cause<'a> {
    pub reason: &'a str,
    pub by: i64,
    /// The order that took the stock, if an order did.
    pub order_id: Option<i64>,
}

/// A stock row after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The quantity left after the change.
    pub quantity: i64,
    /// How much the change added (negative when it took).
    pub delta: i64,
}

impl Moved {
    /// Whether this change brought the stock back: from 0 before it (`quantity -
    /// delta`) to more than 0. The one place a restock is recognised; its
    /// watchers are told by [`crate::shop::watches::notify_back`].
    pub fn restocked(&self) -> bool {
        self.quantity > 0 && self.quantity - self.delta == 0
    }
}

/// The quantity of an album at a store, with its stock row locked until the
/// transaction ends (created at 0 if the store never held the album), so that no
/// stock change can come between this read and the caller's writes.
pub async fn locked_quantity(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    now: i64,
) -> anyhow::Result<i64> {
    ensure_row(tx, store_id, product_id, now).await?;
    // A no-op write: on PostgreSQL it locks the row (SQLite has one writer already).
    sql::query("UPDATE stock SET quantity = quantity WHERE store_id = $1 AND product_id = $2")
        .bind(store_id)
        .bind(product_id)
        .execute(tx.conn())
        .await
        .context("locking a stock row")?;
    quantity(tx, store_id, product_id).await
}

fn stock_item_from_row(r: &sql::Row) -> anyhow::Result<StockItem> {
    let updated: Option<i64> = r.try_get(7)?;
    Ok(StockItem {
        store_id: r.try_get(0)?,
        store_name: r.try_get(1)?,
        product_id: r.try_get(2)?,
        title: r.try_get(3)?,
        artist: r.try_get(4)?,
        price: r.try_get(5)?,
        quantity: r.try_get(6)?,
        updated_at: updated.map(rfc3339),
    })
}

/// Every album a store holds (or held), by product id.
pub async fn store_stock(db: &Db, store_id: i64) -> anyhow::Result<Vec<StockItem>> {
    let rows = sql::query(
        "SELECT s.id, s.name, p.id, p.title, p.artist, p.price, k.quantity, k.updated_at
         FROM stock k JOIN stores s ON s.id = k.store_id JOIN products p ON p.id = k.product_id
         WHERE k.store_id = $1 ORDER BY p.id",
    )
    .bind(store_id)
    .fetch_all(db.reader())
    .await
    .context("reading a store's stock")?;
    rows.iter().map(stock_item_from_row).collect()
}

/// The stock of one album at every store (0 where a store never held it).
pub async fn product_stock(db: &Db, product_id: i64) -> anyhow::Result<Vec<StockItem>> {
    let rows = sql::query(
        "SELECT s.id, s.name, p.id, p.title, p.artist, p.price,
                COALESCE(k.quantity, 0), k.updated_at
         FROM stores s CROSS JOIN products p
         LEFT JOIN stock k ON k.store_id = s.id AND k.product_id = p.id
         WHERE p.id = $1 ORDER BY s.id",
    )
    .bind(product_id)
    .fetch_all(db.reader())
    .await
    .context("reading an album's stock")?;
    rows.iter().map(stock_item_from_row).collect()
}

/// Sets the stock of an album at a store (a count) and records the change.
pub async fn set(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    level: StockLevel,
    cause: &Cause<'_>,
    now: i64,
) -> anyhow::Result<Moved> {
    ensure_row(tx, store_id, product_id, now).await?;
    // A no-op write first: on PostgreSQL it locks the row, so the quantity read
    // next is the one this count replaces (SQLite has one writer already).
    sql::query("UPDATE stock SET updated_at = $1 WHERE store_id = $2 AND product_id = $3")
        .bind(now)
        .bind(store_id)
        .bind(product_id)
        .execute(tx.conn())
        .await
        .context("locking a stock row")?;
    let before = quantity(tx, store_id, product_id).await?;
    sql::query("UPDATE stock SET quantity = $1 WHERE store_id = $2 AND product_id = $3")
        .bind(level.get())
        .bind(store_id)
        .bind(product_id)
        .execute(tx.conn())
        .await
        .context("setting stock")?;
    let moved = Moved {
        quantity: level.get(),
        delta: level.get() - before,
    };
    record(tx, store_id, product_id, moved, cause, now).await?;
    Ok(moved)
}

/// Adds `delta` (negative to remove) to a store's stock of an album and records
/// the change; [`Available`] (nothing written) if it would go below zero.
pub async fn add(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    delta: Delta,
    cause: &Cause<'_>,
    now: i64,
) -> anyhow::Result<Result<Moved, Available>> {
    ensure_row(tx, store_id, product_id, now).await?;
    let quantity = match shift(tx, store_id, product_id, delta.get(), now).await? {
        Ok(left) => left,
        Err(short) => return Ok(Err(short)),
    };
    let moved = Moved {
        quantity,
        delta: delta.get(),
    };
    record(tx, store_id, product_id, moved, cause, now).await?;
    Ok(Ok(moved))
}

/// The one statement that moves stock by `delta` (negative takes): it changes the
/// row only if the result stays at or above zero, and answers the quantity left,
/// or [`Available`] with what there is when it refused (0 for a store that never
/// held the album). Writes no history: its callers in this module and in
/// [`super::orders`] do.
pub(super) async fn shift(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    delta: i64,
    now: i64,
) -> anyhow::Result<Result<i64, Available>> {
    let changed = sql::query(
        "UPDATE stock SET quantity = quantity + $1, updated_at = $2
         WHERE store_id = $3 AND product_id = $4 AND quantity + $1 >= 0",
    )
    .bind(delta)
    .bind(now)
    .bind(store_id)
    .bind(product_id)
    .execute(tx.conn())
    .await
    .context("changing stock")?
    .rows_affected();
    let left = quantity(tx, store_id, product_id).await?;
    Ok(if changed == 1 {
        Ok(left)
    } else {
        Err(Available(left))
    })
}

/// The history row of a stock change.
pub(super) async fn record(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    moved: Moved,
    cause: &Cause<'_>,
    now: i64,
) -> anyhow::Result<()> {
    sql::query(
        "INSERT INTO stock_changes (store_id, product_id, delta, quantity, reason, actor_id, order_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(store_id)
    .bind(product_id)
    .bind(moved.delta)
    .bind(moved.quantity)
    .bind(cause.reason)
    .bind(cause.by)
    .bind(cause.order_id)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("recording a stock change")?;
    Ok(())
}

async fn ensure_row(tx: &mut Tx, store_id: i64, product_id: i64, now: i64) -> anyhow::Result<()> {
    sql::query(
        "INSERT INTO stock (store_id, product_id, quantity, updated_at) VALUES ($1, $2, 0, $3)
         ON CONFLICT (store_id, product_id) DO NOTHING",
    )
    .bind(store_id)
    .bind(product_id)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("creating a stock row")?;
    Ok(())
}

/// The current quantity (0 when the store never held the album).
async fn quantity(tx: &mut Tx, store_id: i64, product_id: i64) -> anyhow::Result<i64> {
    let row = sql::query("SELECT quantity FROM stock WHERE store_id = $1 AND product_id = $2")
        .bind(store_id)
        .bind(product_id)
        .fetch_optional(tx.conn())
        .await
        .context("reading stock")?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::Moved;

    #[test]
    fn only_a_change_from_zero_to_more_is_a_restock() {
        let m = |quantity, delta| Moved { quantity, delta }.restocked();
        assert!(m(5, 5));
        assert!(m(1, 1));
        assert!(!m(5, 2), "3 to 5");
        assert!(!m(0, -3), "3 to 0");
        assert!(!m(0, 0), "0 to 0");
        assert!(!m(2, -1), "3 to 2");
    }
}
