//! The record shop's events: their type names and payloads, in one place.
//!
//! `product.updated` and the public `stock.changed` go to the `products` channel,
//! which anyone may read; the staff's `stock.changed` and `stock.low` to the store's
//! `store:{id}` channel; `order.placed` to the buyer's `user:{id}`, and `stock.back`
//! to each watcher's.

use serde::Serialize;

use super::stock::StockChange;
use crate::db::shop::{Order, Product, ProductValues};
use crate::events::Payload;
use crate::mileage::events::StoreRef;
use crate::mileage::model::Person;

/// Whether `product.updated` announces a new album or a changed one.
#[derive(Clone, Copy, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProductChangeKind {
    Created,
    Updated,
}

/// `product.updated`: an album was created, renamed or repriced.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductUpdated<'a> {
    pub change: ProductChangeKind,
    /// The album after the change.
    pub product: &'a Product,
    /// The values the change replaced; `null` on creation.
    pub previous: Option<ProductValues>,
    pub by: i64,
}

impl Payload for ProductUpdated<'_> {
    const TYPE: &'static str = "product.updated";
}

/// `order.placed`, to the buyer: the order and the stock left after it (the same
/// as the order's answer). The store's staff hear of it through `stock.changed`
/// (with the order's id).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderPlaced<'a> {
    pub order: &'a Order,
    pub stock_left: i64,
}

impl Payload for OrderPlaced<'_> {
    const TYPE: &'static str = "order.placed";
}

/// `order.returned`, to the buyer and the store's staff: the order after the
/// return, what came back, why, by whom, and the points it took back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderReturned<'a> {
    pub order: &'a Order,
    pub quantity: i64,
    pub reason: &'a str,
    pub returned_by: Person,
    pub points_reversed: i64,
}

impl Payload for OrderReturned<'_> {
    const TYPE: &'static str = "order.returned";
}

/// `stock.changed` on the public `products` channel (live shop pages): anyone may
/// read it, so it leaves out who changed the stock and which order did it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockChanged<'a> {
    pub store_id: i64,
    pub product_id: i64,
    pub title: &'a str,
    /// The quantity left after the change.
    pub quantity: i64,
    pub delta: i64,
    pub reason: &'a str,
}

impl<'a> From<&'a StockChange> for StockChanged<'a> {
    fn from(c: &'a StockChange) -> Self {
        Self {
            store_id: c.store_id,
            product_id: c.product_id,
            title: &c.title,
            quantity: c.quantity,
            delta: c.delta,
            reason: &c.reason,
        }
    }
}

impl Payload for StockChanged<'_> {
    const TYPE: &'static str = "stock.changed";
}

/// `stock.changed` to the store's staff: the whole change, with `order_id` and `by`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct StaffStockChanged<'a>(pub &'a StockChange);

impl Payload for StaffStockChanged<'_> {
    const TYPE: &'static str = "stock.changed";
}

/// `stock.low`, to the store's staff: an album under the optimum the
/// `optimal-stock` job computed (one per album and run).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockLow {
    pub store_id: i64,
    pub product_id: i64,
    pub title: String,
    pub quantity: i64,
    pub optimum: i64,
    pub units_sold: i64,
    pub window_days: i64,
}

impl Payload for StockLow {
    const TYPE: &'static str = "stock.low";
}

/// An album as `stock.back` names it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductRef<'a> {
    pub id: i64,
    pub title: &'a str,
    pub artist: &'a str,
}

/// `stock.back`, to each customer who watched the album at the store: its stock
/// went from 0 to `quantity`. Their watch ended with it (one message per watch).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockBack<'a> {
    pub store: StoreRef<'a>,
    pub product: ProductRef<'a>,
    /// The quantity after the change that brought it back.
    pub quantity: i64,
}

impl Payload for StockBack<'_> {
    const TYPE: &'static str = "stock.back";
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn the_public_stock_change_leaves_out_who_and_which_order() {
        let change = StockChange {
            store_id: 1,
            product_id: 2,
            title: "Kind of Blue".into(),
            quantity: 3,
            delta: -1,
            reason: "order".into(),
            order_id: Some(9),
            by: 7,
        };
        let public = serde_json::to_value(StockChanged::from(&change)).unwrap();
        let staff = serde_json::to_value(StaffStockChanged(&change)).unwrap();
        assert_eq!(
            keys(&public),
            [
                "delta",
                "product_id",
                "quantity",
                "reason",
                "store_id",
                "title"
            ]
        );
        assert_eq!(staff["order_id"], 9);
        assert_eq!(staff["by"], 7);
        assert_eq!(staff, serde_json::to_value(&change).unwrap());
    }

    #[test]
    fn a_created_album_has_a_null_previous() {
        let product = Product {
            id: 1,
            title: "Blue Train".into(),
            artist: "John Coltrane".into(),
            price: 30_000,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let created = ProductUpdated {
            change: ProductChangeKind::Created,
            product: &product,
            previous: None,
            by: 5,
        };
        let v = serde_json::to_value(&created).unwrap();
        assert_eq!(v["change"], "created");
        assert_eq!(v["previous"], json!(null));
        assert_eq!(keys(&v), ["by", "change", "previous", "product"]);
    }
}
