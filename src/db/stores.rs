//! Store rows: stores, who works at each, and the log of coupon design changes.
//!
//! Rows and queries only; the flows that decide are in [`crate::stores`]. Writes
//! take the flow's [`Tx`]; reads take any executor (the reader pool or a
//! transaction's connection), so a flow reads what it is about to change.

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use super::{Db, Tx};
use crate::stores::{CouponDesign, NewStore};
use crate::time::{now_millis, rfc3339};

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
    /// Percent of what a purchase paid that it earns in points (0: none).
    pub earn_percent: i64,
    /// What one coupon takes off a purchase at this store, in won.
    pub coupon_value: i64,
    /// Days earned points stay valid (0: never expire).
    pub points_valid_days: i64,
    /// Days an issued coupon stays valid (0: never expires).
    pub coupon_valid_days: i64,
    /// IANA time zone: what "today" means for the store (its daily grant cap).
    pub time_zone: String,
    /// Points an owner may grant here per calendar day in `time_zone`.
    pub daily_grant_cap: i64,
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
        "id, name, address, lat, lon, owner_id, joined_at, coupon_threshold, coupon_shape, coupon_color, coupon_label, \
         earn_percent, coupon_value, points_valid_days, coupon_valid_days, time_zone, daily_grant_cap"
    };
}

pub(crate) fn store_from_row(r: &sql::Row) -> anyhow::Result<Store> {
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
        earn_percent: r.try_get(11)?,
        coupon_value: r.try_get(12)?,
        points_valid_days: r.try_get(13)?,
        coupon_valid_days: r.try_get(14)?,
        time_zone: r.try_get(15)?,
        daily_grant_cap: r.try_get(16)?,
    })
}

