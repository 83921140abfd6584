//! Streams end when their session does: logout, a password change, an admin's
//! "disconnect", a store change and expiry each end that session's (or user's)
//! open streams and waiting polls within a second, on both the lean path and
//! actix, on every instance; a reconnect then gets 401. Also stream tickets.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pointcast::jobs::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// How soon an ended session's streams must end.
const WITHIN: Duration = Duration::from_secs(1);

/// Which path serves a raw stream.
#[derive(Clone, Copy, Debug)]
enum Path {
    /// The connection's first request: the lean path.
    Lean,
    /// After another request on the same kept-alive connection: actix.
    Actix,
}

/// An open raw stream (or waiting poll) and what it received.
struct Open {
    io: TcpStream,
    got: Vec<u8>,
    path: Path,
}

impl Open {
    /// Opens `GET {target}` with `auth` (a header line or "") on `path` and waits
    /// for the stream's `stream.open` (for a poll: only for the request to be sent).
    async fn start(port: u16, target: &str, auth: &str, path: Path) -> Self {
        let mut io = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut got = Vec::new();
        if let Path::Actix = path {
            io.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .unwrap();
            read_response(&mut io, &mut got).await;
            got.clear();
        }
        let req = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n");
        io.write_all(req.as_bytes()).await.unwrap();
        Self { io, got, path }
    }

    async fn stream(port: u16, token: &str, path: Path) -> Self {
        let auth = format!("Authorization: Bearer {token}\r\n");
        let mut s = Self::start(port, "/api/v1/events", &auth, path).await;
        s.until("event: stream.open").await;
        s
    }

    /// Reads until `needle` arrives (10 s at most).
    async fn until(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while find(&self.got, needle.as_bytes()).is_none() {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.io.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no {needle:?}; got {}", self.text()))
                .unwrap();
            assert!(n > 0, "closed before {needle:?}; got {}", self.text());
            self.got.extend_from_slice(&buf[..n]);
        }
    }

    /// Whether the response ended within `within`: the connection closed, or
    /// (actix, kept alive) the chunked body's last chunk came, or (a poll) the
    /// whole answer came.
    async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.ended() {
                return true;
            }
            let mut buf = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(n)) => self.got.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn ended(&self) -> bool {
        if find(&self.got, b"\r\n0\r\n\r\n").is_some() {
            return true;
        }
        // A complete poll answer (Content-Length).
        let text = self.text();
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && let Some(len) = content_length(head)
        {
            return body.len() >= len;
        }
        false
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.got).into_owned()
    }
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse().ok())?
    })
}

