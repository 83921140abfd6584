//! Granting mileage: a staff member credits a member's points at their store;
//! whatever reaches the store's threshold converts into coupons in the same
//! transaction (DESIGN.md §3), and the member and the store hear it at once.
//!
//! Every grant names a [`ReasonCode`]. An owner's grants at one store are capped per
//! calendar day in the store's time zone (`daily_grant_cap`; admins are not capped).
//! A `correction` may take points back (negative `points`), never below zero. Each
//! grant or correction writes its audit row in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::conversion::{self, Credit};
use super::events::{MileageGranted, StoreRef};
use super::model::{Granted, Person};
use super::{MileageError, Reason, ReasonCode, emit_both};
use crate::auth::Principal;
use crate::db::audit::{self, NewAudit};
use crate::db::ledger::{self, Posting};
use crate::db::{Db, Tx, coupons, grant_days};
use crate::idempotency::{self, IdempotencyKey, Outcome, Request, request_hash};

/// Idempotency scope of grants.
pub const GRANT_SCOPE: &str = "grant";

/// A validated grant request.
pub struct Grant<'a> {
    pub store_id: i64,
    pub user_id: i64,
    /// Positive; negative only for a correction (see [`super::grant_points`]).
    pub points: i64,
    pub reason: &'a Reason,
    pub code: ReasonCode,
    pub by: &'a Principal,
    pub key: &'a IdempotencyKey,
    /// The app clock's now: which local day the cap counts on.
    pub now: DateTime<Utc>,
}

impl Grant<'_> {
    /// What makes a retry "the same request" for its key.
    fn request_hash(&self) -> String {
        request_hash(&[
            &self.store_id.to_string(),
            &self.user_id.to_string(),
            &self.points.to_string(),
            self.reason.as_str(),
            self.code.as_str(),
        ])
    }
}

/// The calendar day of `now` in the IANA zone `tz` (UTC if the name is unknown).
pub fn local_day(now: DateTime<Utc>, tz: &str) -> String {
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Tz::UTC);
    now.with_timezone(&tz).date_naive().to_string()
}

/// Credits a grant (or takes back a correction) and converts whatever reaches the
/// threshold, in one transaction with its ledger entries, coupons, events, audit
/// row and saved answer. The caller has checked that `g.by` is staff of the store.
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
    // The member as the log names them, read with the membership check.
    let mut member = None;
    let result = idempotency::once(db, req, async |tx: &mut Tx| {
        credit(tx, g, &mut member).await
    })
    .await;
    log(db, g, member, &result).await;
    result
}

/// The operator's line for a grant or correction (not for a replayed retry).
///
/// `member` is who the grant's transaction found; only a grant refused before
/// that (not a member, no such store) costs a read here.
async fn log(
    db: &Db,
    g: &Grant<'_>,
    member: Option<crate::oplog::Who>,
    result: &Result<Outcome<Granted>, MileageError>,
) {
    if matches!(result, Ok(o) if o.replayed) || !crate::oplog::enabled() {
        return;
    }
    let action = if g.points < 0 { "correction" } else { "grant" };
    let staff_login = &g.by.login;
    let member = match member {
        Some(m) => m,
        None => crate::oplog::who(db, g.user_id).await,
    };
    match result {
        Ok(o) => tracing::info!(
            target: "pointcast::action",
            action,
            staff = %g.by.name,
            staff_login = %staff_login,
            member = %member.name,
            member_no = %member.login,
            store_id = g.store_id,
            points = g.points,
            reason_code = g.code.as_str(),
            balance = o.answer.balance,
            coupons_issued = o.answer.coupons_issued,
            outcome = "ok",
            "{action}"
        ),
        Err(e) => tracing::info!(
            target: "pointcast::action",
            action,
            staff = %g.by.name,
            staff_login = %staff_login,
            member = %member.name,
            member_no = %member.login,
            store_id = g.store_id,
            points = g.points,
            outcome = "refused",
            error = %e,
            "{action} refused"
        ),
    }
}

