//! The lean SSE path: `GET /api/v1/events` served straight off the socket, and the
//! pieces it shares with the lean long-poll path ([`super::edge_poll`]).
//!
//! actix-http gives every connection an 8 KB read and an 8 KB write buffer for its
//! whole life, and frames each event again for each reader; for a push server whose
//! connections are mostly idle streams that is most of its memory. So the server
//! peeks at the first bytes of each new connection ([`peek_route`], never consuming
//! them): a connection that opens with `GET /api/v1/events` or
//! `GET /api/v1/events/poll` (followed by ` ` or `?`) is served here, everything else
//! goes to actix unchanged.
//!
//! Here the request head is read into a temporary buffer that is freed before the
//! stream starts; the request is authorised and opened exactly as the actix handler
//! does ([`crate::auth::extract`], [`Feed::open`]); errors get the usual JSON error
//! response and the connection closes. An `Origin` the CORS setting lists is echoed
//! in both, as actix's middleware ([`crate::guard`]) does for every other route.
//! A stream answers `Connection: close` and
//! writes the raw event stream, no chunking, until the client goes, the feed is cut
//! (overflow, shutdown) or a write fails. While idle a stream holds its socket, its
//! feed and a timer: no buffer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix_web::ResponseError;
use actix_web::web;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::connections::Transport;
use super::feed::{Feed, FeedRequest};
use super::params::StreamQuery;
use super::sse::{HEARTBEAT, first_event, preamble, with_ready};
use crate::auth::extract::{principal_for, session_cookie, token_from_parts};
use crate::cors::Cors;
use crate::error::ApiError;
use crate::state::AppState;

/// What a connection must start with to be served here.
const PREFIX: &[u8] = b"GET /api/v1/events";
/// What follows [`PREFIX`] in a long-poll.
const POLL_SUFFIX: &[u8] = b"/poll";
/// How long a new connection (or the next request on a kept-alive lean long-poll
/// connection) may take to show its first bytes before it is handed to actix
/// undecided (actix's own request timeout then applies).
pub const ROUTE_WAIT: Duration = Duration::from_secs(2);
/// How much of a connection's start is peeked at: the prefix and the byte after it.
const PEEK_BYTES: usize = 32;
/// The largest request head read.
pub(super) const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub(super) const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The stream route's path, for the request log.
const STREAM_PATH: &str = "/api/v1/events";

/// Where the first bytes of a connection send it.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/v1/events`: the lean SSE path ([`serve`]).
    Stream,
    /// `GET /api/v1/events/poll`: the lean long-poll path ([`super::edge_poll`]).
    Poll,
    Actix,
    /// Too few bytes yet to tell.
    Undecided,
}

/// Routes on the first bytes: `GET /api/v1/events` or `GET /api/v1/events/poll`,
/// then ` ` or `?`, is ours; everything else is actix's.
pub fn classify(start: &[u8]) -> Route {
    let Some(rest) = start.strip_prefix(PREFIX) else {
        return if PREFIX.starts_with(start) {
            Route::Undecided
        } else {
            Route::Actix
        };
    };
    let ends = |b: &[u8]| matches!(b.first(), Some(b' ' | b'?'));
    if ends(rest) {
        Route::Stream
    } else if let Some(after) = rest.strip_prefix(POLL_SUFFIX) {
        if ends(after) {
            Route::Poll
        } else if after.is_empty() {
            Route::Undecided
        } else {
            Route::Actix
        }
    } else if rest.is_empty() || POLL_SUFFIX.starts_with(rest) {
        Route::Undecided
    } else {
        Route::Actix
    }
}

/// Peeks (without consuming) at the start of a request, waiting at most `wait` for
/// enough bytes to decide; never [`Route::Undecided`]. Anything undecided goes to
/// actix, which then applies its own request timeout; a connection closed before
/// its first byte is `None`.
pub async fn peek_route(io: &TcpStream, wait: Duration) -> Option<Route> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; PEEK_BYTES];
    loop {
        let n = match tokio::time::timeout_at(deadline, io.peek(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => n,
            Err(_) => return Some(Route::Actix),
        };
        match classify(&buf[..n]) {
            Route::Undecided => {}
            route => return Some(route),
        }
        // The socket stays readable with the bytes already there: wait a little
        // for the rest of a request that arrives in pieces.
        if !pause_until(deadline).await {
            return Some(Route::Actix);
        }
    }
}

/// Sleeps a little (a peeked socket stays readable, so there is nothing to wait
/// on); false once `deadline` has passed.
pub(super) async fn pause_until(deadline: tokio::time::Instant) -> bool {
    tokio::time::timeout_at(deadline, tokio::time::sleep(Duration::from_millis(5)))
        .await
        .is_ok()
}

