//! Store rules: what a store's fields may hold, and how far a store is. Pure: no
//! storage, no HTTP.

use super::StoreError;
use crate::db::stores::Store;

/// Default coupon threshold in points (DESIGN.md §3).
pub const DEFAULT_COUPON_THRESHOLD: i64 = 1500;

/// A validated change to a store: only the named fields change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StorePatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub location: Option<(f64, f64)>,
    pub coupon_threshold: Option<i64>,
    pub earn_percent: Option<i64>,
    pub coupon_value: Option<i64>,
    pub points_valid_days: Option<i64>,
    pub coupon_valid_days: Option<i64>,
    pub time_zone: Option<chrono_tz::Tz>,
    pub daily_grant_cap: Option<i64>,
}

/// The loyalty policy fields of a patch, as given (see [`StorePatch::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PolicyFields {
    pub earn_percent: Option<i64>,
    pub coupon_value: Option<i64>,
    pub points_valid_days: Option<i64>,
    pub coupon_valid_days: Option<i64>,
    /// The store's time zone (what "today" means for its cap).
    pub time_zone: Option<chrono_tz::Tz>,
    /// Points an owner may grant at the store per local day (admins only set it).
    pub daily_grant_cap: Option<i64>,
}

/// Parses an IANA time zone name (`Asia/Seoul`).
pub fn parse_time_zone(s: &str) -> Result<chrono_tz::Tz, StoreError> {
    s.parse().map_err(|_| StoreError::TimeZone)
}

/// The most a purchase may earn, in percent of what was paid.
pub const MAX_EARN_PERCENT: i64 = 20;
/// The most one coupon may take off a purchase, in won.
pub const MAX_COUPON_VALUE: i64 = 100_000_000;
/// The longest points or coupons may stay valid, in days (0: forever).
pub const MAX_VALID_DAYS: i64 = 3650;

