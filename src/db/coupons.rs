//! Coupons and their redemptions as rows.
//!
//! A coupon is redeemed at most once by construction: [`redeem`] is one conditional
//! `UPDATE ... WHERE redeemed_at IS NULL`, and the redemption log row is written by
//! the same call, so of two concurrent redemptions the second finds the coupon
//! taken (it waits on the row or on SQLite's single writer) and logs nothing.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, Tx};
use crate::mileage::model::{Coupon, CouponStatus, Page, Person, Redemption};
use crate::stores::CouponDesign;
use crate::time::rfc3339;

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

/// What a store's coupons are made of when a conversion issues them.
pub struct IssuingStore {
    pub name: String,
    pub threshold: i64,
    pub design: CouponDesign,
}

/// The store's name, coupon threshold and current design, read in `tx`.
pub async fn issuing_store(tx: &mut Tx, store_id: i64) -> anyhow::Result<Option<IssuingStore>> {
    let Some(row) = sqlx::query(
        "SELECT name, coupon_threshold, coupon_shape, coupon_color, coupon_label
         FROM stores WHERE id = $1",
    )
    .bind(store_id)
    .fetch_optional(tx.conn())
    .await
    .context("reading the store")?
    else {
        return Ok(None);
    };
    Ok(Some(IssuingStore {
        name: row.try_get(0)?,
        threshold: row.try_get(1)?,
        design: CouponDesign {
            shape: row.try_get(2)?,
            color: row.try_get(3)?,
            label: row.try_get(4)?,
        },
    }))
}

/// Issues one active coupon with `store`'s current design, explained by the
/// conversion entry `entry_id`.
pub async fn issue(
    tx: &mut Tx,
    store_id: i64,
    store: &IssuingStore,
    user_id: i64,
    entry_id: i64,
    at: i64,
) -> anyhow::Result<Coupon> {
    let row = sqlx::query(
        "INSERT INTO coupons (store_id, user_id, entry_id, shape, color, label, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(store_id)
    .bind(user_id)
    .bind(entry_id)
    .bind(&store.design.shape)
    .bind(&store.design.color)
    .bind(&store.design.label)
    .bind(at)
    .fetch_one(tx.conn())
    .await
    .context("issuing a coupon")?;
    Ok(Coupon {
        id: row.try_get(0)?,
        store_id,
        store_name: store.name.clone(),
        user_id,
        design: store.design.clone(),
        status: CouponStatus::Active,
        issued_at: rfc3339(at),
        redeemed_at: None,
    })
}

/// Why [`redeem`] redeemed nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum NotRedeemed {
    /// The coupon exists but was redeemed before.
    AlreadyRedeemed,
    NoSuchCoupon,
}

/// Marks an active coupon redeemed by `by` and logs the redemption, or reports why
/// it could not.
pub async fn redeem(
    tx: &mut Tx,
    coupon_id: i64,
    by: &Person,
    at: i64,
) -> anyhow::Result<Result<(Coupon, Redemption), NotRedeemed>> {
    let done = sqlx::query(
        "UPDATE coupons SET redeemed_at = $1, redeemed_by = $2
         WHERE id = $3 AND redeemed_at IS NULL",
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
        (0, Some(_)) => return Ok(Err(NotRedeemed::AlreadyRedeemed)),
        (_, Some(c)) => c,
    };
    let row = sqlx::query(
        "INSERT INTO redemptions (coupon_id, store_id, user_id, redeemed_by, redeemed_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(coupon.id)
    .bind(coupon.store_id)
    .bind(coupon.user_id)
    .bind(by.id)
    .bind(at)
    .fetch_one(tx.conn())
    .await
    .context("logging a redemption")?;
    let redemption = Redemption {
        id: row.try_get(0)?,
        coupon_id: coupon.id,
        store_id: coupon.store_id,
        user_id: coupon.user_id,
        redeemed_by: by.clone(),
        redeemed_at: rfc3339(at),
    };
    Ok(Ok((coupon, redemption)))
}

async fn fetch(conn: &mut AnyConnection, id: i64) -> anyhow::Result<Option<Coupon>> {
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

/// A coupon by id.
pub async fn coupon(db: &Db, id: i64) -> anyhow::Result<Option<Coupon>> {
    let mut conn = db.reader().acquire().await?;
    fetch(&mut conn, id).await
}

/// A customer's coupons, newest first.
pub async fn of_user(db: &Db, user_id: i64) -> anyhow::Result<Vec<Coupon>> {
    let rows = sqlx::query(concat!(
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
    let rows = sqlx::query(
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
