//! The lean paths over raw TCP: a connection whose first request is
//! `GET /api/v1/events` (or `GET /api/v1/events/poll`, kept alive from poll to
//! poll) is served off the socket, not by actix; these tests write the requests by
//! hand so that they know which path answered.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// A raw connection and what it has received so far.
struct Raw {
    io: TcpStream,
    got: Vec<u8>,
}

impl Raw {
    async fn connect(app: &TestApp) -> Self {
        let io = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
        Self {
            io,
            got: Vec::new(),
        }
    }

    async fn send(&mut self, request: &str) {
        self.io.write_all(request.as_bytes()).await.unwrap();
    }

    /// Reads until `needle` has arrived (panics after 10 s or at end of stream);
    /// returns everything up to and including it, and keeps the rest.
    async fn until(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = find(&self.got, needle.as_bytes()) {
                let rest = self.got.split_off(i + needle.len());
                let out = std::mem::replace(&mut self.got, rest);
                return String::from_utf8(out).unwrap();
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} within 10 s; got {:?}", self.text()))
                .unwrap();
            assert!(n > 0, "closed before {needle:?}; got {:?}", self.text());
            self.got.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads to the end of the stream (the server closes), within 10 s.
    async fn read_to_close(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(10), self.io.read_to_end(&mut self.got))
            .await
            .expect("the server closes within 10 s")
            .unwrap();
        String::from_utf8(std::mem::take(&mut self.got)).unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.got).into_owned()
    }
}

/// Asserts that what was awaited since `since` came promptly: well before any
/// heartbeat, timeout or keep-alive period of these tests.
fn assert_quick(since: Instant) {
    let took = since.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn stream_request(query: &str, extra: &str) -> String {
    format!(
        "GET /api/v1/events{query} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n{extra}\r\n"
    )
}

/// Splits an error response into its head (lower-cased) and JSON body.
fn error_parts(response: &str) -> (String, Value) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap(),
    )
}

#[tokio::test]
async fn a_stream_opened_first_on_a_connection_gets_raw_sse_with_its_headers() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request(
        "?topics=",
        &format!("Authorization: Bearer {}\r\n", kim.token),
    ))
    .await;

    let head = raw.until("\r\n\r\n").await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    for line in [
        "content-type: text/event-stream",
        "cache-control: no-cache, no-store, no-transform",
        "x-accel-buffering: no",
        "connection: close",
    ] {
        assert!(head.contains(line), "{line} missing in {head}");
    }
    // No chunking: the body is the event stream itself.
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(!head.contains("content-length"), "{head}");

    assert_eq!(raw.until("\n\n").await, "retry: 3000\n\n");
    let open = raw.until("\n\n").await;
    let lines: Vec<&str> = open.trim_end().split('\n').collect();
    assert_eq!(lines.len(), 3, "{open:?}");
    let cursor: i64 = lines[0].strip_prefix("id: ").unwrap().parse().unwrap();
    assert_eq!(lines[1], "event: stream.open");
    let data: Value = serde_json::from_str(lines[2].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(data["data"]["cursor"], cursor);

    let first = app.announce_to(kim.id, "one").await;
    let second = app.announce_to(kim.id, "two").await;
    for (id, text) in [(first, "one"), (second, "two")] {
        let block = raw.until("\n\n").await;
        let lines: Vec<&str> = block.trim_end().split('\n').collect();
        assert_eq!(lines[0], format!("id: {id}"), "{block:?}");
        assert_eq!(lines[1], "event: announcement");
        let data: Value = serde_json::from_str(lines[2].strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["id"], id);
        assert_eq!(data["type"], "announcement");
        assert_eq!(data["channel"], format!("user:{}", kim.id));
        assert_eq!(data["data"]["text"], text);
    }

    // Resuming from the first id on a new connection (Last-Event-ID) replays the
    // second, as the actix path does.
    let mut again = Raw::connect(&app).await;
    again
        .send(&stream_request(
            "?topics=",
            &format!(
                "Cookie: theme=dark; pointcast_session={}\r\nLast-Event-ID: {first}\r\n",
                kim.token
            ),
        ))
        .await;
    again.until("event: stream.open").await;
    again.until("\n\n").await;
    let block = again.until("\n\n").await;
    assert!(
        block.starts_with(&format!("id: {second}\nevent: announcement\n")),
        "{block:?}"
    );
}