/// Serves one connection whose first request is `GET /api/v1/events`.
pub async fn serve(mut io: TcpStream, state: web::Data<AppState>) {
    let heartbeat = state.settings.push.heartbeat;
    // Boxed: reading, authorising and opening need far more state than streaming,
    // and that state is freed before the stream starts.
    let Some(mut feed) = Box::pin(open(&mut io, state)).await else {
        return;
    };
    // By reference: moved into `pump`, the socket and feed would take their space
    // twice in this future.
    pump(&mut io, &mut feed, heartbeat).await;
}

/// Reads the request, opens the feed and writes the response head and preamble;
/// or writes the error and returns `None`.
async fn open(io: &mut TcpStream, state: web::Data<AppState>) -> Option<Feed> {
    let started = Instant::now();
    let span = tracing::info_span!("stream", user_id = tracing::field::Empty, transport = "sse");
    let retry = state.settings.push.retry;
    let mut cors = String::new();
    let opened = async {
        let head = read_head(io).await?;
        cors = Cors::head_lines(state.cors.allowed(head.origin.as_deref()));
        let remote = io.peer_addr().ok().map(|a| a.ip());
        let request = feed_request(&state, head, remote).await?;
        Ok::<_, HeadError>(Feed::open(state.clone(), request, Transport::Sse).await?)
    }
    .instrument(span)
    .await;
    let status = match opened {
        Ok((feed, opening)) => {
            let mut out = Vec::with_capacity(512);
            out.extend_from_slice(STREAM_HEAD);
            out.extend_from_slice(cors.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&preamble(&feed, &opening, retry));
            let sent = io.write_all(&out).await.is_ok();
            log_request(&state, STREAM_PATH, 200, started);
            return sent.then_some(feed);
        }
        Err(HeadError::Gone) => return None,
        Err(HeadError::Api(e)) => {
            let status = e.status_code().as_u16();
            write_error(io, &e, &cors).await;
            status
        }
    };
    log_request(&state, STREAM_PATH, status, started);
    None
}

/// What the reader asked for, and who it is: the query string, the token (header,
/// cookie or `?access_token=`, by the one rule of [`token_from_parts`]) and the
/// principal it names (a bad token is a 401), as the actix extractors take them,
/// in their order. Records `user_id` in the current span.
pub(super) async fn feed_request(
    state: &AppState,
    head: Head,
    remote: Option<IpAddr>,
) -> Result<FeedRequest, ApiError> {
    let query = web::Query::<StreamQuery>::from_query(&head.query)
        .map_err(|e| ApiError::bad_request("bad_query", e.to_string()))?
        .into_inner();
    let token = token_from_parts(
        head.authorization.as_deref(),
        head.cookie.as_deref().and_then(session_cookie),
        Some(&head.query),
    );
    let principal = principal_for(state, token).await?;
    if let Some(p) = &principal {
        tracing::Span::current().record("user_id", p.user_id);
    }
    Ok(FeedRequest {
        cursor_header: head.last_event_id,
        remote,
        principal,
        query,
    })
}

/// The stream's response head but for its CORS lines and the blank line.
const STREAM_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
content-type: text/event-stream\r\n\
content-encoding: identity\r\n\
cache-control: no-cache, no-store\r\n\
x-accel-buffering: no\r\n\
connection: close\r\n";

/// Streams until the client goes, the feed is cut, or a write fails.
///
/// The heartbeat timer is not re-armed per event (that is a timer-wheel update per
/// event per reader): when it fires after a write, it only re-arms, so a comment
/// goes out after between one and two heartbeat periods of silence.
async fn pump(io: &mut TcpStream, feed: &mut Feed, heartbeat: Duration) {
    let cut = feed.cut_token();
    let beat = tokio::time::sleep(heartbeat);
    tokio::pin!(beat);
    let mut wrote = false;
    loop {
        let (bytes, is_event) = tokio::select! {
            biased;
            next = feed.next(true) => match first_event(next) {
                Some(e) => (with_ready(e, feed).await, true),
                None => break,
            },
            ready = std::future::poll_fn(|cx| io.poll_read_ready(cx)) => {
                if ready.is_err() || client_gone(io) {
                    break;
                }
                continue;
            }
            () = &mut beat => {
                beat.as_mut().reset(tokio::time::Instant::now() + heartbeat);
                if std::mem::take(&mut wrote) {
                    continue;
                }
                (Bytes::from_static(HEARTBEAT), false)
            }
        };
        if !write_frame(io, &bytes, &cut).await {
            break;
        }
        wrote |= is_event;
    }
    let _ = io.shutdown().await;
}

/// Writes `bytes` whole; false when the client is gone or the feed was cut while
/// the client was not reading. Almost always the socket buffer takes the frame at
/// once, and then nothing is registered to wait on.
async fn write_frame(io: &mut TcpStream, bytes: &[u8], cut: &CancellationToken) -> bool {
    let rest = match io.try_write(bytes) {
        Ok(n) if n == bytes.len() => return true,
        Ok(n) => &bytes[n..],
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => bytes,
        Err(_) => return false,
    };
    tokio::select! {
        r = io.write_all(rest) => r.is_ok(),
        () = cut.cancelled() => false,
    }
}