impl StorePatch {
    /// Checks the fields given with the creation rules; refuses a patch naming none.
    pub fn parse(
        name: Option<&str>,
        address: Option<&str>,
        lat: Option<f64>,
        lon: Option<f64>,
        coupon_threshold: Option<i64>,
        policy: PolicyFields,
    ) -> Result<Self, StoreError> {
        if name.is_none()
            && address.is_none()
            && lat.is_none()
            && lon.is_none()
            && coupon_threshold.is_none()
            && policy == PolicyFields::default()
        {
            return Err(StoreError::EmptyPatch);
        }
        if policy
            .earn_percent
            .is_some_and(|p| !(0..=MAX_EARN_PERCENT).contains(&p))
        {
            return Err(StoreError::EarnPercent);
        }
        if policy
            .coupon_value
            .is_some_and(|v| !(0..=MAX_COUPON_VALUE).contains(&v))
        {
            return Err(StoreError::CouponValue);
        }
        if [policy.points_valid_days, policy.coupon_valid_days]
            .iter()
            .flatten()
            .any(|d| !(0..=MAX_VALID_DAYS).contains(d))
        {
            return Err(StoreError::ValidDays);
        }
        if policy.daily_grant_cap.is_some_and(|c| c < 0) {
            return Err(StoreError::GrantCap);
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
            earn_percent: policy.earn_percent,
            coupon_value: policy.coupon_value,
            points_valid_days: policy.points_valid_days,
            coupon_valid_days: policy.coupon_valid_days,
            time_zone: policy.time_zone,
            daily_grant_cap: policy.daily_grant_cap,
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
    /// When the store joined the service (Unix milliseconds); `None`: now. A store
    /// registered after it started with the service keeps its real join day.
    pub joined_at: Option<i64>,
}

impl NewStore {
    /// Sets the day the store joined, `YYYY-MM-DD` (its start, UTC), no later than
    /// the day of `now_millis`; `None` leaves it to the moment of registration.
    pub fn joined_on(mut self, day: Option<&str>, now_millis: i64) -> Result<Self, StoreError> {
        let Some(day) = day else { return Ok(self) };
        let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
            .map_err(|_| StoreError::JoinedAt)?;
        let millis = date
            .and_hms_opt(0, 0, 0)
            .ok_or(StoreError::JoinedAt)?
            .and_utc()
            .timestamp_millis();
        if millis > now_millis {
            return Err(StoreError::JoinedAt);
        }
        self.joined_at = Some(millis);
        Ok(self)
    }

    /// Checks a new store's fields; the threshold defaults to [`DEFAULT_COUPON_THRESHOLD`].
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
            joined_at: None,
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

/// A coupon threshold: 1 to 1,000,000 points.
pub fn parse_threshold(t: i64) -> Result<i64, StoreError> {
    if (1..=1_000_000).contains(&t) {
        Ok(t)
    } else {
        Err(StoreError::Threshold)
    }
}

impl StorePatch {
    /// The store as it is after this patch: the fields not named keep their values.
    pub fn apply(&self, store: &mut Store) {
        if let Some(n) = &self.name {
            store.name.clone_from(n);
        }
        if let Some(a) = &self.address {
            store.address.clone_from(a);
        }
        if let Some((lat, lon)) = self.location {
            (store.lat, store.lon) = (Some(lat), Some(lon));
        }
        if let Some(t) = self.coupon_threshold {
            store.coupon_threshold = t;
        }
        if let Some(p) = self.earn_percent {
            store.earn_percent = p;
        }
        if let Some(v) = self.coupon_value {
            store.coupon_value = v;
        }
        if let Some(d) = self.points_valid_days {
            store.points_valid_days = d;
        }
        if let Some(d) = self.coupon_valid_days {
            store.coupon_valid_days = d;
        }
        if let Some(tz) = self.time_zone {
            store.time_zone = tz.name().to_string();
        }
        if let Some(c) = self.daily_grant_cap {
            store.daily_grant_cap = c;
        }
    }
}

/// A store with its distance from where the caller asked (`None` for a store with
/// no location).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Nearby {
    #[serde(flatten)]
    pub store: Store,
    pub distance_km: Option<f64>,
}

/// `stores` nearest to `here` first; stores without a location go last, by id.
pub fn nearest_first(stores: Vec<Store>, here: (f64, f64)) -> Vec<Nearby> {
    let mut out: Vec<Nearby> = stores
        .into_iter()
        .map(|store| Nearby {
            distance_km: store
                .lat
                .zip(store.lon)
                .map(|there| distance_km(here, there)),
            store,
        })
        .collect();
    out.sort_by(|a, b| match (a.distance_km, b.distance_km) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.store.id.cmp(&b.store.id),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_parses_and_distances_order() {
        assert_eq!(parse_near("37.5,127.0").ok(), Some((37.5, 127.0)));
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
        assert!(matches!(
            StorePatch::parse(None, None, None, None, None, PolicyFields::default()),
            Err(StoreError::EmptyPatch)
        ));
        let p = StorePatch::parse(
            Some(" New "),
            None,
            None,
            None,
            Some(2000),
            PolicyFields::default(),
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("New"));
        assert_eq!(p.coupon_threshold, Some(2000));
        assert_eq!(p.address, None);
        assert!(
            StorePatch::parse(None, None, Some(1.0), None, None, PolicyFields::default()).is_err()
        );
        assert!(
            StorePatch::parse(None, None, None, None, Some(0), PolicyFields::default()).is_err()
        );
    }

    #[test]
    fn stores_need_a_name_and_sane_numbers() {
        let s = NewStore::parse(" Gangnam ", None, Some(37.5), Some(127.0), None, None).unwrap();
        assert_eq!(s.name, "Gangnam");
        assert_eq!(s.coupon_threshold, 1500);
        assert!(matches!(
            NewStore::parse("", None, None, None, None, None),
            Err(StoreError::Name)
        ));
        assert!(matches!(
            NewStore::parse("a", None, Some(91.0), Some(0.0), None, None),
            Err(StoreError::Location)
        ));
        assert!(matches!(
            NewStore::parse("a", None, Some(1.0), None, None, None),
            Err(StoreError::Location)
        ));
        assert!(matches!(
            NewStore::parse("a", None, None, None, None, Some(0)),
            Err(StoreError::Threshold)
        ));
    }

    fn store(id: i64, at: Option<(f64, f64)>) -> Store {
        Store {
            id,
            name: format!("s{id}"),
            address: String::new(),
            lat: at.map(|p| p.0),
            lon: at.map(|p| p.1),
            owner_id: None,
            joined_at: String::new(),
            coupon_threshold: DEFAULT_COUPON_THRESHOLD,
            coupon_design: crate::stores::CouponDesign {
                shape: "rounded".into(),
                color: "#000000".into(),
                label: "x".into(),
            },
            earn_percent: 0,
            coupon_value: 10_000,
            points_valid_days: 365,
            coupon_valid_days: 90,
            time_zone: "UTC".into(),
            daily_grant_cap: 50_000,
        }
    }

    #[test]
    fn policy_fields_are_bounded() {
        let policy = |earn_percent, coupon_value| PolicyFields {
            earn_percent,
            coupon_value,
            ..PolicyFields::default()
        };
        let p = StorePatch::parse(None, None, None, None, None, policy(Some(20), Some(0))).unwrap();
        assert_eq!((p.earn_percent, p.coupon_value), (Some(20), Some(0)));
        for (e, v) in [
            (Some(21), None),
            (Some(-1), None),
            (None, Some(-1)),
            (None, Some(100_000_001)),
        ] {
            assert!(StorePatch::parse(None, None, None, None, None, policy(e, v)).is_err());
        }
    }

    #[test]
    fn nearest_come_first_and_the_unplaced_last() {
        let seoul = (37.5665, 126.978);
        let busan = (35.1796, 129.0756);
        let stores = vec![store(1, None), store(2, Some(busan)), store(3, Some(seoul))];
        let ids: Vec<i64> = nearest_first(stores, seoul)
            .iter()
            .map(|n| n.store.id)
            .collect();
        assert_eq!(ids, [3, 2, 1]);
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let mut s = store(1, None);
        StorePatch::parse(
            None,
            None,
            Some(1.0),
            Some(2.0),
            None,
            PolicyFields::default(),
        )
        .unwrap()
        .apply(&mut s);
        assert_eq!(
            (s.lat, s.lon, s.name.as_str()),
            (Some(1.0), Some(2.0), "s1")
        );
    }
}