#[tokio::test]
async fn a_bad_token_or_cursor_on_the_lean_path_is_the_usual_json_error() {
    let app = spawn_app().await;

    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("", "Authorization: Bearer nope\r\n"))
        .await;
    let (head, body) = error_parts(&raw.read_to_close().await);
    assert!(head.starts_with("http/1.1 401 "), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("www-authenticate: bearer"), "{head}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].as_str().unwrap().contains("token"));

    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("?access_token=nope", "")).await;
    let (head, body) = error_parts(&raw.read_to_close().await);
    assert!(head.starts_with("http/1.1 401 "), "{head}");
    assert_eq!(body["error"]["code"], "unauthorized");

    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("?cursor=abc", "")).await;
    let (head, body) = error_parts(&raw.read_to_close().await);
    assert!(head.starts_with("http/1.1 400 "), "{head}");
    assert_eq!(body["error"]["code"], "bad_cursor");

    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("", "Last-Event-ID: -3\r\n")).await;
    let (head, body) = error_parts(&raw.read_to_close().await);
    assert!(head.starts_with("http/1.1 400 "), "{head}");
    assert_eq!(body["error"]["code"], "bad_cursor");

    // A head actix's decoder refuses gets actix's bare 400 (the parsing-rule
    // table is in `edge_strict.rs`).
    let mut raw = Raw::connect(&app).await;
    raw.send("GET /api/v1/events HTTP/1.1\r\nBad Header\r\n\r\n")
        .await;
    let all = raw.read_to_close().await;
    assert!(all.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{all}");

    // Nothing was left registered.
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_client_that_closes_its_stream_is_gone_at_once_not_at_the_next_heartbeat() {
    let app = spawn_app_with(|s| s.push.heartbeat = Duration::from_secs(60)).await;
    let kim = app.customer("Kim").await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("", &bearer(&kim.token))).await;
    raw.until("event: stream.open\n").await;
    assert_eq!(app.connection_count().await, 1);

    let closed = Instant::now();
    drop(raw);
    assert!(eventually(|| async { app.connection_count().await == 0 }).await);
    assert_quick(closed);
}

#[tokio::test]
async fn the_lean_path_ends_streams_at_shutdown() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("?topics=products", "")).await;
    raw.until("event: stream.open\n").await;
    let t = Instant::now();
    app.stop().await;
    raw.read_to_close().await;
    assert_quick(t);
}

/// An idle stream gets a comment every heartbeat period; one that just carried an
/// event gets the next comment within two periods (the worker's clock is not
/// re-armed per event, see `edge::beat`).
#[tokio::test]
async fn the_lean_path_sends_heartbeats_while_idle_and_after_events() {
    let period = Duration::from_millis(250);
    let app = spawn_app_with(|s| s.push.heartbeat = period).await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request("?topics=announcements", "")).await;
    raw.until("event: stream.open\n").await;
    raw.until(": keep-alive\n\n").await;
    let first = Instant::now();
    for _ in 0..3 {
        raw.until(": keep-alive\n\n").await;
    }
    // Three periods, with room for a loaded machine, but well short of the six a
    // heartbeat that counted itself as traffic would take.
    assert!(
        first.elapsed() < period * 5,
        "three heartbeats took {:?}",
        first.elapsed()
    );
    let id = app.announce_all("hello").await;
    raw.until(&format!("id: {id}\nevent: announcement\n")).await;
    raw.until(": keep-alive\n\n").await;
}

// The lean long-poll path.

/// One whole response off a raw connection.
#[derive(Debug)]
struct Response {
    /// `HTTP/1.1 200 OK`.
    status: String,
    /// The header lines, lower-cased, in order, without `date` (always there).
    headers: Vec<String>,
    body: String,
}

impl Response {
    /// The header lines as a set: actix writes them in a hash map's varying order.
    fn header_set(&self) -> std::collections::BTreeSet<String> {
        self.headers.iter().cloned().collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

impl Raw {
    /// Reads one whole response: its head, then `content-length` bytes of body.
    async fn response(&mut self) -> Response {
        let head = self.until("\r\n\r\n").await;
        let mut lines = head.trim_end().split("\r\n");
        let status = lines.next().unwrap().to_string();
        let mut headers = Vec::new();
        let mut dated = false;
        for line in lines.map(str::to_ascii_lowercase) {
            if line.starts_with("date: ") {
                dated = true;
            } else {
                headers.push(line);
            }
        }
        assert!(dated, "no date in {head}");
        let length: usize = headers
            .iter()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap_or_else(|| panic!("no content-length in {head}"))
            .parse()
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.got.len() < length {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut buf))
                .await
                .expect("the body within 10 s")
                .unwrap();
            assert!(n > 0, "closed in the body of {head}");
            self.got.extend_from_slice(&buf[..n]);
        }
        let rest = self.got.split_off(length);
        let body = String::from_utf8(std::mem::replace(&mut self.got, rest)).unwrap();
        Response {
            status,
            headers,
            body,
        }
    }

