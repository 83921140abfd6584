//! Cursors, topic lists, type filters and long-poll timeouts come straight from URLs
//! and the `Last-Event-ID` header: parsing never panics, and what parses is sane.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use pointcast::events::params::{TypeFilter, parse_cursor, parse_timeout, parse_topics};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = parse_cursor(s) {
        assert!(c >= 0);
    }
    if let Ok(topics) = parse_topics(s) {
        assert!(topics.len() <= 2);
    }
    if let Ok(f) = TypeFilter::parse(s) {
        assert!(f.matches("stream.open"));
    }
    if let Ok(t) = parse_timeout(Some(s), Duration::from_secs(55)) {
        assert!(t <= Duration::from_secs(55));
    }
});
