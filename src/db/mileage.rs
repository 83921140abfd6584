//! The mileage ledger, memberships, coupons and redemptions: the one module whose SQL
//! keeps a balance equal to the sum of its entries.
//!
//! Every change to `mileage_balances` happens here, in the same transaction as the
//! `mileage_entries` row that explains it, and reads the new balance back under the
//! row's write lock (`... RETURNING balance` on the updated row: PostgreSQL holds the
//! row lock until commit, SQLite has a single writer). So concurrent grants to one
//! member queue on that row, and each entry's `balance_after` is exact.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Tx};
use crate::auth::Principal;
use crate::events::{channel, types};
use crate::idempotency::{self, IdempotencyKey, Outcome, Request};
use crate::mileage::{self, MileageError, Points, Reason};
use crate::stores::CouponDesign;
use crate::time::now_millis;
use crate::time::rfc3339;

/// Idempotency scope of grants.
pub const GRANT_SCOPE: &str = "grant";

/// One ledger entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub store_id: i64,
    pub user_id: i64,
    /// `grant`, `conversion` or `adjustment`.
    pub kind: String,
    /// Signed: a conversion's points are negative.
    pub points: i64,
    pub balance_after: i64,
    pub reason: String,
    pub actor_id: Option<i64>,
    pub created_at: String,
}

macro_rules! entry_columns {
    () => {
        "id, store_id, user_id, kind, points, balance_after, reason, actor_id, created_at"
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
    })
}

/// A coupon as its holder and the store see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Coupon {
    pub id: i64,
    pub store_id: i64,
    pub store_name: String,
    pub user_id: i64,
    /// The store's design when the coupon was issued.
    pub design: CouponDesign,
    pub status: CouponStatus,
    pub issued_at: String,
    pub redeemed_at: Option<String>,
}

macro_rules! coupon_columns {
    () => {
        "c.id, c.store_id, s.name, c.user_id, c.shape, c.color, c.label, c.issued_at, c.redeemed_at"
    };
}

fn coupon_from_row(r: &AnyRow) -> anyhow::Result<Coupon> {
    let redeemed_at: Option<i64> = r.try_get(8)?;
    Ok(Coupon {
        id: r.try_get(0)?,
        store_id: r.try_get(1)?,
        store_name: r.try_get(2)?,
        user_id: r.try_get(3)?,
        design: CouponDesign {
            shape: r.try_get(4)?,
            color: r.try_get(5)?,
            label: r.try_get(6)?,
        },
        status: if redeemed_at.is_some() {
            CouponStatus::Redeemed
        } else {
            CouponStatus::Active
        },
        issued_at: rfc3339(r.try_get(7)?),
        redeemed_at: redeemed_at.map(rfc3339),
    })
}

/// Where a coupon is in its life.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    Active,
    Redeemed,
}

impl CouponStatus {
    /// Parses a `?status=` filter.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "redeemed" => Some(Self::Redeemed),
            _ => None,
        }
    }
}

/// What a grant answers (and, on a retry with the same key, answers again).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Granted {
    pub entry: Entry,
    /// The balance after any conversion.
    pub balance: i64,
    pub balance_before_conversion: i64,
    pub coupons_issued: i64,
    pub coupons: Vec<Coupon>,
}

/// A member's balance at one store.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Balance {
    pub store_id: i64,
    pub store_name: String,
    pub balance: i64,
    pub coupon_threshold: i64,
    /// False once the customer left the store; the balance is kept for a return.
    pub member: bool,
}

/// A store's member as its staff see them.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub member_no: Option<String>,
    pub joined_at: String,
    pub balance: i64,
    pub active_coupons: i64,
}

/// One logged redemption.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Redemption {
    pub id: i64,
    pub coupon_id: i64,
    pub store_id: i64,
    pub user_id: i64,
    pub redeemed_by: Person,
    pub redeemed_at: String,
}

/// Who did something, as events and logs name them.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
}

