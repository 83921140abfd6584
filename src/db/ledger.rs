//! The mileage ledger: the one place where balances move.
//!
//! Every change to `mileage_balances` goes through [`post`], which writes the
//! `mileage_entries` row that explains it in the same call and reads the new balance
//! back under the row's write lock (`RETURNING balance` on PostgreSQL, which holds
//! the row lock until commit; a read of the row after the write on SQLite, which has
//! a single writer: [`sql::Query::fetch_written`]). So a
//! balance equals the sum of its entries by construction, concurrent postings to one
//! member queue on that row, and each entry's `balance_after` is exact.
//!
//! Earning entries (`grant`, `purchase`) are lots: each keeps `remaining`, the part
//! not yet spent, and `expires_at` (the store's `points_valid_days` after it was
//! earned; `NULL` never). Every debit [`post`] writes consumes lots
//! oldest-expiry-first (first in, first out) under the balance row's lock, so no
//! lot is spent twice; [`expire_lot`] writes the `expiry` entry for what is left of
//! one expired lot.

use crate::db::sql;
use anyhow::{Context, anyhow};

use super::{Db, Tx};
use crate::mileage::model::{Balance, Entry, Expiring, Page};
use crate::time::rfc3339;

macro_rules! entry_columns {
    () => {
        "id, store_id, user_id, kind, points, balance_after, reason, actor_id, created_at, order_id, expires_at, remaining, \
         reason_code, api_key_id"
    };
}

/// An entry from a row whose first columns are those of `entry_columns!()`, in order
/// (the history reads more columns after them).
pub(super) fn entry_from_row(r: &sql::Row) -> anyhow::Result<Entry> {
    Ok(Entry {
        id: r.try_get(0)?,
        store_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        points: r.try_get(4)?,
        balance_after: r.try_get(5)?,
        reason: r.try_get(6)?,
        actor_id: r.try_get(7)?,
        created_at: rfc3339(r.try_get(8)?),
        order_id: r.try_get(9)?,
        expires_at: r.try_get::<Option<i64>, _>(10)?.map(rfc3339),
        remaining: r.try_get(11)?,
        reason_code: r.try_get(12)?,
        api_key_id: r.try_get(13)?,
    })
}

/// A balance change to post: its entry's fields.
pub struct Posting<'a> {
    pub store_id: i64,
    pub user_id: i64,
    /// `grant`, `conversion`, `adjustment`, `purchase`, `reversal`, `revocation`
    /// (`expiry` is written by [`expire_lot`] only).
    pub kind: &'a str,
    /// Signed: credits are positive, debits negative.
    pub points: i64,
    pub reason: &'a str,
    /// Who did it; `None` for what a purchase or a return did by itself.
    pub actor_id: Option<i64>,
    pub order_id: Option<i64>,
    pub at: i64,
    /// A staff grant's or correction's reason code.
    pub reason_code: Option<&'a str>,
    /// The API key that acted for `actor_id`, if a machine did it.
    pub api_key_id: Option<i64>,
}

/// Whether entries of `kind` are lots that can expire.
fn is_earning(kind: &str) -> bool {
    matches!(kind, "grant" | "purchase")
}

/// Moves a balance by `p.points` and appends the entry that explains it, with the
/// balance after it. A credit creates the balance row if it is missing; a debit
/// needs an existing row. A debit may take a balance below zero (a return whose
/// points were already spent): later credits pay that back first.
///
/// An earning credit becomes a lot worth what of it the balance holds (all of it,
/// unless it paid back a balance below zero), expiring after the store's
/// `points_valid_days`; a debit consumes lots oldest-expiry-first, as far as they go.
pub async fn post(tx: &mut Tx, p: &Posting<'_>) -> anyhow::Result<Entry> {
    let balance_after = move_balance(tx, p).await?;
    if p.points < 0 {
        consume(tx, p.store_id, p.user_id, -p.points).await?;
    }
    let remaining = if is_earning(p.kind) && p.points > 0 {
        p.points.min(balance_after.max(0))
    } else {
        0
    };
    insert_entry(tx, p, balance_after, remaining).await
}

