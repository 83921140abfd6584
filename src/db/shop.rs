//! The record shop's storage: products, stock, orders and sales. Every statement that
//! touches stock is in this file, so the invariant "stock never goes negative" is
//! kept in one place: orders and adjustments are single conditional `UPDATE`s decided
//! by `rows_affected()`, and the `CHECK (quantity >= 0)` constraint backs them up.
//!
//! Each change writes its history row (`product_history`, `stock_changes`) and
//! appends its events in the same transaction, events last.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};
use crate::events::{channel, types};
use crate::idempotency::{self, IdempotencyKey, Outcome, Request};
use crate::shop::{
    Delta, NewProduct, Period, ProductUpdate, Quantity, ShopError, StockLevel, day_of_millis,
};
use crate::time::now_millis;
use crate::time::rfc3339;

/// Idempotency scope of orders.
pub const ORDER_SCOPE: &str = "order";

/// An album as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    pub title: String,
    pub artist: String,
    /// Whole won.
    pub price: i64,
    pub created_at: String,
    pub updated_at: String,
}

macro_rules! product_columns {
    () => {
        "id, title, artist, price, created_at, updated_at"
    };
}

fn product_from_row(r: &AnyRow) -> anyhow::Result<Product> {
    Ok(Product {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        artist: r.try_get(2)?,
        price: r.try_get(3)?,
        created_at: rfc3339(r.try_get(4)?),
        updated_at: rfc3339(r.try_get(5)?),
    })
}

/// One entry of an album's history: its values after a change and before it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProductChange {
    pub title: String,
    pub artist: String,
    pub price: i64,
    /// `None` on the entry that created the album.
    pub previous: Option<serde_json::Value>,
    pub changed_by: Option<i64>,
    pub changed_at: String,
}

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

/// A stock change as the API answers it and `stock.changed` carries it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockChange {
    pub store_id: i64,
    pub product_id: i64,
    pub title: String,
    /// The quantity left after the change.
    pub quantity: i64,
    pub delta: i64,
    pub reason: String,
    pub order_id: Option<i64>,
    pub by: i64,
}

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

/// What placing an order answers (and, on a retry with the same key, answers
/// again): the order and the stock left after it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placed {
    pub order: Order,
    pub stock_left: i64,
}

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
    pub status: &'static str,
}

