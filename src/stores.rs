//! Store rules: what a store's fields may hold. Free of HTTP and SQL.

use thiserror::Error;

/// Default coupon threshold in points (DESIGN.md §3).
pub const DEFAULT_COUPON_THRESHOLD: i64 = 1500;

#[derive(Debug, Error, PartialEq)]
pub enum StoreError {
    #[error("name must be 1 to 100 characters")]
    Name,
    #[error("address must be at most 200 characters")]
    Address,
    #[error("lat must be within -90..90 and lon within -180..180, given together")]
    Location,
    #[error("coupon_threshold must be a whole number of points from 1 to 1000000")]
    Threshold,
}

/// A validated new store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStore {
    pub name: String,
    pub address: String,
    pub location: Option<(f64, f64)>,
    pub owner_id: Option<i64>,
    pub coupon_threshold: i64,
}

impl NewStore {
    pub fn parse(
        name: &str,
        address: Option<&str>,
        lat: Option<f64>,
        lon: Option<f64>,
        owner_id: Option<i64>,
        coupon_threshold: Option<i64>,
    ) -> Result<Self, StoreError> {
        let name = name.trim();
        let n = name.chars().count();
        if n == 0 || n > 100 || name.chars().any(char::is_control) {
            return Err(StoreError::Name);
        }
        let address = address.unwrap_or("").trim();
        if address.chars().count() > 200 {
            return Err(StoreError::Address);
        }
        Ok(Self {
            name: name.to_string(),
            address: address.to_string(),
            location: parse_location(lat, lon)?,
            owner_id,
            coupon_threshold: parse_threshold(
                coupon_threshold.unwrap_or(DEFAULT_COUPON_THRESHOLD),
            )?,
        })
    }
}

/// A latitude and longitude given together and within range, or neither.
pub fn parse_location(
    lat: Option<f64>,
    lon: Option<f64>,
) -> Result<Option<(f64, f64)>, StoreError> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(a), Some(o)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&o) => {
            Ok(Some((a, o)))
        }
        _ => Err(StoreError::Location),
    }
}

pub fn parse_threshold(t: i64) -> Result<i64, StoreError> {
    if (1..=1_000_000).contains(&t) {
        Ok(t)
    } else {
        Err(StoreError::Threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_need_a_name_and_sane_numbers() {
        let s = NewStore::parse(" Gangnam ", None, Some(37.5), Some(127.0), None, None).unwrap();
        assert_eq!(s.name, "Gangnam");
        assert_eq!(s.coupon_threshold, 1500);
        assert_eq!(
            NewStore::parse("", None, None, None, None, None),
            Err(StoreError::Name)
        );
        assert_eq!(
            NewStore::parse("a", None, Some(91.0), Some(0.0), None, None),
            Err(StoreError::Location)
        );
        assert_eq!(
            NewStore::parse("a", None, Some(1.0), None, None, None),
            Err(StoreError::Location)
        );
        assert_eq!(
            NewStore::parse("a", None, None, None, None, Some(0)),
            Err(StoreError::Threshold)
        );
    }
}
