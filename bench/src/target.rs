//! The URL shapes and wire details of each server under test.
//!
//! Everything that differs between pointcast and nchan lives here, so the
//! scenarios only say "subscribe this stream", "publish this text to that user".

use crate::cli::{PublishMode, TargetKind};
use crate::error::{Error, Result};
use crate::http::{self, Endpoint, Response};
use crate::sse::SseEvent;
use crate::stamp::{self, Stamp};

/// A server under test and how to talk to it.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    pub ep: Endpoint,
    pub admin_token: Option<String>,
    pub mode: PublishMode,
    /// Store granting mileage in `PublishMode::Grant`.
    pub store_id: Option<u64>,
    /// Long-poll timeout asked of the server, seconds.
    pub poll_timeout: u64,
    /// Streams open as the second request on their connection (see `Common`).
    pub after_request: bool,
    /// Distinguishes this run's nchan channels and idempotency keys from earlier runs.
    pub run_id: u64,
}

/// Which stream a subscriber reads.
#[derive(Debug, Clone)]
pub enum Stream {
    /// The public `announcements` topic (one nchan channel shared by all).
    Public,
    /// One user's own channel.
    User { id: u64, token: Option<String> },
}

/// Where a long-poller is in the stream.
#[derive(Debug, Clone, Default)]
pub struct PollState {
    /// pointcast: last cursor; `None` before the first (timeout=0) call.
    pub cursor: Option<u64>,
    /// nchan: `Last-Modified` / `Etag` of the last message, sent back as
    /// `If-Modified-Since` / `If-None-Match` to ask for the next one.
    pub last_modified: Option<String>,
    pub etag: Option<String>,
    /// Whether the first response has come back.
    pub started: bool,
}

