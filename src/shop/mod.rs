//! The record shop: albums, their stock at each store, orders, and what sold.
//!
//! # Layout
//! - [`rules`] (re-exported here): parsed values such as [`Quantity`], [`Price`],
//!   [`Delta`], [`Period`], free of HTTP and SQL.
//! - [`catalog`]: `create_product`, `update_product`, reading albums and their history.
//! - [`stock`]: `set_stock` and `adjust_stock` (staff stock changes), the stock views.
//! - [`orders`]: `place_order` (idempotent, never oversells), `user_orders`.
//! - [`sales`]: the sales and inventory views.
//! - [`watches`]: `watch`/`unwatch` a sold-out album; `notify_back`, which every
//!   path that raises stock calls.
//! - [`events`]: `product.updated`, `stock.changed`, `order.placed`, `stock.low`,
//!   `stock.back`.
//!
//! Each flow begins its transaction, calls the storage in [`crate::db::shop`] (where
//! the "stock never negative" invariant lives), appends its typed events and commits;
//! the route picks the HTTP status and body.

pub mod catalog;
pub mod events;
pub mod orders;
pub mod returns;
pub mod rules;
pub mod sales;
pub mod stock;
pub mod watches;

use thiserror::Error;

pub use rules::{
    Delta, MAX_ORDER_QUANTITY, MAX_PRICE, MAX_SALES_DAYS, MAX_STOCK, NewProduct, Period, Price,
    ProductUpdate, Quantity, RECENT_SALES_DAYS, StockLevel, StockStatus, day_of_millis,
    parse_reason,
};

/// Why a shop request was refused.
#[derive(Debug, Error)]
pub enum ShopError {
    #[error("quantity must be a whole number from 1 to {MAX_ORDER_QUANTITY}")]
    Quantity,
    #[error("stock must be a whole number from 0 to {MAX_STOCK}")]
    StockLevel,
    #[error("delta must be a non-zero whole number from -{MAX_STOCK} to {MAX_STOCK}")]
    Delta,
    #[error("price must be a whole number of won from 0 to {MAX_PRICE}")]
    Price,
    #[error("{0} must be 1 to 200 characters")]
    Text(&'static str),
    #[error("reason must be at most 200 characters")]
    Reason,
    #[error("from and to must be dates YYYY-MM-DD, from <= to, at most {MAX_SALES_DAYS} days")]
    Period,
    #[error("name at least one of title, artist or price")]
    EmptyUpdate,
    #[error("product")]
    NoSuchProduct,
    #[error("store")]
    NoSuchStore,
    #[error("user")]
    NoSuchUser,
    #[error("{0}")]
    Forbidden(&'static str),
    /// Not enough stock: nothing changed; `available` is what is left.
    #[error("only {available} left in stock")]
    InsufficientStock { available: i64 },
    #[error("order")]
    NoSuchOrder,
    /// A watch asked for an album the store has: nothing changed.
    #[error("this album is in stock at this store ({quantity} left): buy it instead")]
    InStock { quantity: i64 },
    #[error("watch")]
    NotWatching,
    #[error("coupon")]
    NoSuchCoupon,
    #[error("this coupon belongs to another store: it pays only there")]
    CouponOtherStore,
    #[error("this coupon is not active: it was used or revoked")]
    CouponNotActive,
    #[error("this coupon has expired")]
    CouponExpired,
    /// A return asked for more than is left to return; nothing changed.
    #[error("only {returnable} of this order can still be returned")]
    ReturnExceeds { returnable: i64 },
    #[error("reason must be 1 to 200 characters")]
    ReturnReason,
    #[error(transparent)]
    Loyalty(#[from] crate::mileage::MileageError),
    #[error(transparent)]
    KeyReused(#[from] crate::idempotency::KeyReused),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::db::shop::stock::Available> for ShopError {
    fn from(a: crate::db::shop::stock::Available) -> Self {
        Self::InsufficientStock { available: a.0 }
    }
}
