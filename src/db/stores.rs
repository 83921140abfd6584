//! Stores and their staff.

use anyhow::Context;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::stores::{CouponDesign, NewStore, StorePatch};
use crate::time::now_millis;
use crate::time::rfc3339;

/// A store as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
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

/// One change of a store's coupon design: what it became, who changed it, when.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DesignChange {
    pub id: i64,
    pub store_id: i64,
    pub design: CouponDesign,
    pub changed_by: crate::mileage::model::Person,
    pub changed_at: String,
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

    /// Applies a validated patch; `None` if the store does not exist. Reads and
    /// writes in one transaction so the fields not named keep their current values.
    pub async fn update_store(&self, id: i64, patch: &StorePatch) -> anyhow::Result<Option<Store>> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(concat!(
            "SELECT ",
            store_columns!(),
            " FROM stores WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        else {
            return Ok(None);
        };
        let mut store = store_from_row(&row)?;
        if let Some(n) = &patch.name {
            store.name.clone_from(n);
        }
        if let Some(a) = &patch.address {
            store.address.clone_from(a);
        }
        if let Some((lat, lon)) = patch.location {
            (store.lat, store.lon) = (Some(lat), Some(lon));
        }
        if let Some(t) = patch.coupon_threshold {
            store.coupon_threshold = t;
        }
        sqlx::query(
            "UPDATE stores SET name = $1, address = $2, lat = $3, lon = $4, coupon_threshold = $5
             WHERE id = $6",
        )
        .bind(&store.name)
        .bind(&store.address)
        .bind(store.lat)
        .bind(store.lon)
        .bind(store.coupon_threshold)
        .bind(id)
        .execute(tx.conn())
        .await
        .context("updating a store")?;
        tx.commit().await?;
        Ok(Some(store))
    }

    /// Sets a store's coupon design and logs the change in the same transaction;
    /// `None` if the store does not exist. Coupons already issued keep theirs.
    pub async fn set_coupon_design(
        &self,
        store_id: i64,
        design: &CouponDesign,
        by: i64,
    ) -> anyhow::Result<Option<DesignChange>> {
        let mut tx = self.begin().await?;
        let changed = sqlx::query(
            "UPDATE stores SET coupon_shape = $1, coupon_color = $2, coupon_label = $3 WHERE id = $4",
        )
        .bind(&design.shape)
        .bind(&design.color)
        .bind(&design.label)
        .bind(store_id)
        .execute(tx.conn())
        .await
        .context("changing a coupon design")?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO coupon_design_history (store_id, shape, color, label, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(store_id)
        .bind(&design.shape)
        .bind(&design.color)
        .bind(&design.label)
        .bind(by)
        .bind(now_millis())
        .fetch_one(tx.conn())
        .await
        .context("logging a coupon design change")?;
        let id: i64 = row.try_get(0)?;
        tx.commit().await?;
        let history = self.design_history(store_id).await?;
        Ok(history.into_iter().find(|c| c.id == id))
    }

    /// Every change of a store's coupon design, newest first.
    pub async fn design_history(&self, store_id: i64) -> anyhow::Result<Vec<DesignChange>> {
        let rows = sqlx::query(
            "SELECT h.id, h.store_id, h.shape, h.color, h.label, h.changed_by, u.name, h.changed_at
             FROM coupon_design_history h JOIN users u ON u.id = h.changed_by
             WHERE h.store_id = $1 ORDER BY h.id DESC",
        )
        .bind(store_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DesignChange {
                    id: r.try_get(0)?,
                    store_id: r.try_get(1)?,
                    design: CouponDesign {
                        shape: r.try_get(2)?,
                        color: r.try_get(3)?,
                        label: r.try_get(4)?,
                    },
                    changed_by: crate::mileage::model::Person {
                        id: r.try_get(5)?,
                        name: r.try_get(6)?,
                    },
                    changed_at: rfc3339(r.try_get(7)?),
                })
            })
            .collect()
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
