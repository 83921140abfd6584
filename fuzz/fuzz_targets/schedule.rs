//! Job schedules are typed by admins: parsing never panics, and a schedule that
//! parses always has a next time strictly after now.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pointcast::jobs::schedule::Schedule;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (text, tz) = match s.split_once('|') {
        Some((t, z)) => (t, Some(z)),
        None => (s, None),
    };
    if let Ok(schedule) = Schedule::parse(text, tz) {
        let now = chrono::Utc::now();
        let next = schedule.next_after(now).expect("a parsed schedule fires");
        assert!(next > now);
    }
});
