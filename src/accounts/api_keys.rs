//! Creating, listing and revoking API keys (see [`crate::auth::keys`] for what a
//! key may do once made).
//!
//! An admin makes keys for any stores; an owner only for stores they work at, and
//! sees and revokes only keys that act for their stores. A key never makes or
//! revokes keys. Creating and revoking are audit rows (`api_key_create`,
//! `api_key_revoke`), so who let a machine act is on the record.

use serde_json::json;
use thiserror::Error;

use crate::auth::keys::{self, Scope};
use crate::auth::{Principal, Role};
use crate::db::Db;
use crate::db::api_keys::{self as rows, KeyRow};
use crate::db::audit::{self, NewAudit};
use crate::time::now_millis;

/// Most stores one key may act for.
pub const MAX_KEY_STORES: usize = 100;

/// Why a key flow refused.
#[derive(Debug, Error)]
pub enum KeyError {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("scopes must list one or more of grant, order, announce, publish, read; got {0:?}")]
    Scopes(String),
    #[error("store_ids must list at most {MAX_KEY_STORES} stores")]
    TooManyStores,
    #[error("an owner's key must name at least one of the owner's stores")]
    NoStores,
    #[error("store {0} does not exist")]
    NoSuchStore(i64),
    /// An owner naming a store they do not work at, or revoking a key that also
    /// acts for other stores.
    #[error("owners manage keys for their own stores only")]
    NotYourStore,
    /// Customers and keys themselves.
    #[error("only admins and owners manage API keys")]
    NotStaff,
    #[error("api key")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A request to make a key, as parsed from the body.
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    pub store_ids: Vec<i64>,
}

/// The new key's row and its secret, shown this once.
pub struct Created {
    pub row: KeyRow,
    pub secret: String,
}

fn person_staff(by: &Principal) -> Result<(), KeyError> {
    if by.key.is_some() || !by.role.is_staff() {
        return Err(KeyError::NotStaff);
    }
    Ok(())
}

fn parse_scopes(raw: &[String]) -> Result<Vec<Scope>, KeyError> {
    let mut out = Vec::new();
    for s in raw {
        let scope =
            Scope::parse(s).ok_or_else(|| KeyError::Scopes(s.chars().take(40).collect()))?;
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    if out.is_empty() {
        return Err(KeyError::Scopes(String::new()));
    }
    out.sort();
    Ok(out)
}

/// Makes a key; the secret is in the answer only.
pub async fn create(db: &Db, by: &Principal, new: NewKey) -> Result<Created, KeyError> {
    person_staff(by)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(KeyError::Name);
    }
    let scopes = parse_scopes(&new.scopes)?;
    let mut stores = new.store_ids;
    stores.sort_unstable();
    stores.dedup();
    if stores.len() > MAX_KEY_STORES {
        return Err(KeyError::TooManyStores);
    }
    if by.role == Role::Owner && stores.is_empty() {
        return Err(KeyError::NoStores);
    }
    for &s in &stores {
        if !db.store_exists(s).await? {
            return Err(KeyError::NoSuchStore(s));
        }
        if !db.is_staff_of(by, s).await? {
            return Err(KeyError::NotYourStore);
        }
    }
    let secret = keys::new_key();
    let at = now_millis();
    let mut tx = db.begin().await?;
    let row = rows::insert(&mut tx, name, &secret, &scopes, &stores, by.user_id, at).await?;
    audit::append(
        &mut tx,
        &NewAudit {
            at,
            actor_id: by.user_id,
            actor_name: Some(&by.name),
            kind: "api_key_create",
            store_id: stores.first().copied(),
            target_type: "api_key",
            target_id: Some(row.id),
            before: json!(null),
            after: json!({ "name": row.name, "scopes": row.scopes, "store_ids": row.store_ids }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(key_id = row.id, by = by.user_id, scopes = ?row.scopes, stores = ?row.store_ids, "api key created");
    Ok(Created { row, secret })
}

/// The keys `by` may see: all for an admin; for an owner those acting for at least
/// one of their stores.
pub async fn list(db: &Db, by: &Principal) -> Result<Vec<KeyRow>, KeyError> {
    person_staff(by)?;
    let all = rows::all(db).await?;
    if by.is_admin() {
        return Ok(all);
    }
    let mine = db.staff_store_ids(by.user_id).await?;
    Ok(all
        .into_iter()
        .filter(|k| k.store_ids.iter().any(|s| mine.contains(s)))
        .collect())
}

/// Revokes a key: its next request is a 401. An owner may revoke only a key whose
/// stores are all theirs (one they cannot see is [`KeyError::NotFound`]).
pub async fn revoke(db: &Db, by: &Principal, id: i64) -> Result<(), KeyError> {
    person_staff(by)?;
    let key = rows::get(db, id).await?.ok_or(KeyError::NotFound)?;
    if !by.is_admin() {
        let mine = db.staff_store_ids(by.user_id).await?;
        if !key.store_ids.iter().any(|s| mine.contains(s)) {
            return Err(KeyError::NotFound);
        }
        if !key.store_ids.iter().all(|s| mine.contains(s)) {
            return Err(KeyError::NotYourStore);
        }
    }
    if key.revoked_at.is_some() {
        return Ok(());
    }
    let at = now_millis();
    let mut tx = db.begin().await?;
    rows::revoke(&mut tx, id, at).await?;
    audit::append(
        &mut tx,
        &NewAudit {
            at,
            actor_id: by.user_id,
            actor_name: Some(&by.name),
            kind: "api_key_revoke",
            store_id: key.store_ids.first().copied(),
            target_type: "api_key",
            target_id: Some(id),
            before: json!({ "name": key.name }),
            after: json!({ "revoked": true }),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(key_id = id, by = by.user_id, "api key revoked");
    Ok(())
}