    /// A request served by actix, so that the connection's next request is too.
    async fn via_actix(app: &TestApp) -> Self {
        let mut raw = Self::connect(app).await;
        raw.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await;
        assert_eq!(raw.response().await.status, "HTTP/1.1 200 OK");
        raw
    }
}

fn poll_request(query: &str, extra: &str) -> String {
    format!("GET /api/v1/events/poll{query} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n")
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

/// The head the lean path writes for a poll's answer of `length` bytes (actix writes
/// the same lines in a varying order).
fn lean_poll_head(length: usize) -> Vec<String> {
    vec![
        format!("content-length: {length}"),
        "content-type: application/json".into(),
        "cache-control: no-cache, no-store, no-transform".into(),
    ]
}

#[tokio::test]
async fn several_polls_on_one_kept_alive_connection_are_answered_on_the_lean_path() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut raw = Raw::connect(&app).await;
    let auth = bearer(&kim.token);

    raw.send(&poll_request("?topics=&timeout=0", &auth)).await;
    let first = raw.response().await;
    assert_eq!(first.status, "HTTP/1.1 200 OK");
    assert_eq!(first.headers, lean_poll_head(first.body.len()));
    assert_eq!(first.json()["events"], serde_json::json!([]));
    let cursor = first.json()["cursor"].as_i64().unwrap();

    let id = app.announce_to(kim.id, "one").await;
    raw.send(&poll_request(&format!("?topics=&cursor={cursor}"), &auth))
        .await;
    let second = raw.response().await;
    assert_eq!(second.headers, lean_poll_head(second.body.len()));
    let events = second.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1, "{}", second.body);
    assert_eq!(events[0]["id"], id);
    assert_eq!(events[0]["data"]["text"], "one");
    assert_eq!(second.json()["cursor"], id);

    // A third poll waits on the same connection until it is woken.
    raw.send(&poll_request(
        &format!("?topics=&cursor={id}&timeout=30"),
        &auth,
    ))
    .await;
    assert!(eventually(|| async { app.connection_count().await == 1 }).await);
    let next = app.announce_to(kim.id, "two").await;
    let third = raw.response().await;
    assert_eq!(third.headers, lean_poll_head(third.body.len()));
    assert_eq!(third.json()["events"][0]["id"], next);
    assert_eq!(third.json()["cursor"], next);
    // Its feed waits a moment for the connection's next poll, then goes.
    assert!(eventually(|| async { app.connection_count().await == 0 }).await);
}

