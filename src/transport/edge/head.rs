//! The lean paths' small HTTP/1 toolkit: decide what a request head is
//! ([`decide`]), write a response head and the usual JSON error response, close
//! without losing the answer.
//!
//! A head is ours only when it is a plain `GET` of a stream or a poll: HTTP/1.1, no
//! body, no `Expect` or `Upgrade`, and accepted by actix's own request decoder
//! (`actix_http::h1::Codec`), which the lean path then reads the request from. So
//! there is one parser: whatever actix refuses (two `Content-Length`s, a
//! `Transfer-Encoding`, two or no `Host`, obs-fold, ...) never reaches the lean
//! path; it goes to actix, which answers it as it answers any request.

use std::time::Duration;

use actix_http::h1::{Codec, Message};
use actix_http::{Request, ServiceConfig};
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

use super::Route;
use crate::error::ApiError;

/// The largest request head the lean path reads; a longer one goes to actix
/// (which reads heads up to 128 KB).
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head: actix's
/// `client_request_timeout`, which `startup.rs` sets from this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

thread_local! {
    /// The decoder's configuration, made once per worker thread: making one
    /// starts a date-keeping task, too much to do per head.
    static CONFIG: ServiceConfig = ServiceConfig::default();
}

/// What a buffer that starts at a request boundary holds.
#[derive(Debug)]
pub enum Decision {
    /// Not a whole head yet, and shorter than [`MAX_HEAD`].
    Partial,
    /// A plain stream or poll request, `len` bytes of head: the lean path's.
    Lean {
        route: Route,
        request: Box<Request>,
        len: usize,
    },
    /// A whole head of `len` bytes for actix, then a body of `body` bytes, then
    /// the next head.
    Actix { len: usize, body: u64 },
    /// For actix, and nothing after it can be framed here (malformed, too large,
    /// a chunked body, an upgrade, HTTP/1.0, the last request): everything from
    /// here on is actix's.
    Through,
}

/// Decides what the request head at the start of `buf` is (see the module doc).
pub fn decide(buf: &[u8]) -> Decision {
    // Uninitialised: zeroing 96 headers (3 KB) was a `memset` per request.
    let mut headers = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 96];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Decision::Partial,
        _ => return Decision::Through,
    };
    let http11 = req.version == Some(1);
    let (mut length, mut lengths) = (0u64, 0);
    // Something after which this side cannot find the next head.
    let mut unframed = !http11;
    let mut expect = false;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            match std::str::from_utf8(h.value).map(str::trim) {
                Ok(v) if !v.starts_with('+') => match v.parse() {
                    Ok(n) => length = n,
                    Err(_) => unframed = true,
                },
                _ => unframed = true,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("upgrade")
        {
            unframed = true;
        } else if name.eq_ignore_ascii_case("expect") {
            expect = true;
        } else if name.eq_ignore_ascii_case("connection") {
            unframed |= h.value.split(|&b| b == b',').any(|t| {
                let t = t.trim_ascii();
                t.eq_ignore_ascii_case(b"close") || t.eq_ignore_ascii_case(b"upgrade")
            });
        }
    }
    unframed |= lengths > 1;
    let route = match (req.method, req.path) {
        (Some("GET"), Some(path)) => super::route_of(path.as_bytes()),
        _ => Route::Actix,
    };
    // `Connection: close` is fine for a lean request: it is the last either way.
    let body_or_odd = req.headers.iter().any(|h| {
        ["transfer-encoding", "upgrade", "expect"]
            .iter()
            .any(|n| h.name.eq_ignore_ascii_case(n))
    });
    if matches!(route, Route::Stream | Route::Poll)
        && http11
        && length == 0
        && lengths <= 1
        && !expect
        && !body_or_odd
    {
        // actix's decoder on a copy: what it refuses, actix answers itself.
        let mut head = BytesMut::from(&buf[..len]);
        let mut codec = CONFIG.with(|config| Codec::new(config.clone()));
        if let Ok(Some(Message::Item(request))) = codec.decode(&mut head) {
            return Decision::Lean {
                route,
                request: Box::new(request),
                len,
            };
        }
        return Decision::Through;
    }
    if unframed {
        return Decision::Through;
    }
    Decision::Actix { len, body: length }
}

/// Whether the request at the start of `buf` is a `GET` of the stream route
/// (whichever path serves it).
pub fn names_stream(buf: &[u8]) -> bool {
    let Some(target) = buf.strip_prefix(b"GET ") else {
        return false;
    };
    let end = target
        .iter()
        .position(|&b| b == b' ' || b == b'\r' || b == b'\n')
        .unwrap_or(target.len());
    super::route_of(&target[..end]) == Route::Stream
}

/// actix's answer to a head that did not arrive within [`HEAD_TIMEOUT`].
pub fn timeout_response() -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    response_head(&mut out, StatusCode::REQUEST_TIMEOUT, 0, true, &[], "");
    out
}

