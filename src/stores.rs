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
    #[error("shape must be one of rounded, square, circle, ticket, star")]
    Shape,
    #[error("color must be a hex colour like #d9480f")]
    Color,
    #[error("label must be 1 to 40 characters")]
    Label,
    #[error("near must be lat,lon within -90..90 and -180..180")]
    Near,
    #[error("name at least one field to change")]
    EmptyPatch,
}

/// Coupon shapes the pages know how to draw.
pub const COUPON_SHAPES: &[&str] = &["rounded", "square", "circle", "ticket", "star"];

/// How a store's coupons look: a known shape, a `#rrggbb` colour, a short label.
/// The one design type: validated by [`CouponDesign::parse`] on the way in, stored
/// on the store and copied onto each coupon when it is issued.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CouponDesign {
    pub shape: String,
    pub color: String,
    pub label: String,
}

impl CouponDesign {
    pub fn parse(shape: &str, color: &str, label: &str) -> Result<Self, StoreError> {
        if !COUPON_SHAPES.contains(&shape) {
            return Err(StoreError::Shape);
        }
        let hex = color.strip_prefix('#').ok_or(StoreError::Color)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Color);
        }
        let label = label.trim();
        let n = label.chars().count();
        if n == 0 || n > 40 || label.chars().any(char::is_control) {
            return Err(StoreError::Label);
        }
        Ok(Self {
            shape: shape.to_string(),
            color: color.to_ascii_lowercase(),
            label: label.to_string(),
        })
    }
}

/// A validated change to a store: only the named fields change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorePatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub location: Option<(f64, f64)>,
    pub coupon_threshold: Option<i64>,
}

impl StorePatch {
    pub fn parse(
        name: Option<&str>,
        address: Option<&str>,
        lat: Option<f64>,
        lon: Option<f64>,
        coupon_threshold: Option<i64>,
    ) -> Result<Self, StoreError> {
        if name.is_none()
            && address.is_none()
            && lat.is_none()
            && lon.is_none()
            && coupon_threshold.is_none()
        {
            return Err(StoreError::EmptyPatch);
        }
        // Reuse the creation rules on the fields given.
        let probe = NewStore::parse(
            name.unwrap_or("x"),
            address,
            lat,
            lon,
            None,
            coupon_threshold,
        )?;
        Ok(Self {
            name: name.map(|_| probe.name),
            address: address.map(|_| probe.address),
            location: probe.location,
            coupon_threshold: coupon_threshold.map(|_| probe.coupon_threshold),
        })
    }
}

/// Parses `?near=lat,lon`.
pub fn parse_near(s: &str) -> Result<(f64, f64), StoreError> {
    let (a, o) = s.split_once(',').ok_or(StoreError::Near)?;
    let lat: f64 = a.trim().parse().map_err(|_| StoreError::Near)?;
    let lon: f64 = o.trim().parse().map_err(|_| StoreError::Near)?;
    match parse_location(Some(lat), Some(lon)) {
        Ok(Some(p)) => Ok(p),
        _ => Err(StoreError::Near),
    }
}

/// Great-circle distance in kilometres (haversine; plenty for "which store is near").
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
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
    fn designs_are_checked() {
        let d = CouponDesign::parse("star", "#AABBCC", " Free coffee ").unwrap();
        assert_eq!(
            (d.color.as_str(), d.label.as_str()),
            ("#aabbcc", "Free coffee")
        );
        assert_eq!(
            CouponDesign::parse("blob", "#aabbcc", "x"),
            Err(StoreError::Shape)
        );
        assert_eq!(
            CouponDesign::parse("star", "red", "x"),
            Err(StoreError::Color)
        );
        assert_eq!(
            CouponDesign::parse("star", "#abc", "x"),
            Err(StoreError::Color)
        );
        assert_eq!(
            CouponDesign::parse("star", "#aabbcc", " "),
            Err(StoreError::Label)
        );
    }

    #[test]
    fn near_parses_and_distances_order() {
        assert_eq!(parse_near("37.5,127.0"), Ok((37.5, 127.0)));
        assert!(parse_near("37.5").is_err());
        assert!(parse_near("95,0").is_err());
        assert!(parse_near("a,b").is_err());
        let seoul = (37.5665, 126.978);
        let busan = (35.1796, 129.0756);
        let d = distance_km(seoul, busan);
        assert!((300.0..350.0).contains(&d), "{d}");
        assert_eq!(distance_km(seoul, seoul), 0.0);
    }

    #[test]
    fn patches_name_something_valid() {
        assert_eq!(
            StorePatch::parse(None, None, None, None, None),
            Err(StoreError::EmptyPatch)
        );
        let p = StorePatch::parse(Some(" New "), None, None, None, Some(2000)).unwrap();
        assert_eq!(p.name.as_deref(), Some("New"));
        assert_eq!(p.coupon_threshold, Some(2000));
        assert_eq!(p.address, None);
        assert!(StorePatch::parse(None, None, Some(1.0), None, None).is_err());
        assert!(StorePatch::parse(None, None, None, None, Some(0)).is_err());
    }

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
