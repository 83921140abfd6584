//! "Tell me when it is back in stock": a customer watches an album that is sold
//! out at a store ([`watch`], [`unwatch`], [`user_watches`]), and every path that
//! raises stock — a count, an adjustment, a return — calls [`notify_back`] in its
//! transaction: when that change brought the stock from 0 back above 0, each
//! watcher gets one `stock.back` and their watch ends.
//!
//! Once only: [`watch`] writes a watch with the stock row locked and at 0, and a
//! change that raises stock holds the same row lock, so a watch is either seen and
//! ended by the restock or refused as `in_stock`; two restocks queue on the row,
//! and only the first sees the 0 it raises.

use chrono::{DateTime, Utc};

use super::ShopError;
use super::events::{ProductRef, StockBack};
use crate::auth::{Principal, Role};
use crate::db::shop::stock::{self, Moved};
use crate::db::shop::watches::{self as rows, Watch};
use crate::db::shop::{catalog, store_name_in};
use crate::db::{Db, Tx};
use crate::events::channel;
use crate::mileage::events::StoreRef;

/// Whether [`watch`] started a watch or found one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    Started,
    Already,
}

/// Starts watching an album at a store, for the customer `who` themself. Staff
/// are [`ShopError::Forbidden`]; an album the store has is [`ShopError::InStock`];
/// nothing changes on a refusal.
pub async fn watch(
    db: &Db,
    who: &Principal,
    store_id: i64,
    product_id: i64,
    now: DateTime<Utc>,
) -> Result<(Watched, Watch), ShopError> {
    customers_only(who)?;
    let now = now.timestamp_millis();
    let mut tx = db.begin().await?;
    let product = catalog::product_in(&mut tx, product_id)
        .await?
        .ok_or(ShopError::NoSuchProduct)?;
    let store_name = store_name_in(&mut tx, store_id)
        .await?
        .ok_or(ShopError::NoSuchStore)?;
    let quantity = stock::locked_quantity(&mut tx, store_id, product_id, now).await?;
    if quantity > 0 {
        return Err(ShopError::InStock { quantity });
    }
    let started = rows::insert(&mut tx, who.user_id, store_id, product_id, now).await?;
    let created_at = rows::created_at(&mut tx, who.user_id, store_id, product_id).await?;
    tx.commit().await?;
    let watch = Watch {
        store_id,
        store_name,
        product_id,
        title: product.title,
        artist: product.artist,
        created_at,
    };
    let how = if started {
        Watched::Started
    } else {
        Watched::Already
    };
    Ok((how, watch))
}

/// Stops watching; [`ShopError::NotWatching`] if `who` was not.
pub async fn unwatch(
    db: &Db,
    who: &Principal,
    store_id: i64,
    product_id: i64,
) -> Result<(), ShopError> {
    customers_only(who)?;
    let mut tx = db.begin().await?;
    if catalog::product_in(&mut tx, product_id).await?.is_none() {
        return Err(ShopError::NoSuchProduct);
    }
    if store_name_in(&mut tx, store_id).await?.is_none() {
        return Err(ShopError::NoSuchStore);
    }
    if !rows::delete(&mut tx, who.user_id, store_id, product_id).await? {
        return Err(ShopError::NotWatching);
    }
    tx.commit().await?;
    Ok(())
}

/// A user's watches, oldest first.
pub async fn user_watches(db: &Db, user_id: i64) -> Result<Vec<Watch>, ShopError> {
    if db.user(user_id).await?.is_none() {
        return Err(ShopError::NoSuchUser);
    }
    Ok(rows::of_user(db, user_id).await?)
}

fn customers_only(who: &Principal) -> Result<(), ShopError> {
    if who.role == Role::Customer {
        Ok(())
    } else {
        Err(ShopError::Forbidden("only customers watch albums"))
    }
}

/// Called by every flow that raises stock, in its transaction, after the change
/// `moved` of `product_id` at `store_id`: if it brought the stock back from 0
/// ([`Moved::restocked`]), ends the album's watches there and tells each watcher
/// once (`stock.back` on `user:{id}`). Answers how many were told.
pub async fn notify_back(
    tx: &mut Tx,
    store_id: i64,
    product_id: i64,
    moved: Moved,
) -> anyhow::Result<usize> {
    if !moved.restocked() {
        return Ok(0);
    }
    let watchers = rows::take(tx, store_id, product_id).await?;
    if watchers.is_empty() {
        return Ok(0);
    }
    let product = catalog::product_in(tx, product_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("product {product_id} vanished"))?;
    let store_name = store_name_in(tx, store_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("store {store_id} vanished"))?;
    let back = StockBack {
        store: StoreRef {
            id: store_id,
            name: &store_name,
        },
        product: ProductRef {
            id: product_id,
            title: &product.title,
            artist: &product.artist,
        },
        quantity: moved.quantity,
    };
    let channels: Vec<String> = watchers.iter().map(|&u| channel::user(u)).collect();
    let channels: Vec<&str> = channels.iter().map(String::as_str).collect();
    tx.emit_to(&channels, &back).await?;
    Ok(watchers.len())
}
