//! Every limit of the server, over real HTTP: each answers with its status and the
//! usual JSON error, and a client over a limit does not slow anyone else.
//!
//! Tested in depth elsewhere: the exact count of a chat burst (`support.rs`), the
//! stream cap's interplay with long-polls (`push.rs`), a body of 200 KB changing
//! nothing (`auth.rs`). Here: one table of all limits, the slow-body deadline, and
//! each limit hammered while another client works.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Small limits, so each is reached in a few requests.
fn small_limits(s: &mut pointcast::Settings) {
    s.push.max_streams_per_principal = 2;
    s.login_throttle.per_account = 3;
    s.login_throttle.per_address = 8;
    s.login_throttle.window = Duration::from_secs(60);
    s.support.rate_burst = 3;
    s.support.rate_window = Duration::from_secs(60);
    s.support.inquiry_burst = 3;
    s.support.inquiry_window = Duration::from_secs(60);
    s.request_timeout = Duration::from_millis(500);
}

/// A valid inquiry.
fn inquiry(i: usize) -> Value {
    json!({"subject": format!("question {i}"), "message": "hello", "reply_to": "kim@example.com"})
}

/// Posts to `path` as `token` (or nobody).
async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Response {
    app.post(path, token, &body).await
}

/// Repeats `request` until it is refused (at most `tries` times); returns the refusal.
async fn until_refused<F, Fut>(tries: usize, mut request: F) -> Response
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Response>,
{
    for i in 0..tries {
        let r = request(i).await;
        if !r.status().is_success() && r.status() != StatusCode::UNAUTHORIZED {
            return r;
        }
    }
    panic!("not refused within {tries} requests");
}

