//! Orders. An order is written by one call that takes its stock, inserts the
//! order and records the stock change, so an order without its stock taken (or
//! stock taken without its order) cannot be written.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::stock::{self, Available, Cause, Moved};
use crate::db::{Db, Tx};
use crate::shop::{Quantity, day_of_millis};
use crate::time::rfc3339;

/// An order as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub id: i64,
    pub user_id: i64,
    pub store_id: i64,
    pub store_name: String,
    pub product_id: i64,
    pub title: String,
    pub artist: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub total: i64,
    pub created_at: String,
}

/// An order to write: the buyer, what and where, and the price agreed.
#[derive(Clone, Copy, Debug)]
pub struct NewOrder {
    pub buyer: i64,
    pub store_id: i64,
    pub product_id: i64,
    pub quantity: Quantity,
    pub unit_price: i64,
    pub total: i64,
}

/// A written order: its id and the stock left after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub order_id: i64,
    pub stock_left: i64,
}

/// Takes the order's stock, inserts the order and records the stock change (reason
/// `order`, by the buyer); [`Available`] with nothing written when the stock is short.
pub async fn insert(
    tx: &mut Tx,
    new: &NewOrder,
    now: i64,
) -> anyhow::Result<Result<Written, Available>> {
    let delta = -new.quantity.get();
    let left = match stock::shift(tx, new.store_id, new.product_id, delta, now).await? {
        Ok(left) => left,
        Err(short) => return Ok(Err(short)),
    };
    let row = sqlx::query(
        "INSERT INTO orders (user_id, store_id, product_id, quantity, unit_price, total, day, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.buyer)
    .bind(new.store_id)
    .bind(new.product_id)
    .bind(new.quantity.get())
    .bind(new.unit_price)
    .bind(new.total)
    .bind(day_of_millis(now))
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .context("inserting an order")?;
    let order_id: i64 = row.try_get(0).context("order id")?;
    let cause = Cause {
        reason: ORDER_REASON,
        by: new.buyer,
        order_id: Some(order_id),
    };
    let moved = Moved {
        quantity: left,
        delta,
    };
    stock::record(tx, new.store_id, new.product_id, moved, &cause, now).await?;
    Ok(Ok(Written {
        order_id,
        stock_left: left,
    }))
}

/// The reason an order's stock change carries.
pub const ORDER_REASON: &str = "order";

/// A customer's orders, newest first (the latest 500).
pub async fn of_user(db: &Db, user_id: i64) -> anyhow::Result<Vec<Order>> {
    let rows = sqlx::query(
        "SELECT o.id, o.user_id, o.store_id, s.name, o.product_id, p.title, p.artist,
                o.quantity, o.unit_price, o.total, o.created_at
         FROM orders o JOIN stores s ON s.id = o.store_id JOIN products p ON p.id = o.product_id
         WHERE o.user_id = $1 ORDER BY o.id DESC LIMIT 500",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await
    .context("listing orders")?;
    rows.iter()
        .map(|r| {
            Ok(Order {
                id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                store_id: r.try_get(2)?,
                store_name: r.try_get(3)?,
                product_id: r.try_get(4)?,
                title: r.try_get(5)?,
                artist: r.try_get(6)?,
                quantity: r.try_get(7)?,
                unit_price: r.try_get(8)?,
                total: r.try_get(9)?,
                created_at: rfc3339(r.try_get(10)?),
            })
        })
        .collect()
}