/// The grant's work inside its transaction.
/// `member` gets the member's name and number for the log once read.
async fn credit(
    tx: &mut Tx,
    g: &Grant<'_>,
    member: &mut Option<crate::oplog::Who>,
) -> Result<Granted, MileageError> {
    let found = coupons::granting_store(tx, g.store_id, g.user_id)
        .await?
        .ok_or(MileageError::NoSuchStore)?;
    let store = found.store;
    let Some((name, login)) = found.member else {
        return Err(MileageError::NotAMember);
    };
    *member = Some(crate::oplog::Who { name, login });
    let by = Person {
        id: g.by.user_id,
        name: g.by.name.clone(),
    };
    // The app clock: when the points were earned (so when they expire).
    let at = g.now.timestamp_millis();
    if g.points < 0 {
        return correct(tx, g, &store, by, at).await;
    }
    if !g.by.is_admin() {
        let day = local_day(g.now, &found.time_zone);
        if let Err(left) = grant_days::count(
            tx,
            g.by.user_id,
            g.store_id,
            &day,
            g.points,
            found.daily_grant_cap,
        )
        .await?
        {
            return Err(MileageError::CapExceeded { left });
        }
    }
    let c = Credit {
        store_id: g.store_id,
        user_id: g.user_id,
        kind: "grant",
        points: g.points,
        reason: g.reason.as_str(),
        actor_id: Some(g.by.user_id),
        order_id: None,
        at,
        reason_code: Some(g.code.as_str()),
        api_key_id: g.by.key_id(),
    };
    let credited = conversion::credit(tx, &store, &c).await?;
    audit::append(
        tx,
        &NewAudit {
            at,
            actor_id: by.id,
            actor_name: Some(&by.name),
            kind: if g.code == ReasonCode::Correction {
                "correction"
            } else {
                "grant"
            },
            store_id: Some(g.store_id),
            target_type: "user",
            target_id: Some(g.user_id),
            before: json!({ "balance": credited.entry.balance_after - g.points }),
            after: json!({
                "balance": credited.balance,
                "points": g.points,
                "reason_code": g.code.as_str(),
                "reason": g.reason.as_str(),
                "entry_id": credited.entry.id,
                "coupons_issued": credited.coupons.len(),
            }),
        },
    )
    .await?;
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

/// A correction that takes points back: an `adjustment` entry, never below zero.
async fn correct(
    tx: &mut Tx,
    g: &Grant<'_>,
    store: &coupons::IssuingStore,
    by: Person,
    at: i64,
) -> Result<Granted, MileageError> {
    let balance = ledger::locked_balance(tx, g.store_id, g.user_id).await?;
    if balance + g.points < 0 {
        return Err(MileageError::CorrectionBelowZero { balance });
    }
    let entry = ledger::post(
        tx,
        &Posting {
            store_id: g.store_id,
            user_id: g.user_id,
            kind: "adjustment",
            points: g.points,
            reason: g.reason.as_str(),
            actor_id: Some(g.by.user_id),
            order_id: None,
            at,
            reason_code: Some(ReasonCode::Correction.as_str()),
            api_key_id: g.by.key_id(),
        },
    )
    .await?;
    audit::append(
        tx,
        &NewAudit {
            at,
            actor_id: by.id,
            actor_name: Some(&by.name),
            kind: "correction",
            store_id: Some(g.store_id),
            target_type: "user",
            target_id: Some(g.user_id),
            before: json!({ "balance": balance }),
            after: json!({
                "balance": entry.balance_after,
                "points": g.points,
                "reason_code": "correction",
                "reason": g.reason.as_str(),
                "entry_id": entry.id,
            }),
        },
    )
    .await?;
    let event = MileageGranted {
        user_id: g.user_id,
        store: StoreRef {
            id: g.store_id,
            name: &store.name,
        },
        points: g.points,
        balance_before_conversion: entry.balance_after,
        balance: entry.balance_after,
        coupons_issued: 0,
        reason: g.reason.as_str(),
        reason_code: Some(ReasonCode::Correction.as_str()),
        granted_by: Some(by),
        entry_id: entry.id,
        order_id: None,
    };
    emit_both(tx, g.user_id, g.store_id, &event).await?;
    Ok(Granted {
        balance: entry.balance_after,
        balance_before_conversion: entry.balance_after,
        entry,
        coupons_issued: 0,
        coupons: Vec::new(),
    })
}
