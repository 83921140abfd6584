//! The lean paths' small HTTP/1 toolkit: read and parse a request head ([`Head`]),
//! write a response head and the usual JSON error response, close without losing
//! the answer.
//!
//! Only what the two lean loops need: heads are parsed with `httparse` into the few
//! fields a stream or a poll reads, and anything unusual (HTTP/1.0, a body,
//! `Upgrade`, a malformed URI) is marked not [`Head::plain`], so the poll loop hands
//! it to actix, which knows every corner of HTTP/1.x.

use std::time::Duration;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::auth::extract::session_cookie;
use crate::error::ApiError;

/// The largest request head read.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Why no request was taken.
pub enum HeadError {
    /// The client went or was too slow: nothing to answer.
    Gone,
    /// Answered with this error, then the connection closes.
    Api(ApiError),
}

impl From<ApiError> for HeadError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// What the lean paths need from a request head.
#[derive(Debug, Default, PartialEq)]
pub struct Head {
    /// The head's length in bytes, blank line included.
    pub len: usize,
    /// The raw query string (after `?`), empty when there is none.
    pub query: String,
    pub authorization: Option<Vec<u8>>,
    pub cookie: Option<String>,
    /// `Last-Event-ID`; `"?"` when not visible ASCII (a 400, as on the actix path).
    pub last_event_id: Option<String>,
    /// `Origin`, for the CORS rule.
    pub origin: Option<Vec<u8>>,
    /// `Forwarded` and `X-Forwarded-For` (each header's lines joined by `,`), for
    /// the client's address behind a trusted proxy ([`crate::net`]).
    pub forwarded: Option<String>,
    pub x_forwarded_for: Option<String>,
    /// `Connection: close`: answer, then close.
    pub close: bool,
    /// An HTTP/1.1 request with a `Host`, a valid URI and no body, `Expect` or
    /// `Upgrade`: what the lean long-poll path answers itself and then keeps the
    /// connection for. Anything else it leaves to actix, which knows every corner of
    /// HTTP/1.x.
    pub plain: bool,
}

/// Appends one line of a list header to what earlier lines gave.
fn join_line(to: &mut Option<String>, value: &[u8]) {
    let value = String::from_utf8_lossy(value);
    match to {
        Some(v) => {
            v.push(',');
            v.push_str(&value);
        }
        None => *to = Some(value.into_owned()),
    }
}

