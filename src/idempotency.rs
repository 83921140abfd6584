//! Idempotent flows: a retried request gets the first answer and changes nothing.
//!
//! Every idempotent flow (a grant, an order, a return) goes through [`once`]: it
//! begins the transaction, claims the key, runs the flow's work in that transaction,
//! saves the flow's typed answer beside the key and commits, so a key is either
//! unclaimed or claimed together with its effect and its answer. A retry with the
//! same request deserialises the saved answer and touches nothing else; the same key
//! with another request is refused. The rows live in [`crate::db::idempotency`];
//! the status code is the route's business, not stored here.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::db::idempotency::{self as rows, Claim};
use crate::db::{Db, Tx};

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

/// Hash of what makes two requests "the same" for a key.
pub fn request_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Who claims a key for what: keys are scoped per operation and per caller, so two
/// callers (or one caller's grant and order) never collide.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The operation: `grant`, `order`, `return`.
    pub scope: &'static str,
    /// The caller the key belongs to.
    pub principal_id: i64,
    pub key: &'a IdempotencyKey,
    /// [`request_hash`] of the fields that make a retry "the same request".
    pub hash: &'a str,
}

/// A flow's answer, and whether it is the replay of an earlier one.
#[derive(Debug)]
pub struct Outcome<T> {
    pub answer: T,
    /// True when a retry got the first answer again (nothing changed this time).
    pub replayed: bool,
}

/// The key was used before with a different request.
#[derive(Debug, Error)]
#[error("this Idempotency-Key was used with a different request")]
pub struct KeyReused;

/// Runs `work` once per key: in one transaction, claims the key, runs `work`, saves
/// its answer and commits. A refusal (`work` returning an error) rolls everything
/// back, the claim included, so a corrected retry with the same key may succeed.
///
/// `work` appends its events itself; the answer is saved after them, inside the
/// same transaction, so nothing is visible until the commit.
pub async fn once<T, E>(
    db: &Db,
    req: Request<'_>,
    work: impl AsyncFnOnce(&mut Tx) -> Result<T, E>,
) -> Result<Outcome<T>, E>
where
    T: Serialize + DeserializeOwned,
    E: From<anyhow::Error> + From<KeyReused>,
{
    let mut tx = db.begin().await?;
    match rows::claim(
        &mut tx,
        req.scope,
        req.principal_id,
        req.key.as_str(),
        req.hash,
    )
    .await?
    {
        // Dropping the transaction rolls back; nothing was written.
        Claim::Replay(body) => {
            let answer = serde_json::from_str(&body).map_err(anyhow::Error::from)?;
            return Ok(Outcome {
                answer,
                replayed: true,
            });
        }
        Claim::Mismatch => return Err(KeyReused.into()),
        Claim::New => {}
    }
    let answer = work(&mut tx).await?;
    let body = serde_json::to_string(&answer).map_err(anyhow::Error::from)?;
    rows::save(
        &mut tx,
        req.scope,
        req.principal_id,
        req.key.as_str(),
        &body,
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome {
        answer,
        replayed: false,
    })
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