/// The ids of the connections open now, in order.
async fn connection_ids(app: &TestApp) -> Vec<i64> {
    app.connections().await["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

/// A raw connection that has polled `topics` once as the caller `auth` names
/// (`""` for none), and the cursor it was given.
async fn polling(app: &TestApp, topics: &str, auth: &str) -> (Raw, i64) {
    let mut raw = Raw::connect(app).await;
    raw.send(&poll_request(&format!("?topics={topics}&timeout=0"), auth))
        .await;
    let start = raw.response().await.json()["cursor"].as_i64().unwrap();
    (raw, start)
}

/// A poll that asks again from the cursor it was given carries on with the last
/// poll's feed (the same connection in the registry, no new admission), and gets
/// everything published while no poll was waiting; one from an older cursor
/// opens a feed of its own and reads the log again from there.
#[tokio::test]
async fn a_poll_carries_on_with_its_connections_last_feed_and_misses_nothing() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let auth = bearer(&kim.token);
    let (mut raw, start) = polling(&app, "", &auth).await;
    let poll = |cursor: i64| {
        let query = format!("?topics=&cursor={cursor}&timeout=0");
        poll_request(&query, &auth)
    };

    raw.send(&poll(start)).await;
    assert_eq!(raw.response().await.json()["cursor"], start);
    let kept = connection_ids(&app).await;
    assert_eq!(kept.len(), 1, "the answered poll's feed is kept");

    // Published between polls: waiting in the kept feed.
    let one = app.announce_to(kim.id, "one").await;
    let two = app.announce_to(kim.id, "two").await;
    raw.send(&poll(start)).await;
    let carried = raw.response().await;
    let ids: Vec<Value> = carried.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert_eq!(ids, vec![Value::from(one), Value::from(two)]);
    assert_eq!(carried.json()["cursor"], two);
    assert_eq!(connection_ids(&app).await, kept, "carried on, not reopened");

    // The client asks again from before them (its answer was lost, say).
    raw.send(&poll(start)).await;
    let again = raw.response().await;
    assert_eq!(again.json()["events"].as_array().unwrap().len(), 2);
    assert_eq!(again.json()["cursor"], two);
    let reopened = connection_ids(&app).await;
    assert_eq!(reopened.len(), 1);
    assert_ne!(reopened, kept, "an older cursor opens a feed of its own");
}

/// A connection's kept feed is its last poller's: the same query from someone
/// else (another token, no token) on that connection, as a proxy's pooled
/// connection would bring it, opens that caller's own feed and sees nothing of
/// the other's.
#[tokio::test]
async fn a_poll_by_someone_else_on_the_same_connection_never_reads_the_kept_feed() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let lee = app.customer("Lee").await;
    let poll = |cursor: i64, extra: &str| {
        poll_request(
            &format!("?topics=products&cursor={cursor}&timeout=0"),
            extra,
        )
    };
    let (mut raw, start) = polling(&app, "products", &bearer(&kim.token)).await;
    raw.send(&poll(start, &bearer(&kim.token))).await;
    assert_eq!(raw.response().await.status, "HTTP/1.1 200 OK");
    app.announce_to(kim.id, "for Kim only").await;

    for extra in [bearer(&lee.token), String::new()] {
        raw.send(&poll(start, &extra)).await;
        let other = raw.response().await;
        assert_eq!(other.status, "HTTP/1.1 200 OK", "{}", other.body);
        assert_eq!(other.json()["events"], serde_json::json!([]), "{extra}");
    }
    // Kim's own next poll, on a feed opened afresh, still gets it.
    raw.send(&poll(start, &bearer(&kim.token))).await;
    let mine = raw.response().await;
    assert!(mine.body.contains("for Kim only"), "{}", mine.body);
}

/// A session that ends between two polls ends the kept feed with it: the next
/// poll on the same connection, with the same token, is refused.
#[tokio::test]
async fn a_logout_between_polls_refuses_the_next_poll_on_the_same_connection() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let auth = bearer(&kim.token);
    let (mut raw, start) = polling(&app, "", &auth).await;
    let poll = poll_request(&format!("?topics=&cursor={start}&timeout=0"), &auth);
    raw.send(&poll).await;
    assert_eq!(raw.response().await.status, "HTTP/1.1 200 OK");
    assert_eq!(app.connection_count().await, 1);

    let out = app
        .post(
            "/api/v1/auth/logout",
            Some(&kim.token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(out.status(), reqwest::StatusCode::NO_CONTENT);
    raw.send(&poll).await;
    let refused = raw.response().await;
    assert_eq!(
        refused.status, "HTTP/1.1 401 Unauthorized",
        "{}",
        refused.body
    );
    assert_eq!(app.connection_count().await, 0);
}

/// A connection that goes quiet after a poll gives its reader's slot back
/// within about a second, though the connection stays open for its keep-alive.
#[tokio::test]
async fn a_quiet_connection_gives_its_kept_poll_feed_back_within_a_second() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request("?topics=products&cursor=0&timeout=0", ""))
        .await;
    assert_eq!(raw.response().await.status, "HTTP/1.1 200 OK");
    let answered = Instant::now();
    assert_eq!(app.connection_count().await, 1);
    assert!(eventually(|| async { app.connection_count().await == 0 }).await);
    let took = answered.elapsed();
    assert!(took < Duration::from_millis(2_500), "took {took:?}");

    // The connection itself is still open: a next poll is answered on it.
    raw.send(&poll_request("?topics=products&cursor=0&timeout=0", ""))
        .await;
    assert_eq!(raw.response().await.status, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_request_after_a_lean_poll_is_handed_to_actix_on_the_same_connection() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request("?topics=products&timeout=0", ""))
        .await;
    assert_eq!(raw.response().await.status, "HTTP/1.1 200 OK");

    // A request with a body (actix's, the body read whole), then a poll (handed
    // back to the lean path).
    let body = r#"{"name":"Kim K"}"#;
    raw.send(&format!(
        "PATCH /api/v1/users/{} HTTP/1.1\r\nHost: localhost\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        kim.id,
        bearer(&kim.token),
        body.len()
    ))
    .await;
    let patched = raw.response().await;
    assert_eq!(patched.status, "HTTP/1.1 200 OK", "{}", patched.body);
    assert_eq!(patched.json()["name"], "Kim K");
    raw.send(&poll_request("?topics=products&timeout=0", ""))
        .await;
    let again = raw.response().await;
    assert_eq!(again.status, "HTTP/1.1 200 OK");
    assert_eq!(
        again.header_set(),
        lean_poll_head(again.body.len()).into_iter().collect()
    );
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_on_both_paths() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let auth = bearer(&kim.token);
    let mut raw = Raw::connect(&app).await;
    // A poll that must wait, with three more requests behind it in the same write:
    // another poll (lean), a GET with a body (actix), and a poll (actix).
    raw.send(&format!(
        "{}{}{}{}",
        poll_request("?topics=&timeout=30", &auth),
        poll_request("?topics=&timeout=0", &auth),
        poll_request(
            "?topics=&timeout=0",
            &format!("{auth}Content-Length: 2\r\n")
        ) + "{}",
        poll_request("?topics=&timeout=0", &auth),
    ))
    .await;
    // The bytes behind it do not end the first poll's wait.
    assert!(eventually(|| async { app.connection_count().await == 1 }).await);
    let id = app.announce_to(kim.id, "hello").await;

    let first = raw.response().await;
    assert_eq!(first.json()["events"][0]["id"], id, "{}", first.body);
    for refused in [false, true, false] {
        let r = raw.response().await;
        if refused {
            // A poll with a body is refused (by actix, which the wire gave it to).
            assert_eq!(r.status, "HTTP/1.1 400 Bad Request", "{}", r.body);
            assert_eq!(r.json()["error"]["code"], "body_not_allowed");
            continue;
        }
        assert_eq!(r.status, "HTTP/1.1 200 OK", "{}", r.body);
        assert_eq!(r.json()["events"], serde_json::json!([]));
        assert_eq!(r.json()["cursor"], id);
    }
}

