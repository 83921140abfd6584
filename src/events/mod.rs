//! The push core (DESIGN.md §2): events, channels, the hub, feeds; no HTTP.
//!
//! Flow: a domain change appends its typed events in its own transaction
//! ([`crate::db::Tx::emit`]); the commit hands them over through the
//! [`publication::Publication`] made at start-up (kept in [`handoff`]) and wakes the
//! [`tailer`], which publishes in id order (from the hand-over, or from the log for
//! other instances' commits, which the PostgreSQL [`listener`] signals), each event
//! serialised once ([`Event`]), to the [`hub::Hub`]; the hub puts it on every
//! matching subscriber's bounded queue; a [`feed::Feed`] merges a reader's backlog
//! (ring or log) with its queue, in order and without duplicates. [`connections`]
//! admits and lists readers, [`params`] parses what they ask for, [`retention`]
//! prunes the log.
//!
//! The transports that carry feeds to clients (SSE and long-poll, through actix or
//! the lean socket path) are [`crate::transport`]; nothing here knows HTTP.

pub mod connections;
pub mod feed;
pub mod handoff;
pub mod hub;
pub mod listener;
pub mod params;
pub mod publication;
pub mod queue;
pub mod retention;
pub mod tailer;

use bytes::Bytes;
use bytestring::ByteString;
use serde_json::json;

use crate::db::StoredEvent;
use crate::time::rfc3339;

/// A typed event payload. Each domain declares its events in one place (its
/// `events.rs`): a serde struct per event type, with the type's name on the wire.
/// [`crate::db::Tx::emit`] takes only these, so an event's shape is written once
/// and docs/api.md lists its fields from the struct.
pub trait Payload: serde::Serialize {
    /// The event type as clients see it (`mileage.granted`), also the SSE `event:`.
    const TYPE: &'static str;
}

/// The push core's own event types. Only its control events live here: each domain
/// declares its event types beside their payloads (`src/<domain>/events.rs`, see
/// [`Payload`]).
pub mod types {
    /// Sent first on every stream, carrying the current cursor; not in the log.
    pub const STREAM_OPEN: &str = "stream.open";
    /// Sent when the log no longer holds a reader's cursor; not in the log.
    pub const STREAM_RESET: &str = "stream.reset";
}

/// Channel names.
pub mod channel {
    pub const ADMIN: &str = "admin";
    pub const PRODUCTS: &str = "products";
    pub const ANNOUNCEMENTS: &str = "announcements";

    pub fn user(id: i64) -> String {
        format!("user:{id}")
    }

    pub fn store(id: i64) -> String {
        format!("store:{id}")
    }

    /// The key admins subscribe under to receive every `store:` channel.
    pub const ALL_STORES: &str = "store:*";
}

/// An event ready to send: the envelope serialised once, shared by every subscriber.
#[derive(Debug)]
pub struct Event {
    pub id: i64,
    pub channel: String,
    pub event_type: ByteString,
    /// `id` as text, for the SSE `id:` line.
    pub id_text: ByteString,
    /// The whole envelope as one line of JSON.
    pub json: ByteString,
    /// The complete SSE block (`id:`, `event:`, `data:`, blank line), built once and
    /// written as is to every stream that carries this event.
    pub frame: Bytes,
}

