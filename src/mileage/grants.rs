//! Granting mileage: a staff member credits a member's points at their store;
//! whatever reaches the store's threshold converts into coupons in the same
//! transaction (DESIGN.md §3), and the member and the store hear it at once.

use super::conversion::{self, Credit};
use super::model::{Granted, Person};
use super::{MileageError, Points, Reason};
use crate::auth::Principal;
use crate::db::coupons;
use crate::db::{Db, Tx, members};
use crate::idempotency::{self, IdempotencyKey, Outcome, Request, request_hash};

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
    /// The app's clock (Unix ms): when the points were earned, so when they expire.
    pub now: i64,
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
    let c = Credit {
        store_id: g.store_id,
        user_id: g.user_id,
        kind: "grant",
        points: g.points.get(),
        reason: g.reason.as_str(),
        actor_id: Some(g.by.user_id),
        order_id: None,
        at: g.now,
    };
    let credited = conversion::credit(tx, &store, &c).await?;
    let by = Person {
        id: g.by.user_id,
        name: g.by.name.clone(),
    };
    // Events last: on PostgreSQL the first append takes the log's lock.
    conversion::announce(tx, &store, &c, &credited, Some(by)).await?;
    Ok(Granted {
        coupons_issued: credited.coupons.len() as i64,
        entry: credited.entry,
        balance: credited.balance,
        balance_before_conversion: credited.balance_before_conversion,
        coupons: credited.coupons,
    })
}
