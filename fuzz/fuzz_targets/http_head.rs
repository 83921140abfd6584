//! The lean stream path parses request heads off the socket itself: parsing never
//! panics, whatever bytes arrive.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pointcast::events::edge::parse_head(data);
    let _ = pointcast::events::edge::classify(data);
});
