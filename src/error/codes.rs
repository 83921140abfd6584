//! Every `code` the API can answer, with the server's English message for it.
//!
//! Pages and the terminal client show a sentence in the reader's language per code
//! (`web/js/errors.json`), falling back to the server's message. This list is what
//! they translate: a unit test below scans `src/` for every code literal an error
//! is built with and fails when one is missing here, and `tests/api/error_codes.rs`
//! fails when a code here has no Korean or English sentence. The OpenAPI document
//! lists the same codes as the `ErrorCode` enum.

/// `(code, the server's English message)`, sorted by code. Where the server's
/// message varies (it names the limit or the field), the message here is typical.
pub const ALL_CODES: &[(&str, &str)] = &[
    ("already_redeemed", "the coupon was already redeemed"),
    ("bad_body", "the request body could not be read"),
    ("bad_cursor", "cursor must be a non-negative whole number"),
    ("bad_query", "the query string is not valid"),
    ("bad_request", "the request is malformed"),
    ("bad_timeout", "timeout must be 0 to 55 seconds"),
    ("bad_topics", "unknown topic"),
    ("bad_types", "types must be event type prefixes"),
    ("conversation_closed", "the conversation is closed"),
    (
        "correction_below_zero",
        "a correction cannot take the balance below zero",
    ),
    ("coupon_expired", "the coupon has expired"),
    ("coupon_not_active", "the coupon is not active"),
    ("forbidden", "you are not allowed to do this"),
    ("grant_cap_exceeded", "over today's grant cap at this store"),
    ("headers_too_large", "request header fields too large"),
    (
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request",
    ),
    (
        "in_stock",
        "the album is in stock: buy it instead of watching",
    ),
    ("insufficient_stock", "not enough stock"),
    ("internal", "internal server error"),
    (
        "invalid_account",
        "name, phone, password or login is not valid",
    ),
    (
        "invalid_announcement",
        "the announcement's text or target is not valid",
    ),
    (
        "invalid_body",
        "the request body has a field of the wrong type or is missing one",
    ),
    ("invalid_count", "count must be 1 to 100000"),
    (
        "invalid_idempotency_key",
        "Idempotency-Key must be 1 to 128 visible ASCII characters",
    ),
    (
        "invalid_inquiry",
        "subject, message or reply address is not valid",
    ),
    ("invalid_limit", "limit must be 1 to 200"),
    (
        "invalid_location",
        "lat must be -90 to 90 and lon -180 to 180",
    ),
    (
        "invalid_period",
        "from and to must be dates YYYY-MM-DD, from <= to",
    ),
    (
        "invalid_points",
        "points must be a whole number from 1 to 100000",
    ),
    ("invalid_product", "title, artist or price is not valid"),
    (
        "invalid_quantity",
        "quantity must be a whole number from 1 to 1000",
    ),
    ("invalid_reason", "reason must be 1 to 200 characters"),
    (
        "invalid_reason_code",
        "reason_code must be offline_purchase, promotion, compensation or correction",
    ),
    (
        "invalid_schedule",
        "schedule must be `daily HH:MM` or `cron MIN HOUR DOM MON DOW` in a known time zone",
    ),
    (
        "invalid_staff",
        "role, stores or login of the staff account is not valid",
    ),
    ("invalid_status", "status is not one of the allowed values"),
    (
        "invalid_stock",
        "stock must be a whole number from 0 to 1000000",
    ),
    ("invalid_store", "the store's fields are not valid"),
    (
        "invalid_text",
        "text must be 1 to 2000 characters, not only whitespace",
    ),
    ("job_running", "the job is running"),
    ("login_taken", "this login is taken"),
    ("malformed_json", "the body is not valid JSON"),
    (
        "missing_idempotency_key",
        "send an Idempotency-Key header with this request",
    ),
    (
        "no_channels",
        "nothing to read: log in or name a public topic",
    ),
    ("not_a_customer", "the user is not a customer"),
    ("not_a_member", "you are not a member of this store"),
    ("not_found", "not found"),
    ("payload_too_large", "request body too large"),
    ("request_timeout", "the request body did not arrive in time"),
    (
        "return_exceeds_order",
        "the return is more than what is left of the order",
    ),
    ("too_many_coupons", "too many coupons in one grant"),
    ("too_many_requests", "too many requests: try again later"),
    ("unauthorized", "wrong login or password, or not logged in"),
    ("unavailable", "service unavailable"),
    ("unknown_store", "no such store"),
    (
        "unsupported_media_type",
        "send the body as application/json",
    ),
];

/// Whether `code` is one the API may answer.
pub fn is_known(code: &str) -> bool {
    ALL_CODES.binary_search_by(|(c, _)| c.cmp(&code)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    #[test]
    fn the_list_is_sorted_and_has_no_duplicates() {
        for pair in ALL_CODES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        assert!(is_known("insufficient_stock"));
        assert!(!is_known("no_such_code"));
    }

    #[test]
    fn the_fixed_codes_of_api_error_are_listed() {
        use super::super::ApiError;
        for e in [
            ApiError::Unauthorized("x"),
            ApiError::Forbidden("x"),
            ApiError::NotFound("x"),
            ApiError::RequestTimeout,
            ApiError::PayloadTooLarge,
            ApiError::HeadersTooLarge,
            ApiError::TooManyRequests {
                message: String::new(),
                retry_after: None,
            },
            ApiError::Unavailable,
            ApiError::Unexpected(anyhow::anyhow!("x")),
        ] {
            assert!(is_known(e.code()), "{} is not in ALL_CODES", e.code());
        }
    }

    /// Every code literal an error is built with somewhere in `src/`: the first
    /// argument of `invalid(`, `bad_request(`, `conflict(`, a `code: "..."` field,
    /// and the `=> "..."` arms of the stream-parameter mapping.
    fn codes_in_source(dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                codes_in_source(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("codes.rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                collect(&text, out);
            }
        }
    }

    fn collect(text: &str, out: &mut BTreeSet<String>) {
        for marker in [
            "invalid(",
            "bad_request(",
            "conflict(",
            "code: \"",
            "ParamError::Cursor(_) => \"",
        ] {
            let mut rest = text;
            while let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                let after = rest.trim_start();
                let after = after.strip_prefix('"').unwrap_or(after);
                let code: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                let closed = after[code.len()..].starts_with('"');
                if !code.is_empty() && closed {
                    out.insert(code);
                }
            }
        }
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("ParamError::")
                && let Some((_, code)) = l.split_once("=> \"")
                && let Some(code) = code.strip_suffix("\",")
            {
                out.insert(code.to_string());
            }
        }
    }

    #[test]
    fn every_code_the_source_builds_is_listed() {
        let mut found = BTreeSet::new();
        codes_in_source(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.len() > 30, "the scan found only {found:?}");
        let missing: Vec<_> = found.iter().filter(|c| !is_known(c)).collect();
        assert!(
            missing.is_empty(),
            "codes missing from ALL_CODES: {missing:?}"
        );
    }
}
