//! Returns: an order's units go back to the store, and what they earned comes back
//! out of the ledger, without anyone coming out of a buy/return cycle ahead (the
//! rule is in [`crate::mileage::purchases`]).
//!
//! Who may return: the order's store's staff and admins at any time; the buyer
//! themself within [`CANCEL_WINDOW`] of placing it (a cancellation).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::events::OrderReturned;
use super::stock::{StockChange, emit_stock_changed};
use super::watches;
use super::{Delta, Quantity, ShopError};
use crate::auth::{Principal, Role};
use crate::db::shop::orders::{self as rows, Order, Returnable};
use crate::db::shop::stock::{self, Cause};
use crate::db::{Db, Tx, ledger};
use crate::events::channel;
use crate::idempotency::{self, IdempotencyKey, Outcome, Request};
use crate::mileage::events::StoreRef;
use crate::mileage::model::{Coupon, Person};
use crate::mileage::purchases;

/// Idempotency scope of returns.
pub const RETURN_SCOPE: &str = "return";

/// How long a customer may cancel (return) their own order.
pub const CANCEL_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// The reason stock changes carry for a return.
pub const RETURN_REASON: &str = "return";

/// A return's reason: trimmed, 1 to 200 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnReason(String);

impl ReturnReason {
    pub fn parse(s: &str) -> Result<Self, ShopError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 200 || t.chars().any(char::is_control) {
            return Err(ShopError::ReturnReason);
        }
        Ok(Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated return request.
pub struct ReturnRequest<'a> {
    pub order_id: i64,
    pub quantity: Quantity,
    pub reason: &'a ReturnReason,
    pub by: &'a Principal,
    pub key: &'a IdempotencyKey,
    /// The time the cancel window is measured at (the app's clock).
    pub now: DateTime<Utc>,
}

/// What a return answers (and, on a retry with the same key, answers again).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Returned {
    /// The order after the return.
    pub order: Order,
    /// Units returned by this request.
    pub returned: i64,
    /// Points taken back by this request.
    pub points_reversed: i64,
    /// Unused coupons revoked because their points were returned.
    pub coupons_revoked: Vec<Coupon>,
    /// The coupon the order paid with, active again (the whole order came back).
    pub coupon_restored: Option<Coupon>,
    /// The buyer's balance at the store afterwards (may be below zero).
    pub balance: i64,
}

/// Returns part or all of an order through [`idempotency::once`]. See the module
/// for who may; more than is left to return is [`ShopError::ReturnExceeds`] and
/// changes nothing.
pub async fn return_order(db: &Db, r: &ReturnRequest<'_>) -> Result<Outcome<Returned>, ShopError> {
    let order = rows::order(db, r.order_id)
        .await?
        .ok_or(ShopError::NoSuchOrder)?;
    let hash = idempotency::request_hash(&[
        &r.order_id.to_string(),
        &r.quantity.get().to_string(),
        r.reason.as_str(),
    ]);
    let req = Request {
        scope: RETURN_SCOPE,
        principal_id: r.by.user_id,
        key: r.key,
        hash: &hash,
    };
    // Whether a staff member works at the order's store is read before the
    // transaction begins (see `Db::begin`); the refusal is decided inside it, after
    // the replay check: a retry of a cancellation whose answer was lost gets that
    // answer even past the window.
    let staff = r.by.role != Role::Customer && db.is_staff_of(r.by, order.store_id).await?;
    let result = idempotency::once(db, req, async |tx: &mut Tx| {
        authorise(r, &order, staff)?;
        give_back(tx, r).await
    })
    .await;
    let by_login = &r.by.login;
    match &result {
        Ok(out) if out.replayed => {}
        Ok(out) => tracing::info!(
            target: "pointcast::action",
            action = "return",
            by = %r.by.name,
            by_login = %by_login,
            order_id = r.order_id,
            store_id = order.store_id,
            returned = out.answer.returned,
            points_reversed = out.answer.points_reversed,
            outcome = "ok",
            "order returned"
        ),
        Err(e) => tracing::info!(
            target: "pointcast::action",
            action = "return",
            by = %r.by.name,
            by_login = %by_login,
            order_id = r.order_id,
            outcome = "refused",
            error = %e,
            "return refused"
        ),
    }
    result
}

