//! Redeeming a coupon: once, at its own store, by that store's staff; every
//! redemption is logged and told to the holder and the store.

use super::events::{CouponRedeemed, StoreRef};
use super::model::{Coupon, CouponStatus, Person, Redemption};
use super::{MileageError, emit_both};
use crate::auth::Principal;
use crate::db::Db;
use crate::db::coupons::{self, NotRedeemed};

/// Redeems `coupon_id` for `by`, who must be staff of the coupon's store (admins
/// everywhere). Of two concurrent redemptions one wins; the other is
/// [`MileageError::AlreadyRedeemed`]. A coupon past its `expires_at` at `now` (the
/// app's clock) is [`MileageError::Expired`].
pub async fn redeem(
    db: &Db,
    coupon_id: i64,
    by: &Principal,
    now: i64,
) -> Result<(Coupon, Redemption), MileageError> {
    let coupon = coupons::coupon(db, coupon_id)
        .await?
        .ok_or(MileageError::NoSuchCoupon)?;
    if !db.is_staff_of(by, coupon.store_id).await? {
        return Err(MileageError::OtherStore);
    }
    let mut tx = db.begin().await?;
    let person = Person {
        id: by.user_id,
        name: by.name.clone(),
    };
    let (coupon, redemption) = match coupons::redeem(&mut tx, coupon_id, &person, now).await? {
        Ok(done) => done,
        Err(NotRedeemed::AlreadyRedeemed) => return Err(MileageError::AlreadyRedeemed),
        Err(NotRedeemed::Revoked) => return Err(MileageError::NotActive),
        Err(NotRedeemed::Expired) => return Err(MileageError::Expired),
        Err(NotRedeemed::NoSuchCoupon | NotRedeemed::OtherStore) => {
            return Err(MileageError::NoSuchCoupon);
        }
    };
    let event = CouponRedeemed {
        user_id: coupon.user_id,
        coupon: &coupon,
        store: StoreRef {
            id: coupon.store_id,
            name: &coupon.store_name,
        },
        redeemed_by: &redemption.redeemed_by,
        redemption_id: Some(redemption.id),
        order_id: None,
    };
    crate::db::audit::append(
        &mut tx,
        &crate::db::audit::NewAudit {
            at: now,
            actor_id: person.id,
            actor_name: Some(&person.name),
            kind: "coupon_redeem",
            store_id: Some(coupon.store_id),
            target_type: "coupon",
            target_id: Some(coupon.id),
            before: serde_json::json!({ "status": "active" }),
            after: serde_json::json!({ "status": "redeemed", "user_id": coupon.user_id, "redemption_id": redemption.id }),
        },
    )
    .await?;
    emit_both(&mut tx, coupon.user_id, coupon.store_id, &event).await?;
    tx.commit().await?;
    let staff_login = &by.login;
    let member = crate::oplog::who(db, coupon.user_id).await;
    tracing::info!(
        target: "pointcast::action",
        action = "redemption",
        staff = %by.name,
        staff_login = %staff_login,
        member = %member.name,
        member_no = %member.login,
        store_id = coupon.store_id,
        coupon_id = coupon.id,
        outcome = "ok",
        "coupon redeemed"
    );
    Ok((coupon, redemption))
}

/// A customer's coupons, newest first, optionally only those in `status`.
pub async fn of_user(
    db: &Db,
    user_id: i64,
    status: Option<CouponStatus>,
) -> anyhow::Result<Vec<Coupon>> {
    Ok(coupons::of_user(db, user_id)
        .await?
        .into_iter()
        .filter(|c| status.is_none_or(|s| s == c.status))
        .collect())
}
