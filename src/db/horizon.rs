//! PostgreSQL's publish horizon: the newest event id below which no id can still
//! commit, so that a reader never moves its cursor past an id that commits later
//! (DESIGN.md §2).
//!
//! Appends used to take one exclusive advisory lock held until commit, which made
//! every event-writing transaction commit (and wait for its WAL flush) one after
//! another: no group commit, a few hundred grants a second with fsync on. Now an
//! appending transaction takes that lock in *shared* mode before it takes its
//! first id, so appenders never wait for each other and PostgreSQL flushes their
//! commits together. The readers (the tailer, a resuming reader's backlog) stop
//! at the horizon instead:
//!
//! 1. read `H`, the newest id the sequence has handed out;
//! 2. then list the transactions holding the shared lock (`pg_locks`);
//! 3. `H` is safe once none of them holds it any more.
//!
//! Any transaction with an id at or below `H` took the lock before its id, and
//! its id before step 1, so at step 2 it has either finished (a lock is let go
//! only after the commit is visible) or is on the list. Transactions that start
//! later take ids above `H`. Unrelated long transactions never hold the horizon
//! back: only appenders take this lock, and only this database's (advisory locks
//! are per database, and `pg_locks` lists every database's: another pointcast
//! database on the same server must not hold this one's readers back).

use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::Context;
use sqlx::{AnyPool, Row};

/// Advisory lock key of event appends; appenders hold it shared until commit.
pub const APPEND_LOCK_KEY: i64 = 0x706f_696e_7463;

/// How `pg_locks` shows a `bigint` advisory key: high and low 32 bits, subid 1.
const LOCK_HIGH: i64 = APPEND_LOCK_KEY >> 32;
const LOCK_LOW: i64 = APPEND_LOCK_KEY & 0xffff_ffff;

/// The horizon and the candidate waiting to become it.
#[derive(Default)]
pub struct Horizon {
    safe: AtomicI64,
    /// `(H, holders)`: H becomes safe once none of `holders` holds the lock.
    pending: tokio::sync::Mutex<Option<(i64, String)>>,
}

impl Horizon {
    /// The newest id known safe to read up to.
    pub fn safe(&self) -> i64 {
        self.safe.load(Ordering::Acquire)
    }

    /// Whether a candidate is waiting for appenders to finish (the tailer then
    /// looks again soon rather than at its next tick).
    pub fn is_pending(&self) -> bool {
        self.pending.try_lock().map_or(true, |p| p.is_some())
    }

    /// Moves the horizon as far as it can now and returns it.
    pub async fn advance(&self, pool: &AnyPool) -> anyhow::Result<i64> {
        let mut pending = self.pending.lock().await;
        if let Some((h, holders)) = pending.as_ref() {
            let row = sqlx::query(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 \
                 AND granted AND virtualtransaction = ANY(string_to_array($3, ','))",
            )
            .bind(LOCK_HIGH)
            .bind(LOCK_LOW)
            .bind(holders.as_str())
            .fetch_one(pool)
            .await
            .context("checking the event appenders")?;
            if row.try_get::<i64, _>(0)? == 0 {
                self.safe.fetch_max(*h, Ordering::AcqRel);
                *pending = None;
            }
        }
        if pending.is_none() {
            // Step 1 strictly before step 2: two statements.
            let row = sqlx::query(
                "SELECT COALESCE(pg_sequence_last_value(\
                 pg_get_serial_sequence('events', 'id')::regclass), 0)",
            )
            .fetch_one(pool)
            .await
            .context("reading the event id sequence")?;
            let h: i64 = row.try_get(0)?;
            if h > self.safe() {
                let row = sqlx::query(
                    "SELECT COALESCE(string_agg(virtualtransaction, ','), '') FROM pg_locks \
                     WHERE locktype = 'advisory' \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 AND granted",
                )
                .bind(LOCK_HIGH)
                .bind(LOCK_LOW)
                .fetch_one(pool)
                .await
                .context("listing the event appenders")?;
                let holders: String = row.try_get(0)?;
                if holders.is_empty() {
                    self.safe.fetch_max(h, Ordering::AcqRel);
                } else {
                    *pending = Some((h, holders));
                }
            }
        }
        Ok(self.safe())
    }
}