#[tokio::test]
async fn lean_poll_answers_and_errors_are_those_of_the_actix_path() {
    const ORIGIN: &str = "https://shop.example";
    let app = spawn_app_with(|s| s.cors_origins = vec![ORIGIN.into()]).await;
    let kim = app.customer("Kim").await;
    let origin = format!("Origin: {ORIGIN}\r\n");
    let cases = [
        ("?topics=products&timeout=0", origin.clone()),
        ("?topics=products&timeout=0", bearer(&kim.token) + &origin),
        ("?topics=products&cursor=abc", origin.clone()),
        (
            "?topics=products&cursor=1&timeout=0",
            "Last-Event-ID: x\r\n".into(),
        ),
        ("?topics=products&timeout=soon", String::new()),
        ("?topics=products&timeout=56", String::new()),
        ("?topics=products&timeout=1&timeout=2", origin.clone()),
        ("?topics=Nope", String::new()),
        ("?topics=&types=%20", String::new()),
        ("?topics=", String::new()),
        ("", bearer("nope") + &origin),
        ("?access_token=nope", String::new()),
        ("", "Cookie: pointcast_session=nope\r\n".into()),
    ];
    // One connection per path, each kept alive across all the cases.
    let mut lean = Raw::connect(&app).await;
    let mut actix = Raw::via_actix(&app).await;
    for (query, extra) in &cases {
        let request = poll_request(query, extra);
        lean.send(&request).await;
        actix.send(&request).await;
        let (l, a) = (lean.response().await, actix.response().await);
        assert_eq!(l.status, a.status, "{request}");
        assert_eq!(l.header_set(), a.header_set(), "{request}");
        assert_eq!(l.body, a.body, "{request}");
        assert!(!l.status.ends_with("200 OK") || l.body.contains("\"cursor\""));
    }
    assert_eq!(app.connection_count().await, 0);
}

#[tokio::test]
async fn a_client_that_leaves_a_waiting_lean_poll_is_unregistered_at_once() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let gauge = || async {
        let text = app.get("/metrics", None).await.text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("pointcast_connections_long_poll "))
            .map(|v| v.trim().parse::<f64>().unwrap())
    };
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request("?topics=&timeout=55", &bearer(&kim.token)))
        .await;
    assert!(eventually(|| async { gauge().await == Some(1.0) }).await);
    assert_eq!(app.connection_count().await, 1);

    let left = Instant::now();
    drop(raw);
    assert!(eventually(|| async { gauge().await == Some(0.0) }).await);
    assert_eq!(app.connection_count().await, 0);
    assert_quick(left);
}

