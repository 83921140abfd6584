//! The lean paths' small HTTP/1 toolkit: decide what a request head is
//! ([`decide`]), write a response head and the usual JSON error response, close
//! without losing the answer.
//!
//! A head is ours only when it is a plain `GET` of a stream or a poll: HTTP/1.1, no
//! body, no `Expect` or `Upgrade`, and one that actix's own request decoder
//! (`actix_http::h1::Codec`) accepts, which the lean path builds its request by
//! the decoder's rules ([`plain_get`], held to the decoder by a test): whatever
//! actix refuses (two `Content-Length`s, a `Transfer-Encoding`, two or no `Host`,
//! obs-fold, ...) never reaches the lean path; it goes to actix, which answers it
//! as it answers any request.

use std::time::Duration;

use actix_http::{ConnectionType, Request};
use actix_web::ResponseError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri, Version};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Route;
use crate::error::ApiError;

/// The largest request head the lean path reads; a longer one goes to actix
/// (which reads heads up to 128 KB).
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head: actix's
/// `client_request_timeout`, which `startup.rs` sets from this.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

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
    // A `Content-Length` actix's decoder refuses.
    let mut bad_length = false;
    for h in req.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            lengths += 1;
            match std::str::from_utf8(h.value).map(str::trim) {
                Ok(v) if !v.starts_with('+') => match v.parse() {
                    Ok(n) => length = n,
                    Err(_) => bad_length = true,
                },
                _ => bad_length = true,
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
    unframed |= lengths > 1 || bad_length;
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
        && !bad_length
        && !expect
        && !body_or_odd
    {
        // What actix's decoder would refuse, actix answers itself.
        return match plain_get(&req, &buf[..len]) {
            Some(request) => Decision::Lean {
                route,
                request: Box::new(request),
                len,
            },
            None => Decision::Through,
        };
    }
    if unframed {
        return Decision::Through;
    }
    Decision::Actix { len, body: length }
}

