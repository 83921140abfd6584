//! What a purchase earns and what a return takes back (DESIGN.md §3, "One shop, one
//! program").
//!
//! The rule that keeps anyone from farming points with a buy/return loop: an order
//! stands for `floor(points_earned × remaining / quantity)` points, so returning
//! part of it takes back exactly the difference and returning all of it takes back
//! everything it earned. When the balance no longer holds those points because they
//! became a coupon, the newest unused coupons are revoked first (their worth comes
//! back into the balance, and what it was worth beyond the reversal stays there);
//! when the coupon was already used, the balance goes below zero and later earnings
//! pay it back first. So at every moment a customer's balance plus the points of
//! the coupons they hold or used is at most what their standing purchases earned.

use super::conversion::{self, Credit, Credited};
use super::events::{CouponRedeemed, CouponRestored, CouponRevoked, MileageReversed, StoreRef};
use super::model::{Coupon, Person};
use super::{MileageError, emit_both};
use crate::db::coupons::{self, IssuingStore};
use crate::db::ledger::{self, Posting};
use crate::db::{Tx, members};

/// Points a purchase earns: `floor(paid × percent / 100)`.
pub fn earned(paid: i64, percent: i64) -> i64 {
    if paid <= 0 || percent <= 0 {
        return 0;
    }
    paid.saturating_mul(percent) / 100
}

/// Points an order still stands for with `remaining` of its `quantity` units kept.
pub fn standing(points_earned: i64, quantity: i64, remaining: i64) -> i64 {
    if quantity <= 0 {
        return 0;
    }
    points_earned.saturating_mul(remaining.clamp(0, quantity)) / quantity
}

/// Makes the buyer a member of the store (if not yet) and credits what the order
/// earned as a `purchase` entry, converting like a grant. Emits nothing: call
/// [`announce_earned`] after the flow's row changes.
pub async fn earn(
    tx: &mut Tx,
    store: &IssuingStore,
    credit: &Credit<'_>,
) -> Result<Option<Credited>, MileageError> {
    members::join(tx, credit.store_id, credit.user_id, credit.at).await?;
    if credit.points <= 0 {
        return Ok(None);
    }
    Ok(Some(conversion::credit(tx, store, credit).await?))
}

/// `mileage.granted` (no `granted_by`, with the order) and any `coupon.issued`.
pub async fn announce_earned(
    tx: &mut Tx,
    store: &IssuingStore,
    credit: &Credit<'_>,
    credited: &Credited,
) -> anyhow::Result<()> {
    conversion::announce(tx, store, credit, credited, None).await
}

/// `coupon.redeemed` for a coupon paid with at checkout.
pub async fn announce_paid_with(
    tx: &mut Tx,
    coupon: &Coupon,
    buyer: &Person,
    order_id: i64,
) -> anyhow::Result<()> {
    let event = CouponRedeemed {
        user_id: coupon.user_id,
        coupon,
        store: StoreRef {
            id: coupon.store_id,
            name: &coupon.store_name,
        },
        redeemed_by: buyer,
        redemption_id: None,
        order_id: Some(order_id),
    };
    emit_both(tx, coupon.user_id, coupon.store_id, &event).await
}

/// What taking points back did.
pub struct TakenBack {
    /// The reversal's points (positive), 0 when there was nothing to take.
    pub points: i64,
    /// The balance after it.
    pub balance: i64,
    /// Unused coupons revoked to cover it, each with the balance after its worth
    /// came back.
    pub revoked: Vec<(Coupon, i64)>,
    pub entry_id: Option<i64>,
}

