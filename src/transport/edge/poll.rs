//! The lean long-poll: a plain `GET /api/v1/events/poll` answered off the socket.
//!
//! Each poll is authorised, opened and answered as the actix handler does it
//! ([`feed_request`], [`Feed::open`], [`protocol::answer`]), with the same headers
//! ([`protocol::HEADERS`] and CORS; actix's order varies, the lines are the same),
//! error bodies, request log and metrics. `Connection: close` is honoured, and at
//! shutdown the answer closes the connection. A client that closes while its poll
//! waits ends the wait at once and its reader is unregistered. The connection's
//! next request, whatever it is, is read by [`super::conn`].
//!
//! # A poll's feed carries on to the connection's next poll
//!
//! A client that long-polls on a kept-alive connection asks again the moment it
//! has an answer, with the same query but for the cursor it was just given. So
//! an answered poll's feed is not closed: it stays open on the connection
//! ([`Kept`], for at most [`KEPT_FOR`] of quiet), and a next poll that asks the
//! same thing from there on carries on with it. Its registration with the hub
//! never lapsed, so every event after the cursor is in it, as a new feed would
//! read them from the ring or the log; what it saves is the query's parse, the
//! credential's lookup, the admission and the hub's registration, and their
//! undoing, on every poll (docs/performance.md, tenth part).
//!
//! A next poll carries on only when nothing it asks can differ: byte for byte
//! the same query but for the `cursor`, which must be the feed's and still
//! covered by the hub's ring of recent events (so that no answer depends on
//! what the log has pruned meanwhile); the same credential and
//! forwarded-address headers; no `Last-Event-ID`; and a feed the hub has not
//! cut off (an overflow, a session's end, shutdown), opened for
//! no credential or a session token (whose end ends the feed, as it ends a
//! stream). A ticket is used up by its poll, and API keys and JWTs are checked at
//! every use, so theirs never carry on. Anything else is opened afresh, after
//! the kept feed is closed.

use std::net::SocketAddr;
use std::task::Poll;
use std::time::{Duration, Instant};

