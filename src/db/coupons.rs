//! Coupons and their redemptions as rows.
//!
//! A coupon is redeemed at most once by construction: [`redeem`] is one conditional
//! `UPDATE ... WHERE redeemed_at IS NULL`, and the redemption log row is written by
//! the same call, so of two concurrent redemptions the second finds the coupon
//! taken (it waits on the row or on SQLite's single writer) and logs nothing.

use crate::db::sql;
use anyhow::Context;

use super::{Db, Tx};
use crate::mileage::model::{Coupon, CouponStatus, Page, Person, Redemption};
use crate::stores::CouponDesign;
use crate::time::rfc3339;

macro_rules! coupon_columns {
    () => {
        "c.id, c.store_id, s.name, c.user_id, c.shape, c.color, c.label, c.issued_at, c.redeemed_at, \
         c.revoked_at, c.expires_at, c.expired_at"
    };
}

fn coupon_from_row(r: &sql::Row) -> anyhow::Result<Coupon> {
    let redeemed_at: Option<i64> = r.try_get(8)?;
    let revoked_at: Option<i64> = r.try_get(9)?;
    let expired_at: Option<i64> = r.try_get(11)?;
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
        status: match (redeemed_at, revoked_at, expired_at) {
            (_, Some(_), _) => CouponStatus::Revoked,
            (Some(_), None, _) => CouponStatus::Redeemed,
            (None, None, Some(_)) => CouponStatus::Expired,
            (None, None, None) => CouponStatus::Active,
        },
        issued_at: rfc3339(r.try_get(7)?),
        redeemed_at: redeemed_at.map(rfc3339),
        expires_at: r.try_get::<Option<i64>, _>(10)?.map(rfc3339),
    })
}

/// A store's loyalty policy as flows need it: what its coupons are made of when a
/// conversion issues them, what a purchase earns, what a coupon takes off.
pub struct IssuingStore {
    pub name: String,
    pub threshold: i64,
    pub design: CouponDesign,
    /// Percent of what a purchase paid that it earns in points (0: none).
    pub earn_percent: i64,
    /// What one coupon takes off a purchase, in won.
    pub coupon_value: i64,
    /// Days a coupon stays valid once issued (0: never expires).
    pub coupon_valid_days: i64,
}

/// The columns [`issuing_from_row`] reads, first in a row (from `stores s`).
macro_rules! issuing_columns {
    () => {
        "s.name, s.coupon_threshold, s.coupon_shape, s.coupon_color, s.coupon_label, \
         s.earn_percent, s.coupon_value, s.coupon_valid_days"
    };
}

/// How many columns [`issuing_columns`] names.
const ISSUING_COLUMNS: usize = 8;

fn issuing_from_row(row: &sql::Row) -> anyhow::Result<IssuingStore> {
    Ok(IssuingStore {
        name: row.try_get(0)?,
        threshold: row.try_get(1)?,
        design: CouponDesign {
            shape: row.try_get(2)?,
            color: row.try_get(3)?,
            label: row.try_get(4)?,
        },
        earn_percent: row.try_get::<i64, _>(5)?,
        coupon_value: row.try_get(6)?,
        coupon_valid_days: row.try_get(7)?,
    })
}

/// The store's name, coupon policy and current design, read in `tx`.
pub async fn issuing_store(tx: &mut Tx, store_id: i64) -> anyhow::Result<Option<IssuingStore>> {
    let row = sql::query(concat!(
        "SELECT ",
        issuing_columns!(),
        " FROM stores s WHERE s.id = $1"
    ))
    .bind(store_id)
    .fetch_optional(tx.conn())
    .await
    .context("reading the store")?;
    row.as_ref().map(issuing_from_row).transpose()
}

/// What a grant at a store reads before it writes: the store's policy, its grant
/// controls, and whether the user is a member (with the name and member number
/// the operator's log names them by).
pub struct GrantingStore {
    pub store: IssuingStore,
    /// IANA name of the zone whose calendar day the daily cap counts on.
    pub time_zone: String,
    /// Most points one owner may grant at the store in a local day.
    pub daily_grant_cap: i64,
    /// The member's name and number (or login); `None` if not a member.
    pub member: Option<(String, String)>,
}

/// [`GrantingStore`] for `user_id` at `store_id`, in one statement: each statement
/// of a SQLite write is a round trip to the connection's thread, and these reads
/// were two of an admin's grant's nine round trips, three of an owner's eleven.
pub async fn granting_store(
    tx: &mut Tx,
    store_id: i64,
    user_id: i64,
) -> anyhow::Result<Option<GrantingStore>> {
    let row = sql::query(concat!(
        "SELECT ",
        issuing_columns!(),
        ", s.time_zone, s.daily_grant_cap, u.name, COALESCE(u.member_no, u.login, '')
         FROM stores s
         LEFT JOIN memberships m ON m.store_id = s.id AND m.user_id = $2
         LEFT JOIN users u ON u.id = m.user_id
         WHERE s.id = $1"
    ))
    .bind(store_id)
    .bind(user_id)
    .fetch_optional(tx.conn())
    .await
    .context("reading the store, its grant controls and the membership")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let n = ISSUING_COLUMNS;
    let name: Option<String> = row.try_get(n + 2)?;
    let number: Option<String> = row.try_get(n + 3)?;
    Ok(Some(GrantingStore {
        store: issuing_from_row(&row)?,
        time_zone: row.try_get(n)?,
        daily_grant_cap: row.try_get(n + 1)?,
        member: name.zip(number),
    }))
}

