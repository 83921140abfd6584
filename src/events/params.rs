//! Parsing what a reader asks for: a cursor, public topics, type prefixes.
//!
//! Hand-written and strict, because these come straight from URLs and headers:
//! anything unexpected is a 400 with a message, never a silent default.

use std::time::Duration;

use serde::Deserialize;

use super::channel;

/// The query string of `/events` and `/events/poll`, as received.
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    pub cursor: Option<String>,
    pub last_event_id: Option<String>,
    pub topics: Option<String>,
    pub types: Option<String>,
    pub timeout: Option<String>,
    /// Read by the auth extractor; listed so it is not an unknown parameter.
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

/// A public topic anyone may read: pointcast's own two, or one an admin created
/// for integrators' events (`POST /topics`, published to through `POST /publish`);
/// its channel is its name. A name no admin created is simply silent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topic {
    Products,
    Announcements,
    App(String),
}

impl Topic {
    pub const ALL: [Topic; 2] = [Topic::Products, Topic::Announcements];

    pub fn channel(&self) -> &str {
        match self {
            Self::Products => channel::PRODUCTS,
            Self::Announcements => channel::ANNOUNCEMENTS,
            Self::App(name) => name,
        }
    }
}

/// Longest name of an admin-created topic.
pub const MAX_TOPIC_NAME: usize = 32;

/// Whether `s` may name an admin-created topic: a lowercase letter, then up to 31
/// lowercase letters, digits or `-`; never a name pointcast's own channels use
/// (`admin`, `products`, `announcements`, and nothing with a `:`, so never a
/// `user:` or `store:` channel).
pub fn is_app_topic_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= MAX_TOPIC_NAME
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && ![channel::ADMIN, channel::PRODUCTS, channel::ANNOUNCEMENTS].contains(&s)
}

/// Why a parameter was refused; becomes a 400.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("cursor must be a non-negative integer event id, got {0:?}")]
    Cursor(String),
    #[error(
        "bad topic {0:?}: public topics are products, announcements and those an admin created (lowercase letters, digits, '-')"
    )]
    Topic(String),
    #[error("bad type filter {0:?}: use comma-separated prefixes like mileage.,coupon.")]
    Types(String),
    #[error("timeout must be a whole number of seconds from 0 to {max}, got {got:?}")]
    Timeout { got: String, max: u64 },
}

/// A cursor: the last event id the reader has seen.
pub fn parse_cursor(s: &str) -> Result<i64, ParamError> {
    let t = s.trim();
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::Cursor(s.chars().take(40).collect()));
    }
    t.parse().map_err(|_| ParamError::Cursor(s.into()))
}

/// The longest `topics` value accepted (a dozen or so topics, with room for spaces).
pub const MAX_TOPICS_LEN: usize = 512;
/// The longest `types` value accepted: 32 prefixes of up to 64 characters.
pub const MAX_TYPES_LEN: usize = 32 * 65;

/// `products,announcements`; an empty string means no public topic.
pub fn parse_topics(s: &str) -> Result<Vec<Topic>, ParamError> {
    if s.len() > MAX_TOPICS_LEN {
        return Err(ParamError::Topic(s.chars().take(40).collect()));
    }
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let t = match part {
            "products" => Topic::Products,
            "announcements" => Topic::Announcements,
            other if is_app_topic_name(other) => Topic::App(other.to_string()),
            other => return Err(ParamError::Topic(other.chars().take(40).collect())),
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Which event types a reader wants: prefixes such as `mileage.` or `coupon.issued`.
/// Empty means every type. Control events (`stream.*`) always pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypeFilter(Vec<String>);

impl TypeFilter {
    pub fn parse(s: &str) -> Result<Self, ParamError> {
        if s.len() > MAX_TYPES_LEN {
            return Err(ParamError::Types(s.chars().take(40).collect()));
        }
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ok = part.len() <= 64
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_');
            if !ok || out.len() >= 32 {
                return Err(ParamError::Types(part.chars().take(40).collect()));
            }
            out.push(part.to_string());
        }
        Ok(Self(out))
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.0.is_empty()
            || event_type.starts_with("stream.")
            || self.0.iter().any(|p| event_type.starts_with(p.as_str()))
    }
}

/// `timeout` of a long-poll, in whole seconds, at most `max`; default 25 s (capped).
pub fn parse_timeout(s: Option<&str>, max: Duration) -> Result<Duration, ParamError> {
    let max_s = max.as_secs();
    let Some(s) = s else {
        return Ok(Duration::from_secs(25.min(max_s)));
    };
    let bad = || ParamError::Timeout {
        got: s.chars().take(40).collect(),
        max: max_s,
    };
    let t = s.trim();
    if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let secs: u64 = t.parse().map_err(|_| bad())?;
    if secs > max_s {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_plain_non_negative_integers() {
        assert_eq!(parse_cursor("0"), Ok(0));
        assert_eq!(parse_cursor(" 42 "), Ok(42));
        for bad in ["", "-1", "1.5", "abc", "1e3", "99999999999999999999", "+3"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topics_are_a_known_list() {
        assert_eq!(parse_topics("products"), Ok(vec![Topic::Products]));
        assert_eq!(
            parse_topics("announcements, products,products"),
            Ok(vec![Topic::Announcements, Topic::Products])
        );
        assert_eq!(parse_topics(""), Ok(vec![]));
        assert!(parse_topics("products,admin").is_err());
        assert_eq!(
            parse_topics("deals,products"),
            Ok(vec![Topic::App("deals".into()), Topic::Products])
        );
        assert!(parse_topics("Deals").is_err());
        assert!(parse_topics(&"a".repeat(MAX_TOPIC_NAME + 1)).is_err());
        assert!(parse_topics("user:1").is_err());
        assert!(parse_topics(&",".repeat(MAX_TOPICS_LEN + 1)).is_err());
        assert!(TypeFilter::parse(&",".repeat(MAX_TYPES_LEN + 1)).is_err());
    }

    #[test]
    fn type_filters_match_prefixes_and_always_pass_control_events() {
        let f = TypeFilter::parse("mileage.,coupon.issued").unwrap();
        assert!(f.matches("mileage.granted"));
        assert!(f.matches("coupon.issued"));
        assert!(!f.matches("coupon.redeemed"));
        assert!(f.matches("stream.reset"));
        assert!(TypeFilter::default().matches("anything"));
        assert!(TypeFilter::parse("Mileage").is_err());
        assert!(TypeFilter::parse("a b").is_err());
    }

    #[test]
    fn timeouts_are_bounded_seconds() {
        let max = Duration::from_secs(55);
        assert_eq!(parse_timeout(None, max), Ok(Duration::from_secs(25)));
        assert_eq!(parse_timeout(Some("0"), max), Ok(Duration::ZERO));
        assert_eq!(parse_timeout(Some("55"), max), Ok(Duration::from_secs(55)));
        for bad in ["56", "-1", "2.5", "", "x"] {
            assert!(parse_timeout(Some(bad), max).is_err(), "{bad}");
        }
    }
}
