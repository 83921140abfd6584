//! Stock changes by staff: a count ([`set_stock`]) or an adjustment
//! ([`adjust_stock`]), each kept in the stock history and pushed as `stock.changed`
//! (a public copy on `products`, the full change to the store's staff), and tell
//! the album's watchers when it comes back from 0 ([`super::watches`]). Orders take
//! stock in [`super::orders`].

use serde::Serialize;

use super::events::{StaffStockChanged, StockChanged};
use super::{Delta, ShopError, StockLevel};
use crate::db::shop::stock::{self as rows, Cause, Moved, StockItem};
use crate::db::shop::{catalog, store_name_in};
use crate::db::{Db, Tx};
use crate::events::channel;
use crate::time::now_millis;

/// A stock change as the API answers it and the staff's `stock.changed` carries it.
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

/// Every album a store holds (or held); [`ShopError::NoSuchStore`] if there is none.
pub async fn store_stock(db: &Db, store_id: i64) -> Result<Vec<StockItem>, ShopError> {
    if !db.store_exists(store_id).await? {
        return Err(ShopError::NoSuchStore);
    }
    Ok(rows::store_stock(db, store_id).await?)
}

/// One album's stock at every store (0 where a store never held it).
pub async fn product_stock(db: &Db, product_id: i64) -> Result<Vec<StockItem>, ShopError> {
    if catalog::product(db, product_id).await?.is_none() {
        return Err(ShopError::NoSuchProduct);
    }
    Ok(rows::product_stock(db, product_id).await?)
}

/// Sets the stock of an album at a store (a count), keeping the reason.
pub async fn set_stock(
    db: &Db,
    store_id: i64,
    product_id: i64,
    level: StockLevel,
    reason: &str,
    by: i64,
) -> Result<StockChange, ShopError> {
    let mut tx = db.begin().await?;
    let title = title_at(&mut tx, store_id, product_id).await?;
    let cause = Cause {
        reason,
        by,
        order_id: None,
    };
    let moved = rows::set(&mut tx, store_id, product_id, level, &cause, now_millis()).await?;
    finish(tx, store_id, product_id, title, moved, &cause, "stock_set").await
}

/// Adds `delta` (negative to remove) to a store's stock of an album; refused with
/// [`ShopError::InsufficientStock`] (nothing changed) if it would go below zero.
pub async fn adjust_stock(
    db: &Db,
    store_id: i64,
    product_id: i64,
    delta: Delta,
    reason: &str,
    by: i64,
) -> Result<StockChange, ShopError> {
    let mut tx = db.begin().await?;
    let title = title_at(&mut tx, store_id, product_id).await?;
    let cause = Cause {
        reason,
        by,
        order_id: None,
    };
    let moved = rows::add(&mut tx, store_id, product_id, delta, &cause, now_millis()).await??;
    finish(
        tx,
        store_id,
        product_id,
        title,
        moved,
        &cause,
        "stock_adjust",
    )
    .await
}

/// The album's title, once both the store and the album are known to exist.
async fn title_at(tx: &mut Tx, store_id: i64, product_id: i64) -> Result<String, ShopError> {
    let product = catalog::product_in(tx, product_id)
        .await?
        .ok_or(ShopError::NoSuchProduct)?;
    store_name_in(tx, store_id)
        .await?
        .ok_or(ShopError::NoSuchStore)?;
    Ok(product.title)
}

/// Ends a staff stock change: its `stock.changed` events, `stock.back` to the
/// album's watchers if it came back from 0, then the commit.
async fn finish(
    mut tx: Tx,
    store_id: i64,
    product_id: i64,
    title: String,
    moved: Moved,
    cause: &Cause<'_>,
    kind: &str,
) -> Result<StockChange, ShopError> {
    let change = StockChange {
        store_id,
        product_id,
        title,
        quantity: moved.quantity,
        delta: moved.delta,
        reason: cause.reason.to_string(),
        order_id: cause.order_id,
        by: cause.by,
    };
    crate::db::audit::append(
        &mut tx,
        &crate::db::audit::NewAudit {
            at: now_millis(),
            actor_id: cause.by,
            actor_name: None,
            kind,
            store_id: Some(store_id),
            target_type: "product",
            target_id: Some(product_id),
            before: serde_json::json!({ "quantity": change.quantity - change.delta }),
            after: serde_json::json!({ "quantity": change.quantity, "delta": change.delta, "reason": change.reason }),
        },
    )
    .await?;
    emit_stock_changed(&mut tx, &change).await?;
    super::watches::notify_back(&mut tx, store_id, product_id, moved).await?;
    tx.commit().await?;
    Ok(change)
}

/// `stock.changed` on the public `products` channel (live shop pages) and to the
/// store's staff. Anyone may read the channel, so its copy leaves out who changed
/// the stock and which order did it; the staff's copy has both.
pub(super) async fn emit_stock_changed(tx: &mut Tx, change: &StockChange) -> anyhow::Result<()> {
    tx.emit(channel::PRODUCTS, &StockChanged::from(change))
        .await?;
    tx.emit(&channel::store(change.store_id), &StaffStockChanged(change))
        .await?;
    Ok(())
}
