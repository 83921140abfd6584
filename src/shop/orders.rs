//! Orders: a customer buys albums at a store, optionally paying part with a coupon,
//! and earns points on what they paid. [`place_order`] never oversells, never uses
//! a coupon twice and never buys twice for one `Idempotency-Key`.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::events::OrderPlaced;
use super::stock::{StockChange, emit_stock_changed};
use super::{Quantity, ShopError};
use crate::auth::{Principal, Role};
use crate::db::coupons::{self, NotRedeemed};
use crate::db::shop::catalog;
use crate::db::shop::orders::{self as rows, NewOrder, ORDER_REASON, Order};
use crate::db::{Db, Tx, ledger};
use crate::events::channel;
use crate::idempotency::{self, IdempotencyKey, Outcome, Request};
use crate::mileage::conversion::Credit;
use crate::mileage::model::Person;
use crate::mileage::purchases;

/// Idempotency scope of orders.
pub const ORDER_SCOPE: &str = "order";

/// What placing an order answers (and, on a retry with the same key, answers
/// again): the order and the stock left after it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placed {
    pub order: Order,
    pub stock_left: i64,
}

/// A validated order request.
#[derive(Clone, Copy, Debug)]
pub struct OrderRequest {
    pub store_id: i64,
    pub product_id: i64,
    pub quantity: Quantity,
    /// A coupon of the buyer's at this store, to take its value off the total.
    pub coupon_id: Option<i64>,
    /// The app's clock when the request came (coupon expiry is judged by it).
    pub now: i64,
}

/// Places an order through [`idempotency::once`]: in one transaction, takes the
/// stock (refused with [`ShopError::InsufficientStock`] when short), pays with the
/// coupon if one is given, records the order and the stock change, credits what
/// the order earned at the store (a customer becomes its member by buying there),
/// and appends the events. A refusal changes nothing, not even the key; a retry
/// with the same key answers the first order.
pub async fn place_order(
    db: &Db,
    buyer: &Principal,
    key: &IdempotencyKey,
    o: OrderRequest,
) -> Result<Outcome<Placed>, ShopError> {
    let hash = idempotency::request_hash(&[
        &o.store_id.to_string(),
        &o.product_id.to_string(),
        &o.quantity.get().to_string(),
        &o.coupon_id.map(|c| c.to_string()).unwrap_or_default(),
    ]);
    let req = Request {
        scope: ORDER_SCOPE,
        principal_id: buyer.user_id,
        key,
        hash: &hash,
    };
    let result = idempotency::once(db, req, async |tx: &mut Tx| buy(tx, buyer, o).await).await;
    let member_no = &buyer.login;
    match &result {
        Ok(out) if out.replayed => {}
        Ok(out) => tracing::info!(
            target: "pointcast::action",
            action = "order",
            member = %buyer.name,
            member_no = %member_no,
            store_id = o.store_id,
            product_id = o.product_id,
            quantity = o.quantity.get(),
            order_id = out.answer.order.id,
            total = out.answer.order.total,
            outcome = "ok",
            "order placed"
        ),
        Err(e) => tracing::info!(
            target: "pointcast::action",
            action = "order",
            member = %buyer.name,
            member_no = %member_no,
            store_id = o.store_id,
            product_id = o.product_id,
            quantity = o.quantity.get(),
            outcome = "refused",
            error = %e,
            "order refused"
        ),
    }
    result
}

/// The order's work inside its transaction.
async fn buy(tx: &mut Tx, buyer: &Principal, o: OrderRequest) -> Result<Placed, ShopError> {
    let product = catalog::product_in(tx, o.product_id)
        .await?
        .ok_or(ShopError::NoSuchProduct)?;
    let store = coupons::issuing_store(tx, o.store_id)
        .await?
        .ok_or(ShopError::NoSuchStore)?;
    let total = product
        .price
        .checked_mul(o.quantity.get())
        .context("order total overflows")?;
    let now = o.now;
    if o.coupon_id.is_some() {
        // Lock order: the buyer's balance before their coupon and the stock, as a
        // return does, so the two queue instead of deadlocking on PostgreSQL.
        ledger::locked_balance(tx, o.store_id, buyer.user_id).await?;
    }
    let coupon = match o.coupon_id {
        None => None,
        Some(id) => Some(
            match coupons::use_at_checkout(tx, id, buyer.user_id, o.store_id, now).await? {
                Ok(c) => c,
                Err(NotRedeemed::NoSuchCoupon) => return Err(ShopError::NoSuchCoupon),
                Err(NotRedeemed::OtherStore) => return Err(ShopError::CouponOtherStore),
                Err(NotRedeemed::AlreadyRedeemed | NotRedeemed::Revoked) => {
                    return Err(ShopError::CouponNotActive);
                }
                Err(NotRedeemed::Expired) => return Err(ShopError::CouponExpired),
            },
        ),
    };
    let discount = if coupon.is_some() {
        store.coupon_value.min(total)
    } else {
        0
    };
    let paid = total - discount;
    // Only customers collect points (staff may buy, but hold no balance).
    let earns = buyer.role == Role::Customer;
    let points = if earns {
        purchases::earned(paid, store.earn_percent)
    } else {
        0
    };
    let new = NewOrder {
        buyer: buyer.user_id,
        store_id: o.store_id,
        product_id: o.product_id,
        quantity: o.quantity,
        unit_price: product.price,
        total,
        discount,
        coupon_id: o.coupon_id,
        points_earned: points,
        api_key_id: buyer.key_id(),
    };
    let written = rows::insert(tx, &new, now).await??;
    let credit = Credit {
        store_id: o.store_id,
        user_id: buyer.user_id,
        kind: "purchase",
        points,
        reason: &format!("order {}", written.order_id),
        actor_id: None,
        order_id: Some(written.order_id),
        at: now,
        reason_code: None,
        api_key_id: buyer.key_id(),
    };
    let credited = if earns {
        purchases::earn(tx, &store, &credit).await?
    } else {
        None
    };
    let order = rows::order_in(tx, written.order_id)
        .await?
        .context("a new order vanished")?;
    let change = StockChange {
        store_id: o.store_id,
        product_id: o.product_id,
        title: product.title,
        quantity: written.stock_left,
        delta: -o.quantity.get(),
        reason: ORDER_REASON.into(),
        order_id: Some(order.id),
        by: buyer.user_id,
    };
    // Events last: on PostgreSQL the first append takes the log's lock.
    let placed = OrderPlaced {
        order: &order,
        stock_left: written.stock_left,
    };
    tx.emit(&channel::user(buyer.user_id), &placed).await?;
    emit_stock_changed(tx, &change).await?;
    if let Some(c) = &coupon {
        let by = Person {
            id: buyer.user_id,
            name: buyer.name.clone(),
        };
        purchases::announce_paid_with(tx, c, &by, order.id).await?;
    }
    if let Some(credited) = &credited {
        purchases::announce_earned(tx, &store, &credit, credited).await?;
    }
    Ok(Placed {
        order,
        stock_left: written.stock_left,
    })
}

/// A customer's orders, newest first; [`ShopError::NoSuchUser`] if there is no such user.
pub async fn user_orders(db: &Db, user_id: i64) -> Result<Vec<Order>, ShopError> {
    if db.user(user_id).await?.is_none() {
        return Err(ShopError::NoSuchUser);
    }
    Ok(rows::of_user(db, user_id).await?)
}

/// A store's orders, newest first, a page at a time.
pub async fn store_orders(
    db: &Db,
    store_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Order>, ShopError> {
    Ok(rows::of_store(db, store_id, before, limit).await?)
}