use actix_http::{ConnectionType, Request};
use actix_web::HttpMessage;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    AUTHORIZATION, COOKIE, FORWARDED, HeaderMap, HeaderName, ORIGIN, X_FORWARDED_FOR,
};
use actix_web::web;
use tokio::io::{AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tracing::Instrument;

use super::head;
use crate::auth::stream::now as auth_now;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::events::connections::Transport;
use crate::events::feed::{Feed, Opening};
use crate::events::params;
use crate::state::AppState;
use crate::transport::protocol::poll::{self as protocol, Waited};
use crate::transport::request::{feed_request, refuse_body};

/// How long a connection may stay idle between requests: actix's default
/// keep-alive, which `startup.rs` gives the actix side too.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How long an answered poll's feed waits for the connection's next request
/// ([`Kept`]): a client that polls in a loop is back within milliseconds, and a
/// connection that goes quiet gives its reader's slot back within a second.
pub const KEPT_FOR: Duration = Duration::from_secs(1);
/// The route's path, for the request log.
const PATH: &str = "/api/v1/events/poll";
/// Made once: looked up by a `&str`, a header's name is parsed at every lookup.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// An answered poll's feed, kept open on its connection for a next poll that
/// asks the same thing from where it left off (see the module doc).
pub struct Kept {
    feed: Feed,
    /// What the poll asked besides its cursor ([`shape_of`]).
    shape: Box<[u8]>,
    timeout: Duration,
    user_id: Option<i64>,
    /// The hash of the session the feed reads through, if any.
    session: Option<Box<str>>,
}

impl Kept {
    /// Whether a poll of `shape` from `cursor` can carry on with this feed: the
    /// same shape, its cursor, not cut off, a cursor a feed opened afresh would
    /// not find gone from the log (a cursor the ring no longer covers is judged
    /// by opening afresh, as every poll's was), and a session still known live.
    ///
    /// The session is asked of the session cache, as a fresh poll's lookup
    /// would be: an ended session cuts its feeds only once the registry has
    /// checked, but it leaves the cache at once, so a poll right after a logout
    /// opens afresh and is refused, as it always was.
    fn fits(&self, shape: &[u8], cursor: i64, state: &AppState) -> bool {
        *self.shape == *shape
            && self.feed.cursor() == cursor
            && !self.feed.is_cut()
            && self.feed.ring_covers_cursor()
            && self
                .session
                .as_deref()
                .is_none_or(|hash| state.db.session_cached(hash, auth_now(state)))
    }
}

/// Answers one long-poll whose head has been read; true when the connection stays
/// open for another request. `kept` is the connection's poll feed from its last
/// answer, if any: this poll carries on with it or closes it, and leaves its own
/// there when it may carry on.
pub async fn answer(
    io: &mut TcpStream,
    state: &web::Data<AppState>,
    request: Box<Request>,
    peer: Option<SocketAddr>,
    kept: &mut Option<Box<Kept>>,
) -> bool {
    let started = Instant::now();
    let span = tracing::info_span!(
        "poll",
        user_id = tracing::field::Empty,
        transport = "long_poll"
    );
    let origin = request.headers().get(ORIGIN).map(|v| v.as_bytes());
    let cors = Cors::head_lines(state.cors.allowed(origin));
    let mut close = request.head().connection_type() == ConnectionType::Close;
    let shape = shape_of(request.headers(), request.uri().query().unwrap_or(""));
    // Closed here when it does not fit: its slot is free before a new feed's.
    let carried = kept.take().filter(|k| {
        shape
            .as_ref()
            .is_some_and(|(s, cursor)| k.fits(s, *cursor, state))
    });
    let push = &state.settings.push;
    let answered = async {
        let (mut poll, opening, reusable) = match carried {
            Some(k) => {
                // What the opening checks first, and the only check whose
                // answer can differ for the same query and credential.
                let refused = refuse_body(request.headers());
                // Not held through the wait, as the opening does not hold it:
                // actix pools request heads, and a thousand waiting polls each
                // holding one ran its pool dry (and cold).
                drop(request);
                refused?;
                if let Some(id) = k.user_id {
                    tracing::Span::current().record("user_id", id);
                }
                let cursor = k.feed.cursor();
                (
                    k,
                    Opening {
                        cursor,
                        reset: false,
                    },
                    true,
                )
            }
            // Boxed: opening (parsing, authorising, registering) takes more state
            // than the wait that follows, and the wait is what a poll holds for long.
            None => Box::pin(open(state, request, peer)).await?,
        };
        let waited = Waited {
            started,
            metrics: &state.metrics,
        };
        let gone = closed(io);
        let body = protocol::answer(
            &mut poll.feed,
            &opening,
            poll.timeout,
            push.batch_limit,
            waited,
            gone,
        )
        .await?;
        Ok::<_, ApiError>((body, poll, reusable))
    }
    .instrument(span)
    .await;
    close |= state.shutdown.is_cancelled();
    // The feed is closed (or kept) after the answer is written: the answer does
    // not wait for the hub's unregistering.
    let (out, status, poll) = match answered {
        Ok((body, poll, reusable)) => (
            ok_response(&body, &cors, close),
            StatusCode::OK,
            reusable.then_some(poll),
        ),
        Err(e) => (
            head::error_response(&e, &cors, close),
            e.status_code(),
            None,
        ),
    };
    let sent = io.write_all(&out).await.is_ok();
    let status = status.as_u16();
    state
        .metrics
        .log_request("GET", PATH, status, started, true);
    if sent
        && !close
        && let Some(mut poll) = poll
        && let Some((shape, _)) = shape
        && !poll.feed.is_cut()
    {
        poll.shape = shape;
        *kept = Some(poll);
    }
    sent && !close
}

/// A poll's answer: [`protocol::HEADERS`], the CORS lines, `body`.
fn ok_response(body: &str, cors: &str, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + cors.len() + body.len());
    let headers = &protocol::HEADERS;
    head::response_head(&mut out, StatusCode::OK, body.len(), close, headers, cors);
    out.extend_from_slice(body.as_bytes());
    out
}