/// Staff of the order's store and admins (`staff`: read by the caller); the buyer
/// (a customer) within the cancel window; nobody else.
fn authorise(r: &ReturnRequest<'_>, order: &Order, staff: bool) -> Result<(), ShopError> {
    if r.by.role != Role::Customer {
        return if staff {
            Ok(())
        } else {
            Err(ShopError::Forbidden(
                "only staff of the order's store return it",
            ))
        };
    }
    if order.user_id != r.by.user_id {
        return Err(ShopError::Forbidden(
            "a customer returns only their own orders",
        ));
    }
    let placed = DateTime::parse_from_rfc3339(&order.created_at)
        .map_err(anyhow::Error::from)?
        .with_timezone(&Utc);
    if r.now - placed > CANCEL_WINDOW {
        return Err(ShopError::Forbidden(
            "a customer may cancel an order only within 15 minutes; ask the store",
        ));
    }
    Ok(())
}

/// The return's work inside its transaction.
async fn give_back(tx: &mut Tx, r: &ReturnRequest<'_>) -> Result<Returned, ShopError> {
    let q = r.quantity.get();
    if let Err(Returnable(left)) = rows::count_return(tx, r.order_id, q).await? {
        return Err(ShopError::ReturnExceeds { returnable: left });
    }
    let order = rows::order_in(tx, r.order_id)
        .await?
        .ok_or(ShopError::NoSuchOrder)?;
    // Lock order: the order's row (above), then the buyer's balance, then stock and
    // coupons — the same as an order paying with a coupon — so a return and a
    // purchase of one customer queue instead of deadlocking on PostgreSQL.
    ledger::locked_balance(tx, order.store_id, order.user_id).await?;
    let now = r.now.timestamp_millis();
    let cause = Cause {
        reason: RETURN_REASON,
        by: r.by.user_id,
        order_id: Some(order.id),
    };
    let delta = Delta::parse(q)?;
    let moved = stock::add(tx, order.store_id, order.product_id, delta, &cause, now)
        .await?
        .map_err(ShopError::from)?;
    let remaining = order.quantity - order.returned_quantity;
    let points = purchases::standing(order.points_earned, order.quantity, remaining + q)
        - purchases::standing(order.points_earned, order.quantity, remaining);
    let taken =
        purchases::take_back(tx, order.store_id, order.user_id, order.id, points, now).await?;
    let restored = match order.coupon_id {
        Some(c) if remaining == 0 => purchases::restore_coupon(tx, c).await?,
        _ => None,
    };
    let change = StockChange {
        store_id: order.store_id,
        product_id: order.product_id,
        title: order.title.clone(),
        quantity: moved.quantity,
        delta: q,
        reason: RETURN_REASON.into(),
        order_id: Some(order.id),
        by: r.by.user_id,
    };
    crate::db::audit::append(
        tx,
        &crate::db::audit::NewAudit {
            at: now,
            actor_id: r.by.user_id,
            actor_name: Some(&r.by.name),
            kind: "order_return",
            store_id: Some(order.store_id),
            target_type: "order",
            target_id: Some(order.id),
            before: serde_json::json!({ "returned_quantity": order.returned_quantity - q, "stock": moved.quantity - q }),
            after: serde_json::json!({
                "returned_quantity": order.returned_quantity,
                "stock": moved.quantity,
                "points_reversed": taken.points,
                "reason": r.reason.as_str(),
            }),
        },
    )
    .await?;
    // Events last: on PostgreSQL the first append takes the log's lock.
    emit_stock_changed(tx, &change).await?;
    watches::notify_back(tx, order.store_id, order.product_id, moved).await?;
    let returned = OrderReturned {
        order: &order,
        quantity: q,
        reason: r.reason.as_str(),
        returned_by: Person {
            id: r.by.user_id,
            name: r.by.name.clone(),
        },
        points_reversed: taken.points,
    };
    let (user, staff) = (channel::user(order.user_id), channel::store(order.store_id));
    tx.emit_to(&[&user, &staff], &returned).await?;
    let store = StoreRef {
        id: order.store_id,
        name: &order.store_name,
    };
    purchases::announce_taken_back(tx, store, order.user_id, order.id, &taken).await?;
    if let Some(c) = &restored {
        purchases::announce_restored(tx, c, order.id).await?;
    }
    Ok(Returned {
        returned: q,
        points_reversed: taken.points,
        coupons_revoked: taken.revoked.into_iter().map(|(c, _)| c).collect(),
        coupon_restored: restored,
        balance: taken.balance,
        order,
    })
}
