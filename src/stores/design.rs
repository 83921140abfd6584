//! Coupon designs: how a store's coupons look, and the log of every change.
//!
//! A change and its history row are written by one storage call
//! ([`crate::db::stores::set_design`]), so the log cannot miss a change.

use super::StoreError;
use crate::db::Db;
use crate::db::stores::{self as sql, DesignChange};

/// Coupon shapes the pages know how to draw.
pub const COUPON_SHAPES: &[&str] = &["rounded", "square", "circle", "ticket", "star"];

/// How a store's coupons look: a known shape, a `#rrggbb` colour, a short label.
/// The one design type: validated by [`CouponDesign::parse`] on the way in, stored
/// on the store and copied onto each coupon when it is issued.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CouponDesign {
    pub shape: String,
    pub color: String,
    pub label: String,
}

impl CouponDesign {
    /// Checks a design; the colour is kept in lower case and the label trimmed.
    pub fn parse(shape: &str, color: &str, label: &str) -> Result<Self, StoreError> {
        if !COUPON_SHAPES.contains(&shape) {
            return Err(StoreError::Shape);
        }
        let hex = color.strip_prefix('#').ok_or(StoreError::Color)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Color);
        }
        let label = label.trim();
        let n = label.chars().count();
        if n == 0 || n > 40 || label.chars().any(char::is_control) {
            return Err(StoreError::Label);
        }
        Ok(Self {
            shape: shape.to_string(),
            color: color.to_ascii_lowercase(),
            label: label.to_string(),
        })
    }
}

/// Sets the design of the coupons `store_id` issues from now on (coupons already
/// issued keep theirs) and answers the logged change.
pub async fn set_coupon_design(
    db: &Db,
    store_id: i64,
    design: &CouponDesign,
    by: i64,
) -> Result<DesignChange, StoreError> {
    let mut tx = db.begin().await?;
    let before = sql::store_by_id(tx.conn(), store_id)
        .await?
        .map(|s| s.coupon_design);
    let id = sql::set_design(&mut tx, store_id, design, by)
        .await?
        .ok_or(StoreError::NotFound)?;
    let change = sql::design_change(tx.conn(), id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a logged design change vanished"))?;
    crate::db::audit::append(
        &mut tx,
        &crate::db::audit::NewAudit {
            at: crate::time::now_millis(),
            actor_id: by,
            actor_name: Some(&change.changed_by.name),
            kind: "coupon_design",
            store_id: Some(store_id),
            target_type: "store",
            target_id: Some(store_id),
            before: serde_json::json!(before),
            after: serde_json::json!(change.design),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(change)
}

/// Every change of a store's coupon design, newest first.
pub async fn design_history(db: &Db, store_id: i64) -> Result<Vec<DesignChange>, StoreError> {
    if !db.store_exists(store_id).await? {
        return Err(StoreError::NotFound);
    }
    Ok(sql::design_history(db.reader(), store_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_are_checked() {
        let d = CouponDesign::parse("star", "#AABBCC", " Free coffee ").unwrap();
        assert_eq!(
            (d.color.as_str(), d.label.as_str()),
            ("#aabbcc", "Free coffee")
        );
        assert!(matches!(
            CouponDesign::parse("blob", "#aabbcc", "x"),
            Err(StoreError::Shape)
        ));
        assert!(matches!(
            CouponDesign::parse("star", "red", "x"),
            Err(StoreError::Color)
        ));
        assert!(matches!(
            CouponDesign::parse("star", "#abc", "x"),
            Err(StoreError::Color)
        ));
        assert!(matches!(
            CouponDesign::parse("star", "#aabbcc", " "),
            Err(StoreError::Label)
        ));
    }
}