/// Reads a request head (consuming it, and whatever followed it in the same
/// reads: only for a connection that makes no other request).
pub async fn read_head(io: &mut TcpStream) -> Result<Head, HeadError> {
    let deadline = tokio::time::Instant::now() + HEAD_TIMEOUT;
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    loop {
        if buf.len() == buf.capacity() {
            buf.reserve(buf.capacity());
        }
        let n = match tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return Err(HeadError::Gone),
        };
        debug_assert!(n > 0);
        match parse_head(&buf) {
            Ok(Some(head)) => return Ok(head),
            Ok(None) if buf.len() < MAX_HEAD => continue,
            Ok(None) => return Err(ApiError::HeadersTooLarge.into()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Parses a request head; `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, ApiError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            return Err(ApiError::HeadersTooLarge);
        }
        Err(e) => return Err(ApiError::bad_request("bad_request", e.to_string())),
    };
    let mut head = Head {
        len,
        query: req
            .path
            .and_then(|p| p.split_once('?'))
            .map(|(_, q)| q.to_string())
            .unwrap_or_default(),
        // A path `http::Uri` refuses is a 400 from actix.
        plain: req.version == Some(1)
            && len <= MAX_HEAD
            && req
                .path
                .is_some_and(|p| actix_web::http::Uri::try_from(p).is_ok()),
        ..Head::default()
    };
    let mut host = false;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("authorization") {
            head.authorization.get_or_insert_with(|| h.value.to_vec());
        } else if name.eq_ignore_ascii_case("cookie") {
            let value = String::from_utf8_lossy(h.value);
            if head.cookie.is_none() || session_cookie(&value).is_some() {
                head.cookie = Some(value.into_owned());
            }
        } else if name.eq_ignore_ascii_case("origin") {
            head.origin.get_or_insert_with(|| h.value.to_vec());
        } else if name.eq_ignore_ascii_case("last-event-id") {
            head.last_event_id
                .get_or_insert_with(|| visible_ascii(h.value));
        } else if name.eq_ignore_ascii_case("host") {
            host = true;
        } else if name.eq_ignore_ascii_case("forwarded") {
            join_line(&mut head.forwarded, h.value);
        } else if name.eq_ignore_ascii_case("x-forwarded-for") {
            join_line(&mut head.x_forwarded_for, h.value);
        } else if name.eq_ignore_ascii_case("connection") {
            head.close |= h
                .value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        } else if ["content-length", "transfer-encoding", "expect", "upgrade"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
        {
            head.plain &= name.eq_ignore_ascii_case("content-length") && h.value == b"0";
        }
    }
    // actix answers an HTTP/1.1 request without `Host` with a bare 400.
    head.plain &= host;
    Ok(Some(head))
}

/// A header value as text, or `"?"` when it is not visible ASCII — what actix's
/// `HeaderValue::to_str` refuses, so both paths answer such a cursor alike.
fn visible_ascii(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s) if v.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) => s.to_string(),
        _ => "?".to_string(),
    }
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

    #[test]
    fn only_a_plain_http_1_1_head_without_a_body_is_plain() {
        let parse = |extra: &str| {
            let raw = format!("GET /api/v1/events/poll HTTP/1.1\r\nHost: x\r\n{extra}\r\nrest");
            let head = parse_head(raw.as_bytes()).unwrap().unwrap();
            assert_eq!(head.len, raw.len() - 4);
            head
        };
        assert!(parse("").plain);
        assert!(parse("Content-Length: 0\r\n").plain);
        assert!(!parse("Content-Length: 3\r\n").plain);
        assert!(!parse("Transfer-Encoding: chunked\r\n").plain);
        assert!(!parse("Expect: 100-continue\r\n").plain);
        assert!(!parse("Upgrade: websocket\r\nConnection: upgrade\r\n").plain);
        assert!(!parse("").close);
        assert!(parse("Connection: close\r\n").close);
        assert!(parse("Connection: Keep-Alive, Close\r\n").close);
        assert!(!parse("Connection: keep-alive\r\n").close);
        let old = parse_head(b"GET /api/v1/events/poll HTTP/1.0\r\nHost: x\r\n\r\n");
        assert!(!old.unwrap().unwrap().plain);
        let hostless = parse_head(b"GET /api/v1/events/poll HTTP/1.1\r\n\r\n");
        assert!(!hostless.unwrap().unwrap().plain);
        for odd in [&b"a=<"[..], b"a=\""] {
            let raw = [
                &b"GET /api/v1/events/poll?"[..],
                odd,
                b" HTTP/1.1\r\nHost: x\r\n\r\n",
            ]
            .concat();
            let head = parse_head(&raw);
            assert!(!matches!(head, Ok(Some(h)) if h.plain), "{odd:?}");
        }
        let braces = parse_head(b"GET /api/v1/events/poll?a={} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(braces.unwrap().unwrap().plain, "actix takes these");
    }

    #[test]
    fn the_head_yields_query_and_credentials() {
        let head = parse_head(
            b"GET /api/v1/events?topics=products&access_token=t HTTP/1.1\r\nHost: x\r\n\
              Authorization: Bearer abc\r\nCookie: a=1\r\nCookie: pointcast_session=s; b=2\r\n\
              Last-Event-ID: 42\r\nOrigin: https://a.example\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.query, "topics=products&access_token=t");
        assert_eq!(head.authorization.as_deref(), Some(&b"Bearer abc"[..]));
        assert_eq!(head.cookie.as_deref().and_then(session_cookie), Some("s"));
        assert_eq!(head.last_event_id.as_deref(), Some("42"));
        assert_eq!(head.origin.as_deref(), Some(&b"https://a.example"[..]));

        assert!(
            parse_head(b"GET /api/v1/events HTTP/1.1\r\nHost")
                .unwrap()
                .is_none()
        );
        assert!(parse_head(b"GET /api/v1/events HTTP/1.1\r\nBad Header\r\n\r\n").is_err());
        let e = parse_head(b"GET /api/v1/events HTTP/1.1\r\nLast-Event-ID: \xff\r\n\r\n");
        assert_eq!(e.unwrap().unwrap().last_event_id.as_deref(), Some("?"));
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
