//! Stream tickets: single-use stand-ins for a session token in an event URL.
//!
//! Only a ticket's SHA-256 is stored, with the session it stands for; using one
//! deletes it in the same statement, so it opens one stream or poll, once, on any
//! instance. Expired ones are swept whenever a new one is made.

use crate::db::sql;
use anyhow::Context;

use super::Tx;
use crate::auth;

/// Stores `ticket` for the session whose token hash is `session_hash`, valid until
/// `expires_at` (Unix millis); first drops tickets that expired before `now`.
pub async fn insert_ticket(
    tx: &mut Tx,
    ticket: &str,
    session_hash: &str,
    now: i64,
    expires_at: i64,
) -> anyhow::Result<()> {
    sql::query("DELETE FROM stream_tickets WHERE expires_at <= $1")
        .bind(now)
        .execute(tx.conn())
        .await
        .context("sweeping expired stream tickets")?;
    sql::query(
        "INSERT INTO stream_tickets (ticket_hash, session_hash, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(auth::token_hash(ticket))
    .bind(session_hash)
    .bind(expires_at)
    .execute(tx.conn())
    .await
    .context("storing a stream ticket")?;
    Ok(())
}

/// Uses `ticket` up: the session hash it stood for if it existed and had not
/// expired at `now`; `None` otherwise (unknown, used, or expired: all alike).
pub async fn redeem_ticket(tx: &mut Tx, ticket: &str, now: i64) -> anyhow::Result<Option<String>> {
    sql::query_scalar(
        "DELETE FROM stream_tickets WHERE ticket_hash = $1 AND expires_at > $2 RETURNING session_hash",
    )
    .bind(auth::token_hash(ticket))
    .bind(now)
    .fetch_optional(tx.conn())
    .await
    .context("using a stream ticket")
}