/// A validated grant request.
pub struct Grant<'a> {
    pub store_id: i64,
    pub user_id: i64,
    pub points: Points,
    pub reason: &'a Reason,
    pub by: &'a Principal,
    pub key: &'a IdempotencyKey,
    /// [`idempotency::request_hash`] of what makes a retry "the same request".
    pub request_hash: &'a str,
}

/// Paging through a list newest first: ids below `before`, at most `limit`.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub before: Option<i64>,
    pub limit: i64,
}

impl Page {
    fn before(&self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }
}

impl Db {
    /// Credits a grant and converts whatever reaches the threshold, in one
    /// transaction with its ledger entries, coupons, events and idempotent answer.
    ///
    /// A retry with the same key and request returns the first answer and changes
    /// nothing; the same key with another request is [`MileageError::KeyReused`].
    pub async fn grant(&self, g: &Grant<'_>) -> Result<Outcome<Granted>, MileageError> {
        let req = Request {
            scope: GRANT_SCOPE,
            principal_id: g.by.user_id,
            key: g.key,
            hash: g.request_hash,
        };
        idempotency::once(self, req, async |tx: &mut Tx| {
        let store = sqlx::query(
            "SELECT name, coupon_threshold, coupon_shape, coupon_color, coupon_label
             FROM stores WHERE id = $1",
        )
        .bind(g.store_id)
        .fetch_optional(tx.conn())
        .await
        .context("reading the store")?
        .ok_or(MileageError::NoSuchStore)?;
        let store_name: String = store.try_get(0).map_err(anyhow::Error::from)?;
        let threshold: i64 = store.try_get(1).map_err(anyhow::Error::from)?;
        let design = CouponDesign {
            shape: store.try_get(2).map_err(anyhow::Error::from)?,
            color: store.try_get(3).map_err(anyhow::Error::from)?,
            label: store.try_get(4).map_err(anyhow::Error::from)?,
        };
        let points = g.points.get();
        if !is_member(tx, g.store_id, g.user_id).await? {
            return Err(MileageError::NotAMember);
        }
        let now = now_millis();
        let before_conversion = add_to_balance(tx, g.store_id, g.user_id, points, now).await?;
        let entry = insert_entry(
            tx,
            &NewEntry {
                store_id: g.store_id,
                user_id: g.user_id,
                kind: "grant",
                points,
                balance_after: before_conversion,
                reason: g.reason.as_str(),
                actor_id: g.by.user_id,
                at: now,
            },
        )
        .await?;

        let (count, remaining) = mileage::convert(before_conversion, threshold);
        let mut balance = before_conversion;
        let mut coupons = Vec::new();
        let mut conversion_id = None;
        if count > mileage::MAX_COUPONS_PER_GRANT {
            return Err(MileageError::TooManyCoupons);
        }
        if count > 0 {
            let taken = count * threshold;
            balance = take_from_balance(tx, g.store_id, g.user_id, taken, now).await?;
            if balance != remaining {
                return Err(anyhow::anyhow!(
                    "balance {balance} after conversion, expected {remaining}"
                )
                .into());
            }
            let conversion = insert_entry(
                tx,
                &NewEntry {
                    store_id: g.store_id,
                    user_id: g.user_id,
                    kind: "conversion",
                    points: -taken,
                    balance_after: balance,
                    reason: &format!("{count} coupon(s) at {threshold} points each"),
                    actor_id: g.by.user_id,
                    at: now,
                },
            )
            .await?;
            conversion_id = Some(conversion.id);
            for _ in 0..count {
                let row = sqlx::query(
                    "INSERT INTO coupons (store_id, user_id, entry_id, shape, color, label, issued_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(g.store_id)
                .bind(g.user_id)
                .bind(conversion.id)
                .bind(&design.shape)
                .bind(&design.color)
                .bind(&design.label)
                .bind(now)
                .fetch_one(tx.conn())
                .await
                .context("issuing a coupon")?;
                coupons.push(Coupon {
                    id: row.try_get(0).map_err(anyhow::Error::from)?,
                    store_id: g.store_id,
                    store_name: store_name.clone(),
                    user_id: g.user_id,
                    design: design.clone(),
                    status: CouponStatus::Active,
                    issued_at: rfc3339(now),
                    redeemed_at: None,
                });
            }
        }


        // Events last: on PostgreSQL the first append takes the log's lock.
        let store_ref = json!({ "id": g.store_id, "name": store_name });
        let granted = json!({
            "user_id": g.user_id,
            "store": store_ref,
            "points": points,
            "balance_before_conversion": before_conversion,
            "balance": balance,
            "coupons_issued": count,
            "reason": g.reason.as_str(),
            "granted_by": { "id": g.by.user_id, "name": g.by.name },
            "entry_id": entry.id,
        });
        append_both(
            tx,
            g.user_id,
            g.store_id,
            types::MILEAGE_GRANTED,
            &granted,
        )
        .await?;
        for c in &coupons {
            let issued = json!({
                "user_id": g.user_id,
                "coupon": c,
                "store": store_ref,
                "design": c.design,
                "balance": balance,
                "conversion_entry_id": conversion_id,
            });
            append_both(
                tx,
                g.user_id,
                g.store_id,
                types::COUPON_ISSUED,
                &issued,
            )
            .await?;
        }
        Ok(Granted {
            entry,
            balance,
            balance_before_conversion: before_conversion,
            coupons_issued: count,
            coupons,
        })
        })
        .await
    }

    /// Redeems an active coupon once, logs the redemption and tells its holder and
    /// the store. The caller has checked that `by` is staff of the coupon's store.
    pub async fn redeem_coupon(
        &self,
        coupon_id: i64,
        by: &Principal,
    ) -> Result<(Coupon, Redemption), MileageError> {
        let mut tx = self.begin().await?;
        let now = now_millis();
        // The conditional update is the "once": of two concurrent redemptions, the
        // second finds `redeemed_at` set (it waits on the row or the single writer).
        let done = sqlx::query(
            "UPDATE coupons SET redeemed_at = $1, redeemed_by = $2
             WHERE id = $3 AND redeemed_at IS NULL",
        )
        .bind(now)
        .bind(by.user_id)
        .bind(coupon_id)
        .execute(tx.conn())
        .await
        .context("redeeming a coupon")?
        .rows_affected();
        if done == 0 {
            return Err(match fetch_coupon(tx.conn(), coupon_id).await? {
                Some(_) => MileageError::AlreadyRedeemed,
                None => MileageError::NoSuchCoupon,
            });
        }
        let coupon = fetch_coupon(tx.conn(), coupon_id)
            .await?
            .context("coupon vanished")?;
        let row = sqlx::query(
            "INSERT INTO redemptions (coupon_id, store_id, user_id, redeemed_by, redeemed_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(coupon.id)
        .bind(coupon.store_id)
        .bind(coupon.user_id)
        .bind(by.user_id)
        .bind(now)
        .fetch_one(tx.conn())
        .await
        .context("logging a redemption")?;
        let redemption = Redemption {
            id: row.try_get(0).map_err(anyhow::Error::from)?,
            coupon_id: coupon.id,
            store_id: coupon.store_id,
            user_id: coupon.user_id,
            redeemed_by: Person {
                id: by.user_id,
                name: by.name.clone(),
            },
            redeemed_at: rfc3339(now),
        };
        let data = json!({
            "user_id": coupon.user_id,
            "coupon": coupon,
            "store": { "id": coupon.store_id, "name": coupon.store_name },
            "redeemed_by": redemption.redeemed_by,
            "redemption_id": redemption.id,
        });
        append_both(
            &mut tx,
            coupon.user_id,
            coupon.store_id,
            types::COUPON_REDEEMED,
            &data,
        )
        .await?;
        tx.commit().await?;
        Ok((coupon, redemption))
    }

    /// A coupon by id.
    pub async fn coupon(&self, id: i64) -> anyhow::Result<Option<Coupon>> {
        let mut conn = self.reader().acquire().await?;
        fetch_coupon(&mut conn, id).await
    }

    /// A customer's coupons, newest first.
    pub async fn user_coupons(&self, user_id: i64) -> anyhow::Result<Vec<Coupon>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            coupon_columns!(),
            " FROM coupons c JOIN stores s ON s.id = c.store_id WHERE c.user_id = $1 ORDER BY c.id DESC"
        ))
        .bind(user_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(coupon_from_row).collect()
    }