/// Takes `points` back from the member for a return of `order_id`: revokes unused
/// coupons (newest first) while the balance does not cover it, then posts the
/// `reversal`. Emits nothing: call [`announce_taken_back`] after the row changes.
pub async fn take_back(
    tx: &mut Tx,
    store_id: i64,
    user_id: i64,
    order_id: i64,
    points: i64,
    at: i64,
) -> anyhow::Result<TakenBack> {
    let mut balance = ledger::locked_balance(tx, store_id, user_id).await?;
    let mut taken = TakenBack {
        points,
        balance,
        revoked: Vec::new(),
        entry_id: None,
    };
    if points <= 0 {
        return Ok(taken);
    }
    while balance < points {
        let Some((coupon, worth)) =
            coupons::revoke_newest_active(tx, store_id, user_id, at).await?
        else {
            break;
        };
        let entry = ledger::post(
            tx,
            &Posting {
                store_id,
                user_id,
                kind: "revocation",
                points: worth,
                reason: &format!("coupon {} revoked: its points were returned", coupon.id),
                actor_id: None,
                order_id: Some(order_id),
                at,
                reason_code: None,
                api_key_id: None,
            },
        )
        .await?;
        balance = entry.balance_after;
        taken.revoked.push((coupon, balance));
    }
    let entry = ledger::post(
        tx,
        &Posting {
            store_id,
            user_id,
            kind: "reversal",
            points: -points,
            reason: &format!("order {order_id} returned"),
            actor_id: None,
            order_id: Some(order_id),
            at,
            reason_code: None,
            api_key_id: None,
        },
    )
    .await?;
    taken.balance = entry.balance_after;
    taken.entry_id = Some(entry.id);
    Ok(taken)
}

/// `coupon.revoked` for each revoked coupon, then `mileage.reversed`.
pub async fn announce_taken_back(
    tx: &mut Tx,
    store: StoreRef<'_>,
    user_id: i64,
    order_id: i64,
    taken: &TakenBack,
) -> anyhow::Result<()> {
    for (coupon, balance) in &taken.revoked {
        let event = CouponRevoked {
            user_id,
            coupon,
            store: store.clone(),
            balance: *balance,
            order_id,
        };
        emit_both(tx, user_id, store.id, &event).await?;
    }
    if let Some(entry_id) = taken.entry_id {
        let event = MileageReversed {
            user_id,
            store: store.clone(),
            points: taken.points,
            balance: taken.balance,
            order_id,
            entry_id,
        };
        emit_both(tx, user_id, store.id, &event).await?;
    }
    Ok(())
}

/// Gives back the coupon an order paid with (the order was returned whole).
pub async fn restore_coupon(tx: &mut Tx, coupon_id: i64) -> anyhow::Result<Option<Coupon>> {
    coupons::restore(tx, coupon_id).await
}

/// `coupon.restored`.
pub async fn announce_restored(tx: &mut Tx, coupon: &Coupon, order_id: i64) -> anyhow::Result<()> {
    let event = CouponRestored {
        user_id: coupon.user_id,
        coupon,
        store: StoreRef {
            id: coupon.store_id,
            name: &coupon.store_name,
        },
        order_id,
    };
    emit_both(tx, coupon.user_id, coupon.store_id, &event).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purchases_earn_the_floor_of_their_percent() {
        assert_eq!(earned(54_000, 10), 5_400);
        assert_eq!(earned(999, 1), 9);
        assert_eq!(earned(0, 20), 0);
        assert_eq!(earned(10_000, 0), 0);
    }

    #[test]
    fn partial_returns_take_back_exactly_what_the_order_earned() {
        for earned_points in [0, 1, 7, 100, 1_001, 5_400] {
            for quantity in 1..=7 {
                // Any order of partial returns adds up to the whole.
                let mut remaining = quantity;
                let mut taken = 0;
                while remaining > 0 {
                    let r = 1.min(remaining);
                    let before = standing(earned_points, quantity, remaining);
                    remaining -= r;
                    taken += before - standing(earned_points, quantity, remaining);
                }
                assert_eq!(taken, earned_points);
                assert_eq!(standing(earned_points, quantity, quantity), earned_points);
            }
        }
    }
}