/// Takes `amount` points off the member's lots, oldest expiry first (lots that
/// never expire last), as far as they go. Call it with the balance row locked.
async fn consume(tx: &mut Tx, store_id: i64, user_id: i64, amount: i64) -> anyhow::Result<()> {
    let mut left = amount;
    while left > 0 {
        let Some(lot) = sql::query(
            "SELECT id, remaining FROM mileage_entries
             WHERE store_id = $1 AND user_id = $2 AND remaining > 0
             ORDER BY (expires_at IS NULL), expires_at, id LIMIT 1",
        )
        .bind(store_id)
        .bind(user_id)
        .fetch_optional(tx.conn())
        .await
        .context("finding the oldest lot")?
        else {
            break;
        };
        let (id, remaining): (i64, i64) = (lot.try_get(0)?, lot.try_get(1)?);
        let take = left.min(remaining);
        let done = sql::query(
            "UPDATE mileage_entries SET remaining = remaining - $1
             WHERE id = $2 AND remaining >= $1",
        )
        .bind(take)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("consuming a lot")?
        .rows_affected();
        anyhow::ensure!(done == 1, "lot {id} changed under the balance's lock");
        left -= take;
    }
    Ok(())
}

/// What is left of entry `id`'s lot now.
pub async fn remaining(tx: &mut Tx, id: i64) -> anyhow::Result<i64> {
    sql::query("SELECT remaining FROM mileage_entries WHERE id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await
        .context("reading a lot")?
        .try_get(0)
}

/// What [`expire_lot`] did.
pub struct Expired {
    pub entry: Entry,
    /// The points that expired.
    pub points: i64,
}

/// Expires what is left of lot `lot_id` if its `expires_at` is at or before `now`:
/// takes the member's balance row first, then empties the lot with a conditional
/// update and posts one `expiry` entry for what it held. `None` if the lot is
/// spent, not expired, or was expired already (by a concurrent run).
pub async fn expire_lot(tx: &mut Tx, lot_id: i64, now: i64) -> anyhow::Result<Option<Expired>> {
    let Some(lot) = sql::query("SELECT store_id, user_id FROM mileage_entries WHERE id = $1")
        .bind(lot_id)
        .fetch_optional(tx.conn())
        .await
        .context("reading a lot")?
    else {
        return Ok(None);
    };
    let (store_id, user_id): (i64, i64) = (lot.try_get(0)?, lot.try_get(1)?);
    locked_balance(tx, store_id, user_id).await?;
    let points: i64 = sql::query(
        "SELECT remaining FROM mileage_entries
         WHERE id = $1 AND expires_at IS NOT NULL AND expires_at <= $2",
    )
    .bind(lot_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await
    .context("reading a lot")?
    .map(|r| r.try_get(0))
    .transpose()?
    .unwrap_or(0);
    if points <= 0 {
        return Ok(None);
    }
    let done =
        sql::query("UPDATE mileage_entries SET remaining = 0 WHERE id = $1 AND remaining = $2")
            .bind(lot_id)
            .bind(points)
            .execute(tx.conn())
            .await
            .context("expiring a lot")?
            .rows_affected();
    if done != 1 {
        return Ok(None);
    }
    let p = Posting {
        store_id,
        user_id,
        kind: "expiry",
        points: -points,
        reason: &format!("points earned in entry {lot_id} expired"),
        actor_id: None,
        order_id: None,
        at: now,
        reason_code: None,
        api_key_id: None,
    };
    let balance_after = move_balance(tx, &p).await?;
    let entry = insert_entry(tx, &p, balance_after, 0).await?;
    set_source(tx, entry.id, lot_id).await?;
    Ok(Some(Expired { entry, points }))
}

/// Records which entry `entry_id` came from: a conversion's credit, an expiry's
/// lot. Histories read it to explain the entry.
pub async fn set_source(tx: &mut Tx, entry_id: i64, source_id: i64) -> anyhow::Result<()> {
    sql::query("UPDATE mileage_entries SET source_id = $1 WHERE id = $2")
        .bind(source_id)
        .bind(entry_id)
        .execute(tx.conn())
        .await
        .context("linking an entry to its source")?;
    Ok(())
}

/// How SQLite reads back a balance row just written (see [`sql::Query::fetch_written`]):
/// by its key, the writing statement's `$1` and `$2`.
const BALANCE_OF_MEMBER: &str =
    "SELECT balance FROM mileage_balances WHERE store_id = $1 AND user_id = $2";

/// Moves the balance row by `p.points` under its lock; answers the balance after.
async fn move_balance(tx: &mut Tx, p: &Posting<'_>) -> anyhow::Result<i64> {
    Ok(if p.points >= 0 {
        sql::query(
            "INSERT INTO mileage_balances (store_id, user_id, balance, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, user_id) DO UPDATE
             SET balance = mileage_balances.balance + excluded.balance,
                 updated_at = excluded.updated_at",
        )
        .bind(p.store_id)
        .bind(p.user_id)
        .bind(p.points)
        .bind(p.at)
        .fetch_written(tx.conn(), "balance", BALANCE_OF_MEMBER)
        .await
        .context("crediting a balance")?
        .ok_or_else(|| anyhow!("crediting a balance wrote no row"))?
        .try_get(0)?
    } else {
        // Not an upsert: a debit moves an existing balance (a member's row is
        // opened when they join), and must never invent one.
        sql::query(
            "UPDATE mileage_balances SET balance = balance + $3, updated_at = $4
             WHERE store_id = $1 AND user_id = $2",
        )
        .bind(p.store_id)
        .bind(p.user_id)
        .bind(p.points)
        .bind(p.at)
        .fetch_written(tx.conn(), "balance", BALANCE_OF_MEMBER)
        .await
        .context("debiting a balance")?
        .ok_or_else(|| anyhow!("debiting a balance found no row"))?
        .try_get(0)?
    })
}

/// Appends the entry; an earning one is a lot holding `remaining`, expiring after
/// its store's `points_valid_days` (never when 0).
async fn insert_entry(
    tx: &mut Tx,
    p: &Posting<'_>,
    balance_after: i64,
    remaining: i64,
) -> anyhow::Result<Entry> {
    let row = sql::query(
        "INSERT INTO mileage_entries (store_id, user_id, kind, points, balance_after, reason, actor_id,
                                      created_at, order_id, remaining, expires_at, reason_code, api_key_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                 CASE WHEN $11 = 1 THEN (SELECT CASE WHEN points_valid_days = 0 THEN NULL
                                                     ELSE $8 + points_valid_days * 86400000 END
                                         FROM stores WHERE id = $1)
                      ELSE NULL END,
                 $12, $13)",
    )
    .bind(p.store_id)
    .bind(p.user_id)
    .bind(p.kind)
    .bind(p.points)
    .bind(balance_after)
    .bind(p.reason)
    .bind(p.actor_id)
    .bind(p.at)
    .bind(p.order_id)
    .bind(remaining)
    .bind(i64::from(is_earning(p.kind)))
    .bind(p.reason_code)
    .bind(p.api_key_id)
    .fetch_written(
        tx.conn(),
        entry_columns!(),
        concat!("SELECT ", entry_columns!(), " FROM mileage_entries WHERE id = $14"),
    )
    .await
    .context("appending a ledger entry")?
    .ok_or_else(|| anyhow!("appending a ledger entry wrote no row"))?;
    entry_from_row(&row)
}

/// The member's balance at a store, read under the row's write lock (a no-op
/// update first: PostgreSQL then holds the row until commit, so what is decided
/// from it stays true; SQLite has one writer). 0 when there is no row.
pub async fn locked_balance(tx: &mut Tx, store_id: i64, user_id: i64) -> anyhow::Result<i64> {
    let row = sql::query(
        "UPDATE mileage_balances SET updated_at = updated_at
         WHERE store_id = $1 AND user_id = $2",
    )
    .bind(store_id)
    .bind(user_id)
    .fetch_written(tx.conn(), "balance", BALANCE_OF_MEMBER)
    .await
    .context("locking a balance")?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => 0,
    })
}