/// Inserts a store; its owner (if any) becomes its staff in the same write, so an
/// owner always works at the stores they own.
pub async fn insert_store(tx: &mut Tx, new: &NewStore) -> anyhow::Result<Store> {
    let id = sql::query(
        "INSERT INTO stores (name, address, lat, lon, owner_id, joined_at, coupon_threshold)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&new.name)
    .bind(&new.address)
    .bind(new.location.map(|l| l.0))
    .bind(new.location.map(|l| l.1))
    .bind(new.owner_id)
    .bind(new.joined_at.unwrap_or_else(now_millis))
    .bind(new.coupon_threshold)
    .insert_id(tx.conn())
    .await
    .context("inserting a store")?;
    if let Some(owner) = new.owner_id {
        sql::query(
            "INSERT INTO store_staff (store_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(owner)
        .execute(tx.conn())
        .await
        .context("making the owner staff")?;
        // The owner may now read one more store: their open streams are checked
        // again (and reopened with it), on every instance.
        tx.sessions_changed(owner).await?;
    }
    store_by_id(tx.conn(), id)
        .await?
        .context("a new store vanished")
}

/// One store, read through `ex`.
pub async fn store_by_id<'c>(
    ex: impl Into<sql::Conn<'c>>,
    id: i64,
) -> anyhow::Result<Option<Store>> {
    let row = sql::query(concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await
    .context("reading a store")?;
    row.as_ref().map(store_from_row).transpose()
}

/// Every store, by id.
pub async fn all_stores<'c>(ex: impl Into<sql::Conn<'c>>) -> anyhow::Result<Vec<Store>> {
    let rows = sql::query(concat!(
        "SELECT ",
        store_columns!(),
        " FROM stores ORDER BY id"
    ))
    .fetch_all(ex)
    .await
    .context("listing stores")?;
    rows.iter().map(store_from_row).collect()
}

/// Writes a store's editable fields (name, address, location, threshold, loyalty
/// policy) as given.
pub async fn save_store(tx: &mut Tx, store: &Store) -> anyhow::Result<()> {
    sql::query(
        "UPDATE stores SET name = $1, address = $2, lat = $3, lon = $4, coupon_threshold = $5,
                earn_percent = $7, coupon_value = $8,
                points_valid_days = $9, coupon_valid_days = $10,
                time_zone = $11, daily_grant_cap = $12
         WHERE id = $6",
    )
    .bind(&store.name)
    .bind(&store.address)
    .bind(store.lat)
    .bind(store.lon)
    .bind(store.coupon_threshold)
    .bind(store.id)
    .bind(store.earn_percent)
    .bind(store.coupon_value)
    .bind(store.points_valid_days)
    .bind(store.coupon_valid_days)
    .bind(&store.time_zone)
    .bind(store.daily_grant_cap)
    .execute(tx.conn())
    .await
    .context("updating a store")?;
    Ok(())
}

/// Sets a store's coupon design and logs the change in the same call, so no change
/// goes unlogged. Answers the log row's id; `None` if the store does not exist.
pub async fn set_design(
    tx: &mut Tx,
    store_id: i64,
    design: &CouponDesign,
    by: i64,
) -> anyhow::Result<Option<i64>> {
    let changed = sql::query(
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
    let id = sql::query(
        "INSERT INTO coupon_design_history (store_id, shape, color, label, changed_by, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(store_id)
    .bind(&design.shape)
    .bind(&design.color)
    .bind(&design.label)
    .bind(by)
    .bind(now_millis())
    .insert_id(tx.conn())
    .await
    .context("logging a coupon design change")?;
    Ok(Some(id))
}

/// The columns [`change_from_row`] reads, in its order, from `h` (the history) and
/// `u` (who changed it).
macro_rules! change_columns {
    () => {
        "SELECT h.id, h.store_id, h.shape, h.color, h.label, h.changed_by, u.name, h.changed_at
         FROM coupon_design_history h JOIN users u ON u.id = h.changed_by"
    };
}

fn change_from_row(r: &sql::Row) -> anyhow::Result<DesignChange> {
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
}

/// One logged design change.
pub async fn design_change<'c>(
    ex: impl Into<sql::Conn<'c>>,
    id: i64,
) -> anyhow::Result<Option<DesignChange>> {
    let row = sql::query(concat!(change_columns!(), " WHERE h.id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await
        .context("reading a design change")?;
    row.as_ref().map(change_from_row).transpose()
}

/// Every change of a store's coupon design, newest first.
pub async fn design_history<'c>(
    ex: impl Into<sql::Conn<'c>>,
    store_id: i64,
) -> anyhow::Result<Vec<DesignChange>> {
    let rows = sql::query(concat!(
        change_columns!(),
        " WHERE h.store_id = $1 ORDER BY h.id DESC"
    ))
    .bind(store_id)
    .fetch_all(ex)
    .await
    .context("reading a design history")?;
    rows.iter().map(change_from_row).collect()
}

impl Db {
    /// Creates a store in a transaction of its own, for seeding (`serve --demo`);
    /// requests go through [`crate::stores::manage::create`], which checks the owner.
    pub async fn create_store(&self, new: &NewStore) -> anyhow::Result<Store> {
        let mut tx = self.begin().await?;
        let store = insert_store(&mut tx, new).await?;
        tx.commit().await?;
        Ok(store)
    }

    /// One store, if it exists.
    pub async fn store(&self, id: i64) -> anyhow::Result<Option<Store>> {
        store_by_id(self.reader(), id).await
    }

    /// Whether a store exists (read once: stores are never deleted, see
    /// `db::known`).
    pub async fn store_exists(&self, store_id: i64) -> anyhow::Result<bool> {
        if self.known.store(store_id) {
            return Ok(true);
        }
        let exists = sql::query("SELECT 1 FROM stores WHERE id = $1")
            .bind(store_id)
            .fetch_optional(self.reader())
            .await?
            .is_some();
        if exists {
            self.known.remember_store(store_id);
        }
        Ok(exists)
    }
}
