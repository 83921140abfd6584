//! Stores (the shops of the loyalty program): what their fields may hold and what
//! can be done to them.
//!
//! - [`rules`]: names, address, location, threshold, patches, distance. Pure.
//! - [`design`]: the one coupon design type and its change log.
//! - [`manage`]: the flows that create, change, find and list stores.
//!
//! The rows live in [`crate::db::stores`]. Free of HTTP: routes map [`StoreError`].

pub mod design;
pub mod manage;
pub mod rules;

use thiserror::Error;

pub use design::{COUPON_SHAPES, CouponDesign};
pub use rules::{
    DEFAULT_COUPON_THRESHOLD, Nearby, NewStore, StorePatch, distance_km, nearest_first,
    parse_location, parse_near, parse_threshold,
};

/// Why a store flow refused, or failed.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("address must be at most 200 characters")]
    Address,
    #[error("lat must be within -90..90 and lon within -180..180, given together")]
    Location,
    #[error("coupon_threshold must be a whole number of points from 1 to 1000000")]
    Threshold,
    #[error("earn_percent must be a whole number from 0 to 20")]
    EarnPercent,
    #[error("coupon_value must be a whole number of won from 0 to 100000000")]
    CouponValue,
    #[error(
        "points_valid_days and coupon_valid_days must be whole numbers of days from 0 (never) to 3650"
    )]
    ValidDays,
    #[error("shape must be one of rounded, square, circle, ticket, star")]
    Shape,
    #[error("color must be a hex colour like #d9480f")]
    Color,
    #[error("label must be 1 to 40 characters")]
    Label,
    #[error("near must be lat,lon within -90..90 and -180..180")]
    Near,
    #[error("time_zone must be an IANA time zone name like Asia/Seoul")]
    TimeZone,
    #[error("daily_grant_cap must be a whole number of points, 0 or more")]
    GrantCap,
    #[error("joined_at must be a date YYYY-MM-DD, not after today")]
    JoinedAt,
    #[error("name at least one field to change")]
    EmptyPatch,
    #[error("owner_id must name a user with the owner role")]
    OwnerNotAnOwner,
    #[error("owner_id names no user")]
    NoSuchOwner,
    /// The store named does not exist.
    #[error("store")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