impl Event {
    /// Builds the envelope of a logged event.
    ///
    /// Written piece by piece into one buffer of the right size: every logged
    /// event passes here once, and `format!` over `json!` copies of the names
    /// cost nearly twice as much for the same text (6,000 instructions against
    /// 3,350 by callgrind; the test holds it to serde's).
    pub fn from_stored(s: &StoredEvent) -> Self {
        let mut id = itoa::Buffer::new();
        let id = id.format(s.id);
        let at = rfc3339(s.at);
        let mut json = String::with_capacity(
            48 + id.len() + s.event_type.len() + s.channel.len() + at.len() + s.data.len(),
        );
        json.push_str(r#"{"id":"#);
        json.push_str(id);
        json.push_str(r#","type":"#);
        push_json_string(&mut json, &s.event_type);
        json.push_str(r#","channel":"#);
        push_json_string(&mut json, &s.channel);
        json.push_str(r#","at":""#);
        json.push_str(&at);
        // `data` is JSON text written by `serde_json`; embed it as is.
        json.push_str(r#"","data":"#);
        json.push_str(&s.data);
        json.push('}');
        Self::with_id_text(
            s.id,
            ByteString::from(id.to_owned()),
            s.channel.clone(),
            s.event_type.clone().into(),
            json,
        )
    }

    /// A control event (`stream.open`, `stream.reset`) that is not in the log.
    pub fn control(event_type: &'static str, cursor: i64, data: serde_json::Value) -> Self {
        let json = json!({
            "id": cursor,
            "type": event_type,
            "channel": null,
            "at": rfc3339(crate::time::now_millis()),
            "data": data,
        })
        .to_string();
        Self::new(cursor, String::new(), event_type.into(), json)
    }

    fn new(id: i64, channel: String, event_type: ByteString, json: String) -> Self {
        let id_text = ByteString::from(itoa::Buffer::new().format(id).to_owned());
        Self::with_id_text(id, id_text, channel, event_type, json)
    }

    fn with_id_text(
        id: i64,
        id_text: ByteString,
        channel: String,
        event_type: ByteString,
        json: String,
    ) -> Self {
        let frame = sse_frame(&id_text, &event_type, &json);
        Self {
            id,
            channel,
            event_type,
            id_text,
            json: json.into(),
            frame,
        }
    }
}

/// Appends `text` as a JSON string, byte for byte as `serde_json` writes it.
/// The channel names and event types the server writes need no escape; one that
/// does is handed to `serde_json`.
fn push_json_string(out: &mut String, text: &str) {
    // JSON escapes only the quote, the backslash and the control characters;
    // serde_json escapes nothing else (not `/`, not non-ASCII).
    if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(&serde_json::Value::from(text).to_string());
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

/// One SSE block: `id: N`, `event: TYPE`, `data: JSON`, then a blank line — the
/// framing actix-web-lab used to produce per reader, now built once per event.
/// Neither part can contain a line break: ids are digits, type names are ours, and
/// the envelope is one line of JSON (serde_json escapes control characters).
fn sse_frame(id: &str, event_type: &str, json: &str) -> Bytes {
    let mut f = Vec::with_capacity(id.len() + event_type.len() + json.len() + 24);
    for (field, value) in [("id: ", id), ("event: ", event_type), ("data: ", json)] {
        f.extend_from_slice(field.as_bytes());
        f.extend_from_slice(value.as_bytes());
        f.push(b'\n');
    }
    f.push(b'\n');
    Bytes::from(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_embeds_data_and_escapes_names() {
        let e = Event::from_stored(&StoredEvent {
            id: 7,
            channel: "user:3".into(),
            event_type: "announcement".into(),
            at: 0,
            data: r#"{"text":"a \"quote\""}"#.into(),
        });
        let v: serde_json::Value = serde_json::from_str(&e.json).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["channel"], "user:3");
        assert_eq!(v["at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["data"]["text"], "a \"quote\"");
        assert!(!e.json.contains('\n'));
        assert_eq!(
            std::str::from_utf8(&e.frame).unwrap(),
            format!("id: 7\nevent: announcement\ndata: {}\n\n", e.json)
        );
    }

    #[test]
    fn the_envelope_is_the_text_serde_would_write() {
        for name in [
            "products",
            "store:12",
            "",
            "a \"quoted\" topic",
            "back\\slash",
            "tab\tand\nnewline\u{1}",
            "caf\u{e9} / \u{1f3b5} <b>",
        ] {
            let s = StoredEvent {
                id: -3,
                channel: name.into(),
                event_type: name.into(),
                at: 1_764_000_000_123,
                data: r#"{"n":1}"#.into(),
            };
            let e = Event::from_stored(&s);
            let expected = format!(
                r#"{{"id":{},"type":{},"channel":{},"at":"{}","data":{}}}"#,
                s.id,
                json!(s.event_type),
                json!(s.channel),
                rfc3339(s.at),
                s.data
            );
            assert_eq!(&*e.json, expected, "for {name:?}");
            assert_eq!(&*e.id_text, "-3");
        }
    }
}