/// Issues one active coupon with `store`'s current design, explained by the
/// conversion entry `entry_id`; it is worth `store.threshold` points (what a
/// revocation gives back); it expires after the store's `coupon_valid_days`.
pub async fn issue(
    tx: &mut Tx,
    store_id: i64,
    store: &IssuingStore,
    user_id: i64,
    entry_id: i64,
    at: i64,
) -> anyhow::Result<Coupon> {
    let expires_at = (store.coupon_valid_days > 0).then(|| at + store.coupon_valid_days * DAY_MS);
    let id = sql::query(
        "INSERT INTO coupons (store_id, user_id, entry_id, shape, color, label, issued_at, points, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(entry_id)
    .bind(&store.design.shape)
    .bind(&store.design.color)
    .bind(&store.design.label)
    .bind(at)
    .bind(store.threshold)
    .bind(expires_at)
    .insert_id(tx.conn())
    .await
    .context("issuing a coupon")?;
    Ok(Coupon {
        id,
        store_id,
        store_name: store.name.clone(),
        user_id,
        design: store.design.clone(),
        status: CouponStatus::Active,
        issued_at: rfc3339(at),
        redeemed_at: None,
        expires_at: expires_at.map(rfc3339),
    })
}

/// Why [`redeem`] or [`use_at_checkout`] used nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum NotRedeemed {
    /// The coupon exists but was redeemed (or paid with) before.
    AlreadyRedeemed,
    /// The coupon was revoked by a return.
    Revoked,
    /// No such coupon, or (at checkout) not the buyer's.
    NoSuchCoupon,
    /// At checkout: the buyer's coupon, but of another store.
    OtherStore,
    /// Its `expires_at` has passed (whether or not the job marked it yet).
    Expired,
}

/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Why a coupon that exists was not used: already used, revoked, or expired.
fn not_active(c: &Coupon) -> NotRedeemed {
    match c.status {
        CouponStatus::Revoked => NotRedeemed::Revoked,
        CouponStatus::Redeemed => NotRedeemed::AlreadyRedeemed,
        CouponStatus::Active | CouponStatus::Expired => NotRedeemed::Expired,
    }
}