/// The head of a response with a body of `length` bytes, as actix writes it (its
/// header order is a hash map's, so it varies; the lines are the same): `headers`
/// (content type, ...), then `lines`, whole `name: value\r\n` lines (CORS, possibly
/// none), then `date` and the blank line. `close` adds `connection: close`.
pub fn response_head(
    out: &mut Vec<u8>,
    status: StatusCode,
    length: usize,
    close: bool,
    headers: &[(&str, &str)],
    lines: &str,
) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        "HTTP/1.1 {} {}\r\ncontent-length: {length}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    header_lines(out, headers);
    out.extend_from_slice(lines.as_bytes());
    http_date::line(out);
    out.extend_from_slice(b"\r\n");
}

/// Writes `headers` as `name: value\r\n` lines: the one way both lean loops turn
/// a protocol header list ([`crate::transport::protocol`]) into bytes.
pub fn header_lines(out: &mut Vec<u8>, headers: &[(&str, &str)]) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// `e` as the usual JSON error response (with `cors`, header lines for an allowed
/// origin, possibly empty): the body and extra header of [`ApiError`], so the wire
/// format cannot fork from actix's.
pub fn error_response(e: &ApiError, cors: &str, close: bool) -> Vec<u8> {
    let body = e.body().to_string();
    let extra = e
        .extra_header()
        .map(|(name, value)| (name.to_ascii_lowercase(), value));
    let mut headers = vec![("content-type", "application/json")];
    if let Some((name, value)) = &extra {
        headers.push((name.as_str(), value.as_str()));
    }
    let mut out = Vec::with_capacity(256 + body.len());
    response_head(&mut out, e.status_code(), body.len(), close, &headers, cors);
    out.extend_from_slice(body.as_bytes());
    out
}

/// Writes `e` as the usual JSON error response, then closes gently.
pub async fn write_error(io: &mut TcpStream, e: &ApiError, cors: &str) {
    if io.write_all(&error_response(e, cors, true)).await.is_ok() {
        close_gently(io).await;
    }
}

/// Closes after a response: the client's unread bytes are drained for a moment so
/// the close does not turn into a reset that would destroy the response before the
/// client reads it.
pub async fn close_gently(io: &mut TcpStream) {
    let _ = io.shutdown().await;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut left = 64 * 1024;
        while left > 0 {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left -= n.min(left),
            }
        }
    })
    .await;
}

/// The `date:` header line, formatted once a second per thread.
mod http_date {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    thread_local! {
        static CACHE: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
    }

    pub fn line(out: &mut Vec<u8>) {
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        CACHE.with_borrow_mut(|(at, line)| {
            if *at != secs || line.is_empty() {
                *at = secs;
                *line = format!("date: {}\r\n", httpdate::fmt_http_date(now));
            }
            out.extend_from_slice(line.as_bytes());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decided(extra: &str) -> Decision {
        let raw = format!("GET /api/v1/events/poll HTTP/1.1\r\nHost: x\r\n{extra}\r\nrest");
        decide(raw.as_bytes())
    }

    #[tokio::test]
    async fn only_a_plain_http_1_1_get_without_a_body_is_ours() {
        // actix's decoder keeps its date on a local task.
        tokio::task::LocalSet::new()
            .run_until(async { plain_heads() })
            .await;
    }

    fn plain_heads() {
        assert!(matches!(decided(""), Decision::Lean { route: Route::Poll, len, .. } if len > 0));
        assert!(matches!(
            decided("Content-Length: 0\r\n"),
            Decision::Lean { .. }
        ));
        assert!(matches!(
            decided("Connection: close\r\n"),
            Decision::Lean { .. }
        ));
        for odd in [
            "Content-Length: 3\r\n",
            "Transfer-Encoding: chunked\r\n",
            "Expect: 100-continue\r\n",
            "Upgrade: websocket\r\nConnection: upgrade\r\n",
            "Content-Length: 0\r\nContent-Length: 0\r\n",
            "Host: y\r\n",
        ] {
            assert!(!matches!(decided(odd), Decision::Lean { .. }), "{odd}");
        }
        let hostless = decide(b"GET /api/v1/events HTTP/1.1\r\n\r\n");
        assert!(matches!(hostless, Decision::Through));
        let old = decide(b"GET /api/v1/events HTTP/1.0\r\n\r\n");
        assert!(matches!(old, Decision::Through));
        let other = decide(b"POST /api/v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
        assert!(matches!(other, Decision::Actix { body: 2, .. }));
        assert!(matches!(
            decide(b"GET /api/v1/events HTTP/1.1\r\nHo"),
            Decision::Partial
        ));
        assert!(matches!(
            decide(b"GET /api/v1/events HTTP/1.1\r\nBad Header\r\n\r\n"),
            Decision::Through
        ));
    }

    #[test]
    fn an_error_response_is_the_usual_json_error() {
        let e = ApiError::TooManyRequests {
            message: "slow down".into(),
            retry_after: Some(5),
        };
        let out = error_response(
            &e,
            "access-control-allow-origin: https://a.example\r\n",
            true,
        );
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{head}"
        );
        for line in [
            "content-type: application/json",
            "retry-after: 5",
            "connection: close",
            "access-control-allow-origin: https://a.example",
            "date: ",
        ] {
            assert!(head.contains(line), "{line} missing in {head}");
        }
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert_eq!(body, e.body().to_string());
    }
}
