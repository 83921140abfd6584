//! Idempotency keys: a retried request returns the first answer and does nothing more.
//!
//! The key is claimed with `INSERT ... ON CONFLICT DO NOTHING` inside the same
//! transaction as the effect, and the answer is saved there too, so a key is either
//! unclaimed, or claimed together with its effect and its answer. A concurrent retry
//! waits on the key's row (PostgreSQL) or on the single writer (SQLite), then replays.

use anyhow::Context;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Tx, now_millis};

/// A client-chosen key, 1 to 128 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > 128 {
            return Err("Idempotency-Key must be 1 to 128 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key must be visible ASCII characters");
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What claiming a key found.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// First use: do the work, then [`save`] the answer in the same transaction.
    New,
    /// Used before with the same request: answer this again, change nothing.
    Replay { status: u16, body: String },
    /// Used before with a different request.
    Mismatch,
}

/// Hash of what makes two requests "the same" for a key.
pub fn request_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Claims `key` for (`scope`, `principal_id`) inside `tx`.
pub async fn claim(
    tx: &mut Tx,
    scope: &str,
    principal_id: i64,
    key: &IdempotencyKey,
    hash: &str,
) -> anyhow::Result<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (scope, principal_id, key, request_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(scope)
    .bind(principal_id)
    .bind(key.as_str())
    .bind(hash)
    .bind(now_millis())
    .execute(tx.conn())
    .await
    .context("claiming an idempotency key")?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let row = sqlx::query(
        "SELECT request_hash, status, body FROM idempotency
         WHERE scope = $1 AND principal_id = $2 AND key = $3",
    )
    .bind(scope)
    .bind(principal_id)
    .bind(key.as_str())
    .fetch_one(tx.conn())
    .await
    .context("reading an idempotency key")?;
    let stored_hash: String = row.try_get(0)?;
    if stored_hash != hash {
        return Ok(Claim::Mismatch);
    }
    let status: Option<i64> = row.try_get(1)?;
    let body: Option<String> = row.try_get(2)?;
    match (status, body) {
        (Some(s), Some(b)) => Ok(Claim::Replay {
            status: u16::try_from(s).unwrap_or(200),
            body: b,
        }),
        // The claim and its answer commit together, so a visible claim always has
        // an answer; anything else is a broken row.
        _ => anyhow::bail!("idempotency key {} has no saved answer", key.as_str()),
    }
}

/// Saves the answer for a key claimed as [`Claim::New`] in the same transaction.
pub async fn save(
    tx: &mut Tx,
    scope: &str,
    principal_id: i64,
    key: &IdempotencyKey,
    status: u16,
    body: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE idempotency SET status = $1, body = $2
         WHERE scope = $3 AND principal_id = $4 AND key = $5",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(scope)
    .bind(principal_id)
    .bind(key.as_str())
    .execute(tx.conn())
    .await
    .context("saving an idempotent answer")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_visible_ascii() {
        assert!(IdempotencyKey::parse("abc-123").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(129)).is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse("키").is_err());
    }

    #[test]
    fn request_hash_separates_parts() {
        assert_ne!(request_hash(&["ab", "c"]), request_hash(&["a", "bc"]));
        assert_eq!(request_hash(&["a", "b"]), request_hash(&["a", "b"]));
    }
}