/// Marks an active coupon redeemed by `by` and logs the redemption, or reports why
/// it could not.
pub async fn redeem(
    tx: &mut Tx,
    coupon_id: i64,
    by: &Person,
    at: i64,
) -> anyhow::Result<Result<(Coupon, Redemption), NotRedeemed>> {
    let done = sql::query(
        "UPDATE coupons SET redeemed_at = $1, redeemed_by = $2
         WHERE id = $3 AND redeemed_at IS NULL AND revoked_at IS NULL
           AND expired_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
    )
    .bind(at)
    .bind(by.id)
    .bind(coupon_id)
    .execute(tx.conn())
    .await
    .context("redeeming a coupon")?
    .rows_affected();
    let coupon = fetch(tx.conn(), coupon_id).await?;
    let coupon = match (done, coupon) {
        (_, None) => return Ok(Err(NotRedeemed::NoSuchCoupon)),
        (0, Some(c)) => return Ok(Err(not_active(&c))),
        (_, Some(c)) => c,
    };
    let id = sql::query(
        "INSERT INTO redemptions (coupon_id, store_id, user_id, redeemed_by, redeemed_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(coupon.id)
    .bind(coupon.store_id)
    .bind(coupon.user_id)
    .bind(by.id)
    .bind(at)
    .insert_id(tx.conn())
    .await
    .context("logging a redemption")?;
    let redemption = Redemption {
        id,
        coupon_id: coupon.id,
        store_id: coupon.store_id,
        user_id: coupon.user_id,
        redeemed_by: by.clone(),
        redeemed_at: rfc3339(at),
    };
    Ok(Ok((coupon, redemption)))
}

/// Pays with the buyer's active coupon at `store_id` (one conditional `UPDATE`, so
/// of two orders using it one wins); the coupon's order is the order's
/// `coupon_id`. Nothing is logged in `redemptions`, which is the staff's log.
pub async fn use_at_checkout(
    tx: &mut Tx,
    coupon_id: i64,
    buyer: i64,
    store_id: i64,
    at: i64,
) -> anyhow::Result<Result<Coupon, NotRedeemed>> {
    let done = sql::query(
        "UPDATE coupons SET redeemed_at = $1, redeemed_by = $2
         WHERE id = $3 AND user_id = $2 AND store_id = $4
           AND redeemed_at IS NULL AND revoked_at IS NULL
           AND expired_at IS NULL AND (expires_at IS NULL OR expires_at > $1)",
    )
    .bind(at)
    .bind(buyer)
    .bind(coupon_id)
    .bind(store_id)
    .execute(tx.conn())
    .await
    .context("paying with a coupon")?
    .rows_affected();
    Ok(match fetch(tx.conn(), coupon_id).await? {
        Some(c) if c.user_id != buyer => Err(NotRedeemed::NoSuchCoupon),
        None => Err(NotRedeemed::NoSuchCoupon),
        Some(c) if c.store_id != store_id => Err(NotRedeemed::OtherStore),
        Some(c) if done == 0 => Err(not_active(&c)),
        Some(c) => Ok(c),
    })
}

/// Makes a coupon paid with at checkout active again (its order was returned
/// whole). `None` if it is not in a state to be given back.
pub async fn restore(tx: &mut Tx, coupon_id: i64) -> anyhow::Result<Option<Coupon>> {
    let done = sql::query(
        "UPDATE coupons SET redeemed_at = NULL, redeemed_by = NULL
         WHERE id = $1 AND redeemed_at IS NOT NULL AND revoked_at IS NULL",
    )
    .bind(coupon_id)
    .execute(tx.conn())
    .await
    .context("restoring a coupon")?
    .rows_affected();
    if done == 0 {
        return Ok(None);
    }
    fetch(tx.conn(), coupon_id).await
}

/// Revokes the member's newest active coupon at a store; returns it and the
/// points it was worth (what its conversion took), or `None` if none is active.
pub async fn revoke_newest_active(
    tx: &mut Tx,
    store_id: i64,
    user_id: i64,
    at: i64,
) -> anyhow::Result<Option<(Coupon, i64)>> {
    let Some(row) = sql::query(
        "SELECT c.id, COALESCE(c.points, s.coupon_threshold)
         FROM coupons c JOIN stores s ON s.id = c.store_id
         WHERE c.store_id = $1 AND c.user_id = $2
           AND c.redeemed_at IS NULL AND c.revoked_at IS NULL
           AND c.expired_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > $3)
         ORDER BY c.id DESC LIMIT 1",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(at)
    .fetch_optional(tx.conn())
    .await
    .context("finding a coupon to revoke")?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get(0)?;
    let points: i64 = row.try_get(1)?;
    sql::query("UPDATE coupons SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(at)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("revoking a coupon")?;
    let coupon = fetch(tx.conn(), id).await?.context("coupon vanished")?;
    Ok(Some((coupon, points)))
}

async fn fetch(conn: sql::Conn<'_>, id: i64) -> anyhow::Result<Option<Coupon>> {
    let row = sql::query(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM coupons c JOIN stores s ON s.id = c.store_id WHERE c.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(coupon_from_row).transpose()
}

/// Marks every active coupon whose `expires_at` is at or before `now` expired (one
/// conditional update each, so a coupon used meanwhile stays used); answers those
/// it marked.
pub async fn expire_due(tx: &mut Tx, now: i64) -> anyhow::Result<Vec<Coupon>> {
    let ids: Vec<i64> = sql::query(
        "SELECT id FROM coupons
         WHERE expires_at IS NOT NULL AND expires_at <= $1 AND expired_at IS NULL
           AND redeemed_at IS NULL AND revoked_at IS NULL
         ORDER BY id",
    )
    .bind(now)
    .fetch_all(tx.conn())
    .await
    .context("finding expired coupons")?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let mut expired = Vec::new();
    for id in ids {
        let done = sql::query(
            "UPDATE coupons SET expired_at = $1
             WHERE id = $2 AND expired_at IS NULL AND redeemed_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("expiring a coupon")?
        .rows_affected();
        if done == 1 {
            expired.extend(fetch(tx.conn(), id).await?);
        }
    }
    Ok(expired)
}

/// A coupon by id.
pub async fn coupon(db: &Db, id: i64) -> anyhow::Result<Option<Coupon>> {
    let mut conn = db.reader().acquire().await?;
    fetch(sql::Conn::Any(&mut conn), id).await
}

/// A customer's coupons, newest first.
pub async fn of_user(db: &Db, user_id: i64) -> anyhow::Result<Vec<Coupon>> {
    let rows = sql::query(concat!(
        "SELECT ",
        coupon_columns!(),
        " FROM coupons c JOIN stores s ON s.id = c.store_id WHERE c.user_id = $1 ORDER BY c.id DESC"
    ))
    .bind(user_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(coupon_from_row).collect()
}

/// A store's redemption log, newest first.
pub async fn redemptions(db: &Db, store_id: i64, page: Page) -> anyhow::Result<Vec<Redemption>> {
    let rows = sql::query(
        "SELECT r.id, r.coupon_id, r.store_id, r.user_id, r.redeemed_by, u.name, r.redeemed_at
         FROM redemptions r JOIN users u ON u.id = r.redeemed_by
         WHERE r.store_id = $1 AND r.id < $2 ORDER BY r.id DESC LIMIT $3",
    )
    .bind(store_id)
    .bind(page.before_id())
    .bind(page.limit)
    .fetch_all(db.reader())
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
