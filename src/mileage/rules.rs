//! The loyalty rules (DESIGN.md §3), free of HTTP and SQL: what a grant may be,
//! how a balance converts into coupons, and the errors of the area.
//!
//! The SQL that keeps `balance = sum(entries)` lives in one place,
//! [`crate::db::ledger`]; everything here is pure and unit-tested.

use serde_json::Value;
use thiserror::Error;

/// The largest single grant: a typo of a few zeros should be refused, not credited.
pub const MAX_GRANT: i64 = 100_000;

/// The most coupons one grant may issue: bounds the work (and events) of one
/// transaction when a store sets a very low threshold.
pub const MAX_COUPONS_PER_GRANT: i64 = 1000;

/// Longest ledger reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// Why a loyalty request was refused.
#[derive(Debug, Error)]
pub enum MileageError {
    #[error("points must be a whole number from 1 to {MAX_GRANT}")]
    Points,
    #[error("reason must be 1 to {MAX_REASON_CHARS} characters")]
    Reason,
    #[error("only staff of this store grant mileage and see its members")]
    NotStaff,
    #[error("a customer sees and changes only their own loyalty data")]
    NotYours,
    #[error("only customers can be members of a store")]
    NotACustomer,
    #[error("store")]
    NoSuchStore,
    #[error("user")]
    NoSuchUser,
    #[error("member")]
    NotAMember,
    #[error("coupon")]
    NoSuchCoupon,
    #[error("this coupon was already redeemed")]
    AlreadyRedeemed,
    #[error("this coupon is not active: it was used or revoked")]
    NotActive,
    #[error("this coupon has expired")]
    Expired,
    #[error("this coupon belongs to another store")]
    OtherStore,
    #[error("this grant would issue more than {MAX_COUPONS_PER_GRANT} coupons at once")]
    TooManyCoupons,
    #[error("reason_code must be one of offline_purchase, promotion, compensation, correction")]
    ReasonCode,
    #[error("this grant passes your daily grant cap at this store: {left} points left today")]
    CapExceeded { left: i64 },
    #[error("a correction may not take a balance below zero: the balance is {balance}")]
    CorrectionBelowZero { balance: i64 },
    #[error(transparent)]
    KeyReused(#[from] crate::idempotency::KeyReused),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A number of points a grant may credit: a whole number in `1..=MAX_GRANT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Points(i64);

impl Points {
    /// Accepts only a JSON integer: `1.5`, `10.0`, `"10"` and `null` are refused, so
    /// a client's rounding or quoting bug never turns into a credit.
    pub fn from_json(v: &Value) -> Result<Self, MileageError> {
        match v {
            Value::Number(n) => n.as_i64().map_or(Err(MileageError::Points), Self::new),
            _ => Err(MileageError::Points),
        }
    }

    pub fn new(p: i64) -> Result<Self, MileageError> {
        if (1..=MAX_GRANT).contains(&p) {
            Ok(Self(p))
        } else {
            Err(MileageError::Points)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Why staff grant points: a fixed list, stored on the entry beside the free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonCode {
    OfflinePurchase,
    Promotion,
    Compensation,
    /// The only code whose points may be negative: it takes points back.
    Correction,
}

impl ReasonCode {
    pub fn parse(s: &str) -> Result<Self, MileageError> {
        Ok(match s {
            "offline_purchase" => Self::OfflinePurchase,
            "promotion" => Self::Promotion,
            "compensation" => Self::Compensation,
            "correction" => Self::Correction,
            _ => return Err(MileageError::ReasonCode),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfflinePurchase => "offline_purchase",
            Self::Promotion => "promotion",
            Self::Compensation => "compensation",
            Self::Correction => "correction",
        }
    }
}

/// The points of a grant: `1..=MAX_GRANT`, or for a correction also
/// `-MAX_GRANT..=-1` (points taken back).
pub fn grant_points(v: &Value, code: ReasonCode) -> Result<i64, MileageError> {
    if code == ReasonCode::Correction
        && v.is_i64()
        && let Some(n) = v.as_i64().filter(|n| (-MAX_GRANT..0).contains(n))
    {
        return Ok(n);
    }
    Points::from_json(v).map(Points::get)
}

/// A ledger entry's reason: trimmed, 1 to [`MAX_REASON_CHARS`], no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(s: &str) -> Result<Self, MileageError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > MAX_REASON_CHARS || t.chars().any(char::is_control) {
            return Err(MileageError::Reason);
        }
        Ok(Self(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a balance converts: `(coupons, remaining)`, one coupon per whole `threshold`.
/// A balance below the threshold converts nothing. `threshold` is positive (the
/// schema's CHECK); a non-positive one converts nothing rather than divide by zero.
pub fn convert(balance: i64, threshold: i64) -> (i64, i64) {
    if threshold <= 0 || balance < threshold {
        return (0, balance);
    }
    (balance / threshold, balance % threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn points_are_whole_and_bounded() {
        assert_eq!(Points::from_json(&json!(1)).unwrap().get(), 1);
        assert_eq!(Points::from_json(&json!(100_000)).unwrap().get(), 100_000);
        for bad in [
            json!(0),
            json!(-5),
            json!(100_001),
            json!(1.5),
            json!(10.0),
            json!("10"),
            json!(null),
            json!(u64::MAX),
            json!([1]),
        ] {
            assert!(Points::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_corrections_take_points_back() {
        for c in [
            "offline_purchase",
            "promotion",
            "compensation",
            "correction",
        ] {
            assert_eq!(ReasonCode::parse(c).unwrap().as_str(), c);
        }
        assert!(ReasonCode::parse("bonus").is_err());
        assert!(grant_points(&json!(-5), ReasonCode::Promotion).is_err());
        assert_eq!(
            grant_points(&json!(-5), ReasonCode::Correction).unwrap(),
            -5
        );
        assert_eq!(grant_points(&json!(5), ReasonCode::Correction).unwrap(), 5);
        assert!(grant_points(&json!(-5.0), ReasonCode::Correction).is_err());
        assert!(grant_points(&json!(-100_001), ReasonCode::Correction).is_err());
        assert!(grant_points(&json!(0), ReasonCode::Correction).is_err());
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(Reason::parse(" coffee ").unwrap().as_str(), "coffee");
        assert!(Reason::parse("  ").is_err());
        assert!(Reason::parse(&"x".repeat(201)).is_err());
        assert!(Reason::parse("a\nb").is_err());
    }

    #[test]
    fn conversion_takes_whole_thresholds() {
        assert_eq!(convert(0, 1500), (0, 0));
        assert_eq!(convert(1499, 1500), (0, 1499));
        assert_eq!(convert(1500, 1500), (1, 0));
        assert_eq!(convert(3001, 1500), (2, 1));
        assert_eq!(convert(100_000 + 1499, 1500), (67, 999));
        assert_eq!(convert(10, 0), (0, 10));
    }

    #[test]
    fn conversion_conserves_points() {
        for b in (0..20_000).step_by(37) {
            for t in [1, 7, 1500, 9999] {
                let (c, r) = convert(b, t);
                assert_eq!(c * t + r, b);
                assert!(r < t);
            }
        }
    }
}