/// Authorises the poll and opens its feed, in the actix handler's order: the
/// request ([`feed_request`]), then `timeout`, then the feed. Also says whether
/// the feed may carry on to a next poll ([`crate::events::feed::FeedRequest`]'s
/// `reusable`).
async fn open(
    state: &web::Data<AppState>,
    request: Box<Request>,
    peer: Option<SocketAddr>,
) -> Result<(Box<Kept>, Opening, bool), ApiError> {
    let query = request.uri().query().unwrap_or("");
    let request = feed_request(state, request.headers(), query, peer).await?;
    let timeout = protocol::timeout_of(&request.query, &state.settings.push)?;
    let user_id = request.principal.as_ref().map(|p| p.user_id);
    let session = request.session.as_ref().map(|s| s.hash.as_str().into());
    let reusable = request.reusable;
    let (feed, opening) = Feed::open(&state.feeds, request, Transport::LongPoll).await?;
    // Boxed: it moves from poll to poll, and a waiting poll holds a pointer.
    let poll = Box::new(Kept {
        feed,
        shape: Box::default(),
        timeout,
        user_id,
        session,
    });
    Ok((poll, opening, reusable))
}

/// What a poll asks besides its cursor, byte for byte, and that cursor: the
/// query with the `cursor` pair's value taken out, then every header that
/// decides who reads and from which address (`Authorization`, `Cookie`,
/// `Forwarded`, `X-Forwarded-For`). Two polls of one shape open the same feed
/// but for where it starts: equal bytes decode alike.
///
/// `None` (the poll opens its own feed) when the cursor could come from
/// elsewhere or a name could be written differently: a `Last-Event-ID` header,
/// a `%` in a name, a credential in the query (`access_token`, `ticket`), or not
/// exactly one `cursor` that reads as one.
fn shape_of(headers: &HeaderMap, query: &str) -> Option<(Box<[u8]>, i64)> {
    if headers.contains_key(&LAST_EVENT_ID) {
        return None;
    }
    // Held while the poll waits: room for the query and the separators, grown
    // only for the headers a signed-in poll has, and trimmed at the end.
    let mut shape = Vec::with_capacity(query.len() + 8);
    let mut cursor = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name.contains('%') || name == "access_token" || name == "ticket" {
            return None;
        }
        if name == "cursor" {
            if cursor.replace(value).is_some() {
                return None;
            }
            shape.extend_from_slice(b"cursor=");
        } else {
            shape.extend_from_slice(pair.as_bytes());
        }
        shape.push(b'&');
    }
    let cursor = params::parse_cursor(cursor?).ok()?;
    // Header values hold neither byte: the separators cannot be forged.
    for name in [AUTHORIZATION, COOKIE, FORWARDED, X_FORWARDED_FOR] {
        shape.push(0);
        for value in headers.get_all(name) {
            shape.extend_from_slice(value.as_bytes());
            shape.push(b'\n');
        }
    }
    Some((shape.into_boxed_slice(), cursor))
}

