//! Idempotency keys as rows: claimed with `INSERT ... ON CONFLICT DO NOTHING`
//! inside the transaction of the effect, the answer saved in that same transaction.
//! A concurrent retry waits on the key's row (PostgreSQL) or on the single writer
//! (SQLite), then finds the saved answer. The flow around these two calls is
//! [`crate::idempotency::once`].

use crate::db::sql;
use anyhow::Context;

use super::Tx;
use crate::time::now_millis;

/// What claiming a key found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// First use: do the work, then [`save`] the answer in the same transaction.
    New,
    /// Used before with the same request: this saved answer (JSON text) again.
    Replay(String),
    /// Used before with a different request.
    Mismatch,
}

/// The `status` column written beside each answer. Release 0.1 stored the HTTP
/// status there; answers no longer carry one (the route chooses it), but the
/// column is `NOT NULL` in spirit for rows that have an answer, so it keeps the
/// value every saved answer had: 201.
const SAVED: i64 = 201;

/// Claims `key` for (`scope`, `principal_id`) inside `tx`.
pub async fn claim(
    tx: &mut Tx,
    scope: &str,
    principal_id: i64,
    key: &str,
    hash: &str,
) -> anyhow::Result<Claim> {
    let inserted = sql::query(
        "INSERT INTO idempotency (scope, principal_id, key, request_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(scope)
    .bind(principal_id)
    .bind(key)
    .bind(hash)
    .bind(now_millis())
    .execute(tx.conn())
    .await
    .context("claiming an idempotency key")?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let row = sql::query(
        "SELECT request_hash, body FROM idempotency
         WHERE scope = $1 AND principal_id = $2 AND key = $3",
    )
    .bind(scope)
    .bind(principal_id)
    .bind(key)
    .fetch_one(tx.conn())
    .await
    .context("reading an idempotency key")?;
    let stored_hash: String = row.try_get(0)?;
    if stored_hash != hash {
        return Ok(Claim::Mismatch);
    }
    match row.try_get::<Option<String>, _>(1)? {
        Some(body) => Ok(Claim::Replay(body)),
        // The claim and its answer commit together, so a visible claim always has
        // an answer; anything else is a broken row.
        None => anyhow::bail!("idempotency key {key} has no saved answer"),
    }
}

/// Saves the answer for a key claimed as [`Claim::New`] in the same transaction.
pub async fn save(
    tx: &mut Tx,
    scope: &str,
    principal_id: i64,
    key: &str,
    body: &str,
) -> anyhow::Result<()> {
    sql::query(
        "UPDATE idempotency SET status = $1, body = $2
         WHERE scope = $3 AND principal_id = $4 AND key = $5",
    )
    .bind(SAVED)
    .bind(body)
    .bind(scope)
    .bind(principal_id)
    .bind(key)
    .execute(tx.conn())
    .await
    .context("saving an idempotent answer")?;
    Ok(())
}