/// Sends a request head announcing a 100-byte body, then only 10 bytes of it;
/// returns the response (status line to end) and how long it took.
async fn slow_body(port: u16, path: &str, token: Option<&str>) -> (String, Duration) {
    let started = Instant::now();
    let mut io = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    io.write_all(
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             {auth}Content-Length: 100\r\n\r\n{{\"subject\""
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), io.read_to_end(&mut got))
        .await
        .expect("answered and closed within 10 s")
        .unwrap();
    (String::from_utf8(got).unwrap(), started.elapsed())
}

fn status_of(raw: &str) -> u16 {
    raw.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn json_of(raw: &str) -> Value {
    serde_json::from_str(raw.split_once("\r\n\r\n").unwrap().1).unwrap()
}

#[tokio::test]
async fn each_limit_answers_with_its_status() {
    let app = spawn_app_with(small_limits).await;
    let kim = app.customer("Kim").await;
    let long = |n: usize| "x".repeat(n);

    let mut refusals: Vec<(&str, StatusCode, Value, Option<u64>)> = Vec::new();
    let mut record = async |name, r: Response| {
        let status = r.status();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        refusals.push((name, status, r.json().await.unwrap(), retry_after));
    };

    let body = json!({"name": long(100_000), "phone": "010-1234-5678", "password": "password123"});
    record("body", post(&app, "/api/v1/users", None, body).await).await;

    let r = post(
        &app,
        "/api/v1/announcements",
        Some(ADMIN_TOKEN),
        json!({"text": long(2001), "all": true}),
    )
    .await;
    record("text", r).await;

    let ids: Vec<i64> = (1..=101).collect();
    let r = post(&app, "/api/v1/staff", Some(ADMIN_TOKEN),
        json!({"name": "Park", "login": "park", "password": "password123", "role": "owner", "store_ids": ids})).await;
    record("items", r).await;

    let r = app
        .get(
            "/api/v1/support/conversations?limit=100000",
            Some(&kim.token),
        )
        .await;
    record("page", r).await;

    let _one = app.sse("", Some(&kim.token), None).await;
    let _two = app.sse("", Some(&kim.token), None).await;
    let r = app
        .client
        .get(app.url("/api/v1/events"))
        .bearer_auth(&kim.token)
        .send()
        .await
        .unwrap();
    record("streams", r).await;

    let r = until_refused(10, |i| {
        post(
            &app,
            "/api/v1/support/conversations",
            Some(&kim.token),
            json!({ "text": format!("hello {i}") }),
        )
    })
    .await;
    record("messages", r).await;

    let r = until_refused(10, |i| post(&app, "/api/v1/inquiries", None, inquiry(i))).await;
    record("inquiries", r).await;

    let wrong = json!({"login": kim.login, "password": "guess-guess"});
    let r = until_refused(10, |_| {
        post(&app, "/api/v1/auth/login", None, wrong.clone())
    })
    .await;
    record("login account", r).await;

    // Last: it locks the test's only address out of logging in.
    let r = until_refused(20, |i| {
        post(
            &app,
            "/api/v1/auth/login",
            None,
            json!({"login": format!("nobody{i}"), "password": "guess-guess"}),
        )
    })
    .await;
    record("login address", r).await;

    let expected = [
        ("body", 413, "payload_too_large"),
        ("text", 422, "invalid_announcement"),
        ("items", 422, "invalid_staff"),
        ("page", 422, "invalid_limit"),
        ("streams", 429, "too_many_requests"),
        ("messages", 429, "too_many_requests"),
        ("inquiries", 429, "too_many_requests"),
        ("login account", 429, "too_many_requests"),
        ("login address", 429, "too_many_requests"),
    ];
    assert_eq!(refusals.len(), expected.len());
    for ((name, status, body, retry_after), (want, want_status, want_code)) in
        refusals.iter().zip(expected)
    {
        assert_eq!(*name, want);
        assert_eq!(status.as_u16(), want_status, "{name}: {body}");
        assert_eq!(body["error"]["code"], want_code, "{name}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{name}");
        if want_status == 429 && *name != "streams" {
            let secs = retry_after.unwrap_or_else(|| panic!("{name}: Retry-After"));
            assert!((1..=60).contains(&secs), "{name}: Retry-After {secs}");
        }
    }
    // A 422 names the field it refuses.
    assert!(
        refusals[1].2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("text")
    );
    assert!(
        refusals[2].2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("store_ids")
    );
    assert!(
        refusals[3].2["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );

    // The slow body, over a raw connection.
    let (raw, took) = slow_body(app.port, "/api/v1/inquiries", None).await;
    assert_eq!(status_of(&raw), 408, "{raw}");
    assert_eq!(json_of(&raw)["error"]["code"], "request_timeout");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
}

#[tokio::test]
async fn a_slow_body_gets_408_in_time_changes_nothing_and_others_are_served() {
    let app = spawn_app_with(|s| s.request_timeout = Duration::from_millis(800)).await;
    let kim = app.customer("Kim").await;

    // Clients that send a head and part of a body (inquiries are open to anyone;
    // a customer's new conversation goes through authentication first).
    let slow: Vec<_> = (0..6)
        .map(|i| {
            let (port, token) = (app.port, (i % 2 == 1).then(|| kim.token.clone()));
            tokio::spawn(async move {
                let path = if token.is_some() {
                    "/api/v1/support/conversations"
                } else {
                    "/api/v1/inquiries"
                };
                slow_body(port, path, token.as_deref()).await
            })
        })
        .collect();

    // Meanwhile another client's ordinary requests are served promptly.
    let lee = app.customer("Lee").await;
    for _ in 0..10 {
        let started = Instant::now();
        let r = app.get("/api/v1/me", Some(&lee.token)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    for task in slow {
        let (raw, took) = task.await.unwrap();
        assert_eq!(status_of(&raw), 408, "{raw}");
        let v = json_of(&raw);
        assert_eq!(v["error"]["code"], "request_timeout");
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_secs(3),
            "answered after {took:?}"
        );
    }
    // Nothing was written.
    let v: Value = app
        .get("/api/v1/inquiries", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["inquiries"], json!([]));
    let v: Value = app
        .get("/api/v1/support/conversations", Some(&kim.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["conversations"], json!([]));
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_account_with_retry_after_without_slowing_others() {
    let app = spawn_app_with(|s| s.login_throttle.per_account = 3).await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    for _ in 0..3 {
        let r = app.try_login(&kim.login, "guess-guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app.try_login(&kim.login, "password123").await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 900);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_requests");
    // Lee, from the same address, still logs in; Kim's existing session still works.
    app.login(&lee.login, "password123").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&kim.token)).await.status(),
        StatusCode::OK
    );
}

/// A way of being over a limit, repeated by [`hammering`].
#[derive(Clone, Copy, Debug)]
enum Hammer {
    Body,
    Streams,
    Messages,
    Inquiries,
    LoginAccount,
    SlowBody,
}

impl Hammer {
    /// The status every request is refused with once over the limit.
    fn refusal(self) -> StatusCode {
        match self {
            Self::Body => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SlowBody => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// One over-limit attempt by Kim (or Kim's address); its status.
    async fn once(self, app: &TestApp, kim: &User, i: usize) -> StatusCode {
        match self {
            Self::Body => {
                let body = json!({"name": "x".repeat(100_000), "phone": "1234", "password": "p"});
                app.post("/api/v1/users", None, &body).await.status()
            }
            Self::Streams => {
                let r = app
                    .client
                    .get(app.url("/api/v1/events"))
                    .bearer_auth(&kim.token);
                r.send().await.unwrap().status()
            }
            Self::Messages => {
                let body = json!({ "text": format!("hello {i}") });
                let r = app.post("/api/v1/support/conversations", Some(&kim.token), &body);
                r.await.status()
            }
            Self::Inquiries => app
                .post("/api/v1/inquiries", None, &inquiry(i))
                .await
                .status(),
            Self::LoginAccount => {
                let body = json!({"login": kim.login, "password": "guess-guess"});
                app.post("/api/v1/auth/login", None, &body).await.status()
            }
            Self::SlowBody => {
                let (raw, _) = slow_body(app.port, "/api/v1/inquiries", None).await;
                StatusCode::from_u16(status_of(&raw)).unwrap()
            }
        }
    }
}

/// Runs `hammer` from 8 concurrent tasks until it is refused, and while it goes on,
/// times 20 ordinary requests by Lee. Returns how many refusals the hammer got and
/// the slowest of Lee's requests.
async fn hammering(
    app: &Arc<TestApp>,
    kim: &User,
    lee: &User,
    hammer: Hammer,
) -> (usize, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (app, kim, stop, refused) = (
                Arc::clone(app),
                kim.clone(),
                Arc::clone(&stop),
                Arc::clone(&refused),
            );
            tokio::spawn(async move {
                let mut i = t * 10_000;
                while !stop.load(Ordering::Relaxed) {
                    let status = hammer.once(&app, &kim, i).await;
                    if status == hammer.refusal() {
                        refused.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert!(
                            status.is_success() || status == StatusCode::UNAUTHORIZED,
                            "{hammer:?}: {status}"
                        );
                    }
                    i += 1;
                }
            })
        })
        .collect();
    assert!(
        eventually(|| async { refused.load(Ordering::Relaxed) > 0 }).await,
        "{hammer:?} is refused"
    );
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let r = match i % 3 {
            0 => app.get("/api/v1/me", Some(&lee.token)).await,
            1 => {
                app.get(
                    &format!("/api/v1/users/{}/mileage", lee.id),
                    Some(&lee.token),
                )
                .await
            }
            _ => {
                let at = json!({"lat": 37.5, "lon": 127.0 + f64::from(i) / 1000.0});
                let r = app
                    .client
                    .put(app.url(&format!("/api/v1/users/{}/location", lee.id)));
                r.bearer_auth(&lee.token).json(&at).send().await.unwrap()
            }
        };
        assert!(
            r.status().is_success(),
            "{hammer:?}: Lee got {}",
            r.status()
        );
        slowest = slowest.max(started.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    (refused.load(Ordering::Relaxed), slowest)
}

#[tokio::test]
async fn a_client_over_a_limit_does_not_slow_others() {
    let app = Arc::new(
        spawn_app_with(|s| {
            small_limits(s);
            s.login_throttle.per_address = 10_000;
            s.request_timeout = Duration::from_millis(300);
        })
        .await,
    );
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    let _streams = [
        app.sse("", Some(&kim.token), None).await,
        app.sse("", Some(&kim.token), None).await,
    ];
    for hammer in [
        Hammer::Body,
        Hammer::Streams,
        Hammer::Messages,
        Hammer::Inquiries,
        Hammer::LoginAccount,
        Hammer::SlowBody,
    ] {
        let (refused, slowest) = hammering(&app, &kim, &lee, hammer).await;
        assert!(refused > 0, "{hammer:?}");
        assert!(
            slowest < Duration::from_secs(1),
            "{hammer:?}: Lee waited {slowest:?}"
        );
    }
}
