//! The store flows: create a store, change it, find one, list them (optionally
//! nearest first). Who may do each is the route's decision; these apply the rules
//! and keep the rows consistent.

use super::{Nearby, NewStore, StoreError, StorePatch, nearest_first};
use crate::auth::Role;
use crate::db::Db;
use crate::db::audit::{self, NewAudit};
use crate::db::stores::{self as sql, Store};
use crate::mileage::model::Person;
use crate::time::now_millis;

/// Creates a store. Its owner, if named, must be a user with the owner role, and
/// becomes the store's staff in the same transaction. It starts in `time_zone` (the
/// server's configured zone).
pub async fn create(db: &Db, new: &NewStore, time_zone: &str) -> Result<Store, StoreError> {
    if let Some(owner) = new.owner_id {
        match db.user_role(owner).await?.as_deref() {
            Some(r) if r == Role::Owner.as_str() => {}
            Some(_) => return Err(StoreError::OwnerNotAnOwner),
            None => return Err(StoreError::NoSuchOwner),
        }
    }
    let mut tx = db.begin().await?;
    let mut store = sql::insert_store(&mut tx, new).await?;
    if store.time_zone != time_zone {
        store.time_zone = time_zone.to_string();
        sql::save_store(&mut tx, &store).await?;
    }
    tx.commit().await?;
    Ok(store)
}

/// Applies a validated patch. Reads and writes in one transaction, so the fields
/// the patch does not name keep their current values.
///
/// A change of the loyalty policy (threshold, earning, coupon value, time zone,
/// daily grant cap) writes a `store_policy` audit row in the same transaction.
pub async fn update(
    db: &Db,
    id: i64,
    patch: &StorePatch,
    by: &Person,
) -> Result<Store, StoreError> {
    let mut tx = db.begin().await?;
    let mut store = sql::store_by_id(tx.conn(), id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let before = policy_of(&store);
    patch.apply(&mut store);
    sql::save_store(&mut tx, &store).await?;
    let after = policy_of(&store);
    if after != before {
        audit::append(
            &mut tx,
            &NewAudit {
                at: now_millis(),
                actor_id: by.id,
                actor_name: Some(&by.name),
                kind: "store_policy",
                store_id: Some(id),
                target_type: "store",
                target_id: Some(id),
                before,
                after,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(store)
}

/// One store.
pub async fn get(db: &Db, id: i64) -> Result<Store, StoreError> {
    db.store(id).await?.ok_or(StoreError::NotFound)
}

/// Every store, by id.
pub async fn list(db: &Db) -> Result<Vec<Store>, StoreError> {
    Ok(sql::all_stores(db.reader()).await?)
}

/// Every store, nearest to `here` first, with its distance.
pub async fn near(db: &Db, here: (f64, f64)) -> Result<Vec<Nearby>, StoreError> {
    Ok(nearest_first(list(db).await?, here))
}

/// The policy fields the audit trail records before and after a change.
fn policy_of(s: &Store) -> serde_json::Value {
    serde_json::json!({
        "coupon_threshold": s.coupon_threshold,
        "earn_percent": s.earn_percent,
        "coupon_value": s.coupon_value,
        "time_zone": s.time_zone,
        "daily_grant_cap": s.daily_grant_cap,
    })
}