/// Resolves when the client closes its connection while its poll waits. Never
/// reads: once a pipelined next request is there, that is all that can be learnt
/// without consuming it, and this waits no more.
///
/// A poll function over `poll_peek`, not `peek().await`: tokio's `peek` future is
/// 264 bytes, and a waiting poll holds this for its whole wait (three times over,
/// as the argument, the local and the `select!`'s operand). This one holds the
/// socket's reference and whether a request came.
fn closed(io: &TcpStream) -> impl Future<Output = ()> + '_ {
    let mut pipelined = false;
    std::future::poll_fn(move |cx| {
        if pipelined {
            return Poll::Pending;
        }
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        match io.poll_peek(cx, &mut buf) {
            Poll::Ready(Ok(0) | Err(_)) => Poll::Ready(()),
            Poll::Ready(Ok(_)) => {
                pipelined = true;
                Poll::Pending
            }
            Poll::Pending => Poll::Pending,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_stays_in_the_allocators_small_bins() {
        // A poll boxes its answer's future, which is what a waiting poll holds,
        // and the answer boxes its opening. glibc serves up to 1,008 bytes from its
        // per-thread cache and small bins; a larger request first consolidates
        // the fast bins (`malloc_consolidate`, 2-4 % of a long-poll fan-out's time
        // when the answer's future was 3 KB; docs/performance.md, seventh part).
        let answer = answer_size(answer);
        let open = open_size(open);
        eprintln!("edge::poll::answer future: {answer} bytes, open: {open} bytes");
        assert!(
            answer <= 1008,
            "edge::poll::answer future is {answer} bytes"
        );
        assert!(open <= 1008, "edge::poll::open future is {open} bytes");
    }

    fn answer_size<A, B, C, D, E, F: Future>(_: fn(A, B, C, D, E) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    fn open_size<A, B, C, F: Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in lines {
            map.append(
                actix_web::http::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                actix_web::http::header::HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn polls_that_differ_only_in_their_cursor_have_one_shape() {
        let none = headers(&[]);
        let (a, at) = shape_of(&none, "topics=products&cursor=7&timeout=30").unwrap();
        let (b, bt) = shape_of(&none, "topics=products&cursor=12&timeout=30").unwrap();
        assert_eq!((a.clone(), at, bt), (b, 7, 12));
        // A value may hold anything: equal bytes decode alike.
        let (c, _) = shape_of(&none, "topics=a%2Cb+c&cursor=7&x=access_token").unwrap();
        assert_ne!(c, a);
        // Anything else in the query is a different shape, and so is the
        // cursor's place in it.
        for other in [
            "topics=products&cursor=7&timeout=31",
            "topics=products,announcements&cursor=7&timeout=30",
            "topics=products&cursor=7&timeout=30&types=coupon",
            "cursor=7&topics=products&timeout=30",
            "topics=products&cursor=7&timeout=30&",
        ] {
            assert_ne!(shape_of(&none, other).unwrap().0, a, "{other}");
        }
    }

    #[test]
    fn who_asks_and_from_where_is_part_of_the_shape() {
        let query = "topics=&cursor=3";
        let shape = |lines: &[(&str, &str)]| shape_of(&headers(lines), query).unwrap().0;
        let kim = shape(&[("authorization", "Bearer kim")]);
        assert_eq!(kim, shape(&[("authorization", "Bearer kim")]));
        for other in [
            shape(&[]),
            shape(&[("authorization", "Bearer lee")]),
            shape(&[("cookie", "pointcast_session=kim")]),
            shape(&[("authorization", "Bearer kim"), ("cookie", "a=1")]),
            shape(&[
                ("authorization", "Bearer kim"),
                ("x-forwarded-for", "10.0.0.1"),
            ]),
            shape(&[
                ("authorization", "Bearer kim"),
                ("forwarded", "for=10.0.0.1"),
            ]),
        ] {
            assert_ne!(other, kim);
        }
        // A value cannot pass for another header's: the same bytes under
        // another name are another shape.
        assert_ne!(
            shape(&[("cookie", "x")]),
            shape(&[("x-forwarded-for", "x")])
        );
    }

    #[test]
    fn a_poll_whose_cursor_could_come_from_elsewhere_has_no_shape() {
        let none = headers(&[]);
        for query in [
            "topics=products",
            "topics=products&cursor=1&cursor=1",
            "topics=products&cursor=x",
            "topics=products&cursor=",
            "topics=products&cur%73or=1",
            "topics=products&cursor=1&access_token=t",
            "topics=products&cursor=1&ticket=pt_x",
            "topics=products&cursor=1&ticket",
            "topics=products&cursor=1=2",
            "topics=products&cursor",
        ] {
            assert!(shape_of(&none, query).is_none(), "{query}");
        }
        let header = headers(&[("last-event-id", "1")]);
        assert!(shape_of(&header, "topics=products&cursor=1").is_none());
    }

    #[test]
    fn the_lean_poll_answers_with_the_actix_handlers_headers() {
        let actix = crate::transport::poll::response(String::from("{}"));
        let mut actix: Vec<(String, String)> = actix
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect();
        actix.sort();

        let written = ok_response("{}", "", false);
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Response::new(&mut headers);
        let len = match parsed.parse(&written).unwrap() {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => panic!("an incomplete head"),
        };
        assert_eq!(parsed.code, Some(200));
        assert_eq!(&written[len..], b"{}");
        // Length and date are actix's encoder's, not the handler's.
        let mut lean: Vec<(String, String)> = parsed
            .headers
            .iter()
            .filter(|h| !["content-length", "date"].contains(&h.name))
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect();
        lean.sort();

        assert_eq!(lean, actix);
        assert_eq!(lean.len(), protocol::HEADERS.len());
    }
}
