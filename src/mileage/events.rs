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
#[derive(Clone, Debug, Serialize)]
pub struct StoreRef<'a> {
    pub id: i64,
    pub name: &'a str,
}

/// `mileage.granted`: points credited, and what the conversion left.
#[derive(Debug, Serialize)]
pub struct MileageGranted<'a> {
    pub user_id: i64,
    pub store: StoreRef<'a>,
    pub points: i64,
    pub balance_before_conversion: i64,
    pub balance: i64,
    pub coupons_issued: i64,
    pub reason: &'a str,
    pub granted_by: Person,
    pub entry_id: i64,
}

impl Payload for MileageGranted<'_> {
    const TYPE: &'static str = "mileage.granted";
}

/// `coupon.issued`: one per coupon a conversion issued.
#[derive(Debug, Serialize)]
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

/// `coupon.redeemed`: a coupon was used at its store.
#[derive(Debug, Serialize)]
pub struct CouponRedeemed<'a> {
    pub user_id: i64,
    pub coupon: &'a Coupon,
    pub store: StoreRef<'a>,
    pub redeemed_by: &'a Person,
    pub redemption_id: i64,
}

impl Payload for CouponRedeemed<'_> {
    const TYPE: &'static str = "coupon.redeemed";
}