/// Reads pointcast's long-poll answer, `{"events":[...],"cursor":N}`, as a
/// subscriber here needs it: the stamps in it, scanned for as in every other
/// answer (no per-event JSON parse on the load generator's core; nchan's answers
/// are only scanned too), and the cursor, its last member.
///
/// It used to parse the whole answer into JSON values and print each event back
/// to text to scan it: some 7 µs of the load generator's core per answer that
/// nchan's answers did not cost, on a core that is as busy as the server's while
/// a fan-out's answers arrive, so they showed in pointcast's latencies only.
pub fn scan_poll_body(body: &[u8]) -> Result<(Vec<Stamp>, u64)> {
    let malformed = || {
        Error(format!(
            "malformed poll answer: {}",
            String::from_utf8_lossy(body)
        ))
    };
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let (events, cursor) = text
        .strip_prefix(r#"{"events":["#)
        .and_then(|t| t.strip_suffix('}'))
        .and_then(|t| t.rsplit_once(r#"],"cursor":"#))
        .ok_or_else(malformed)?;
    let cursor = cursor.parse().map_err(|_| malformed())?;
    Ok((stamp::find_all(events), cursor))
}

impl Target {
    fn nchan_channel(&self, s: &Stream) -> String {
        match s {
            Stream::Public => format!("bench{}", self.run_id),
            Stream::User { id, .. } => format!("u{}x{id}", self.run_id),
        }
    }

    fn admin_auth(&self) -> Option<String> {
        self.admin_token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// The request that opens an SSE stream.
    pub fn sse_request(&self, s: &Stream) -> Vec<u8> {
        let path = match self.kind {
            TargetKind::Pointcast => match s {
                Stream::Public => self.ep.path("/api/v1/events?topics=announcements"),
                Stream::User { token, .. } => match token {
                    Some(t) => self.ep.path(&format!("/api/v1/events?access_token={t}")),
                    None => self.ep.path("/api/v1/events"),
                },
            },
            TargetKind::Nchan => self.ep.path(&format!("/sub/{}", self.nchan_channel(s))),
        };
        http::request(
            "GET",
            &path,
            &self.ep.host,
            &[
                ("Accept", "text/event-stream"),
                ("Cache-Control", "no-cache"),
            ],
            None,
        )
    }

    /// The request sent first on a connection with `after_request`.
    pub fn warm_up_request(&self) -> Vec<u8> {
        http::request("GET", &self.ep.path("/healthz"), &self.ep.host, &[], None)
    }

    /// True when the stream counts as subscribed on this event (pointcast announces
    /// it with `stream.open`); nchan streams count once their headers arrive.
    pub fn sse_ready_on_head(&self) -> bool {
        self.kind == TargetKind::Nchan
    }

    pub fn sse_ready_event(&self, ev: &SseEvent) -> bool {
        ev.event.as_deref() == Some("stream.open") || ev.id.is_some()
    }

    /// The next long-poll request for this stream and state.
    pub fn poll_request(&self, s: &Stream, st: &PollState) -> Vec<u8> {
        match self.kind {
            TargetKind::Pointcast => {
                let mut q = match st.cursor {
                    Some(c) => format!("cursor={c}&timeout={}", self.poll_timeout),
                    None => "timeout=0".to_string(),
                };
                match s {
                    Stream::Public => q.push_str("&topics=announcements"),
                    Stream::User { token: Some(t), .. } => {
                        q.push_str("&access_token=");
                        q.push_str(t);
                    }
                    Stream::User { token: None, .. } => {}
                }
                let path = self.ep.path(&format!("/api/v1/events/poll?{q}"));
                http::request("GET", &path, &self.ep.host, &[], None)
            }
            TargetKind::Nchan => {
                let path = self.ep.path(&format!("/sub/{}", self.nchan_channel(s)));
                let mut h: Vec<(&str, &str)> = Vec::new();
                if let Some(lm) = &st.last_modified {
                    h.push(("If-Modified-Since", lm));
                }
                if let Some(e) = &st.etag {
                    h.push(("If-None-Match", e));
                }
                http::request("GET", &path, &self.ep.host, &h, None)
            }
        }
    }

    /// Digests a long-poll answer: moves the state on and returns the stamps in it.
    /// The first pointcast answer (timeout=0) only fixes the starting cursor.
    pub fn poll_response(&self, resp: &Response, st: &mut PollState) -> Result<Vec<Stamp>> {
        let first = !st.started;
        st.started = true;
        match self.kind {
            TargetKind::Pointcast => {
                if resp.head.status != 200 {
                    return Err(Error(format!("poll answered {}", resp.head.status)));
                }
                let (stamps, cursor) = scan_poll_body(&resp.body)?;
                st.cursor = Some(cursor);
                if first {
                    return Ok(Vec::new());
                }
                Ok(stamps)
            }
            TargetKind::Nchan => match resp.head.status {
                200 => {
                    st.last_modified = resp.head.header("last-modified").map(str::to_string);
                    st.etag = resp.head.header("etag").map(str::to_string);
                    Ok(stamp::find_all(&String::from_utf8_lossy(&resp.body)))
                }
                // 304: nothing new before nchan's own timeout; ask again.
                304 | 408 => Ok(Vec::new()),
                s => Err(Error(format!("poll answered {s}"))),
            },
        }
    }

    /// Whether a poller is subscribed once its first request is answered
    /// (pointcast) or as soon as it is sent (nchan answers only on a message).
    pub fn poll_ready_on_send(&self) -> bool {
        self.kind == TargetKind::Nchan
    }

    /// A publish of `text` to the stream.
    pub fn publish_request(&self, s: &Stream, text: &str, seq: u64) -> Vec<u8> {
        match self.kind {
            TargetKind::Nchan => {
                let path = self.ep.path(&format!("/pub/{}", self.nchan_channel(s)));
                http::request(
                    "POST",
                    &path,
                    &self.ep.host,
                    &[("Content-Type", "text/plain")],
                    Some(text.as_bytes()),
                )
            }
            TargetKind::Pointcast => {
                let auth = self.admin_auth().unwrap_or_default();
                let json = ("Content-Type", "application/json");
                match (s, self.mode) {
                    (Stream::Public, _) => {
                        let body = serde_json::json!({"text": text, "all": true}).to_string();
                        let path = self.ep.path("/api/v1/announcements");
                        let h = [("Authorization", auth.as_str()), json];
                        http::request("POST", &path, &self.ep.host, &h, Some(body.as_bytes()))
                    }
                    (Stream::User { id, .. }, PublishMode::Announce) => {
                        let body = serde_json::json!({"text": text, "user_id": id}).to_string();
                        let path = self.ep.path("/api/v1/announcements");
                        let h = [("Authorization", auth.as_str()), json];
                        http::request("POST", &path, &self.ep.host, &h, Some(body.as_bytes()))
                    }
                    (Stream::User { id, .. }, PublishMode::Grant) => {
                        let store = self.store_id.unwrap_or(0);
                        let body = serde_json::json!({"points": 1, "reason": text, "reason_code": "promotion"}).to_string();
                        let path = self
                            .ep
                            .path(&format!("/api/v1/stores/{store}/members/{id}/mileage"));
                        let key = format!("bench-{}-{seq}", self.run_id);
                        let h = [
                            ("Authorization", auth.as_str()),
                            json,
                            ("Idempotency-Key", key.as_str()),
                        ];
                        http::request("POST", &path, &self.ep.host, &h, Some(body.as_bytes()))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Head;

    fn target(kind: TargetKind) -> Target {
        Target {
            kind,
            ep: Endpoint::parse("http://127.0.0.1:9").unwrap(),
            admin_token: Some("adm".into()),
            mode: PublishMode::Announce,
            store_id: Some(3),
            poll_timeout: 25,
            after_request: false,
            run_id: 5,
        }
    }

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            head: Head {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn pointcast_poll_cycle() {
        let t = target(TargetKind::Pointcast);
        let s = Stream::Public;
        let mut st = PollState::default();
        let first = String::from_utf8(t.poll_request(&s, &st)).unwrap();
        assert!(first.starts_with("GET /api/v1/events/poll?timeout=0&topics=announcements "));
        let got = t
            .poll_response(&resp(200, &[], r#"{"events":[],"cursor":40}"#), &mut st)
            .unwrap();
        assert!(got.is_empty());
        let next = String::from_utf8(t.poll_request(&s, &st)).unwrap();
        assert!(next.contains("poll?cursor=40&timeout=25&"));
        let body = r#"{"events":[{"id":41,"type":"announcement","channel":"announcements","at":"x","data":{"text":"bench seq=1 t=100"}},{"id":42,"data":{"text":"bench seq=2 t=200"}}],"cursor":42}"#;
        let got = t.poll_response(&resp(200, &[], body), &mut st).unwrap();
        assert_eq!(got.iter().map(|s| s.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(st.cursor, Some(42));
        assert!(t.poll_response(&resp(200, &[], "{oops"), &mut st).is_err());
        for bad in [
            r#"{"events":[],"cursor":x}"#,
            r#"{"events":[],"cursor":}"#,
            r#"{"events":[]}"#,
            r#"{"cursor":4}"#,
        ] {
            assert!(
                t.poll_response(&resp(200, &[], bad), &mut st).is_err(),
                "{bad}"
            );
        }
        assert!(t.poll_response(&resp(500, &[], ""), &mut st).is_err());
    }

    #[test]
    fn nchan_poll_cycle() {
        let t = target(TargetKind::Nchan);
        let s = Stream::User { id: 7, token: None };
        let mut st = PollState::default();
        let first = String::from_utf8(t.poll_request(&s, &st)).unwrap();
        assert!(first.starts_with("GET /sub/u5x7 HTTP/1.1\r\n"));
        assert!(!first.contains("If-"));
        let r = resp(
            200,
            &[
                ("last-modified", "Thu, 01 Jan 2026 00:00:00 GMT"),
                ("etag", "0"),
            ],
            "bench seq=9 u=7 t=1",
        );
        let got = t.poll_response(&r, &mut st).unwrap();
        assert_eq!(got[0].user, Some(7));
        let next = String::from_utf8(t.poll_request(&s, &st)).unwrap();
        assert!(next.contains("If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT\r\n"));
        assert!(next.contains("If-None-Match: 0\r\n"));
    }

    #[test]
    fn publish_shapes() {
        let mut t = target(TargetKind::Pointcast);
        let u = Stream::User { id: 7, token: None };
        let a = String::from_utf8(t.publish_request(&u, "hi", 1)).unwrap();
        assert!(a.starts_with("POST /api/v1/announcements "));
        assert!(a.contains("Authorization: Bearer adm"));
        assert!(a.ends_with(r#"{"text":"hi","user_id":7}"#));
        t.mode = PublishMode::Grant;
        let g = String::from_utf8(t.publish_request(&u, "hi", 1)).unwrap();
        assert!(g.starts_with("POST /api/v1/stores/3/members/7/mileage "));
        assert!(g.contains("Idempotency-Key: bench-5-1\r\n"));
        let n =
            String::from_utf8(target(TargetKind::Nchan).publish_request(&Stream::Public, "x", 1))
                .unwrap();
        assert!(n.starts_with("POST /pub/bench5 "));
    }
}
