//! Stores and their staff.

use anyhow::Context;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::users::rfc3339;
use super::{Db, now_millis};
use crate::stores::NewStore;

/// A store as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Store {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub owner_id: Option<i64>,
    /// When the store joined the service (RFC 3339).
    pub joined_at: String,
    pub coupon_threshold: i64,
    pub coupon_design: CouponDesign,
}

/// How a store's coupons look.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CouponDesign {
    pub shape: String,
    pub color: String,
    pub label: String,
}

/// The columns [`store_from_row`] reads, in its order.
macro_rules! store_columns {
    () => {
        "id, name, address, lat, lon, owner_id, joined_at, coupon_threshold, coupon_shape, coupon_color, coupon_label"
    };
}

pub(crate) fn store_from_row(r: &AnyRow) -> anyhow::Result<Store> {
    Ok(Store {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        address: r.try_get(2)?,
        lat: r.try_get(3)?,
        lon: r.try_get(4)?,
        owner_id: r.try_get(5)?,
        joined_at: rfc3339(r.try_get(6)?),
        coupon_threshold: r.try_get(7)?,
        coupon_design: CouponDesign {
            shape: r.try_get(8)?,
            color: r.try_get(9)?,
            label: r.try_get(10)?,
        },
    })
}

impl Db {
    /// Creates a store; its owner (if any) becomes its staff.
    pub async fn create_store(&self, new: &NewStore) -> anyhow::Result<Store> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO stores (name, address, lat, lon, owner_id, joined_at, coupon_threshold)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.address)
        .bind(new.location.map(|l| l.0))
        .bind(new.location.map(|l| l.1))
        .bind(new.owner_id)
        .bind(now_millis())
        .bind(new.coupon_threshold)
        .fetch_one(tx.conn())
        .await
        .context("inserting a store")?;
        let id: i64 = row.try_get(0)?;
        if let Some(owner) = new.owner_id {
            sqlx::query("INSERT INTO store_staff (store_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(owner)
                .execute(tx.conn())
                .await?;
        }
        let store = sqlx::query(concat!(
            "SELECT ",
            store_columns!(),
            " FROM stores WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        let store = store_from_row(&store)?;
        tx.commit().await?;
        Ok(store)
    }

    pub async fn store(&self, id: i64) -> anyhow::Result<Option<Store>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            store_columns!(),
            " FROM stores WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.reader())
        .await?;
        row.as_ref().map(store_from_row).transpose()
    }

    pub async fn stores(&self) -> anyhow::Result<Vec<Store>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            store_columns!(),
            " FROM stores ORDER BY id"
        ))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(store_from_row).collect()
    }

    /// The role of a user, if the user exists.
    pub async fn user_role(&self, id: i64) -> anyhow::Result<Option<String>> {
        let row = sqlx::query("SELECT role FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.map(|r| r.try_get(0).map_err(Into::into)).transpose()
    }
}
