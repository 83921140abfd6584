//! Public topics an admin created for integrators' events (migration 0011).

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;

use super::{Db, Tx};
use crate::time::rfc3339;

/// A topic as the API lists it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TopicRow {
    pub name: String,
    pub created_at: String,
}

/// Creates a topic in `tx`; false if one of that name exists.
pub async fn insert(tx: &mut Tx, name: &str, by: i64, at: i64) -> anyhow::Result<bool> {
    let done = sql::query(
        "INSERT INTO topics (name, created_by, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(by)
    .bind(at)
    .execute(tx.conn())
    .await
    .context("creating a topic")?
    .rows_affected();
    Ok(done == 1)
}

/// Whether the topic exists, read in `tx`.
pub async fn exists(tx: &mut Tx, name: &str) -> anyhow::Result<bool> {
    Ok(sql::query("SELECT 1 FROM topics WHERE name = $1")
        .bind(name)
        .fetch_optional(tx.conn())
        .await
        .context("reading a topic")?
        .is_some())
}

/// Every topic, by name.
pub async fn all(db: &Db) -> anyhow::Result<Vec<TopicRow>> {
    let rows = sql::query("SELECT name, created_at FROM topics ORDER BY name")
        .fetch_all(db.reader())
        .await
        .context("listing topics")?;
    rows.iter()
        .map(|r| {
            Ok(TopicRow {
                name: r.try_get(0)?,
                created_at: rfc3339(r.try_get(1)?),
            })
        })
        .collect()
}
