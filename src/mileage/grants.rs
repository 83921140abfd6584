//! Granting mileage: a staff member credits a member's points at their store;
//! whatever reaches the store's threshold converts into coupons in the same
//! transaction (DESIGN.md §3), and the member and the store hear it at once.

use super::events::{CouponIssued, MileageGranted, StoreRef};
use super::model::{Granted, Person};
use super::{MAX_COUPONS_PER_GRANT, MileageError, Points, Reason, convert, emit_both};
use crate::auth::Principal;
use crate::db::coupons::{self, IssuingStore};
use crate::db::ledger::{self, Posting};
use crate::db::{Db, Tx, members};
use crate::idempotency::{self, IdempotencyKey, Outcome, Request, request_hash};
use crate::time::now_millis;

/// Idempotency scope of grants.
pub const GRANT_SCOPE: &str = "grant";

/// A validated grant request.
pub struct Grant<'a> {
    pub store_id: i64,
    pub user_id: i64,
    pub points: Points,
    pub reason: &'a Reason,
    pub by: &'a Principal,
    pub key: &'a IdempotencyKey,
}

impl Grant<'_> {
    /// What makes a retry "the same request" for its key.
    fn request_hash(&self) -> String {
        request_hash(&[
            &self.store_id.to_string(),
            &self.user_id.to_string(),
            &self.points.get().to_string(),
            self.reason.as_str(),
        ])
    }
}

/// Credits a grant and converts whatever reaches the threshold, in one transaction
/// with its ledger entries, coupons, events and saved answer. The caller has
/// checked that `g.by` is staff of the store.
///
/// A retry with the same key and request returns the first answer and changes
/// nothing; the same key with another request is [`MileageError::KeyReused`].
pub async fn grant(db: &Db, g: &Grant<'_>) -> Result<Outcome<Granted>, MileageError> {
    let hash = g.request_hash();
    let req = Request {
        scope: GRANT_SCOPE,
        principal_id: g.by.user_id,
        key: g.key,
        hash: &hash,
    };
    idempotency::once(db, req, async |tx: &mut Tx| credit(tx, g).await).await
}

/// The grant's work inside its transaction.
async fn credit(tx: &mut Tx, g: &Grant<'_>) -> Result<Granted, MileageError> {
    let store = coupons::issuing_store(tx, g.store_id)
        .await?
        .ok_or(MileageError::NoSuchStore)?;
    if !members::is_member(tx, g.store_id, g.user_id).await? {
        return Err(MileageError::NotAMember);
    }
    let now = now_millis();
    let points = g.points.get();
    let entry = ledger::post(
        tx,
        &Posting {
            store_id: g.store_id,
            user_id: g.user_id,
            kind: "grant",
            points,
            reason: g.reason.as_str(),
            actor_id: g.by.user_id,
            at: now,
        },
    )
    .await?;
    let before_conversion = entry.balance_after;
    let (count, remaining) = convert(before_conversion, store.threshold);
    if count > MAX_COUPONS_PER_GRANT {
        return Err(MileageError::TooManyCoupons);
    }
    let mut balance = before_conversion;
    let mut issued = Vec::new();
    let mut conversion_id = None;
    if count > 0 {
        let conversion = ledger::post(
            tx,
            &Posting {
                store_id: g.store_id,
                user_id: g.user_id,
                kind: "conversion",
                points: -(count * store.threshold),
                reason: &format!("{count} coupon(s) at {} points each", store.threshold),
                actor_id: g.by.user_id,
                at: now,
            },
        )
        .await?;
        balance = conversion.balance_after;
        if balance != remaining {
            return Err(anyhow::anyhow!(
                "balance {balance} after conversion, expected {remaining}"
            )
            .into());
        }
        conversion_id = Some(conversion.id);
        for _ in 0..count {
            issued
                .push(coupons::issue(tx, g.store_id, &store, g.user_id, conversion.id, now).await?);
        }
    }
    let granted = Granted {
        entry,
        balance,
        balance_before_conversion: before_conversion,
        coupons_issued: count,
        coupons: issued,
    };
    // Events last: on PostgreSQL the first append takes the log's lock.
    announce(tx, g, &store, &granted, conversion_id).await?;
    Ok(granted)
}

/// `mileage.granted`, then one `coupon.issued` per coupon, to the member and the store.
async fn announce(
    tx: &mut Tx,
    g: &Grant<'_>,
    store: &IssuingStore,
    granted: &Granted,
    conversion_id: Option<i64>,
) -> anyhow::Result<()> {
    let store_ref = StoreRef {
        id: g.store_id,
        name: &store.name,
    };
    let event = MileageGranted {
        user_id: g.user_id,
        store: store_ref.clone(),
        points: g.points.get(),
        balance_before_conversion: granted.balance_before_conversion,
        balance: granted.balance,
        coupons_issued: granted.coupons_issued,
        reason: g.reason.as_str(),
        granted_by: Person {
            id: g.by.user_id,
            name: g.by.name.clone(),
        },
        entry_id: granted.entry.id,
    };
    emit_both(tx, g.user_id, g.store_id, &event).await?;
    for c in &granted.coupons {
        let event = CouponIssued {
            user_id: g.user_id,
            coupon: c,
            store: store_ref.clone(),
            design: &c.design,
            balance: granted.balance,
            conversion_entry_id: conversion_id,
        };
        emit_both(tx, g.user_id, g.store_id, &event).await?;
    }
    Ok(())
}