/// Reads whatever the client sent after its request (nothing is expected) and says
/// whether it closed the connection. Reads a bounded amount per wake-up so a client
/// that keeps sending cannot hold the worker.
fn client_gone(io: &TcpStream) -> bool {
    let mut sink = [0u8; 64];
    for _ in 0..16 {
        match io.try_read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
    false
}

/// Why no stream was opened.
pub(super) enum HeadError {
    /// The client went or was too slow: nothing to answer.
    Gone,
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
    /// `Connection: close`: answer, then close.
    pub close: bool,
    /// An HTTP/1.1 request with a `Host`, a valid URI and no body, `Expect` or
    /// `Upgrade`: what the lean long-poll path answers itself and then keeps the
    /// connection for. Anything else it leaves to actix, which knows every corner of
    /// HTTP/1.x.
    pub plain: bool,
}

async fn read_head(io: &mut TcpStream) -> Result<Head, HeadError> {
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
/// header order is a hash map's, so it varies; the lines are the same): `lines` are
/// whole `name: value\r\n` lines (content type, CORS, ...), then `date` and the
/// blank line. `close` adds `connection: close`.
pub(super) fn response_head(
    out: &mut Vec<u8>,
    status: actix_web::http::StatusCode,
    length: usize,
    close: bool,
    lines: &[&str],
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
    for line in lines {
        out.extend_from_slice(line.as_bytes());
    }
    http_date::line(out);
    out.extend_from_slice(b"\r\n");
}

/// `e` as the usual JSON error response (with `cors`, header lines for an allowed
/// origin, possibly empty).
pub(super) fn error_response(e: &ApiError, cors: &str, close: bool) -> Vec<u8> {
    let body = e.body().to_string();
    let extra = e
        .extra_header()
        .map(|(name, value)| format!("{}: {value}\r\n", name.to_ascii_lowercase()))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(256 + body.len());
    response_head(
        &mut out,
        e.status_code(),
        body.len(),
        close,
        &["content-type: application/json\r\n", &extra, cors],
    );
    out.extend_from_slice(body.as_bytes());
    out
}

/// Writes `e` as the usual JSON error response, then closes gently.
async fn write_error(io: &mut TcpStream, e: &ApiError, cors: &str) {
    if io.write_all(&error_response(e, cors, true)).await.is_ok() {
        close_gently(io).await;
    }
}

/// Closes after a response: the client's unread bytes are drained for a moment so
/// the close does not turn into a reset that would destroy the response before the
/// client reads it.
pub(super) async fn close_gently(io: &mut TcpStream) {
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

/// Counts and logs a request served here as actix's middleware does for its own.
pub(super) fn log_request(state: &AppState, path: &str, status: u16, started: Instant) {
    state.metrics.record_response(status);
    tracing::info!(
        method = "GET",
        path,
        status,
        ms = started.elapsed().as_secs_f64() * 1e3,
        edge = true,
        "request"
    );
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
    fn only_the_stream_and_poll_routes_are_ours() {
        assert_eq!(classify(b"GET /api/v1/events HTTP/1.1\r\n"), Route::Stream);
        assert_eq!(
            classify(b"GET /api/v1/events?topics=x HTTP/1.1"),
            Route::Stream
        );
        assert_eq!(classify(b"GET /api/v1/events/poll?x HTTP/1.1"), Route::Poll);
        assert_eq!(classify(b"GET /api/v1/events/poll HTTP/1.1"), Route::Poll);
        assert_eq!(classify(b"GET /api/v1/events/polls HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /api/v1/events/p HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /api/v1/eventsx HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"POST /api/v1/events HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /healthz HTTP/1.1"), Route::Actix);
        assert_eq!(classify(b"GET /api/v1/ev"), Route::Undecided);
        assert_eq!(classify(b"GET /api/v1/events"), Route::Undecided);
        assert_eq!(classify(b"GET /api/v1/events/po"), Route::Undecided);
        assert_eq!(classify(b"GET /api/v1/events/poll"), Route::Undecided);
        assert_eq!(classify(b""), Route::Undecided);
    }

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

    fn future_size<A, B, F: Future>(_: fn(A, B) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn an_idle_stream_is_small() {
        // The whole state of one stream connection while it waits (the future that
        // actix-server's worker keeps), without any buffer.
        let serve = future_size(serve);
        eprintln!("edge::serve future: {serve} bytes");
        assert!(serve < 1024, "edge::serve future is {serve} bytes");
    }

    #[test]
    fn a_waiting_poll_connection_is_small() {
        // The whole state of a long-poll connection, its waiting poll included
        // (about 2 KB in a release build): no buffer, and far below actix's 16 KB.
        let serve = future_size(super::super::edge_poll::serve);
        eprintln!("edge_poll::serve future: {serve} bytes");
        assert!(serve < 4096, "edge_poll::serve future is {serve} bytes");
    }
}