impl Db {
    pub async fn products(&self) -> anyhow::Result<Vec<Product>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products ORDER BY id"
        ))
        .fetch_all(self.reader())
        .await
        .context("listing products")?;
        rows.iter().map(product_from_row).collect()
    }

    pub async fn product(&self, id: i64) -> anyhow::Result<Option<Product>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await
        .context("reading a product")?;
        row.as_ref().map(product_from_row).transpose()
    }

    /// An album's changes, oldest first.
    pub async fn product_history(&self, id: i64) -> anyhow::Result<Vec<ProductChange>> {
        let rows = sqlx::query(
            "SELECT title, artist, price, prev_title, prev_artist, prev_price, changed_by, changed_at
             FROM product_history WHERE product_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.reader())
        .await
        .context("reading product history")?;
        rows.iter()
            .map(|r| {
                let prev_title: Option<String> = r.try_get(3)?;
                let prev_artist: Option<String> = r.try_get(4)?;
                let prev_price: Option<i64> = r.try_get(5)?;
                Ok(ProductChange {
                    title: r.try_get(0)?,
                    artist: r.try_get(1)?,
                    price: r.try_get(2)?,
                    previous: prev_title
                        .map(|t| json!({"title": t, "artist": prev_artist, "price": prev_price})),
                    changed_by: r.try_get(6)?,
                    changed_at: rfc3339(r.try_get(7)?),
                })
            })
            .collect()
    }

    /// Creates an album, records it in its history and announces it on `products`.
    pub async fn create_product(&self, new: &NewProduct, by: i64) -> anyhow::Result<Product> {
        let now = now_millis();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO products (title, artist, price, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(&new.title)
        .bind(&new.artist)
        .bind(new.price.get())
        .bind(now)
        .fetch_one(tx.conn())
        .await
        .context("inserting a product")?;
        let id: i64 = row.try_get(0)?;
        sqlx::query(
            "INSERT INTO product_history (product_id, title, artist, price, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&new.title)
        .bind(&new.artist)
        .bind(new.price.get())
        .bind(by)
        .bind(now)
        .execute(tx.conn())
        .await
        .context("recording product history")?;
        let product = fetch_product(&mut tx, id)
            .await?
            .context("product vanished")?;
        tx.append_json(
            channel::PRODUCTS,
            types::PRODUCT_UPDATED,
            &json!({"change": "created", "product": product, "previous": null, "by": by}),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    /// Renames or reprices an album; a real change is kept in its history and pushed
    /// as `product.updated`. An update that changes nothing answers the album as is.
    pub async fn update_product(
        &self,
        id: i64,
        update: &ProductUpdate,
        by: i64,
    ) -> Result<Product, ShopError> {
        let mut tx = self.begin().await?;
        let before = fetch_product(&mut tx, id)
            .await?
            .ok_or(ShopError::NoSuchProduct)?;
        let title = update.title.clone().unwrap_or_else(|| before.title.clone());
        let artist = update
            .artist
            .clone()
            .unwrap_or_else(|| before.artist.clone());
        let price = update.price.map_or(before.price, |p| p.get());
        if title == before.title && artist == before.artist && price == before.price {
            return Ok(before);
        }
        let now = now_millis();
        sqlx::query(
            "UPDATE products SET title = $1, artist = $2, price = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&title)
        .bind(&artist)
        .bind(price)
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("updating a product")?;
        sqlx::query(
            "INSERT INTO product_history
               (product_id, title, artist, price, prev_title, prev_artist, prev_price, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(&title)
        .bind(&artist)
        .bind(price)
        .bind(&before.title)
        .bind(&before.artist)
        .bind(before.price)
        .bind(by)
        .bind(now)
        .execute(tx.conn())
        .await
        .context("recording product history")?;
        let after = fetch_product(&mut tx, id)
            .await?
            .context("product vanished")?;
        let previous =
            json!({"title": before.title, "artist": before.artist, "price": before.price});
        tx.append_json(
            channel::PRODUCTS,
            types::PRODUCT_UPDATED,
            &json!({"change": "updated", "product": after, "previous": previous, "by": by}),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Every album a store holds (or held), by product id.
    pub async fn store_stock(&self, store_id: i64) -> anyhow::Result<Vec<StockItem>> {
        let rows = sqlx::query(
            "SELECT s.id, s.name, p.id, p.title, p.artist, p.price, k.quantity, k.updated_at
             FROM stock k JOIN stores s ON s.id = k.store_id JOIN products p ON p.id = k.product_id
             WHERE k.store_id = $1 ORDER BY p.id",
        )
        .bind(store_id)
        .fetch_all(self.reader())
        .await
        .context("reading a store's stock")?;
        rows.iter().map(stock_item_from_row).collect()
    }

    /// The stock of one album at every store (0 where a store never held it).
    pub async fn product_stock(&self, product_id: i64) -> anyhow::Result<Vec<StockItem>> {
        let rows = sqlx::query(
            "SELECT s.id, s.name, p.id, p.title, p.artist, p.price,
                    COALESCE(k.quantity, 0), k.updated_at
             FROM stores s CROSS JOIN products p
             LEFT JOIN stock k ON k.store_id = s.id AND k.product_id = p.id
             WHERE p.id = $1 ORDER BY s.id",
        )
        .bind(product_id)
        .fetch_all(self.reader())
        .await
        .context("reading an album's stock")?;
        rows.iter().map(stock_item_from_row).collect()
    }

    /// Sets the stock of an album at a store (a count), keeping the reason.
    pub async fn set_stock(
        &self,
        store_id: i64,
        product_id: i64,
        level: StockLevel,
        reason: &str,
        by: i64,
    ) -> Result<StockChange, ShopError> {
        let mut tx = self.begin().await?;
        let title = check_store_and_product(&mut tx, store_id, product_id).await?;
        let now = now_millis();
        ensure_stock_row(&mut tx, store_id, product_id, now).await?;
        // A no-op write first: on PostgreSQL it locks the row, so the quantity read
        // next is the one this count replaces (SQLite has one writer already).
        sqlx::query("UPDATE stock SET updated_at = $1 WHERE store_id = $2 AND product_id = $3")
            .bind(now)
            .bind(store_id)
            .bind(product_id)
            .execute(tx.conn())
            .await
            .context("locking a stock row")?;
        let before = stock_quantity(&mut tx, store_id, product_id).await?;
        sqlx::query("UPDATE stock SET quantity = $1 WHERE store_id = $2 AND product_id = $3")
            .bind(level.get())
            .bind(store_id)
            .bind(product_id)
            .execute(tx.conn())
            .await
            .context("setting stock")?;
        let change = StockChange {
            store_id,
            product_id,
            title,
            quantity: level.get(),
            delta: level.get() - before,
            reason: reason.to_string(),
            order_id: None,
            by,
        };
        commit_stock_change(tx, change, now).await
    }

    /// Adds `delta` (negative to remove) to a store's stock of an album; refused with
    /// [`ShopError::InsufficientStock`] if it would go below zero.
    pub async fn adjust_stock(
        &self,
        store_id: i64,
        product_id: i64,
        delta: Delta,
        reason: &str,
        by: i64,
    ) -> Result<StockChange, ShopError> {
        let mut tx = self.begin().await?;
        let title = check_store_and_product(&mut tx, store_id, product_id).await?;
        let now = now_millis();
        ensure_stock_row(&mut tx, store_id, product_id, now).await?;
        let changed = sqlx::query(
            "UPDATE stock SET quantity = quantity + $1, updated_at = $2
             WHERE store_id = $3 AND product_id = $4 AND quantity + $1 >= 0",
        )
        .bind(delta.get())
        .bind(now)
        .bind(store_id)
        .bind(product_id)
        .execute(tx.conn())
        .await
        .context("adjusting stock")?
        .rows_affected();
        let quantity = stock_quantity(&mut tx, store_id, product_id).await?;
        if changed != 1 {
            return Err(ShopError::InsufficientStock {
                available: quantity,
            });
        }
        let change = StockChange {
            store_id,
            product_id,
            title,
            quantity,
            delta: delta.get(),
            reason: reason.to_string(),
            order_id: None,
            by,
        };
        commit_stock_change(tx, change, now).await
    }

    /// Places an order: claims the idempotency key, takes the stock with one
    /// conditional `UPDATE` (decided by `rows_affected`), records the order and the
    /// stock change, saves the answer, and appends `order.placed` (to the buyer) and
    /// `stock.changed` (on `products` and to the store's staff), all in one
    /// transaction. A refusal changes nothing, not even the key.
    pub async fn place_order(
        &self,
        buyer: i64,
        key: &IdempotencyKey,
        store_id: i64,
        product_id: i64,
        quantity: Quantity,
    ) -> Result<Outcome<Placed>, ShopError> {
        let hash = idempotency::request_hash(&[
            &store_id.to_string(),
            &product_id.to_string(),
            &quantity.get().to_string(),
        ]);
        let req = Request {
            scope: ORDER_SCOPE,
            principal_id: buyer,
            key,
            hash: &hash,
        };
        idempotency::once(self, req, async |tx: &mut Tx| {
        let product = fetch_product(tx, product_id)
            .await?
            .ok_or(ShopError::NoSuchProduct)?;
        let store_name = store_name(tx, store_id)
            .await?
            .ok_or(ShopError::NoSuchStore)?;
        let now = now_millis();
        let taken = sqlx::query(
            "UPDATE stock SET quantity = quantity - $1, updated_at = $4
             WHERE store_id = $2 AND product_id = $3 AND quantity >= $1",
        )
        .bind(quantity.get())
        .bind(store_id)
        .bind(product_id)
        .bind(now)
        .execute(tx.conn())
        .await
        .context("taking stock")?
        .rows_affected();
        let left = stock_quantity(tx, store_id, product_id).await?;
        if taken != 1 {
            return Err(ShopError::InsufficientStock { available: left });
        }
        let total = product
            .price
            .checked_mul(quantity.get())
            .context("order total overflows")?;
        let row = sqlx::query(
            "INSERT INTO orders (user_id, store_id, product_id, quantity, unit_price, total, day, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(buyer)
        .bind(store_id)
        .bind(product_id)
        .bind(quantity.get())
        .bind(product.price)
        .bind(total)
        .bind(day_of_millis(now))
        .bind(now)
        .fetch_one(tx.conn())
        .await
        .context("inserting an order")?;
        let order = Order {
            id: row.try_get(0).context("order id")?,
            user_id: buyer,
            store_id,
            store_name,
            product_id,
            title: product.title.clone(),
            artist: product.artist.clone(),
            quantity: quantity.get(),
            unit_price: product.price,
            total,
            created_at: rfc3339(now),
        };
        let change = StockChange {
            store_id,
            product_id,
            title: product.title,
            quantity: left,
            delta: -quantity.get(),
            reason: "order".into(),
            order_id: Some(order.id),
            by: buyer,
        };
        record_change(tx, &change, now).await?;
        let placed = Placed {
            order,
            stock_left: left,
        };
        tx.append_json(
            &channel::user(buyer),
            types::ORDER_PLACED,
            &json!(placed),
        )
        .await?;
        append_stock_changed(tx, &change).await?;
        Ok(placed)
        })
        .await
    }

    /// A customer's orders, newest first.
    pub async fn user_orders(&self, user_id: i64) -> anyhow::Result<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT o.id, o.user_id, o.store_id, s.name, o.product_id, p.title, p.artist,
                    o.quantity, o.unit_price, o.total, o.created_at
             FROM orders o JOIN stores s ON s.id = o.store_id JOIN products p ON p.id = o.product_id
             WHERE o.user_id = $1 ORDER BY o.id DESC LIMIT 500",
        )
        .bind(user_id)
        .fetch_all(self.reader())
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

    /// Units sold per UTC day and album at a store, within `period` (inclusive).
    pub async fn sales(&self, store_id: i64, period: &Period) -> anyhow::Result<Vec<SalesRow>> {
        let (from, to) = period.as_strings();
        let rows = sqlx::query(
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
        .fetch_all(self.reader())
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
        &self,
        store_id: i64,
        since_millis: i64,
    ) -> anyhow::Result<Vec<InventoryRow>> {
        let rows = sqlx::query(
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
        .fetch_all(self.reader())
        .await
        .context("reading inventory")?;
        rows.iter()
            .map(|r| {
                let quantity: i64 = r.try_get(4)?;
                let optimal_stock: Option<i64> = r.try_get(6)?;
                Ok(InventoryRow {
                    product_id: r.try_get(0)?,
                    title: r.try_get(1)?,
                    artist: r.try_get(2)?,
                    price: r.try_get(3)?,
                    quantity,
                    sold_7d: r.try_get(5)?,
                    optimal_stock,
                    status: match optimal_stock {
                        None => "unknown",
                        Some(o) if quantity < o => "low",
                        Some(_) => "ok",
                    },
                })
            })
            .collect()
    }

    /// Whether the database holds no stores and no products (the demo seeds only then).
    pub async fn shop_is_empty(&self) -> anyhow::Result<bool> {
        let row =
            sqlx::query("SELECT (SELECT COUNT(*) FROM stores) + (SELECT COUNT(*) FROM products)")
                .fetch_one(self.reader())
                .await?;
        let n: i64 = row.try_get(0)?;
        Ok(n == 0)
    }
}

fn stock_item_from_row(r: &AnyRow) -> anyhow::Result<StockItem> {
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

async fn fetch_product(tx: &mut Tx, id: i64) -> anyhow::Result<Option<Product>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        product_columns!(),
        " FROM products WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await
    .context("reading a product")?;
    row.as_ref().map(product_from_row).transpose()
}

async fn store_name(tx: &mut Tx, id: i64) -> anyhow::Result<Option<String>> {
    let row = sqlx::query("SELECT name FROM stores WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await
        .context("reading a store")?;
    row.map(|r| r.try_get(0).map_err(Into::into)).transpose()
}

/// The album's title, once both the store and the album are known to exist.
async fn check_store_and_product(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
) -> Result<String, ShopError> {
    let product = fetch_product(tx, product_id)
        .await?
        .ok_or(ShopError::NoSuchProduct)?;
    store_name(tx, store_id)
        .await?
        .ok_or(ShopError::NoSuchStore)?;
    Ok(product.title)
}

async fn ensure_stock_row(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    now: i64,
) -> anyhow::Result<()> {
    sqlx::query(
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
async fn stock_quantity(tx: &mut Tx, store_id: i64, product_id: i64) -> anyhow::Result<i64> {
    let row = sqlx::query("SELECT quantity FROM stock WHERE store_id = $1 AND product_id = $2")
        .bind(store_id)
        .bind(product_id)
        .fetch_optional(tx.conn())
        .await
        .context("reading stock")?;
    Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

async fn record_change(tx: &mut Tx, c: &StockChange, now: i64) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO stock_changes (store_id, product_id, delta, quantity, reason, actor_id, order_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.store_id)
    .bind(c.product_id)
    .bind(c.delta)
    .bind(c.quantity)
    .bind(&c.reason)
    .bind(c.by)
    .bind(c.order_id)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("recording a stock change")?;
    Ok(())
}

/// `stock.changed` on the public `products` topic (live shop pages) and to the
/// store's staff. Anyone may read the topic, so its copy leaves out who changed the
/// stock and which order did it; the staff's copy has both.
/// Ends a staff stock change: its history row, its `stock.changed` events, commit.
async fn commit_stock_change(
    mut tx: Tx,
    change: StockChange,
    now: i64,
) -> Result<StockChange, ShopError> {
    record_change(&mut tx, &change, now).await?;
    append_stock_changed(&mut tx, &change).await?;
    tx.commit().await?;
    Ok(change)
}

async fn append_stock_changed(tx: &mut Tx, c: &StockChange) -> anyhow::Result<()> {
    let public = json!({
        "store_id": c.store_id,
        "product_id": c.product_id,
        "title": c.title,
        "quantity": c.quantity,
        "delta": c.delta,
        "reason": c.reason,
    });
    tx.append_json(channel::PRODUCTS, types::STOCK_CHANGED, &public)
        .await?;
    let staff = serde_json::to_value(c).context("serialising a stock change")?;
    tx.append_json(&channel::store(c.store_id), types::STOCK_CHANGED, &staff)
        .await?;
    Ok(())
}
