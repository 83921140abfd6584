//! The daily grant cap's counters: one row per (owner, store, local day) holding
//! what that owner granted there that day. A grant adds to it with one conditional
//! upsert, so concurrent grants queue on the row (PostgreSQL locks it, even when the
//! condition refuses; SQLite has one writer) and their total never passes the cap.

use crate::db::sql;
use anyhow::Context;

use super::Tx;

/// Counts `points` against `cap` for `actor_id` at `store_id` on `day`. `Ok(Ok(()))`
/// when they fit (and are now counted); `Ok(Err(left))` with what is left today when
/// they do not (nothing counted).
pub async fn count(
    tx: &mut Tx,
    actor_id: i64,
    store_id: i64,
    day: &str,
    points: i64,
    cap: i64,
) -> anyhow::Result<Result<(), i64>> {
    if points <= cap {
        let counted = sql::query(
            "INSERT INTO grant_days (actor_id, store_id, day, granted) VALUES ($1, $2, $3, $4)
             ON CONFLICT (actor_id, store_id, day) DO UPDATE
             SET granted = grant_days.granted + excluded.granted
             WHERE grant_days.granted + excluded.granted <= $5",
        )
        .bind(actor_id)
        .bind(store_id)
        .bind(day)
        .bind(points)
        .bind(cap)
        .execute(tx.conn())
        .await
        .context("counting a grant against the cap")?;
        // A row inserted or moved is one counted; the cap's `WHERE` leaves none.
        if counted.rows_affected() == 1 {
            return Ok(Ok(()));
        }
    }
    let granted: i64 = sql::query(
        "SELECT granted FROM grant_days WHERE actor_id = $1 AND store_id = $2 AND day = $3",
    )
    .bind(actor_id)
    .bind(store_id)
    .bind(day)
    .fetch_optional(tx.conn())
    .await
    .context("reading a grant counter")?
    .map(|r| r.try_get(0))
    .transpose()?
    .unwrap_or(0);
    Ok(Err((cap - granted).max(0)))
}
