//! Memberships: who belongs to which store.
//!
//! Joining opens the member's balance row (at 0, or keeps the one left from an
//! earlier membership) in the same call, so every later posting to a member finds
//! its row; leaving keeps the balance and coupons for a return.

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use super::{Db, Tx};
use crate::mileage::model::Member;
use crate::time::rfc3339;

/// Enrols `user_id` at `store_id`. Returns false if they were a member already.
pub async fn join(tx: &mut Tx, store_id: i64, user_id: i64, at: i64) -> anyhow::Result<bool> {
    let added = sql::query(
        "INSERT INTO memberships (store_id, user_id, joined_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(at)
    .execute(tx.conn())
    .await
    .context("joining a store")?
    .rows_affected();
    sql::query(
        "INSERT INTO mileage_balances (store_id, user_id, balance, updated_at)
         VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(at)
    .execute(tx.conn())
    .await
    .context("opening a balance")?;
    Ok(added == 1)
}

/// Ends a membership. Returns false if there was none.
pub async fn leave(tx: &mut Tx, store_id: i64, user_id: i64) -> anyhow::Result<bool> {
    let gone = sql::query("DELETE FROM memberships WHERE store_id = $1 AND user_id = $2")
        .bind(store_id)
        .bind(user_id)
        .execute(tx.conn())
        .await
        .context("leaving a store")?
        .rows_affected();
    Ok(gone == 1)
}

/// Whether `user_id` is a member of `store_id`, read in `tx`.
pub async fn is_member(tx: &mut Tx, store_id: i64, user_id: i64) -> anyhow::Result<bool> {
    Ok(
        sql::query("SELECT 1 FROM memberships WHERE store_id = $1 AND user_id = $2")
            .bind(store_id)
            .bind(user_id)
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
    )
}

/// The stores `user_id` is a member of, by id.
pub async fn stores_of(db: &Db, user_id: i64) -> anyhow::Result<Vec<i64>> {
    let rows = sql::query("SELECT store_id FROM memberships WHERE user_id = $1 ORDER BY store_id")
        .bind(user_id)
        .fetch_all(db.reader())
        .await
        .context("reading a customer's stores")?;
    rows.iter()
        .map(|r| r.try_get(0))
        .collect::<anyhow::Result<_>>()
}

/// A store's members with their balances; `q`, when given, keeps those whose
/// member number starts with it or whose name contains it (case-insensitive).
pub async fn of_store(db: &Db, store_id: i64, q: Option<&str>) -> anyhow::Result<Vec<Member>> {
    // `%` and `_` would be LIKE wildcards: a search is for plain text.
    let q = q
        .map(|q| q.trim().to_lowercase().replace(['%', '_'], ""))
        .filter(|q| !q.is_empty());
    let rows = sql::query(
        "SELECT m.user_id, u.name, u.member_no, m.joined_at, COALESCE(b.balance, 0),
                (SELECT COUNT(*) FROM coupons c
                 WHERE c.store_id = m.store_id AND c.user_id = m.user_id
                   AND c.redeemed_at IS NULL AND c.revoked_at IS NULL)
         FROM memberships m JOIN users u ON u.id = m.user_id
         LEFT JOIN mileage_balances b ON b.store_id = m.store_id AND b.user_id = m.user_id
         WHERE m.store_id = $1
           AND (CAST($2 AS TEXT) IS NULL
                OR u.member_no LIKE $2 || '%'
                OR LOWER(u.name) LIKE '%' || $2 || '%')
         ORDER BY m.user_id",
    )
    .bind(store_id)
    .bind(q)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                user_id: r.try_get(0)?,
                name: r.try_get(1)?,
                member_no: r.try_get(2)?,
                joined_at: rfc3339(r.try_get(3)?),
                balance: r.try_get(4)?,
                active_coupons: r.try_get(5)?,
            })
        })
        .collect()
}

/// One of a customer's stores, as their page and the terminal client list them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MyStore {
    pub store_id: i64,
    pub name: String,
    pub joined_at: String,
    pub balance: i64,
}

/// The stores `user_id` belongs to, oldest membership first.
pub async fn my_stores(db: &Db, user_id: i64) -> anyhow::Result<Vec<MyStore>> {
    let rows = sql::query(
        "SELECT m.store_id, s.name, m.joined_at, COALESCE(b.balance, 0)
         FROM memberships m JOIN stores s ON s.id = m.store_id
         LEFT JOIN mileage_balances b ON b.store_id = m.store_id AND b.user_id = m.user_id
         WHERE m.user_id = $1 ORDER BY m.joined_at, m.store_id",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await
    .context("reading a customer's stores")?;
    rows.iter()
        .map(|r| {
            Ok(MyStore {
                store_id: r.try_get(0)?,
                name: r.try_get(1)?,
                joined_at: rfc3339(r.try_get(2)?),
                balance: r.try_get(3)?,
            })
        })
        .collect()
}

/// A customer found by their exact member number, and whether they already
/// belong to `store_id`: what staff need to enrol someone at the counter.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FoundCustomer {
    pub user_id: i64,
    pub name: String,
    pub member_no: String,
    pub member: bool,
}

/// The customer with member number `member_no` (exactly), if any.
pub async fn customer_by_member_no(
    db: &Db,
    store_id: i64,
    member_no: &str,
) -> anyhow::Result<Option<FoundCustomer>> {
    let row = sql::query(
        "SELECT u.id, u.name, u.member_no,
                (SELECT COUNT(*) FROM memberships m WHERE m.store_id = $1 AND m.user_id = u.id)
         FROM users u WHERE u.member_no = $2 AND u.role = 'customer'",
    )
    .bind(store_id)
    .bind(member_no.trim())
    .fetch_optional(db.reader())
    .await
    .context("finding a customer")?;
    row.map(|r| {
        Ok(FoundCustomer {
            user_id: r.try_get(0)?,
            name: r.try_get(1)?,
            member_no: r.try_get(2)?,
            member: r.try_get::<i64, _>(3)? > 0,
        })
    })
    .transpose()
}

/// Whether `staff_id` works at a store the customer `user_id` belongs to.
pub async fn serves_member(db: &Db, staff_id: i64, user_id: i64) -> anyhow::Result<bool> {
    Ok(sql::query(
        "SELECT 1 FROM memberships m JOIN store_staff s ON s.store_id = m.store_id
         WHERE m.user_id = $1 AND s.user_id = $2",
    )
    .bind(user_id)
    .bind(staff_id)
    .fetch_optional(db.reader())
    .await?
    .is_some())
}
