//! A member's mileage history: ledger entries with what explains them (the
//! store's name, who made each, the coupons a conversion issued, the conversion a
//! credit caused, the lot an expiry took). Reads only; [`super::ledger`] writes.

use crate::db::sql;
use std::collections::HashMap;

use anyhow::Context;

use super::Db;
use crate::mileage::model::{Actor, Converted, HistoryEntry, LotRef, Page};
use crate::time::rfc3339;

fn row_to_history(r: &sql::Row) -> anyhow::Result<HistoryEntry> {
    let entry = super::ledger::entry_from_row(r)?;
    let actor = match (entry.actor_id, r.try_get::<Option<String>, _>(16)?) {
        (Some(id), Some(name)) => Some(Actor {
            id,
            name,
            login: r.try_get(17)?,
        }),
        _ => None,
    };
    let source: Option<i64> = r.try_get(14)?;
    let lot = match (entry.kind.as_str(), source) {
        ("expiry", Some(id)) => Some(LotRef {
            id,
            kind: String::new(),
            points: 0,
            created_at: String::new(),
            expires_at: None,
        }),
        _ => None,
    };
    Ok(HistoryEntry {
        store_name: r.try_get(15)?,
        actor,
        converted: None,
        coupon_ids: Vec::new(),
        lot,
        entry,
    })
}

/// A page of `user_id`'s entries (at `store_id` only, if given), newest first,
/// each explained.
pub async fn history(
    db: &Db,
    user_id: i64,
    store_id: Option<i64>,
    page: Page,
) -> anyhow::Result<Vec<HistoryEntry>> {
    let rows = sql::query(
        "SELECT e.id, e.store_id, e.user_id, e.kind, e.points, e.balance_after, e.reason,
                e.actor_id, e.created_at, e.order_id, e.expires_at, e.remaining, e.reason_code,
                e.api_key_id, e.source_id, s.name, u.name, u.login
         FROM mileage_entries e JOIN stores s ON s.id = e.store_id
         LEFT JOIN users u ON u.id = e.actor_id
         WHERE e.user_id = $1 AND ($2 = 0 OR e.store_id = $2) AND e.id < $3
         ORDER BY e.id DESC LIMIT $4",
    )
    .bind(user_id)
    .bind(store_id.unwrap_or(0))
    .bind(page.before_id())
    .bind(page.limit)
    .fetch_all(db.reader())
    .await
    .context("reading a mileage history")?;
    let mut list = rows
        .iter()
        .map(row_to_history)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (Some(low), Some(high)) = (
        list.iter().map(|h| h.entry.id).min(),
        list.iter().map(|h| h.entry.id).max(),
    ) else {
        return Ok(list);
    };
    // The page's entries are ids low..=high of this user: coupons of its
    // conversions, and conversions caused by its credits, lie in that range or
    // (a conversion caused by the page's newest credit) just above it.
    let coupons = coupons_of_entries(db, user_id, low, high).await?;
    let conversions = conversions_of(db, user_id, low, high).await?;
    for h in &mut list {
        if h.entry.kind == "conversion" {
            h.coupon_ids = coupons.get(&h.entry.id).cloned().unwrap_or_default();
        }
        if let Some(c) = conversions.get(&h.entry.id) {
            let mut c = c.clone();
            c.coupon_ids = match coupons.get(&c.entry_id) {
                Some(ids) => ids.clone(),
                None => coupons_of_entries(db, user_id, c.entry_id, c.entry_id)
                    .await?
                    .remove(&c.entry_id)
                    .unwrap_or_default(),
            };
            h.converted = Some(c);
        }
        if let Some(lot) = &mut h.lot {
            *lot = lot_ref(db, lot.id).await?.unwrap_or_else(|| lot.clone());
        }
    }
    Ok(list)
}

/// Coupon ids by the conversion entry that issued them, for entries low..=high.
async fn coupons_of_entries(
    db: &Db,
    user_id: i64,
    low: i64,
    high: i64,
) -> anyhow::Result<HashMap<i64, Vec<i64>>> {
    let rows = sql::query(
        "SELECT entry_id, id FROM coupons
         WHERE user_id = $1 AND entry_id >= $2 AND entry_id <= $3 ORDER BY id",
    )
    .bind(user_id)
    .bind(low)
    .bind(high)
    .fetch_all(db.reader())
    .await
    .context("reading the coupons of conversions")?;
    let mut by_entry: HashMap<i64, Vec<i64>> = HashMap::new();
    for r in &rows {
        by_entry
            .entry(r.try_get(0)?)
            .or_default()
            .push(r.try_get(1)?);
    }
    Ok(by_entry)
}

/// Conversions caused by the credits low..=high, keyed by the credit's id.
async fn conversions_of(
    db: &Db,
    user_id: i64,
    low: i64,
    high: i64,
) -> anyhow::Result<HashMap<i64, Converted>> {
    let rows = sql::query(
        "SELECT source_id, id, points, balance_after FROM mileage_entries
         WHERE user_id = $1 AND kind = 'conversion' AND source_id >= $2 AND source_id <= $3",
    )
    .bind(user_id)
    .bind(low)
    .bind(high)
    .fetch_all(db.reader())
    .await
    .context("reading conversions")?;
    let mut by_credit = HashMap::new();
    for r in &rows {
        let points: i64 = r.try_get(2)?;
        by_credit.insert(
            r.try_get(0)?,
            Converted {
                entry_id: r.try_get(1)?,
                points: -points,
                coupon_ids: Vec::new(),
                balance_after: r.try_get(3)?,
            },
        );
    }
    Ok(by_credit)
}

async fn lot_ref(db: &Db, id: i64) -> anyhow::Result<Option<LotRef>> {
    let row = sql::query(
        "SELECT id, kind, points, created_at, expires_at FROM mileage_entries WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.reader())
    .await
    .context("reading a lot")?;
    row.map(|r| {
        Ok(LotRef {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            points: r.try_get(2)?,
            created_at: rfc3339(r.try_get(3)?),
            expires_at: r.try_get::<Option<i64>, _>(4)?.map(rfc3339),
        })
    })
    .transpose()
}
