//! Watches: a customer waiting for an album to come back in stock at one store.
//!
//! A watch is written only while the store's stock of the album is locked and at 0
//! ([`crate::db::shop::stock::locked_quantity`]), and [`take`] deletes an album's
//! watches at a store in the transaction that brings the stock back, so a watch
//! can neither outlive a restock nor be told twice.

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use crate::db::{Db, Tx};
use crate::time::rfc3339;

/// One watch, as `GET /users/{id}/watches` lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Watch {
    pub store_id: i64,
    pub store_name: String,
    pub product_id: i64,
    pub title: String,
    pub artist: String,
    pub created_at: String,
}

/// Starts watching; `false` (nothing written) if the user already watches it.
pub async fn insert(
    tx: &mut Tx,
    user_id: i64,
    store_id: i64,
    product_id: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let n = sql::query(
        "INSERT INTO watches (user_id, store_id, product_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, store_id, product_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(store_id)
    .bind(product_id)
    .bind(now)
    .execute(tx.conn())
    .await
    .context("inserting a watch")?
    .rows_affected();
    Ok(n == 1)
}

/// Stops watching; `false` if the user was not watching it.
pub async fn delete(
    tx: &mut Tx,
    user_id: i64,
    store_id: i64,
    product_id: i64,
) -> anyhow::Result<bool> {
    let n =
        sql::query("DELETE FROM watches WHERE user_id = $1 AND store_id = $2 AND product_id = $3")
            .bind(user_id)
            .bind(store_id)
            .bind(product_id)
            .execute(tx.conn())
            .await
            .context("deleting a watch")?
            .rows_affected();
    Ok(n == 1)
}

/// Ends every watch of an album at a store and answers who was watching (by id).
pub async fn take(tx: &mut Tx, store_id: i64, product_id: i64) -> anyhow::Result<Vec<i64>> {
    let rows =
        sql::query("DELETE FROM watches WHERE store_id = $1 AND product_id = $2 RETURNING user_id")
            .bind(store_id)
            .bind(product_id)
            .fetch_all(tx.conn())
            .await
            .context("ending watches")?;
    let mut users = rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<Vec<i64>, _>>()?;
    users.sort_unstable();
    Ok(users)
}

/// A user's watches, oldest first.
pub async fn of_user(db: &Db, user_id: i64) -> anyhow::Result<Vec<Watch>> {
    let rows = sql::query(
        "SELECT w.store_id, s.name, w.product_id, p.title, p.artist, w.created_at
         FROM watches w JOIN stores s ON s.id = w.store_id JOIN products p ON p.id = w.product_id
         WHERE w.user_id = $1 ORDER BY w.created_at, w.store_id, w.product_id",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await
    .context("reading a user's watches")?;
    rows.iter()
        .map(|r| {
            Ok(Watch {
                store_id: r.try_get(0)?,
                store_name: r.try_get(1)?,
                product_id: r.try_get(2)?,
                title: r.try_get(3)?,
                artist: r.try_get(4)?,
                created_at: rfc3339(r.try_get(5)?),
            })
        })
        .collect()
}

/// When a user's watch started (as this transaction sees it).
pub async fn created_at(
    tx: &mut Tx,
    user_id: i64,
    store_id: i64,
    product_id: i64,
) -> anyhow::Result<String> {
    let row = sql::query(
        "SELECT created_at FROM watches WHERE user_id = $1 AND store_id = $2 AND product_id = $3",
    )
    .bind(user_id)
    .bind(store_id)
    .bind(product_id)
    .fetch_one(tx.conn())
    .await
    .context("reading a watch")?;
    Ok(rfc3339(row.try_get(0)?))
}
