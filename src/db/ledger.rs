//! The mileage ledger: the one place where balances move.
//!
//! Every change to `mileage_balances` goes through [`post`], which writes the
//! `mileage_entries` row that explains it in the same call and reads the new balance
//! back under the row's write lock (`... RETURNING balance` on the updated row:
//! PostgreSQL holds the row lock until commit, SQLite has a single writer). So a
//! balance equals the sum of its entries by construction, concurrent postings to one
//! member queue on that row, and each entry's `balance_after` is exact.

use anyhow::Context;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};
use crate::mileage::model::{Balance, Entry, Page};
use crate::time::rfc3339;

macro_rules! entry_columns {
    () => {
        "id, store_id, user_id, kind, points, balance_after, reason, actor_id, created_at, order_id, reason_code"
    };
}

fn entry_from_row(r: &AnyRow) -> anyhow::Result<Entry> {
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
        reason_code: r.try_get(10)?,
    })
}

/// A balance change to post: its entry's fields.
pub struct Posting<'a> {
    pub store_id: i64,
    pub user_id: i64,
    /// `grant`, `conversion`, `adjustment`, `purchase`, `reversal`, `revocation`.
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
}

/// Moves a balance by `p.points` and appends the entry that explains it, with the
/// balance after it. A credit creates the balance row if it is missing; a debit
/// needs an existing row. A debit may take a balance below zero (a return whose
/// points were already spent): later credits pay that back first.
pub async fn post(tx: &mut Tx, p: &Posting<'_>) -> anyhow::Result<Entry> {
    let balance_after: i64 = if p.points >= 0 {
        sqlx::query(
            "INSERT INTO mileage_balances (store_id, user_id, balance, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (store_id, user_id) DO UPDATE
             SET balance = mileage_balances.balance + excluded.balance,
                 updated_at = excluded.updated_at
             RETURNING balance",
        )
        .bind(p.store_id)
        .bind(p.user_id)
        .bind(p.points)
        .bind(p.at)
        .fetch_one(tx.conn())
        .await
        .context("crediting a balance")?
        .try_get(0)?
    } else {
        // Not an upsert: its INSERT half would fail the CHECK on a negative balance
        // before the conflict is even seen.
        sqlx::query(
            "UPDATE mileage_balances SET balance = balance + $1, updated_at = $2
             WHERE store_id = $3 AND user_id = $4 RETURNING balance",
        )
        .bind(p.points)
        .bind(p.at)
        .bind(p.store_id)
        .bind(p.user_id)
        .fetch_one(tx.conn())
        .await
        .context("debiting a balance")?
        .try_get(0)?
    };
    let row = sqlx::query(concat!(
        "INSERT INTO mileage_entries (store_id, user_id, kind, points, balance_after, reason, actor_id, created_at, order_id, reason_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
        entry_columns!()
    ))
    .bind(p.store_id)
    .bind(p.user_id)
    .bind(p.kind)
    .bind(p.points)
    .bind(balance_after)
    .bind(p.reason)
    .bind(p.actor_id)
    .bind(p.at)
    .bind(p.order_id)
    .bind(p.reason_code)
    .fetch_one(tx.conn())
    .await
    .context("appending a ledger entry")?;
    entry_from_row(&row)
}

/// The member's balance at a store, read under the row's write lock (a no-op
/// update first: PostgreSQL then holds the row until commit, so what is decided
/// from it stays true; SQLite has one writer). 0 when there is no row.
pub async fn locked_balance(tx: &mut Tx, store_id: i64, user_id: i64) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "UPDATE mileage_balances SET updated_at = updated_at
         WHERE store_id = $1 AND user_id = $2 RETURNING balance",
    )
    .bind(store_id)
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await
    .context("locking a balance")?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => 0,
    })
}

/// A customer's balances, one per store they belong to or hold points at.
pub async fn balances(db: &Db, user_id: i64) -> anyhow::Result<Vec<Balance>> {
    let rows = sqlx::query(
        "SELECT b.store_id, s.name, b.balance, s.coupon_threshold, m.joined_at
         FROM mileage_balances b JOIN stores s ON s.id = b.store_id
         LEFT JOIN memberships m ON m.store_id = b.store_id AND m.user_id = b.user_id
         WHERE b.user_id = $1 ORDER BY b.store_id",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Balance {
                store_id: r.try_get(0)?,
                store_name: r.try_get(1)?,
                balance: r.try_get(2)?,
                coupon_threshold: r.try_get(3)?,
                member: r.try_get::<Option<i64>, _>(4)?.is_some(),
            })
        })
        .collect()
}

/// A customer's ledger entries, newest first, optionally at one store.
pub async fn entries(
    db: &Db,
    user_id: i64,
    store_id: Option<i64>,
    page: Page,
) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query(concat!(
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
