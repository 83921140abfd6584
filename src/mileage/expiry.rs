//! Expiry, the `mileage-expiry` job's body: what is left of each expired lot
//! becomes an `expiry` entry (`mileage.expired`), each lot gets one
//! `mileage.expiring` warning within [`WARN_DAYS`] of its expiry, and coupons past
//! their `expires_at` are marked expired (`coupon.expired`).
//!
//! Each lot is expired in its own transaction through
//! [`crate::db::ledger::expire_lot`], which takes the member's balance row first, as
//! every debit does: a conversion racing with the job queues on that row, and
//! whichever comes second finds the lot already consumed, so no lot is spent twice.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::emit_both;
use super::events::{CouponExpired, MileageExpired, MileageExpiring, StoreRef};
use crate::db::coupons::DAY_MS;
use crate::db::{Db, coupons, ledger};
use crate::events::channel;
use crate::time::rfc3339;

/// How long before a lot expires its holder is warned, in days.
pub const WARN_DAYS: i64 = 7;

/// What an expiry run reports.
#[derive(Debug, Default, Serialize)]
pub struct ExpirySummary {
    /// Lots whose remainder expired (each an `expiry` entry).
    pub lots_expired: u64,
    /// The points they held.
    pub points_expired: i64,
    /// `mileage.expiring` warnings sent.
    pub warned: u64,
    /// Coupons marked expired.
    pub coupons_expired: u64,
}

/// Runs expiry as of `now` (the app's clock).
pub async fn run(db: &Db, now: DateTime<Utc>) -> anyhow::Result<ExpirySummary> {
    let now = now.timestamp_millis();
    let mut summary = ExpirySummary::default();
    for lot in ledger::lots_expiring(db, i64::MIN, now, false).await? {
        let mut tx = db.begin().await?;
        let Some(expired) = ledger::expire_lot(&mut tx, lot.id, now).await? else {
            continue;
        };
        let event = MileageExpired {
            user_id: lot.user_id,
            store: StoreRef {
                id: lot.store_id,
                name: &lot.store_name,
            },
            points: expired.points,
            balance: expired.entry.balance_after,
            entry_id: expired.entry.id,
            lot_id: lot.id,
        };
        emit_both(&mut tx, lot.user_id, lot.store_id, &event).await?;
        tx.commit().await?;
        summary.lots_expired += 1;
        summary.points_expired += expired.points;
    }
    for lot in ledger::lots_expiring(db, now, now + WARN_DAYS * DAY_MS, true).await? {
        let mut tx = db.begin().await?;
        let Some(lot) = ledger::mark_notified(&mut tx, lot.id, now).await? else {
            continue;
        };
        let event = MileageExpiring {
            user_id: lot.user_id,
            store: StoreRef {
                id: lot.store_id,
                name: &lot.store_name,
            },
            points: lot.remaining,
            expires_at: rfc3339(lot.expires_at),
            entry_id: lot.id,
        };
        tx.emit(&channel::user(lot.user_id), &event).await?;
        tx.commit().await?;
        summary.warned += 1;
    }
    let mut tx = db.begin().await?;
    let expired = coupons::expire_due(&mut tx, now).await?;
    for coupon in &expired {
        let event = CouponExpired {
            user_id: coupon.user_id,
            coupon,
            store: StoreRef {
                id: coupon.store_id,
                name: &coupon.store_name,
            },
        };
        emit_both(&mut tx, coupon.user_id, coupon.store_id, &event).await?;
    }
    tx.commit().await?;
    summary.coupons_expired = expired.len() as u64;
    Ok(summary)
}
