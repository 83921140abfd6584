//! API key rows (migration 0011): only the key's SHA-256 is stored; scopes and
//! store ids are comma-separated lists read back into [`KeyGrant`]. The rules of
//! what a key may do are in [`crate::auth::keys`].

use crate::db::sql;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use super::{Db, Tx};
use crate::auth::keys::{self, KeyGrant, Scope};
use crate::auth::{self, Principal, Role};
use crate::time::{now_millis, rfc3339};

/// `last_used_at` is written at most this often per key, so a busy point of sale
/// does not turn every request into a write.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// A key as the API lists it (never the secret).
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct KeyRow {
    pub id: i64,
    pub name: String,
    /// `grant`, `order`, `announce`, `publish`, `read`.
    pub scopes: Vec<String>,
    pub store_ids: Vec<i64>,
    pub created_by: i64,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

fn store_ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

macro_rules! key_columns {
    () => {
        "id, name, scopes, store_ids, created_by, created_at, last_used_at, revoked_at"
    };
}

fn row(r: &sql::Row) -> anyhow::Result<KeyRow> {
    let scopes: String = r.try_get(2)?;
    let stores: String = r.try_get(3)?;
    Ok(KeyRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        scopes: keys::parse_scopes(&scopes)
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        store_ids: store_ids(&stores),
        created_by: r.try_get(4)?,
        created_at: rfc3339(r.try_get(5)?),
        last_used_at: r.try_get::<Option<i64>, _>(6)?.map(rfc3339),
        revoked_at: r.try_get::<Option<i64>, _>(7)?.map(rfc3339),
    })
}

/// Stores a new key (by its hash) in `tx`; returns its row.
pub async fn insert(
    tx: &mut Tx,
    name: &str,
    secret: &str,
    scopes: &[Scope],
    stores: &[i64],
    created_by: i64,
    at: i64,
) -> anyhow::Result<KeyRow> {
    let r = sql::query(concat!(
        "INSERT INTO api_keys (name, key_hash, scopes, store_ids, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        key_columns!()
    ))
    .bind(name)
    .bind(auth::token_hash(secret))
    .bind(keys::join_scopes(scopes))
    .bind(join_ids(stores))
    .bind(created_by)
    .bind(at)
    .fetch_one(tx.conn())
    .await
    .context("storing an API key")?;
    row(&r)
}

/// Every key, newest first.
pub async fn all(db: &Db) -> anyhow::Result<Vec<KeyRow>> {
    let rows = sql::query(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys ORDER BY id DESC"
    ))
    .fetch_all(db.reader())
    .await
    .context("listing API keys")?;
    rows.iter().map(row).collect()
}

/// One key.
pub async fn get(db: &Db, id: i64) -> anyhow::Result<Option<KeyRow>> {
    let r = sql::query(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.reader())
    .await
    .context("reading an API key")?;
    r.as_ref().map(row).transpose()
}

/// Marks a key revoked at `at` in `tx` (a key already revoked keeps its time).
pub async fn revoke(tx: &mut Tx, id: i64, at: i64) -> anyhow::Result<()> {
    sql::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at)
        .execute(tx.conn())
        .await
        .context("revoking an API key")?;
    Ok(())
}

/// The principal a live (unrevoked) key resolves to; `None` for an unknown or
/// revoked key. Read from the database on every request, never cached.
pub async fn principal(db: &Db, secret: &str) -> anyhow::Result<Option<Principal>> {
    let r = sql::query(
        "SELECT k.id, k.name, k.scopes, k.store_ids, k.last_used_at, u.id, u.role,
                COALESCE(u.member_no, u.login, '')
         FROM api_keys k JOIN users u ON u.id = k.created_by
         WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
    )
    .bind(auth::token_hash(secret))
    .fetch_optional(db.reader())
    .await
    .context("looking up an API key")?;
    let Some(r) = r else { return Ok(None) };
    let scopes: String = r.try_get(2)?;
    let stores: String = r.try_get(3)?;
    let role: String = r.try_get(6)?;
    let grant = KeyGrant {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        scopes: keys::parse_scopes(&scopes),
        store_ids: store_ids(&stores),
        created_by_admin: Role::parse(&role) == Some(Role::Admin),
    };
    let now = now_millis();
    let last_used: Option<i64> = r.try_get(4)?;
    if last_used.is_none_or(|t| now - t >= LAST_USED_EVERY_MS) {
        touch(db, grant.id, now).await?;
    }
    Ok(Some(Principal {
        user_id: r.try_get(5)?,
        role: Role::Owner,
        name: grant.actor_name(),
        login: r.try_get(7)?,
        key: Some(Arc::new(grant)),
        expires_at: None,
    }))
}

async fn touch(db: &Db, id: i64, now: i64) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sql::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(tx.conn())
        .await
        .context("noting an API key's use")?;
    tx.commit().await
}