/// Reads one whole response with a Content-Length into `got`.
async fn read_response(io: &mut TcpStream, got: &mut Vec<u8>) {
    loop {
        let text = String::from_utf8_lossy(got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && body.len() >= content_length(head).unwrap_or(0)
        {
            return;
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), io.read(&mut buf))
            .await
            .expect("a response within 10 s")
            .unwrap();
        assert!(n > 0, "closed mid-response");
        got.extend_from_slice(&buf[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A lean and an actix stream, and a waiting lean poll, all with `token`.
async fn open_all(app: &TestApp, token: &str) -> Vec<Open> {
    let auth = format!("Authorization: Bearer {token}\r\n");
    let mut poll = Open::start(
        app.port,
        "/api/v1/events/poll?timeout=30",
        &auth,
        Path::Lean,
    )
    .await;
    let lean = Open::stream(app.port, token, Path::Lean).await;
    let actix = Open::stream(app.port, token, Path::Actix).await;
    // The poll is waiting (nothing to answer yet) once it is listed.
    wait_connections(app, 3).await;
    assert!(!poll.ends_within(Duration::from_millis(50)).await);
    vec![lean, actix, poll]
}

/// Waits until this instance lists `n` connections.
async fn wait_connections(app: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = app.connections().await;
        if v["count"].as_u64() == Some(n as u64) {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} connections: {v}");
        tokio::task::yield_now().await;
    }
}

/// Every one of `open` ends within [`WITHIN`] of `since`.
async fn all_end(open: &mut [Open], since: Instant) {
    for o in open.iter_mut() {
        let left = WITHIN.saturating_sub(since.elapsed());
        assert!(
            o.ends_within(left).await,
            "{:?} still open {:?} after the session ended; got {}",
            o.path,
            since.elapsed(),
            o.text()
        );
    }
}

/// A reconnect with `token` is refused on both paths.
async fn refused(app: &TestApp, token: &str) {
    for path in [Path::Lean, Path::Actix] {
        let auth = format!("Authorization: Bearer {token}\r\n");
        let mut s = Open::start(app.port, "/api/v1/events", &auth, path).await;
        s.until("\r\n\r\n").await;
        assert!(
            s.text().starts_with("HTTP/1.1 401"),
            "{path:?}: {}",
            s.text()
        );
    }
}

#[tokio::test]
async fn logout_ends_that_sessions_streams_and_polls_on_both_paths() {
    let app = spawn_app().await;
    let user = app.customer("Kim").await;
    let other = app.login(&user.login, "password123").await;
    let mut open = open_all(&app, &user.token).await;
    let mut kept = Open::stream(app.port, &other, Path::Lean).await;

    let r = app
        .post("/api/v1/auth/logout", Some(&user.token), &json!({}))
        .await;
    let since = Instant::now();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    all_end(&mut open, since).await;
    refused(&app, &user.token).await;

    // The same user's other session keeps its stream, and it still receives.
    assert!(!kept.ends_within(Duration::from_millis(100)).await);
    app.announce_to(user.id, "still here").await;
    kept.until("still here").await;
}

#[tokio::test]
async fn a_password_change_ends_the_users_other_sessions_streams() {
    let app = spawn_app().await;
    let user = app.customer("Lee").await;
    let stolen = app.login(&user.login, "password123").await;
    let mut open = open_all(&app, &stolen).await;
    let mut own = Open::stream(app.port, &user.token, Path::Actix).await;

    let r = app
        .client
        .patch(app.url(&format!("/api/v1/users/{}", user.id)))
        .bearer_auth(&user.token)
        .json(&json!({"password": "a new password"}))
        .send()
        .await
        .unwrap();
    let since = Instant::now();
    assert_eq!(r.status(), StatusCode::OK);
    all_end(&mut open, since).await;
    refused(&app, &stolen).await;
    assert!(
        !own.ends_within(Duration::from_millis(100)).await,
        "the session that changed it stays"
    );
}

#[tokio::test]
async fn an_expired_session_ends_its_streams_by_the_app_clock() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = Arc::clone(&clock);
    let app = spawn_app_with(move |s| s.clock = c).await;
    let user = app.customer("Park").await;
    let mut open = open_all(&app, &user.token).await;
    // A day before the 30-day session ends: nothing happens.
    clock.advance(chrono::Duration::days(29));
    assert!(!open[0].ends_within(Duration::from_millis(600)).await);

    // (The session was made by the system clock a moment after this clock was
    // set: a minute past covers that moment.)
    clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    let since = Instant::now();
    all_end(&mut open, since).await;
    refused(&app, &user.token).await;
    let me = app.get("/api/v1/me", Some(&user.token)).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_lists_a_users_connections_and_disconnects_them() {
    let app = spawn_app().await;
    let user = app.customer("Choi").await;
    let bystander = app.customer("Jung").await;
    let mut open = open_all(&app, &user.token).await;
    let mut theirs = Open::stream(app.port, &bystander.token, Path::Lean).await;
    wait_connections(&app, 4).await;

    let path = format!("/api/v1/admin/connections?user_id={}", user.id);
    let list: Value = app
        .get(&path, Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["count"], 3, "{list}");
    assert!(
        list["connections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["user_id"] == user.id)
    );

    // Only an admin may.
    let url = format!("/api/v1/admin/users/{}/disconnect", user.id);
    let r = app.post(&url, Some(&bystander.token), &json!({})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/admin/users/999999/disconnect",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = app.post(&url, Some(ADMIN_TOKEN), &json!({})).await;
    let since = Instant::now();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sessions_ended"], 1);
    all_end(&mut open, since).await;
    refused(&app, &user.token).await;
    assert!(!theirs.ends_within(Duration::from_millis(100)).await);
    wait_connections(&app, 1).await;
}

#[tokio::test]
async fn an_owners_streams_reopen_when_their_stores_change() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/staff",
            Some(ADMIN_TOKEN),
            &json!({"login": "owner9", "name": "Owner", "password": "password123", "role": "owner"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let owner: Value = r.json().await.unwrap();
    let token = app.login("owner9", "password123").await;
    let mut lean = Open::stream(app.port, &token, Path::Lean).await;
    let mut actix = Open::stream(app.port, &token, Path::Actix).await;

    let r = app
        .post(
            "/api/v1/stores",
            Some(ADMIN_TOKEN),
            &json!({"name": "New Store", "owner_id": owner["id"]}),
        )
        .await;
    let since = Instant::now();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    for o in [&mut lean, &mut actix] {
        let left = WITHIN.saturating_sub(since.elapsed());
        assert!(o.ends_within(left).await, "{:?}: {}", o.path, o.text());
    }
    // The session is still good: a new stream opens (and reads the new store).
    Open::stream(app.port, &token, Path::Lean).await;
}

#[tokio::test]
async fn logout_on_one_instance_ends_streams_on_another() {
    let db = Arc::new(TestDb::new().await);
    if !db.is_postgres() {
        eprintln!("multi-instance: needs POINTCAST_TEST_PG; runs in the PostgreSQL pass");
        return;
    }
    let a = spawn_on(db.clone(), |_| {}).await;
    let b = spawn_on(db, |_| {}).await;
    let user = a.customer("Han").await;
    let mut open = open_all(&b, &user.token).await;

    let r = a
        .post("/api/v1/auth/logout", Some(&user.token), &json!({}))
        .await;
    let since = Instant::now();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    all_end(&mut open, since).await;
    refused(&b, &user.token).await;

    // And a password change made on B ends A's streams.
    let second = b.login(&user.login, "password123").await;
    let third = a.login(&user.login, "password123").await;
    let mut on_a = open_all(&a, &third).await;
    let r = b
        .client
        .patch(b.url(&format!("/api/v1/users/{}", user.id)))
        .bearer_auth(&second)
        .json(&json!({"password": "another password"}))
        .send()
        .await
        .unwrap();
    let since = Instant::now();
    assert_eq!(r.status(), StatusCode::OK);
    all_end(&mut on_a, since).await;
    refused(&a, &third).await;
}

// Stream tickets.

async fn ticket(app: &TestApp, token: &str) -> String {
    let r = app
        .post("/api/v1/events/ticket", Some(token), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 60);
    v["ticket"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_ticket_opens_one_stream_or_poll_once_on_either_path() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let c = Arc::clone(&clock);
    let app = spawn_app_with(move |s| s.clock = c).await;
    let user = app.customer("Yoon").await;

    for path in [Path::Lean, Path::Actix] {
        let t = ticket(&app, &user.token).await;
        assert!(t.starts_with("pt_"));
        let target = format!("/api/v1/events?ticket={t}");
        let mut s = Open::start(app.port, &target, "", path).await;
        s.until("event: stream.open").await;
        app.announce_to(user.id, "via ticket").await;
        s.until("via ticket").await;
        // Used up: a second use is refused.
        let mut again = Open::start(app.port, &target, "", path).await;
        again.until("\r\n\r\n").await;
        assert!(again.text().starts_with("HTTP/1.1 401"), "{}", again.text());

        // Polls too.
        let t = ticket(&app, &user.token).await;
        let r = app
            .get(&format!("/api/v1/events/poll?timeout=0&ticket={t}"), None)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    // A ticket is not a session token, and it expires after 60 s.
    let t = ticket(&app, &user.token).await;
    let r = app.get("/api/v1/me", Some(&t)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .post("/api/v1/events/ticket", Some(&t), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    clock.advance(chrono::Duration::seconds(61));
    let r = app
        .get(&format!("/api/v1/events/poll?timeout=0&ticket={t}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Without a session: no ticket.
    let r = app.post("/api/v1/events/ticket", None, &json!({})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_stream_opened_with_a_ticket_ends_with_its_session() {
    let app = spawn_app().await;
    let user = app.customer("Kang").await;
    let t = ticket(&app, &user.token).await;
    let target = format!("/api/v1/events?ticket={t}");
    let mut s = Open::start(app.port, &target, "", Path::Lean).await;
    s.until("event: stream.open").await;
    let fresh = ticket(&app, &user.token).await;

    app.post("/api/v1/auth/logout", Some(&user.token), &json!({}))
        .await;
    let since = Instant::now();
    assert!(s.ends_within(WITHIN).await, "{:?}", since.elapsed());
    // A ticket made before the logout no longer opens anything.
    let r = app
        .get(
            &format!("/api/v1/events/poll?timeout=0&ticket={fresh}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

// Restarts without storms.

#[tokio::test]
async fn at_shutdown_streams_get_a_spread_out_retry_and_polls_answer_at_once() {
    let app = spawn_app_with(|s| {
        s.push.retry = Duration::from_millis(1000);
        s.push.restart_spread = Duration::from_millis(5000);
    })
    .await;
    let user = app.customer("Seo").await;
    let mut open = Vec::new();
    for path in [Path::Lean, Path::Actix, Path::Lean, Path::Actix, Path::Lean] {
        open.push(Open::stream(app.port, &user.token, path).await);
    }
    let auth = format!("Authorization: Bearer {}\r\n", user.token);
    let mut poll = Open::start(
        app.port,
        "/api/v1/events/poll?timeout=30",
        &auth,
        Path::Lean,
    )
    .await;
    wait_connections(&app, 6).await;

    let stop = app.shutdown.clone();
    let since = Instant::now();
    tokio::spawn(async move { stop.stop().await });
    assert!(
        poll.ends_within(WITHIN).await,
        "the waiting poll answers at once"
    );
    assert!(poll.text().starts_with("HTTP/1.1 200"), "{}", poll.text());
    let mut retries = BTreeSet::new();
    for o in &mut open {
        assert!(o.ends_within(Duration::from_secs(2)).await, "{:?}", o.path);
        let text = o.text();
        let after_open = &text[text.find("stream.open").unwrap()..];
        let at = after_open.rfind("retry: ").unwrap_or_else(|| {
            panic!(
                "{:?}: no farewell retry in {after_open:?} ({:?})",
                o.path,
                since.elapsed()
            )
        });
        let ms: u64 = after_open[at + 7..]
            .split('\n')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!((1000..=6000).contains(&ms), "{ms}");
        retries.insert(ms);
    }
    assert!(retries.len() > 1, "spread out, not all {retries:?}");
}
