//! Crediting points and converting what reaches the threshold into coupons: the
//! one way points arrive, shared by staff grants and purchases, so both convert
//! exactly alike (DESIGN.md §3).

use super::events::{CouponIssued, MileageGranted, StoreRef};
use super::model::{Coupon, Entry, Person};
use super::{MAX_COUPONS_PER_GRANT, MileageError, convert, emit_both};
use crate::db::Tx;
use crate::db::coupons::{self, IssuingStore};
use crate::db::ledger::{self, Posting};

/// What arrives: points of one kind, at one store, for one member.
pub struct Credit<'a> {
    pub store_id: i64,
    pub user_id: i64,
    /// `grant` or `purchase`.
    pub kind: &'a str,
    /// Positive.
    pub points: i64,
    pub reason: &'a str,
    /// The staff member for a grant; `None` for a purchase.
    pub actor_id: Option<i64>,
    /// The order a purchase's points belong to.
    pub order_id: Option<i64>,
    pub at: i64,
    /// A staff grant's reason code.
    pub reason_code: Option<&'a str>,
    /// The API key that acted, if a machine did.
    pub api_key_id: Option<i64>,
}

/// What a credit did: its entry, the balance before and after the conversion, the
/// coupons it issued and the conversion entry that took their points.
pub struct Credited {
    pub entry: Entry,
    pub balance_before_conversion: i64,
    pub balance: i64,
    pub coupons: Vec<Coupon>,
    pub conversion_id: Option<i64>,
}

/// Posts the credit, then converts every whole threshold of the new balance into
/// coupons, in `tx`.
pub async fn credit(
    tx: &mut Tx,
    store: &IssuingStore,
    c: &Credit<'_>,
) -> Result<Credited, MileageError> {
    let entry = ledger::post(
        tx,
        &Posting {
            store_id: c.store_id,
            user_id: c.user_id,
            kind: c.kind,
            points: c.points,
            reason: c.reason,
            actor_id: c.actor_id,
            order_id: c.order_id,
            at: c.at,
            reason_code: c.reason_code,
            api_key_id: c.api_key_id,
        },
    )
    .await?;
    let before_conversion = entry.balance_after;
    let (count, remaining) = convert(before_conversion, store.threshold);
    if count > MAX_COUPONS_PER_GRANT {
        return Err(MileageError::TooManyCoupons);
    }
    let mut credited = Credited {
        entry,
        balance_before_conversion: before_conversion,
        balance: before_conversion,
        coupons: Vec::new(),
        conversion_id: None,
    };
    if count == 0 {
        return Ok(credited);
    }
    let conversion = ledger::post(
        tx,
        &Posting {
            store_id: c.store_id,
            user_id: c.user_id,
            kind: "conversion",
            points: -(count * store.threshold),
            reason: &format!("{count} coupon(s) at {} points each", store.threshold),
            actor_id: c.actor_id,
            order_id: c.order_id,
            at: c.at,
            reason_code: None,
            api_key_id: c.api_key_id,
        },
    )
    .await?;
    if conversion.balance_after != remaining {
        return Err(anyhow::anyhow!(
            "balance {} after conversion, expected {remaining}",
            conversion.balance_after
        )
        .into());
    }
    credited.balance = conversion.balance_after;
    credited.conversion_id = Some(conversion.id);
    ledger::set_source(tx, conversion.id, credited.entry.id).await?;
    // The conversion consumed lots, possibly this credit's own: show what is left.
    credited.entry.remaining = ledger::remaining(tx, credited.entry.id).await?;
    for _ in 0..count {
        let coupon = coupons::issue(tx, c.store_id, store, c.user_id, conversion.id, c.at).await?;
        credited.coupons.push(coupon);
    }
    Ok(credited)
}

/// `mileage.granted`, then one `coupon.issued` per coupon, to the member and the
/// store. Call it after the flow's row changes (on PostgreSQL the first event
/// takes the log's lock).
pub async fn announce(
    tx: &mut Tx,
    store: &IssuingStore,
    c: &Credit<'_>,
    credited: &Credited,
    granted_by: Option<Person>,
) -> anyhow::Result<()> {
    let store_ref = StoreRef {
        id: c.store_id,
        name: &store.name,
    };
    let event = MileageGranted {
        user_id: c.user_id,
        store: store_ref.clone(),
        points: c.points,
        balance_before_conversion: credited.balance_before_conversion,
        balance: credited.balance,
        coupons_issued: credited.coupons.len() as i64,
        reason: c.reason,
        reason_code: c.reason_code,
        granted_by,
        entry_id: credited.entry.id,
        order_id: c.order_id,
    };
    emit_both(tx, c.user_id, c.store_id, &event).await?;
    for coupon in &credited.coupons {
        let event = CouponIssued {
            user_id: c.user_id,
            coupon,
            store: store_ref.clone(),
            design: &coupon.design,
            balance: credited.balance,
            conversion_entry_id: credited.conversion_id,
        };
        emit_both(tx, c.user_id, c.store_id, &event).await?;
    }
    Ok(())
}