/// A customer's balances, one per store they belong to or hold points at.
pub async fn balances(db: &Db, user_id: i64) -> anyhow::Result<Vec<Balance>> {
    let rows = sql::query(
        "SELECT b.store_id, s.name, b.balance, s.coupon_threshold, m.joined_at
         FROM mileage_balances b JOIN stores s ON s.id = b.store_id
         LEFT JOIN memberships m ON m.store_id = b.store_id AND m.user_id = b.user_id
         WHERE b.user_id = $1 ORDER BY b.store_id",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let store_id: i64 = r.try_get(0)?;
        out.push(Balance {
            store_id,
            store_name: r.try_get(1)?,
            balance: r.try_get(2)?,
            coupon_threshold: r.try_get(3)?,
            member: r.try_get::<Option<i64>, _>(4)?.is_some(),
            expiring: next_expiring(db, store_id, user_id).await?,
        });
    }
    Ok(out)
}

/// The member's next lot to expire at a store, if any.
async fn next_expiring(db: &Db, store_id: i64, user_id: i64) -> anyhow::Result<Option<Expiring>> {
    let row = sql::query(
        "SELECT remaining, expires_at FROM mileage_entries
         WHERE store_id = $1 AND user_id = $2 AND remaining > 0 AND expires_at IS NOT NULL
         ORDER BY expires_at, id LIMIT 1",
    )
    .bind(store_id)
    .bind(user_id)
    .fetch_optional(db.reader())
    .await?;
    row.map(|r| {
        Ok(Expiring {
            points: r.try_get(0)?,
            at: rfc3339(r.try_get(1)?),
        })
    })
    .transpose()
}

