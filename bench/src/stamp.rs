//! The publish stamp carried inside every event's text.
//!
//! Latency is measured end to end: the publisher writes its send time (unix
//! microseconds) and a sequence number into the text it publishes; the subscriber
//! finds them in whatever the server wraps around the text (a JSON envelope, a
//! raw nchan message) by scanning for the marker, so no per-event JSON parse is
//! needed on the load generator's own core.

use std::time::{SystemTime, UNIX_EPOCH};

/// Marker that starts every stamp.
const MARK: &str = "bench seq=";

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Publish number, unique within a run.
    pub seq: u64,
    /// Intended recipient (unicast), so misrouted events can be counted.
    pub user: Option<u64>,
    /// Send time, unix microseconds.
    pub sent_us: u64,
}

/// Current wall-clock time in unix microseconds (publisher and subscriber share
/// the clock: both run on this machine).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Text for a publish: `bench seq=3 u=17 t=1732222222123456`.
pub fn format(seq: u64, user: Option<u64>, sent_us: u64) -> String {
    match user {
        Some(u) => format!("{MARK}{seq} u={u} t={sent_us}"),
        None => format!("{MARK}{seq} t={sent_us}"),
    }
}

/// Every stamp found in `text`, in order.
pub fn find_all(text: &str) -> Vec<Stamp> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        rest = &rest[i + MARK.len()..];
        if let Some(s) = parse_after_mark(rest) {
            out.push(s);
        }
    }
    out
}

/// The first stamp in `text`.
pub fn find(text: &str) -> Option<Stamp> {
    let i = text.find(MARK)?;
    parse_after_mark(&text[i + MARK.len()..])
}

fn parse_after_mark(s: &str) -> Option<Stamp> {
    let (seq, rest) = digits(s)?;
    let mut user = None;
    let rest = match rest.strip_prefix(" u=") {
        Some(r) => {
            let (u, r) = digits(r)?;
            user = Some(u);
            r
        }
        None => rest,
    };
    let (sent_us, _) = digits(rest.strip_prefix(" t=")?)?;
    Some(Stamp { seq, user, sent_us })
}

fn digits(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_in_envelope() {
        let text = format(3, Some(17), 1_732_222_222_123_456);
        let env = format!(r#"{{"id":9,"type":"announcement","data":{{"text":"{text}"}}}}"#);
        assert_eq!(
            find(&env),
            Some(Stamp {
                seq: 3,
                user: Some(17),
                sent_us: 1_732_222_222_123_456
            })
        );
    }

    #[test]
    fn several_and_broken() {
        let body = format!(
            "{} x bench seq=zz {}",
            format(1, None, 5),
            format(2, None, 6)
        );
        let all = find_all(&body);
        assert_eq!(all.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(find("bench seq=1 t="), None);
        assert_eq!(find("nothing"), None);
    }
}
