//! The shop's rules: what a product, a quantity, a stock change or a sales period
//! may hold, parsed at the boundary into these types. Free of HTTP and SQL.

use chrono::NaiveDate;
use serde::Serialize;

use super::ShopError;

/// Most units one order may take: a record shop, not a warehouse. Larger numbers are
/// refused as invalid rather than as out of stock, so a typo is told apart.
pub const MAX_ORDER_QUANTITY: i64 = 1_000;
/// Most units a store may hold of one album; also bounds a single adjustment.
pub const MAX_STOCK: i64 = 1_000_000;
/// Highest price of one album, in won.
pub const MAX_PRICE: i64 = 100_000_000;
/// Longest sales period one request may ask for, in days.
pub const MAX_SALES_DAYS: i64 = 366;
/// Days counted as "recent sales" on the inventory view.
pub const RECENT_SALES_DAYS: i64 = 7;

/// Units ordered: 1 to [`MAX_ORDER_QUANTITY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(n: i64) -> Result<Self, ShopError> {
        if (1..=MAX_ORDER_QUANTITY).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ShopError::Quantity)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A stock level set by a count: 0 to [`MAX_STOCK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLevel(i64);

impl StockLevel {
    pub fn parse(n: i64) -> Result<Self, ShopError> {
        if (0..=MAX_STOCK).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ShopError::StockLevel)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A stock adjustment: non-zero, at most [`MAX_STOCK`] either way. Whether it would
/// take the stock below zero is decided by the store, atomically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delta(i64);

impl Delta {
    pub fn parse(n: i64) -> Result<Self, ShopError> {
        if n != 0 && (-MAX_STOCK..=MAX_STOCK).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ShopError::Delta)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A price in whole won.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn parse(n: i64) -> Result<Self, ShopError> {
        if (0..=MAX_PRICE).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ShopError::Price)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A title or artist name: trimmed, 1 to 200 characters, no control characters.
fn parse_text(s: &str, field: &'static str) -> Result<String, ShopError> {
    let t = s.trim();
    let n = t.chars().count();
    if n == 0 || n > 200 || t.chars().any(char::is_control) {
        return Err(ShopError::Text(field));
    }
    Ok(t.to_string())
}

/// Why stock changed, as kept in `stock_changes`; defaults to `fallback`.
pub fn parse_reason(s: Option<&str>, fallback: &str) -> Result<String, ShopError> {
    let t = s.map(str::trim).unwrap_or("");
    if t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(ShopError::Reason);
    }
    Ok(if t.is_empty() { fallback } else { t }.to_string())
}

/// A validated new album.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    pub title: String,
    pub artist: String,
    pub price: Price,
}

impl NewProduct {
    pub fn parse(title: &str, artist: &str, price: i64) -> Result<Self, ShopError> {
        Ok(Self {
            title: parse_text(title, "title")?,
            artist: parse_text(artist, "artist")?,
            price: Price::parse(price)?,
        })
    }
}

/// A validated partial update of an album; at least one field is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductUpdate {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub price: Option<Price>,
}

impl ProductUpdate {
    pub fn parse(
        title: Option<&str>,
        artist: Option<&str>,
        price: Option<i64>,
    ) -> Result<Self, ShopError> {
        if title.is_none() && artist.is_none() && price.is_none() {
            return Err(ShopError::EmptyUpdate);
        }
        Ok(Self {
            title: title.map(|t| parse_text(t, "title")).transpose()?,
            artist: artist.map(|a| parse_text(a, "artist")).transpose()?,
            price: price.map(Price::parse).transpose()?,
        })
    }
}

/// An inclusive range of UTC days for the sales view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn parse(from: &str, to: &str) -> Result<Self, ShopError> {
        let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        let (Some(from), Some(to)) = (day(from), day(to)) else {
            return Err(ShopError::Period);
        };
        let days = (to - from).num_days();
        if !(0..MAX_SALES_DAYS).contains(&days) {
            return Err(ShopError::Period);
        }
        Ok(Self { from, to })
    }

    /// Both ends as `YYYY-MM-DD`, the form the `orders.day` column holds.
    pub fn as_strings(&self) -> (String, String) {
        (day_string(self.from), day_string(self.to))
    }
}

/// Where a store's stock of an album stands against its optimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StockStatus {
    /// Under the optimum of the latest `optimal-stock` run.
    Low,
    Ok,
    /// No `optimal-stock` run has computed an optimum yet.
    Unknown,
}

impl StockStatus {
    /// The status of `quantity` held against `optimum` (`None` before any run).
    pub fn of(quantity: i64, optimum: Option<i64>) -> Self {
        match optimum {
            None => Self::Unknown,
            Some(o) if quantity < o => Self::Low,
            Some(_) => Self::Ok,
        }
    }
}

/// The UTC day of a unix-millisecond time, as `YYYY-MM-DD`.
pub fn day_of_millis(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

fn day_string(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_positive_and_bounded() {
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert!(Quantity::parse(MAX_ORDER_QUANTITY).is_ok());
        for bad in [0, -1, MAX_ORDER_QUANTITY + 1, i64::MAX, i64::MIN] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stock_levels_deltas_and_prices() {
        assert!(StockLevel::parse(0).is_ok());
        assert!(StockLevel::parse(-1).is_err());
        assert!(StockLevel::parse(MAX_STOCK + 1).is_err());
        assert!(Delta::parse(0).is_err());
        assert!(Delta::parse(-5).is_ok());
        assert!(Delta::parse(i64::MIN).is_err());
        assert!(Price::parse(0).is_ok());
        assert!(Price::parse(-100).is_err());
    }

    #[test]
    fn products_need_title_artist_and_a_price() {
        let p = NewProduct::parse(" Abbey Road ", "The Beatles", 32_000).unwrap();
        assert_eq!(p.title, "Abbey Road");
        assert!(NewProduct::parse("", "x", 1).is_err());
        assert!(NewProduct::parse("x", &"가".repeat(201), 1).is_err());
        assert!(ProductUpdate::parse(None, None, None).is_err());
        assert_eq!(
            ProductUpdate::parse(None, None, Some(10)).unwrap().price,
            Some(Price(10))
        );
    }

    #[test]
    fn reasons_default_and_are_bounded() {
        assert_eq!(parse_reason(None, "count").unwrap(), "count");
        assert_eq!(parse_reason(Some("  "), "count").unwrap(), "count");
        assert_eq!(parse_reason(Some("damaged"), "x").unwrap(), "damaged");
        assert!(parse_reason(Some(&"a".repeat(201)), "x").is_err());
    }

    #[test]
    fn periods_are_ordered_dates_within_a_year() {
        let p = Period::parse("2026-01-01", "2026-01-31").unwrap();
        assert_eq!(p.as_strings(), ("2026-01-01".into(), "2026-01-31".into()));
        assert!(Period::parse("2026-02-01", "2026-01-01").is_err());
        assert!(Period::parse("2026-13-01", "2026-12-01").is_err());
        assert!(Period::parse("2020-01-01", "2026-01-01").is_err());
        assert!(Period::parse("yesterday", "today").is_err());
        assert_eq!(day_of_millis(0), "1970-01-01");
    }

    #[test]
    fn stock_is_low_under_its_optimum_and_unknown_without_one() {
        assert_eq!(StockStatus::of(3, None), StockStatus::Unknown);
        assert_eq!(StockStatus::of(3, Some(4)), StockStatus::Low);
        assert_eq!(StockStatus::of(4, Some(4)), StockStatus::Ok);
        assert_eq!(serde_json::to_string(&StockStatus::Low).unwrap(), "\"low\"");
    }
}