/// A customer's ledger entries, newest first, optionally at one store.
pub async fn entries(
    db: &Db,
    user_id: i64,
    store_id: Option<i64>,
    page: Page,
) -> anyhow::Result<Vec<Entry>> {
    let rows = sql::query(concat!(
        "SELECT ",
        entry_columns!(),
        " FROM mileage_entries WHERE user_id = $1 AND ($2 = 0 OR store_id = $2) AND id < $3
          ORDER BY id DESC LIMIT $4"
    ))
    .bind(user_id)
    .bind(store_id.unwrap_or(0))
    .bind(page.before_id())
    .bind(page.limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// A lot the `mileage-expiry` job acts on, with its store's name.
pub struct Lot {
    pub id: i64,
    pub store_id: i64,
    pub store_name: String,
    pub user_id: i64,
    pub remaining: i64,
    pub expires_at: i64,
}

fn lot_from_row(r: &sql::Row) -> anyhow::Result<Lot> {
    Ok(Lot {
        id: r.try_get(0)?,
        store_id: r.try_get(1)?,
        store_name: r.try_get(2)?,
        user_id: r.try_get(3)?,
        remaining: r.try_get(4)?,
        expires_at: r.try_get(5)?,
    })
}

/// Lots with points left whose `expires_at` is in `(after, until]`, oldest expiry
/// first; `unnotified` keeps only those not yet warned about.
pub async fn lots_expiring(
    db: &Db,
    after: i64,
    until: i64,
    unnotified: bool,
) -> anyhow::Result<Vec<Lot>> {
    let rows = sql::query(
        "SELECT e.id, e.store_id, s.name, e.user_id, e.remaining, e.expires_at
         FROM mileage_entries e JOIN stores s ON s.id = e.store_id
         WHERE e.remaining > 0 AND e.expires_at IS NOT NULL
           AND e.expires_at > $1 AND e.expires_at <= $2
           AND ($3 = 0 OR e.expiring_notified_at IS NULL)
         ORDER BY e.expires_at, e.id",
    )
    .bind(after)
    .bind(until)
    .bind(i64::from(unnotified))
    .fetch_all(db.reader())
    .await
    .context("listing lots")?;
    rows.iter().map(lot_from_row).collect()
}

/// Marks the lot warned about at `now`, once: `None` if it was already (or has no
/// points left); else the lot as it is now.
pub async fn mark_notified(tx: &mut Tx, lot_id: i64, now: i64) -> anyhow::Result<Option<Lot>> {
    let done = sql::query(
        "UPDATE mileage_entries SET expiring_notified_at = $1
         WHERE id = $2 AND expiring_notified_at IS NULL AND remaining > 0",
    )
    .bind(now)
    .bind(lot_id)
    .execute(tx.conn())
    .await
    .context("marking a lot notified")?
    .rows_affected();
    if done != 1 {
        return Ok(None);
    }
    let row = sql::query(
        "SELECT e.id, e.store_id, s.name, e.user_id, e.remaining, e.expires_at
         FROM mileage_entries e JOIN stores s ON s.id = e.store_id WHERE e.id = $1",
    )
    .bind(lot_id)
    .fetch_one(tx.conn())
    .await?;
    lot_from_row(&row).map(Some)
}
