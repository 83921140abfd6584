//! The lean stream path over raw TCP: a connection whose first request is
//! `GET /api/v1/events` is served off the socket, not by actix; these tests write the
//! requests by hand so that they know which path answered.

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
        "cache-control: no-cache, no-store",
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

    let mut raw = Raw::connect(&app).await;
    raw.send("GET /api/v1/events HTTP/1.1\r\nBad Header\r\n\r\n")
        .await;
    let (head, _) = error_parts(&raw.read_to_close().await);
    assert!(head.starts_with("http/1.1 400 "), "{head}");

    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request(
        "",
        &format!("X-Big: {}\r\n", "a".repeat(9000)),
    ))
    .await;
    let (head, body) = error_parts(&raw.read_to_close().await);
    assert!(head.starts_with("http/1.1 431 "), "{head}");
    assert_eq!(body["error"]["code"], "headers_too_large");

    // Nothing was left registered.
    let v: Value = app
        .get("/api/v1/admin/connections", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["count"], 0);
}

#[tokio::test]
async fn a_stream_after_another_request_on_a_keep_alive_connection_is_served_by_actix() {
    let app = spawn_app().await;
    let mut raw = Raw::connect(&app).await;
    raw.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await;
    let head = raw.until("\r\n\r\n").await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    while raw.got.len() < length {
        let mut buf = [0u8; 1024];
        let n = raw.io.read(&mut buf).await.unwrap();
        assert!(n > 0);
        raw.got.extend_from_slice(&buf[..n]);
    }
    raw.got.drain(..length);

    raw.send(&stream_request("?topics=announcements", "")).await;
    let head = raw.until("\r\n\r\n").await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    // actix frames the stream in chunks; the event blocks are the same.
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    raw.until("retry: 3000\n\n").await;
    raw.until("event: stream.open\n").await;
    let id = app.announce_all("hello").await;
    raw.until(&format!("id: {id}\nevent: announcement\ndata: "))
        .await;
    raw.until("\n\n").await;
}

#[tokio::test]
async fn a_client_that_closes_its_stream_is_gone_at_once_not_at_the_next_heartbeat() {
    let app = spawn_app_with(|s| s.push.heartbeat = Duration::from_secs(60)).await;
    let kim = app.customer("Kim").await;
    let count = || async {
        app.get("/api/v1/admin/connections", Some(ADMIN_TOKEN))
            .await
            .json::<Value>()
            .await
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    let mut raw = Raw::connect(&app).await;
    raw.send(&stream_request(
        "",
        &format!("Authorization: Bearer {}\r\n", kim.token),
    ))
    .await;
    raw.until("event: stream.open\n").await;
    assert_eq!(count().await, 1);

    let closed = Instant::now();
    drop(raw);
    assert!(eventually(|| async { count().await == 0 }).await);
    assert!(
        closed.elapsed() < Duration::from_secs(5),
        "took {:?}",
        closed.elapsed()
    );
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
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
}

/// An idle stream gets a comment every heartbeat period; one that just carried an
/// event gets the next comment within two periods (the timer is not re-armed per
/// event, see `edge::pump`).
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