    /// A store's redemption log, newest first.
    pub async fn redemptions(&self, store_id: i64, page: Page) -> anyhow::Result<Vec<Redemption>> {
        let rows = sqlx::query(
            "SELECT r.id, r.coupon_id, r.store_id, r.user_id, r.redeemed_by, u.name, r.redeemed_at
             FROM redemptions r JOIN users u ON u.id = r.redeemed_by
             WHERE r.store_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3",
        )
        .bind(store_id)
        .bind(page.before())
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Redemption {
                    id: r.try_get(0)?,
                    coupon_id: r.try_get(1)?,
                    store_id: r.try_get(2)?,
                    user_id: r.try_get(3)?,
                    redeemed_by: Person {
                        id: r.try_get(4)?,
                        name: r.try_get(5)?,
                    },
                    redeemed_at: rfc3339(r.try_get(6)?),
                })
            })
            .collect()
    }

    /// A customer's balances, one per store they belong to or hold points at.
    pub async fn balances(&self, user_id: i64) -> anyhow::Result<Vec<Balance>> {
        let rows = sqlx::query(
            "SELECT b.store_id, s.name, b.balance, s.coupon_threshold, m.joined_at
             FROM mileage_balances b JOIN stores s ON s.id = b.store_id
             LEFT JOIN memberships m ON m.store_id = b.store_id AND m.user_id = b.user_id
             WHERE b.user_id = $1 ORDER BY b.store_id",
        )
        .bind(user_id)
        .fetch_all(self.reader())
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
        &self,
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
        .bind(page.before())
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Enrols a customer at a store. Returns false if they were a member already.
    /// Their balance row (kept if they left before) is created at 0 if missing, so
    /// grants always update an existing row.
    pub async fn join_store(&self, store_id: i64, user_id: i64) -> Result<bool, MileageError> {
        match self.user_role(user_id).await?.as_deref() {
            Some("customer") => {}
            Some(_) => return Err(MileageError::NotACustomer),
            None => return Err(MileageError::NoSuchUser),
        }
        if !self.store_exists(store_id).await? {
            return Err(MileageError::NoSuchStore);
        }
        let now = now_millis();
        let mut tx = self.begin().await?;
        let added = sqlx::query(
            "INSERT INTO memberships (store_id, user_id, joined_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(store_id)
        .bind(user_id)
        .bind(now)
        .execute(tx.conn())
        .await
        .context("joining a store")?
        .rows_affected();
        sqlx::query(
            "INSERT INTO mileage_balances (store_id, user_id, balance, updated_at)
             VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
        )
        .bind(store_id)
        .bind(user_id)
        .bind(now)
        .execute(tx.conn())
        .await
        .context("opening a balance")?;
        tx.commit().await?;
        Ok(added == 1)
    }

    /// Ends a membership; the balance and coupons stay for a return.
    pub async fn leave_store(&self, store_id: i64, user_id: i64) -> Result<(), MileageError> {
        let mut tx = self.begin().await?;
        let gone = sqlx::query("DELETE FROM memberships WHERE store_id = $1 AND user_id = $2")
            .bind(store_id)
            .bind(user_id)
            .execute(tx.conn())
            .await
            .context("leaving a store")?
            .rows_affected();
        if gone == 0 {
            return Err(MileageError::NotAMember);
        }
        tx.commit().await?;
        Ok(())
    }

    /// A store's members with their balances.
    pub async fn members(&self, store_id: i64) -> anyhow::Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.name, u.member_no, m.joined_at, COALESCE(b.balance, 0),
                    (SELECT COUNT(*) FROM coupons c
                     WHERE c.store_id = m.store_id AND c.user_id = m.user_id AND c.redeemed_at IS NULL)
             FROM memberships m JOIN users u ON u.id = m.user_id
             LEFT JOIN mileage_balances b ON b.store_id = m.store_id AND b.user_id = m.user_id
             WHERE m.store_id = $1 ORDER BY m.user_id",
        )
        .bind(store_id)
        .fetch_all(self.reader())
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

    /// Whether `staff` works at a store the customer `user_id` belongs to.
    pub async fn serves_member(&self, staff_id: i64, user_id: i64) -> anyhow::Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM memberships m JOIN store_staff s ON s.store_id = m.store_id
             WHERE m.user_id = $1 AND s.user_id = $2",
        )
        .bind(user_id)
        .bind(staff_id)
        .fetch_optional(self.reader())
        .await?
        .is_some())
    }
}

