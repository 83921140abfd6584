//! The loyalty program (DESIGN.md §3): memberships, the mileage ledger, conversion
//! into coupons, and redemption.
//!
//! - [`rules`]: what a grant may be and how a balance converts (pure, unit-tested);
//!   the area's error type.
//! - [`grants`]: the grant flow (credit, convert, issue coupons, tell the member and
//!   the store), idempotent by key.
//! - [`conversion`]: how points arrive (grants and purchases alike) and convert.
//! - [`purchases`]: what an order earns, and what a return takes back without
//!   letting anyone come out ahead.
//! - [`expiry`]: the `mileage-expiry` job's body (expired lots and coupons, warnings).
//! - [`coupons`]: redeeming a coupon at its store, and reading coupons.
//! - [`members`]: joining and leaving a store.
//! - [`model`]: the data the API and events show; [`events`]: the event payloads.
//!
//! Flows begin the transaction, call storage ([`crate::db::ledger`],
//! [`crate::db::coupons`], [`crate::db::members`]), emit typed events and commit;
//! the ledger's invariant (balance = sum of entries) is kept by storage itself.

pub mod conversion;
pub mod coupons;
pub mod events;
pub mod expiry;
pub mod grants;
pub mod members;
pub mod model;
pub mod purchases;
pub mod rules;

pub use rules::{
    MAX_COUPONS_PER_GRANT, MAX_GRANT, MileageError, Points, Reason, ReasonCode, convert,
    grant_points,
};

use crate::db::Tx;
use crate::events::{Payload, channel};

/// Emits `payload` to the customer's channel and echoes it to the store's staff.
async fn emit_both<P: Payload>(
    tx: &mut Tx,
    user_id: i64,
    store_id: i64,
    payload: &P,
) -> anyhow::Result<()> {
    let (user, store) = (channel::user(user_id), channel::store(store_id));
    tx.emit_to(&[&user, &store], payload).await?;
    Ok(())
}
