//! The record shop's storage, one module per kind of row:
//!
//! - [`catalog`]: albums and their history.
//! - [`stock`]: stock per store and album, and the history of its changes; the one
//!   conditional update that keeps stock from going negative.
//! - [`orders`]: orders, written together with the stock they take.
//! - [`sales`]: the sales and inventory views.
//! - [`watches`]: customers waiting for an album to come back in stock.
//!
//! The flows that use them (and the events they append) are in [`crate::shop`].

pub mod catalog;
pub mod orders;
pub mod sales;
pub mod stock;
pub mod watches;

use crate::db::sql;
use anyhow::Context;

use super::Tx;

pub use catalog::{Product, ProductChange, ProductValues};
pub use orders::Order;
pub use sales::{InventoryRow, SalesRow};
pub use stock::StockItem;

/// A store's name as this transaction sees it; `None` if there is no such store.
pub async fn store_name_in(tx: &mut Tx, id: i64) -> anyhow::Result<Option<String>> {
    let row = sql::query("SELECT name FROM stores WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await
        .context("reading a store")?;
    row.map(|r| r.try_get(0)).transpose()
}