/// The request actix's decoder makes of a plain `GET` head (HTTP/1.1, no body,
/// no `Transfer-Encoding`, `Upgrade` or `Expect`, at most one `Content-Length`, of
/// 0: [`decide`] checked these), built from the one `httparse` pass of [`decide`]
/// by that decoder's rules (actix-http's `h1::decoder`): the target must be a
/// `Uri`, there must be exactly one `Host`, header names and values must be
/// valid, and `Connection` sets the connection type as it does there. `None` for
/// anything else, which then goes to actix whole.
///
/// Why not run actix's decoder on a copy, as before: that parsed every head a
/// second time and filled an array of 96 header slots (3 KB) for it; building
/// the request here saves the second parse and the fill (about 450
/// instructions an answer and one 3 KB `memset`, by callgrind; see
/// docs/performance.md, eighth part, on how callgrind counts a `memset`). The
/// test `a_plain_get_is_built_as_actix_decodes_it` holds the two to the same
/// request.
fn plain_get(req: &httparse::Request<'_, '_>, head: &[u8]) -> Option<Request> {
    let uri = Uri::try_from(req.path?).ok()?;
    // The values share one copy of the head, as actix's share its buffer.
    let shared = Bytes::copy_from_slice(head);
    let mut request = Request::new();
    let mut hosts = 0;
    let mut connection = None;
    let parts = request.head_mut();
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let start = (h.value.as_ptr() as usize).checked_sub(head.as_ptr() as usize)?;
        let value = shared.get(start..start + h.value.len())?;
        let value = HeaderValue::from_maybe_shared(shared.slice_ref(value)).ok()?;
        if name == header::HOST {
            hosts += 1;
        } else if name == header::CONNECTION
            && let Ok(options) = value.to_str()
        {
            for option in options.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    connection = Some(ConnectionType::Close);
                    break;
                } else if option.eq_ignore_ascii_case("upgrade")
                    && connection != Some(ConnectionType::Close)
                {
                    connection = Some(ConnectionType::Upgrade);
                } else if option.eq_ignore_ascii_case("keep-alive") && connection.is_none() {
                    connection = Some(ConnectionType::KeepAlive);
                }
            }
        }
        parts.headers.append(name, value);
    }
    if hosts != 1 {
        return None;
    }
    parts.method = Method::GET;
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    if let Some(c) = connection {
        parts.set_connection_type(c);
    }
    Some(request)
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
    // As bytes, not through `write!`: with `core::fmt` this head took about 630
    // of some 11,000 instructions of every long-poll answer, now about 300
    // (callgrind; docs/performance.md, eleventh part).
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\ncontent-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
    out.extend_from_slice(b"\r\n");
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
    fn a_response_head_is_written_line_by_line() {
        let mut out = Vec::new();
        let headers = [("content-type", "application/json")];
        let cors = "access-control-allow-origin: https://shop.example\r\n";
        response_head(&mut out, StatusCode::OK, 1234, false, &headers, cors);
        let head = String::from_utf8(out).unwrap();
        let (lines, date) = head.split_at(head.find("date: ").unwrap());
        assert_eq!(
            lines,
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\
                 content-type: application/json\r\n{cors}"
            )
        );
        assert!(date.ends_with(" GMT\r\n\r\n"), "{date:?}");
        let timeout = String::from_utf8(timeout_response()).unwrap();
        assert!(
            timeout.starts_with(
                "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: "
            ),
            "{timeout:?}"
        );
    }

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

    #[tokio::test]
    async fn a_plain_get_is_built_as_actix_decodes_it() {
        // actix's decoder keeps its date on a local task.
        tokio::task::LocalSet::new()
            .run_until(async { same_as_actix() })
            .await;
    }

    /// What actix's own decoder makes of `head`, if it accepts it.
    fn actix_decoded(head: &[u8]) -> Option<Request> {
        use actix_http::h1::{Codec, Message};
        use tokio_util::codec::Decoder;
        let mut codec = Codec::new(actix_http::ServiceConfig::default());
        match codec.decode(&mut bytes::BytesMut::from(head)) {
            Ok(Some(Message::Item(request))) => Some(request),
            _ => None,
        }
    }

    fn same_as_actix() {
        let base = "GET /api/v1/events/poll?timeout=5&topics=announcements HTTP/1.1\r\n";
        let accepted: [&[u8]; 12] = [
            b"Host: x\r\n",
            b"Host: x\r\nConnection: close\r\n",
            b"host: x\r\nconnection: Keep-Alive\r\n",
            b"Host: x\r\nConnection: keep-alive, close\r\n",
            b"Host: x\r\nConnection: upgrade\r\n",
            b"Host: x\r\nConnection: keep-alive\r\nConnection: close\r\n",
            b"Host: x\r\nContent-Length: 0\r\nLast-Event-ID: 17\r\n",
            b"Host: x\r\nAuthorization: Bearer abc\r\nCookie: a=1\r\nCookie: b=2\r\n",
            b"Host: x\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8\r\nOrigin: https://a.example\r\n",
            b"Host: x\r\nX-Name: caf\xc3\xa9\r\nX-Tab: a\tb\r\nX-Empty:\r\n",
            b"Host: x\r\nACCEPT: text/event-stream\r\nX-Custom-Header:  padded  \r\n",
            b"Host:\r\n",
        ];
        for extra in accepted {
            let head = [base.as_bytes(), extra, b"\r\n"].concat();
            let theirs = actix_decoded(&head).expect("actix accepts it");
            let Decision::Lean {
                request: ours, len, ..
            } = decide(&head)
            else {
                panic!("not lean: {}", String::from_utf8_lossy(&head));
            };
            assert_eq!(len, head.len());
            let (a, b) = (ours.head(), theirs.head());
            assert_eq!(a.method, b.method);
            assert_eq!(a.uri, b.uri);
            assert_eq!(a.version, b.version);
            assert_eq!(a.connection_type(), b.connection_type());
            // A header map's order is per name (the values of one name in
            // order); across names it is the map's own.
            let pairs = |h: &actix_web::http::header::HeaderMap| {
                let mut pairs: Vec<_> = h
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.clone()))
                    .collect();
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                pairs
            };
            assert_eq!(pairs(&a.headers), pairs(&b.headers), "{extra:?}");
        }
        // What actix refuses never becomes a lean request.
        let refused: [&[u8]; 5] = [
            b"GET /api/v1/events/poll HTTP/1.1\r\n\r\n",
            b"GET /api/v1/events/poll HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"GET /api/v1/events/poll HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            b"GET /api/v1/events/poll HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n",
            b"GET /api/v1/events/poll?a=\"b\" HTTP/1.1\r\nHost: x\r\n\r\n",
        ];
        for head in refused {
            let lean = matches!(decide(head), Decision::Lean { .. });
            assert!(
                !lean || actix_decoded(head).is_some(),
                "lean but refused by actix: {}",
                String::from_utf8_lossy(head)
            );
            assert!(actix_decoded(head).is_none() || lean, "{head:?}");
        }
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
