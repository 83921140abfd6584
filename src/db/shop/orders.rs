//! Orders. An order is written by one call that takes its stock, inserts the
//! order and records the stock change, so an order without its stock taken (or
//! stock taken without its order) cannot be written.

use crate::db::sql;
use anyhow::Context;
use serde::{Deserialize, Serialize};

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
    /// Taken off by a coupon (won). Answers saved before release 0.2 lack the
    /// order's new fields; their defaults read as "no coupon, nothing earned".
    #[serde(default)]
    pub discount: i64,
    /// `total - discount`: what the buyer paid and what points are earned on.
    #[serde(default)]
    pub paid: i64,
    /// The coupon paid with, if any.
    #[serde(default)]
    pub coupon_id: Option<i64>,
    #[serde(default)]
    pub points_earned: i64,
    /// Units returned so far.
    #[serde(default)]
    pub returned_quantity: i64,
    #[serde(default)]
    pub status: OrderStatus,
}

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    #[default]
    Placed,
    PartiallyReturned,
    Returned,
}

impl OrderStatus {
    fn parse(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "placed" => Self::Placed,
            "partially_returned" => Self::PartiallyReturned,
            "returned" => Self::Returned,
            other => anyhow::bail!("unknown order status {other:?}"),
        })
    }
}

/// An order to write: the buyer, what and where, the price agreed, what a coupon
/// took off and what the order earned.
#[derive(Clone, Copy, Debug)]
pub struct NewOrder {
    pub buyer: i64,
    pub store_id: i64,
    pub product_id: i64,
    pub quantity: Quantity,
    pub unit_price: i64,
    pub total: i64,
    pub discount: i64,
    pub coupon_id: Option<i64>,
    pub points_earned: i64,
    /// The API key that placed it for the buyer (a point of sale), if any.
    pub api_key_id: Option<i64>,
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
    let order_id = sql::query(
        "INSERT INTO orders (user_id, store_id, product_id, quantity, unit_price, total, day,
                             created_at, discount, paid, coupon_id, points_earned, api_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new.buyer)
    .bind(new.store_id)
    .bind(new.product_id)
    .bind(new.quantity.get())
    .bind(new.unit_price)
    .bind(new.total)
    .bind(day_of_millis(now))
    .bind(now)
    .bind(new.discount)
    .bind(new.total - new.discount)
    .bind(new.coupon_id)
    .bind(new.points_earned)
    .bind(new.api_key_id)
    .insert_id(tx.conn())
    .await
    .context("inserting an order")?;
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

/// The columns [`order_from_row`] reads, in its order.
macro_rules! order_columns {
    () => {
        "o.id, o.user_id, o.store_id, s.name, o.product_id, p.title, p.artist, o.quantity,
         o.unit_price, o.total, o.created_at, o.discount, o.paid, o.coupon_id,
         o.points_earned, o.returned_quantity, o.status
         FROM orders o JOIN stores s ON s.id = o.store_id JOIN products p ON p.id = o.product_id"
    };
}

fn order_from_row(r: &sql::Row) -> anyhow::Result<Order> {
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
        discount: r.try_get(11)?,
        paid: r.try_get(12)?,
        coupon_id: r.try_get(13)?,
        points_earned: r.try_get(14)?,
        returned_quantity: r.try_get(15)?,
        status: OrderStatus::parse(&r.try_get::<String, _>(16)?)?,
    })
}

/// A customer's orders, newest first (the latest 500).
pub async fn of_user(db: &Db, user_id: i64) -> anyhow::Result<Vec<Order>> {
    let rows = sql::query(concat!(
        "SELECT ",
        order_columns!(),
        " WHERE o.user_id = $1 ORDER BY o.id DESC LIMIT 500"
    ))
    .bind(user_id)
    .fetch_all(db.reader())
    .await
    .context("listing orders")?;
    rows.iter().map(order_from_row).collect()
}

/// A store's orders, newest first: ids below `before`, at most `limit`.
pub async fn of_store(
    db: &Db,
    store_id: i64,
    before: Option<i64>,
    limit: i64,
) -> anyhow::Result<Vec<Order>> {
    let rows = sql::query(concat!(
        "SELECT ",
        order_columns!(),
        " WHERE o.store_id = $1 AND o.id < $2 ORDER BY o.id DESC LIMIT $3"
    ))
    .bind(store_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(db.reader())
    .await
    .context("listing a store's orders")?;
    rows.iter().map(order_from_row).collect()
}

/// One order.
pub async fn order(db: &Db, id: i64) -> anyhow::Result<Option<Order>> {
    let row = sql::query(concat!("SELECT ", order_columns!(), " WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await
        .context("reading an order")?;
    row.as_ref().map(order_from_row).transpose()
}

/// One order, read in `tx`.
pub async fn order_in(tx: &mut Tx, id: i64) -> anyhow::Result<Option<Order>> {
    let row = sql::query(concat!("SELECT ", order_columns!(), " WHERE o.id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await
        .context("reading an order")?;
    row.as_ref().map(order_from_row).transpose()
}

/// Units of an order that may still be returned, when a return asked for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Returnable(pub i64);

/// Counts `quantity` more units of an order as returned, with one conditional
/// `UPDATE` that never lets the returned total pass what was bought (of two
/// concurrent returns, the second sees the first's count: PostgreSQL's row lock,
/// SQLite's single writer). [`Returnable`] with what is left, and nothing written,
/// when it would.
pub async fn count_return(
    tx: &mut Tx,
    order_id: i64,
    quantity: i64,
) -> anyhow::Result<Result<(), Returnable>> {
    let done = sql::query(
        "UPDATE orders SET returned_quantity = returned_quantity + $1,
                status = CASE WHEN returned_quantity + $1 = quantity THEN 'returned'
                              ELSE 'partially_returned' END
         WHERE id = $2 AND returned_quantity + $1 <= quantity",
    )
    .bind(quantity)
    .bind(order_id)
    .execute(tx.conn())
    .await
    .context("counting a return")?
    .rows_affected();
    if done == 1 {
        return Ok(Ok(()));
    }
    let left: Option<i64> =
        sql::query_scalar("SELECT quantity - returned_quantity FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_optional(tx.conn())
            .await
            .context("reading what is returnable")?;
    Ok(Err(Returnable(left.unwrap_or(0))))
}
