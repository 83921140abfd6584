//! Orders: a customer buys albums at a store. [`place_order`] never oversells and
//! never buys twice for one `Idempotency-Key`.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::events::OrderPlaced;
use super::stock::{StockChange, emit_stock_changed};
use super::{Quantity, ShopError};
use crate::db::shop::orders::{self as rows, NewOrder, ORDER_REASON, Order};
use crate::db::shop::{catalog, store_name_in};
use crate::db::{Db, Tx};
use crate::events::channel;
use crate::idempotency::{self, IdempotencyKey, Outcome, Request};
use crate::time::{now_millis, rfc3339};

/// Idempotency scope of orders.
pub const ORDER_SCOPE: &str = "order";

/// What placing an order answers (and, on a retry with the same key, answers
/// again): the order and the stock left after it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placed {
    pub order: Order,
    pub stock_left: i64,
}

/// Places an order through [`idempotency::once`]: in one transaction, takes the
/// stock (refused with [`ShopError::InsufficientStock`] when short), records the
/// order and the stock change, and appends `order.placed` (to the buyer) and
/// `stock.changed` (on `products` and to the store's staff). A refusal changes
/// nothing, not even the key; a retry with the same key answers the first order.
pub async fn place_order(
    db: &Db,
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
    idempotency::once(db, req, async |tx: &mut Tx| {
        let product = catalog::product_in(tx, product_id)
            .await?
            .ok_or(ShopError::NoSuchProduct)?;
        let store_name = store_name_in(tx, store_id)
            .await?
            .ok_or(ShopError::NoSuchStore)?;
        let total = product
            .price
            .checked_mul(quantity.get())
            .context("order total overflows")?;
        let now = now_millis();
        let new = NewOrder {
            buyer,
            store_id,
            product_id,
            quantity,
            unit_price: product.price,
            total,
        };
        let written = rows::insert(tx, &new, now).await??;
        let order = Order {
            id: written.order_id,
            user_id: buyer,
            store_id,
            store_name,
            product_id,
            title: product.title.clone(),
            artist: product.artist,
            quantity: quantity.get(),
            unit_price: product.price,
            total,
            created_at: rfc3339(now),
        };
        let change = StockChange {
            store_id,
            product_id,
            title: product.title,
            quantity: written.stock_left,
            delta: -quantity.get(),
            reason: ORDER_REASON.into(),
            order_id: Some(order.id),
            by: buyer,
        };
        let placed = OrderPlaced {
            order: &order,
            stock_left: written.stock_left,
        };
        tx.emit(&channel::user(buyer), &placed).await?;
        emit_stock_changed(tx, &change).await?;
        Ok(Placed {
            order,
            stock_left: written.stock_left,
        })
    })
    .await
}

/// A customer's orders, newest first; [`ShopError::NoSuchUser`] if there is no such user.
pub async fn user_orders(db: &Db, user_id: i64) -> Result<Vec<Order>, ShopError> {
    if db.user(user_id).await?.is_none() {
        return Err(ShopError::NoSuchUser);
    }
    Ok(rows::of_user(db, user_id).await?)
}
