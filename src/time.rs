//! How pointcast writes time: every timestamp is stored as Unix milliseconds (the
//! same integer on SQLite and PostgreSQL) and shown as RFC 3339 UTC with
//! milliseconds (DESIGN.md §4). The two conversions live here so that no layer
//! borrows them from another.

/// Milliseconds since the Unix epoch: how every timestamp is stored, on both backends.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A stored timestamp as the API shows it: `2026-11-21T20:43:05.123Z`.
pub fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Serializes milliseconds since the epoch as [`rfc3339`] text.
pub fn serialize_rfc3339<S: serde::Serializer>(millis: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_000_000_123), "2025-11-24T16:00:00.123Z");
    }
}