/// A half-close cannot be told from a client that has gone: the waiting poll is
/// answered at once with what is pending, and the connection closes.
#[tokio::test]
async fn a_client_that_half_closes_during_a_lean_poll_gets_its_answer_and_the_close() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request("?topics=products&timeout=55&cursor=0", ""))
        .await;
    assert!(eventually(|| async { app.connection_count().await == 1 }).await);
    let t = Instant::now();
    raw.io.shutdown().await.unwrap();
    let all = raw.read_to_close().await;
    assert!(all.starts_with("HTTP/1.1 200 OK\r\n"), "{all}");
    assert!(all.ends_with(r#"{"events":[],"cursor":0}"#), "{all}");
    assert_quick(t);
    assert!(eventually(|| async { app.connection_count().await == 0 }).await);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("pointcast_poll_timeouts_total 0"),
        "a client that went is not a timeout"
    );
}

#[tokio::test]
async fn connection_close_is_honoured_and_an_idle_connection_is_closed() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request(
        "?topics=products&timeout=0",
        "Connection: close\r\n",
    ))
    .await;
    let r = raw.response().await;
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert!(
        r.headers.contains(&"connection: close".to_string()),
        "{r:?}"
    );
    assert_eq!(raw.read_to_close().await, "");

    // Without it, the connection is kept until it has been idle for actix's
    // keep-alive time (5 s), then closed quietly.
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request("?topics=products&timeout=0", ""))
        .await;
    let r = raw.response().await;
    assert!(
        !r.headers.iter().any(|h| h.starts_with("connection")),
        "{r:?}"
    );
    let answered = Instant::now();
    assert_eq!(raw.read_to_close().await, "");
    assert!(
        answered.elapsed() >= Duration::from_secs(4),
        "{:?}",
        answered.elapsed()
    );
}

#[tokio::test]
async fn http_1_0_a_body_or_no_host_on_a_first_poll_are_left_to_actix() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send("GET /api/v1/events/poll?topics=products&timeout=0 HTTP/1.0\r\n\r\n")
        .await;
    let all = raw.read_to_close().await;
    assert!(all.starts_with("HTTP/1.0 200 OK\r\n"), "{all}");
    assert!(all.ends_with(r#"{"events":[],"cursor":0}"#), "{all}");

    let mut raw = Raw::connect(&app).await;
    raw.send(&(poll_request("?topics=products&timeout=0", "Content-Length: 2\r\n") + "{}"))
        .await;
    let refused = raw.response().await;
    assert_eq!(refused.status, "HTTP/1.1 400 Bad Request");
    assert_eq!(refused.json()["error"]["code"], "body_not_allowed");

    // actix refuses an HTTP/1.1 request without Host, whichever route it names.
    let mut raw = Raw::connect(&app).await;
    raw.send("GET /api/v1/events/poll?topics=products HTTP/1.1\r\n\r\n")
        .await;
    let all = raw.read_to_close().await;
    assert!(all.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{all}");
}

#[tokio::test]
async fn shutdown_answers_a_waiting_lean_poll_and_closes_its_connection() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send(&poll_request("?topics=products&timeout=55", ""))
        .await;
    assert!(eventually(|| async { app.connection_count().await == 1 }).await);
    let t = Instant::now();
    app.stop().await;
    let r = raw.response().await;
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert!(
        r.headers.contains(&"connection: close".to_string()),
        "{r:?}"
    );
    assert_eq!(r.json()["events"], serde_json::json!([]));
    assert_eq!(raw.read_to_close().await, "");
    assert_quick(t);
}

#[tokio::test]
async fn a_request_head_that_arrives_in_pieces_is_routed_once_whole() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    let poll = poll_request("?topics=products&timeout=0", "");
    for request in [
        poll.as_str(),
        poll.as_str(),
        "GET /api/v1/events/polls HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        // Cut before the route is told apart, and again inside the headers; the
        // pauses only pace the client, so that each piece arrives on its own.
        let (a, rest) = request.split_at(20);
        let (b, c) = rest.split_at(20);
        for piece in [a, b, c] {
            raw.send(piece).await;
            raw.io.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let r = raw.response().await;
        if request == poll {
            assert_eq!(r.status, "HTTP/1.1 200 OK", "{r:?}");
            assert_eq!(r.json()["cursor"], 0);
        } else {
            assert_eq!(r.status, "HTTP/1.1 404 Not Found", "{r:?}");
        }
    }
}
