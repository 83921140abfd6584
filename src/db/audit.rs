//! The audit trail: one append-only row per staff action that moves money or
//! stock (grants, corrections, redemptions, returns, stock changes, policy and
//! coupon-design changes). Rows are written in the flow's own transaction, so a
//! change and its audit row commit together or not at all; the table refuses
//! updates and deletes (triggers in migration 0008).

use crate::db::sql;
use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::{Db, Tx};
use crate::mileage::model::Person;
use crate::time::rfc3339;

/// One action to record.
pub struct NewAudit<'a> {
    pub at: i64,
    /// Who did it; a name of `None` is read from the user's row.
    pub actor_id: i64,
    pub actor_name: Option<&'a str>,
    /// `grant`, `correction`, `coupon_redeem`, `order_return`, `stock_set`,
    /// `stock_adjust`, `store_policy`, `coupon_design`.
    pub kind: &'a str,
    pub store_id: Option<i64>,
    /// `user`, `order`, `product`, `coupon` or `store`.
    pub target_type: &'a str,
    pub target_id: Option<i64>,
    pub before: Value,
    pub after: Value,
}

/// One audit row as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: Person,
    pub kind: String,
    pub store_id: Option<i64>,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    #[schema(value_type = Object)]
    pub before: Value,
    #[schema(value_type = Object)]
    pub after: Value,
}

/// Appends one row in `tx`.
pub async fn append(tx: &mut Tx, a: &NewAudit<'_>) -> anyhow::Result<i64> {
    let id = sql::query(
        "INSERT INTO audit (at, actor_id, actor_name, kind, store_id, target_type, target_id, before, after)
         VALUES ($1, $2, COALESCE($3, (SELECT name FROM users WHERE id = $2), ''), $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.at)
    .bind(a.actor_id)
    .bind(a.actor_name)
    .bind(a.kind)
    .bind(a.store_id)
    .bind(a.target_type)
    .bind(a.target_id)
    .bind(a.before.to_string())
    .bind(a.after.to_string())
    .insert_id(tx.conn())
    .await
    .context("appending an audit row")?;
    Ok(id)
}

/// What a listing asks for.
#[derive(Debug, Default, Clone)]
pub struct AuditQuery {
    /// Only rows of stores this user works at (owners); `None` for every row.
    pub staff_of: Option<i64>,
    pub store_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub kind: Option<String>,
    /// Milliseconds, inclusive.
    pub from: Option<i64>,
    /// Milliseconds, exclusive.
    pub to: Option<i64>,
    pub before: Option<i64>,
    pub limit: i64,
}

fn row_from(r: &sql::Row) -> anyhow::Result<AuditRow> {
    let parse = |s: Option<String>| {
        s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null)
    };
    Ok(AuditRow {
        id: r.try_get(0)?,
        at: rfc3339(r.try_get(1)?),
        actor: Person {
            id: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
            name: r.try_get(3)?,
        },
        kind: r.try_get(4)?,
        store_id: r.try_get(5)?,
        target_type: r.try_get(6)?,
        target_id: r.try_get(7)?,
        before: parse(r.try_get(8)?),
        after: parse(r.try_get(9)?),
    })
}

/// Rows matching `q`, newest first.
pub async fn list(db: &Db, q: &AuditQuery) -> anyhow::Result<Vec<AuditRow>> {
    let sql =
        "SELECT id, at, actor_id, actor_name, kind, store_id, target_type, target_id, before, after
         FROM audit WHERE id < $1 AND ($2 = 0 OR store_id = $2) AND ($3 = 0 OR actor_id = $3)
           AND ($4 = '' OR kind = $4) AND at >= $5 AND at < $6
           AND ($8 = 0 OR store_id IN (SELECT store_id FROM store_staff WHERE user_id = $8))
         ORDER BY id DESC LIMIT $7";
    let rows = sql::query(sql)
        .bind(q.before.unwrap_or(i64::MAX))
        .bind(q.store_id.unwrap_or(0))
        .bind(q.actor_id.unwrap_or(0))
        .bind(q.kind.clone().unwrap_or_default())
        .bind(q.from.unwrap_or(i64::MIN))
        .bind(q.to.unwrap_or(i64::MAX))
        .bind(q.limit)
        .bind(q.staff_of.unwrap_or(0))
        .fetch_all(db.reader())
        .await
        .context("listing the audit trail")?;
    rows.iter().map(row_from).collect()
}
