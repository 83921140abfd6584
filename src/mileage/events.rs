//! The loyalty program's events: their type names and payloads, in one place.
//!
//! Each goes to the customer's `user:` channel and is echoed to the store's staff
//! on `store:{id}`. A payload carries what a page needs to
//! render it without another request.

use serde::Serialize;

use super::model::{Coupon, Person};
use crate::events::Payload;
use crate::stores::CouponDesign;

/// A store as events name it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StoreRef<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// `mileage.granted`: points credited (by staff, or earned by an order), and what
/// the conversion left.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MileageGranted<'a> {
    pub user_id: i64,
    pub store: StoreRef<'a>,
    pub points: i64,
    pub balance_before_conversion: i64,
    pub balance: i64,
    pub coupons_issued: i64,
    pub reason: &'a str,
    /// A staff grant's reason code (absent for points an order earned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<&'a str>,
    /// The staff member; `null` for points an order earned.
    pub granted_by: Option<Person>,
    pub entry_id: i64,
    /// The order that earned them (absent for a staff grant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<i64>,
}

impl Payload for MileageGranted<'_> {
    const TYPE: &'static str = "mileage.granted";
}

/// `coupon.issued`: one per coupon a conversion issued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponIssued<'a> {
    pub user_id: i64,
    pub coupon: &'a Coupon,
    pub store: StoreRef<'a>,
    pub design: &'a CouponDesign,
    /// The balance after the conversion.
    pub balance: i64,
    pub conversion_entry_id: Option<i64>,
}

impl Payload for CouponIssued<'_> {
    const TYPE: &'static str = "coupon.issued";
}

/// `coupon.redeemed`: a coupon was used at its store, redeemed by staff (with the
/// redemption's id) or paid with at checkout (with the order's id, `redeemed_by`
/// the buyer).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponRedeemed<'a> {
    pub user_id: i64,
    pub coupon: &'a Coupon,
    pub store: StoreRef<'a>,
    pub redeemed_by: &'a Person,
    pub redemption_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<i64>,
}

impl Payload for CouponRedeemed<'_> {
    const TYPE: &'static str = "coupon.redeemed";
}

/// `mileage.reversed`: a return took back the points its part of the order earned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MileageReversed<'a> {
    pub user_id: i64,
    pub store: StoreRef<'a>,
    /// Taken back (positive).
    pub points: i64,
    /// After the reversal; below zero when the points were already spent.
    pub balance: i64,
    pub order_id: i64,
    pub entry_id: i64,
}

impl Payload for MileageReversed<'_> {
    const TYPE: &'static str = "mileage.reversed";
}

/// `coupon.revoked`: an unused coupon taken back because the points it was made of
/// were returned; its worth went back into the balance first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponRevoked<'a> {
    pub user_id: i64,
    pub coupon: &'a Coupon,
    pub store: StoreRef<'a>,
    /// After the coupon's worth came back (before the reversal).
    pub balance: i64,
    pub order_id: i64,
}

impl Payload for CouponRevoked<'_> {
    const TYPE: &'static str = "coupon.revoked";
}

/// `coupon.restored`: a coupon paid with at checkout is active again because its
/// order was returned whole.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponRestored<'a> {
    pub user_id: i64,
    pub coupon: &'a Coupon,
    pub store: StoreRef<'a>,
    pub order_id: i64,
}

impl Payload for CouponRestored<'_> {
    const TYPE: &'static str = "coupon.restored";
}

/// `mileage.expiring`: what is left of one lot will expire within seven days (sent
/// once per lot, by the `mileage-expiry` job).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MileageExpiring<'a> {
    pub user_id: i64,
    pub store: StoreRef<'a>,
    /// What will expire.
    pub points: i64,
    pub expires_at: String,
    /// The earning entry (lot).
    pub entry_id: i64,
}

impl Payload for MileageExpiring<'_> {
    const TYPE: &'static str = "mileage.expiring";
}

/// `mileage.expired`: what was left of one lot expired; its `expiry` entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MileageExpired<'a> {
    pub user_id: i64,
    pub store: StoreRef<'a>,
    /// Taken off (positive).
    pub points: i64,
    /// After the expiry.
    pub balance: i64,
    /// The `expiry` entry.
    pub entry_id: i64,
    /// The lot that expired.
    pub lot_id: i64,
}

impl Payload for MileageExpired<'_> {
    const TYPE: &'static str = "mileage.expired";
}

/// `coupon.expired`: an unused coupon passed its `expires_at`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponExpired<'a> {
    pub user_id: i64,
    pub coupon: &'a Coupon,
    pub store: StoreRef<'a>,
}

impl Payload for CouponExpired<'_> {
    const TYPE: &'static str = "coupon.expired";
}
