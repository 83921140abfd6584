//! The loyalty program's data as the API and the events show it: ledger entries,
//! balances, members, coupons and redemptions. Storage ([`crate::db::ledger`],
//! [`crate::db::coupons`], [`crate::db::members`]) reads rows into these; flows and
//! routes pass them on unchanged.

use serde::{Deserialize, Serialize};

use crate::stores::CouponDesign;

/// One ledger entry. A balance always equals the sum of its entries' `points`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Entry {
    pub id: i64,
    pub store_id: i64,
    pub user_id: i64,
    /// `grant`, `conversion`, `adjustment`, `purchase` (points an order earned),
    /// `reversal` (points a return took back), `revocation` (a coupon's worth given
    /// back when the coupon was revoked) or `expiry` (what was left of a lot when it
    /// expired).
    pub kind: String,
    /// Signed: a conversion's points are negative.
    pub points: i64,
    pub balance_after: i64,
    pub reason: String,
    pub actor_id: Option<i64>,
    pub created_at: String,
    /// The order a `purchase`, `reversal` or `revocation` entry belongs to.
    #[serde(default)]
    pub order_id: Option<i64>,
    /// An earning entry (`grant`, `purchase`): when what is left of it expires
    /// (`null`: never).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// An earning entry: the part of its points not yet spent nor expired (0 for
    /// other kinds).
    #[serde(default)]
    pub remaining: i64,
    /// A staff grant's or correction's reason code (`offline_purchase`,
    /// `promotion`, `compensation`, `correction`).
    #[serde(default)]
    pub reason_code: Option<String>,
    /// The API key that made the entry for `actor_id`, when a machine did.
    #[serde(default)]
    pub api_key_id: Option<i64>,
}

/// Where a coupon is in its life.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponStatus {
    Active,
    /// Used: redeemed by staff, or paid with at checkout.
    Redeemed,
    /// Taken back: a return reversed the points it was converted from.
    Revoked,
    /// Its `expires_at` passed unused (marked by the `mileage-expiry` job).
    Expired,
}

impl CouponStatus {
    /// Parses a `?status=` filter.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "redeemed" => Some(Self::Redeemed),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// A coupon as its holder and the store see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Coupon {
    pub id: i64,
    pub store_id: i64,
    pub store_name: String,
    pub user_id: i64,
    /// The store's design when the coupon was issued.
    pub design: CouponDesign,
    pub status: CouponStatus,
    pub issued_at: String,
    pub redeemed_at: Option<String>,
    /// When it stops being usable (`null`: never).
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A member's balance at one store.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Balance {
    pub store_id: i64,
    pub store_name: String,
    pub balance: i64,
    pub coupon_threshold: i64,
    /// False once the customer left the store; the balance is kept for a return.
    pub member: bool,
    /// The next lot to expire: what is left of it and when (`null`: nothing expires).
    pub expiring: Option<Expiring>,
}

/// Points that will expire, and when.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Expiring {
    pub points: i64,
    pub at: String,
}

/// A store's member as its staff see them.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub member_no: Option<String>,
    pub joined_at: String,
    pub balance: i64,
    pub active_coupons: i64,
}

/// One logged redemption.
#[derive(Clone, Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Redemption {
    pub id: i64,
    pub coupon_id: i64,
    pub store_id: i64,
    pub user_id: i64,
    pub redeemed_by: Person,
    pub redeemed_at: String,
}

/// Who did something, as events and logs name them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
}

/// What a grant answers (and, on a retry with the same key, answers again).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Granted {
    pub entry: Entry,
    /// The balance after any conversion.
    pub balance: i64,
    pub balance_before_conversion: i64,
    pub coupons_issued: i64,
    pub coupons: Vec<Coupon>,
}

/// Paging through a list newest first: ids below `before`, at most `limit`.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub before: Option<i64>,
    pub limit: i64,
}

impl Page {
    /// The exclusive upper bound on ids (everything when no `before` is given).
    pub fn before_id(&self) -> i64 {
        self.before.unwrap_or(i64::MAX)
    }
}

/// Who made a ledger entry, as a history shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Actor {
    pub id: i64,
    pub name: String,
    /// A staff member's login (`None` for a customer).
    pub login: Option<String>,
}

/// What a credit turned into: the conversion entry written right after it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Converted {
    /// The conversion entry's id.
    pub entry_id: i64,
    /// Points that left the balance (positive).
    pub points: i64,
    pub coupon_ids: Vec<i64>,
    /// The balance after the conversion.
    pub balance_after: i64,
}

/// The earning entry an expiry took what was left of.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct LotRef {
    pub id: i64,
    /// `grant` or `purchase`.
    pub kind: String,
    /// What the lot earned at first.
    pub points: i64,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// One ledger entry explained for a history: the store's name, who granted it,
/// and what it became or came from, so a page can say "+1,200 points: 1,500
/// became a coupon, balance 200" without another request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub entry: Entry,
    pub store_name: String,
    /// The staff member (or API key holder) who made it; `None` for what a purchase
    /// or the expiry job did by itself.
    pub actor: Option<Actor>,
    /// On a credit that reached the threshold: the conversion it caused.
    pub converted: Option<Converted>,
    /// On a conversion: the coupons it issued.
    pub coupon_ids: Vec<i64>,
    /// On an expiry: the lot it expired.
    pub lot: Option<LotRef>,
}