async fn is_member(tx: &mut Tx, store_id: i64, user_id: i64) -> anyhow::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM memberships WHERE store_id = $1 AND user_id = $2")
            .bind(store_id)
            .bind(user_id)
            .fetch_optional(tx.conn())
            .await?
            .is_some(),
    )
}

/// Adds `points` (positive) to a balance and returns the new balance, read under the
/// row's write lock. Creates the row if it is missing.
async fn add_to_balance(
    tx: &mut Tx,
    store_id: i64,
    user_id: i64,
    points: i64,
    now: i64,
) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO mileage_balances (store_id, user_id, balance, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (store_id, user_id) DO UPDATE
         SET balance = mileage_balances.balance + excluded.balance, updated_at = excluded.updated_at
         RETURNING balance",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(points)
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .context("updating a balance")?;
    Ok(row.try_get(0)?)
}

/// Takes `points` from an existing balance and returns what is left, read under the
/// row's write lock. (Not an upsert: its INSERT half would fail the CHECK on
/// a negative balance before the conflict is even seen.)
async fn take_from_balance(
    tx: &mut Tx,
    store_id: i64,
    user_id: i64,
    points: i64,
    now: i64,
) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "UPDATE mileage_balances SET balance = balance - $1, updated_at = $2
         WHERE store_id = $3 AND user_id = $4 RETURNING balance",
    )
    .bind(points)
    .bind(now)
    .bind(store_id)
    .bind(user_id)
    .fetch_one(tx.conn())
    .await
    .context("taking points from a balance")?;
    Ok(row.try_get(0)?)
}

