//! Several instances on one PostgreSQL database (DESIGN.md §2, last point).
//!
//! These need PostgreSQL: in the SQLite run of the suite they return at once (an
//! embedded SQLite file is one instance's by design); `scripts/test` runs the suite
//! on PostgreSQL too, where every one of them runs.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Two instances on one fresh PostgreSQL database, or `None` on SQLite.
async fn two_instances() -> Option<(TestApp, TestApp)> {
    let db = Arc::new(TestDb::new().await);
    if !db.is_postgres() {
        eprintln!("multi-instance tests need POINTCAST_TEST_PG; skipped in the SQLite run");
        return None;
    }
    // No safety-net tick: only NOTIFY may wake a tailer, so these tests fail if
    // cross-instance notification or the listener's reconnect breaks.
    let no_tick = |s: &mut pointcast::Settings| s.push.tail_interval = Duration::from_secs(3600);
    let a = spawn_on(db.clone(), no_tick).await;
    let b = spawn_on(db, no_tick).await;
    Some((a, b))
}

#[tokio::test]
async fn an_event_committed_on_one_instance_streams_from_the_other_in_order_within_a_second() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let kim = a.customer("Kim").await;
    let mut on_b = b.sse("", Some(&kim.token), None).await;
    on_b.next().await;
    for i in 0..20 {
        let sent = Instant::now();
        let id = a.announce_to(kim.id, &format!("n{i}")).await;
        let got = on_b
            .next_within(Duration::from_secs(1))
            .await
            .expect("within a second");
        assert_eq!(got.id, Some(id));
        assert!(sent.elapsed() < Duration::from_secs(1));
    }
}

/// Each instance caches sessions for a few seconds; a logout on one must reach
/// the other's cache through `NOTIFY`, well before that.
#[tokio::test]
async fn a_logout_on_one_instance_ends_the_session_on_the_other_at_once() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let kim = a.customer("Kim").await;
    assert_eq!(
        b.get("/api/v1/me", Some(&kim.token)).await.status(),
        StatusCode::OK
    );
    let r = a
        .post("/api/v1/auth/logout", Some(&kim.token), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let ended = Instant::now();
    assert!(
        eventually(|| async {
            b.get("/api/v1/me", Some(&kim.token)).await.status() == StatusCode::UNAUTHORIZED
        })
        .await
    );
    assert!(
        ended.elapsed() < Duration::from_secs(3),
        "ended by the notification, not by the cache's expiry: {:?}",
        ended.elapsed()
    );
}

#[tokio::test]
async fn a_long_poll_on_one_instance_is_woken_by_a_commit_on_the_other() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let kim = a.customer("Kim").await;
    let (_, cursor) = b.poll("timeout=0", Some(&kim.token)).await;
    let waiting = b
        .waiting_poll(&format!("cursor={cursor}&timeout=30"), &kim.token)
        .await;
    let id = a.announce_to(kim.id, "wake up").await;
    let (v, waited) = waiting.await.unwrap();
    assert_eq!(v["events"][0]["id"], id);
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn eight_writers_on_two_instances_reach_readers_on_both_without_gaps() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let mut on_a = a.sse("topics=announcements", None, None).await;
    let mut on_b = b.sse("topics=announcements", None, None).await;
    on_a.next().await;
    on_b.next().await;
    let mut writers = Vec::new();
    for w in 0..8 {
        let app = if w % 2 == 0 { &a } else { &b };
        let (client, url) = (app.client.clone(), app.url("/api/v1/announcements"));
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..500 {
                let r = client
                    .post(&url)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"text": format!("w{w} {i}"), "all": true}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                ids.push(
                    r.json::<Value>().await.unwrap()["last_event_id"]
                        .as_i64()
                        .unwrap(),
                );
            }
            ids
        }));
    }
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    written.sort_unstable();
    for reader in [&mut on_a, &mut on_b] {
        let got: Vec<i64> = reader
            .take(4000)
            .await
            .iter()
            .map(|e| e.id.unwrap())
            .collect();
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(got, written);
    }
}

#[tokio::test]
async fn a_listener_that_loses_its_connection_reconnects_and_misses_nothing() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let kim = a.customer("Kim").await;
    let mut on_b = b.sse("", Some(&kim.token), None).await;
    on_b.next().await;
    // Sever every LISTEN connection (instance B's listener among them).
    let server = std::env::var("POINTCAST_TEST_PG").unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server)
        .await
        .unwrap();
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(killed >= 2, "both instances listen");
    let texts: Vec<String> = (0..5).map(|i| format!("after {i}")).collect();
    let ids: Vec<i64> =
        futures_util::future::join_all(texts.iter().map(|t| a.announce_to(kim.id, t))).await;
    let mut want = ids.clone();
    want.sort_unstable();
    let got: Vec<i64> = on_b.take(5).await.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(got, want);
}

/// A real `pointcast serve` process, so it can be killed with SIGKILL.
pub struct Process {
    pub child: std::process::Child,
    pub url: String,
}

impl Process {
    pub async fn start(database_url: &str) -> Self {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_pointcast"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                database_url,
            ])
            .env("POINTCAST_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        assert!(
            eventually(|| async {
                client
                    .get(format!("{url}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            })
            .await
        );
        Self { child, url }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn clients_of_a_killed_instance_resume_on_the_other_and_miss_nothing() {
    let db = Arc::new(TestDb::new().await);
    if !db.is_postgres() {
        eprintln!("multi-instance tests need POINTCAST_TEST_PG; skipped in the SQLite run");
        return;
    }
    let survivor = spawn_on(db.clone(), |_| {}).await;
    let mut doomed = Process::start(&db.url).await;
    let kim = survivor.customer("Kim").await;

    // A stream on the doomed instance gets the first events.
    let mut sse = {
        let r = survivor
            .client
            .get(format!("{}/api/v1/events", doomed.url))
            .bearer_auth(&kim.token)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        SseClient::from_response_for_tests(r).await
    };
    sse.next().await;
    let first = survivor.announce_to(kim.id, "before the crash").await;
    assert_eq!(sse.take(1).await[0].id, Some(first));

    // Kill it; events keep coming on the survivor meanwhile.
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
    assert!(sse.ends_within(Duration::from_secs(5)).await);
    let mut missed = Vec::new();
    for i in 0..10 {
        missed.push(survivor.announce_to(kim.id, &format!("during {i}")).await);
    }
    // The client resumes on the survivor with its cursor.
    let mut resumed = survivor.sse("", Some(&kim.token), Some(first)).await;
    let got: Vec<i64> = resumed
        .take(10)
        .await
        .iter()
        .map(|e| e.id.unwrap())
        .collect();
    assert_eq!(got, missed);
}
