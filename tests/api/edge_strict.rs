//! The lean path as strict and as cheap as actix (#19) and every stream on it
//! however it arrives (#20), over raw sockets.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::scale::Process;

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).await.unwrap()
}

/// Reads until `needle` (within 10 s); everything read so far.
async fn read_until(io: &mut TcpStream, got: &mut Vec<u8>, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(got).contains(needle) {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline, io.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?}; got {:?}", String::from_utf8_lossy(got)))
            .unwrap_or(0);
        assert!(
            n > 0,
            "closed before {needle:?}: {:?}",
            String::from_utf8_lossy(got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(got).into_owned()
}

/// The status line of the next response on `io`, and its head (lower-cased).
async fn status_of(io: &mut TcpStream) -> (String, String) {
    let mut got = Vec::new();
    let text = read_until(io, &mut got, "\r\n\r\n").await;
    let head = text.split("\r\n\r\n").next().unwrap().to_string();
    let status = head.lines().next().unwrap().to_string();
    (status, head.to_ascii_lowercase())
}

/// CPU seconds `pid` has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3).
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[tokio::test]
async fn unfinished_heads_cost_no_cpu_and_end_at_actix_s_deadline() {
    let db = TestDb::new().await;
    let server = Process::start(&db.url).await;
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    let pid = server.child.id();
    let mut conns = Vec::new();
    for i in 0..500 {
        let mut io = connect(port).await;
        let path = if i % 2 == 0 {
            "/api/v1/events/poll"
        } else {
            "/api/v1/events"
        };
        let partial = format!("GET {path}?topics=products HTTP/1.1\r\nHost: x\r\n");
        io.write_all(partial.as_bytes()).await.unwrap();
        conns.push(io);
    }
    let opened = Instant::now();
    let before = cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_seconds(pid) - before;
    assert!(
        used < 0.15,
        "500 unfinished heads used {used:.3} s of CPU in 3 s"
    );

    // Each gets actix's 408 at its request deadline (5 s), none much later.
    for io in &mut conns {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(8), io.read_to_end(&mut got)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408 "), "{text:?}");
    }
    assert!(
        opened.elapsed() < Duration::from_secs(7),
        "{:?}",
        opened.elapsed()
    );
}

#[tokio::test]
async fn connections_reading_heads_are_bounded_and_wait_their_turn() {
    let app = spawn_app_with(|s| s.push.max_unfinished_heads = 2).await;
    let silent_a = connect(app.port).await;
    let _silent_b = connect(app.port).await;
    // Pacing only: the server's tasks for the two silent connections take their
    // permits before the third connection's task starts (nothing observable to
    // wait on: they send nothing).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = connect(app.port).await;
    third
        .write_all(b"GET /api/v1/events/poll?topics=products&timeout=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut byte)).await;
    assert!(early.is_err(), "answered while two heads were unfinished");
    drop(silent_a);
    let (status, _) = status_of(&mut third).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_flood_into_an_open_stream_is_cut_off() {
    let app = spawn_app().await;
    let mut io = connect(app.port).await;
    io.write_all(b"GET /api/v1/events?topics=products HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    read_until(&mut io, &mut got, "event: stream.open").await;
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let started = Instant::now();
    let cut = loop {
        match tokio::time::timeout(Duration::from_secs(2), io.write_all(&chunk)).await {
            Ok(Ok(())) => sent += chunk.len(),
            Ok(Err(_)) => break true,
            // Flow control holds the writer: nothing is being read any more.
            Err(_) => break false,
        }
        if sent > 256 << 20 || started.elapsed() > Duration::from_secs(10) {
            break false;
        }
    };
    assert!(sent < 32 << 20, "the server took {} MB", sent >> 20);
    assert!(cut, "the connection is closed, not just stalled");
    assert!(eventually(|| async { app.connection_count().await == 0 }).await);
}

/// A raw request head: `GET {target} HTTP/1.1`, `lines` joined by CRLF, the blank
/// line.
fn raw(target: &str, lines: &[&str]) -> String {
    let mut s = format!("GET {target} HTTP/1.1\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s
}

/// A connection whose next request actix would serve (it has served one).
async fn after_a_page(port: u16) -> TcpStream {
    let mut io = connect(port).await;
    io.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let text = read_until(&mut io, &mut got, "\r\n\r\n").await;
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    let length: usize = text
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let body_start = text.find("\r\n\r\n").unwrap() + 4;
    let mut have = got.len() - body_start;
    while have < length {
        let mut buf = [0u8; 1024];
        have += io.read(&mut buf).await.unwrap();
    }
    io
}

#[tokio::test]
async fn malformed_heads_get_the_same_answer_on_a_fresh_and_a_kept_alive_connection() {
    let app = spawn_app().await;
    let host = "Host: x";
    let cases: Vec<(&str, String)> = vec![
        (
            "te+cl",
            raw(
                "/api/v1/events",
                &[host, "Transfer-Encoding: chunked", "Content-Length: 5"],
            ),
        ),
        (
            "te",
            raw(
                "/api/v1/events/poll?timeout=0",
                &[host, "Transfer-Encoding: chunked"],
            ) + "0\r\n\r\n",
        ),
        (
            "te identity",
            raw("/api/v1/events", &[host, "Transfer-Encoding: gzip"]),
        ),
        (
            "two lengths",
            raw(
                "/api/v1/events",
                &[host, "Content-Length: 0", "Content-Length: 0"],
            ),
        ),
        (
            "a body",
            raw(
                "/api/v1/events/poll?timeout=0",
                &[host, "Content-Length: 2"],
            ) + "{}",
        ),
        ("two hosts", raw("/api/v1/events", &[host, "Host: y"])),
        ("no host", raw("/api/v1/events", &[])),
        ("obs-fold", raw("/api/v1/events", &[host, "X-A: a", " b"])),
        ("bad header", raw("/api/v1/events", &[host, "Bad Header"])),
        (
            "bare LF",
            "GET /api/v1/events/poll?timeout=0 HTTP/1.1\nHost: x\n\n".into(),
        ),
        ("bad uri", raw("/api/v1/events?a=\"", &[host])),
        (
            "plus length",
            raw("/api/v1/events", &[host, "Content-Length: +0"]),
        ),
    ];
    for (name, request) in &cases {
        let mut lean = connect(app.port).await;
        lean.write_all(request.as_bytes()).await.unwrap();
        let (l, lh) = status_of(&mut lean).await;
        let mut actix = after_a_page(app.port).await;
        actix.write_all(request.as_bytes()).await.unwrap();
        let (a, ah) = status_of(&mut actix).await;
        assert_eq!(l, a, "{name}: {lh} / {ah}");
        // actix (httparse) takes a bare LF as a line end; the rest it refuses.
        if *name != "bare LF" {
            assert_ne!(
                l, "HTTP/1.1 200 OK",
                "{name} was served as a stream or poll"
            );
        }
        let _ = (lh, ah);
    }
}

#[tokio::test]
async fn cookies_name_the_same_caller_on_both_paths() {
    let app = spawn_app().await;
    let (a, b) = (app.customer("Ann").await, app.customer("Bo").await);
    let to_a = app.announce_to(a.id, "for a").await;
    app.announce_to(b.id, "for b").await;
    let cases = [
        format!(
            "Cookie: pointcast_session={}\r\nCookie: pointcast_session={}",
            a.token, b.token
        ),
        format!("Cookie: x=1; pointcast_session=\"{}\"", a.token),
        format!("Cookie: pointcast_session={}", a.token.replace('_', "%5F")),
        format!(
            "Cookie: pointcast_session=\u{ff}{}\r\nCookie: pointcast_session={}",
            b.token, a.token
        ),
    ];
    for cookie in &cases {
        // actix: who am I.
        let mut io = connect(app.port).await;
        io.write_all(raw("/api/v1/me", &[host_line(), cookie]).as_bytes())
            .await
            .unwrap();
        let mut got = Vec::new();
        let text = read_until(&mut io, &mut got, "}").await;
        assert!(
            text.contains(&format!("\"id\":{}", a.id)),
            "{cookie}: {text}"
        );
        // lean: the poll sees A's private event.
        let mut io = connect(app.port).await;
        let target = format!("/api/v1/events/poll?topics=&cursor={}&timeout=0", to_a - 1);
        io.write_all(raw(&target, &[host_line(), cookie]).as_bytes())
            .await
            .unwrap();
        let mut got = Vec::new();
        let text = read_until(&mut io, &mut got, "\"cursor\"").await;
        assert!(text.contains(&format!("\"id\":{to_a}")), "{cookie}: {text}");
    }
}

fn host_line() -> &'static str {
    "Host: x"
}

#[tokio::test]
async fn a_stream_after_a_page_is_lean_and_its_slot_is_free_within_a_second_of_the_close() {
    let app = spawn_app_with(|s| {
        s.push.max_streams_per_principal = 1;
        s.push.heartbeat = Duration::from_secs(60);
    })
    .await;
    let kim = app.customer("Kim").await;
    let bearer = format!("Authorization: Bearer {}", kim.token);
    let stream = raw("/api/v1/events?topics=", &[host_line(), &bearer]);
    for pipelined in [false, true] {
        let mut io = if pipelined {
            let mut io = connect(app.port).await;
            let both = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n{stream}");
            io.write_all(both.as_bytes()).await.unwrap();
            io
        } else {
            let mut io = after_a_page(app.port).await;
            io.write_all(stream.as_bytes()).await.unwrap();
            io
        };
        let mut got = Vec::new();
        let text = read_until(&mut io, &mut got, "event: stream.open").await;
        let head = text[text.rfind("HTTP/1.1 200 OK").unwrap()..].to_ascii_lowercase();
        // The lean path's raw stream: no chunking, the rest of the connection.
        assert!(!head.contains("transfer-encoding"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        let id = app.announce_to(kim.id, "hello").await;
        read_until(&mut io, &mut got, &format!("id: {id}\n")).await;

        // At the cap, a second stream of Kim's is refused while this one is open.
        let mut other = connect(app.port).await;
        other.write_all(stream.as_bytes()).await.unwrap();
        assert_eq!(
            status_of(&mut other).await.0,
            "HTTP/1.1 429 Too Many Requests"
        );

        // The client closes as a browser does (FIN, everything read).
        let closed = Instant::now();
        io.shutdown().await.unwrap();
        drop(io);
        assert!(eventually(|| async { app.connection_count().await == 0 }).await);
        assert!(
            closed.elapsed() < Duration::from_secs(1),
            "{:?}",
            closed.elapsed()
        );
        let mut again = connect(app.port).await;
        again.write_all(stream.as_bytes()).await.unwrap();
        assert_eq!(status_of(&mut again).await.0, "HTTP/1.1 200 OK");
        drop(again);
        assert!(eventually(|| async { app.connection_count().await == 0 }).await);
    }
}

/// A stream actix keeps (HTTP/1.0 here) also ends when its client closes, not at
/// the next heartbeat.
#[tokio::test]
async fn a_stream_actix_serves_frees_its_slot_when_the_client_closes() {
    let app = spawn_app_with(|s| s.push.heartbeat = Duration::from_secs(60)).await;
    let kim = app.customer("Kim").await;
    let mut io = connect(app.port).await;
    let request = format!(
        "GET /api/v1/events?topics= HTTP/1.0\r\nAuthorization: Bearer {}\r\n\r\n",
        kim.token
    );
    io.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let text = read_until(&mut io, &mut got, "event: stream.open").await;
    assert!(text.starts_with("HTTP/1.0 200 OK"), "{text}");
    assert_eq!(app.connection_count().await, 1);
    let closed = Instant::now();
    io.shutdown().await.unwrap();
    drop(io);
    assert!(eventually(|| async { app.connection_count().await == 0 }).await);
    assert!(
        closed.elapsed() < Duration::from_secs(1),
        "{:?}",
        closed.elapsed()
    );
}