struct NewEntry<'a> {
    store_id: i64,
    user_id: i64,
    kind: &'a str,
    points: i64,
    balance_after: i64,
    reason: &'a str,
    actor_id: i64,
    at: i64,
}

async fn insert_entry(tx: &mut Tx, e: &NewEntry<'_>) -> anyhow::Result<Entry> {
    let row = sqlx::query(concat!(
        "INSERT INTO mileage_entries (store_id, user_id, kind, points, balance_after, reason, actor_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
        entry_columns!()
    ))
    .bind(e.store_id)
    .bind(e.user_id)
    .bind(e.kind)
    .bind(e.points)
    .bind(e.balance_after)
    .bind(e.reason)
    .bind(e.actor_id)
    .bind(e.at)
    .fetch_one(tx.conn())
    .await
    .context("appending a ledger entry")?;
    entry_from_row(&row)
}

async fn fetch_coupon(conn: &mut sqlx::AnyConnection, id: i64) -> anyhow::Result<Option<Coupon>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM coupons c JOIN stores s ON s.id = c.store_id WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(coupon_from_row).transpose()
}

/// Appends an event to the customer's channel and echoes it to the store's staff.
async fn append_both(
    tx: &mut Tx,
    user_id: i64,
    store_id: i64,
    event_type: &str,
    data: &serde_json::Value,
) -> anyhow::Result<()> {
    tx.append_json(&channel::user(user_id), event_type, data)
        .await?;
    tx.append_json(&channel::store(store_id), event_type, data)
        .await?;
    Ok(())
}
