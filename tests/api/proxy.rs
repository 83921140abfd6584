//! pointcast behind the nginx configuration of docs/deploy.md, with a real nginx:
//! the block is read from that file (only its ports and log directory change),
//! so the documented configuration is the tested one.
//!
//! nginx must be installed (`scripts/test` installs Debian's `nginx-light`); these
//! tests fail, not skip, without it.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A running nginx in front of two upstreams, with its own directory.
struct Nginx {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

fn nginx_binary() -> PathBuf {
    for p in [
        "/usr/sbin/nginx",
        "/usr/local/sbin/nginx",
        "/usr/local/nginx/sbin/nginx",
    ] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    match Command::new("sh").args(["-c", "command -v nginx"]).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().into(),
        _ => panic!(
            "nginx is not installed: these tests run the documented nginx configuration \
             (apt-get install nginx-light; scripts/test does it)"
        ),
    }
}

/// The ```nginx block of docs/deploy.md.
fn documented_config() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md"))
        .expect("docs/deploy.md");
    let start = doc
        .find("```nginx\n")
        .expect("an nginx block in docs/deploy.md")
        + 9;
    let len = doc[start..].find("```").expect("the block's end");
    doc[start..start + len].to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nginx {
    async fn start(upstreams: [u16; 2]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let port = free_port();
        let documented = documented_config();
        for needle in [
            "127.0.0.1:8081",
            "127.0.0.1:8082",
            "listen 80;",
            "/var/log/nginx/",
        ] {
            assert!(
                documented.contains(needle),
                "the documented config changed: {needle}"
            );
        }
        let site = documented
            .replace("127.0.0.1:8081", &format!("127.0.0.1:{}", upstreams[0]))
            .replace("127.0.0.1:8082", &format!("127.0.0.1:{}", upstreams[1]))
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("/var/log/nginx/", &format!("{d}/"));
        std::fs::write(dir.path().join("pointcast.conf"), site).unwrap();
        // What a distribution's nginx.conf around conf.d/ would hold.
        let main = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root;\n\
             pid {d}/nginx.pid;\nerror_log {d}/main-error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             include {d}/pointcast.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let child = Command::new(nginx_binary())
            .args(["-p", &d, "-c", &format!("{d}/nginx.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting nginx");
        let nginx = Self { port, dir, child };
        // Ready once it answers.
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(nginx.url("/healthz")).send().await.is_ok() {
                return nginx;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("nginx did not start; see {d}/main-error.log");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything nginx logged (access and error logs).
    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "log") {
                all.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
        all
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Only the nginx this test started, by its process id: SIGTERM to the
        // master, which stops its workers (SIGKILL would orphan them).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Two instances on one database, trusting nginx on 127.0.0.1.
async fn two_upstreams(adjust: impl Fn(&mut pointcast::Settings) + Clone) -> (TestApp, TestApp) {
    let db = Arc::new(TestDb::new().await);
    let settings = move |s: &mut pointcast::Settings| {
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.push.retry = Duration::from_millis(100);
        s.push.tail_interval = Duration::from_millis(50);
        adjust(s);
    };
    let a = spawn_on(db.clone(), settings.clone()).await;
    let b = spawn_on(db, settings).await;
    (a, b)
}

#[tokio::test]
async fn a_hundred_anonymous_visitors_behind_nginx_each_get_their_stream() {
    let (a, b) = two_upstreams(|s| s.push.max_anonymous_per_address = 16).await;
    let nginx = Nginx::start([a.port, b.port]).await;

    // Each visitor from its own address: nginx forwards it in X-Forwarded-For.
    let mut streams = Vec::new();
    for i in 0..100u8 {
        let client = reqwest::Client::builder()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, i + 1)))
            .build()
            .unwrap();
        let r = client
            .get(nginx.url("/api/v1/events?topics=announcements"))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "visitor {i}");
        assert_eq!(
            r.headers()["cache-control"],
            "no-cache, no-store, no-transform"
        );
        streams.push(r);
    }
    let mut remotes = BTreeSet::new();
    for app in [&a, &b] {
        let v = app.connections().await;
        for c in v["connections"].as_array().unwrap() {
            remotes.insert(c["remote_addr"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        remotes.len(),
        100,
        "each visitor is known by its own address"
    );
    assert!(remotes.contains("127.0.1.1") && !remotes.contains("127.0.0.1"));

    // A header from an untrusted peer names no one: straight to pointcast, the
    // 17th stream "from" one forged address is still counted against the peer.
    let direct = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1)))
        .build()
        .unwrap();
    let mut held = Vec::new();
    for i in 0..17 {
        let r = direct
            .get(a.url("/api/v1/events?topics=announcements"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        held.push(r);
    }
    assert_eq!(held[15].status(), StatusCode::OK);
    assert_eq!(held[16].status(), StatusCode::TOO_MANY_REQUESTS);

    // /metrics only for the monitoring host (127.0.0.1 in the documented config).
    let r = reqwest::get(nginx.url("/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = direct.get(nginx.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    drop(streams);
}

/// What an EventSource client saw: the ids of the events it got, and any answer
/// that would have ended a real EventSource (a non-200).
#[derive(Default)]
struct Seen {
    ids: Vec<i64>,
    fatal: Option<String>,
    connects: usize,
}

/// Reads `url` as an EventSource would: on the end of a stream it waits `retry:`
/// and reconnects with `Last-Event-ID`; a non-200 ends it for good.
fn event_source(url: String, headers: Vec<(String, String)>, seen: Arc<Mutex<Seen>>) {
    tokio::spawn(async move {
        let mut last: Option<i64> = None;
        let mut retry = Duration::from_millis(3000);
        loop {
            let mut r = reqwest::Client::new()
                .get(&url)
                .header("Accept", "text/event-stream");
            for (k, v) in &headers {
                r = r.header(k, v);
            }
            if let Some(id) = last {
                r = r.header("Last-Event-ID", id.to_string());
            }
            seen.lock().unwrap().connects += 1;
            let resp = match r.send().await {
                Ok(resp) if resp.status() == StatusCode::OK => resp,
                Ok(resp) => {
                    seen.lock().unwrap().fatal = Some(format!("status {}", resp.status()));
                    return;
                }
                // A network error: EventSource retries.
                Err(_) => {
                    tokio::time::sleep(retry).await;
                    continue;
                }
            };
            let mut body = resp.bytes_stream();
            let mut buf = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    let (mut id, mut kind) = (None, String::new());
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("id: ") {
                            id = v.trim().parse::<i64>().ok();
                        } else if let Some(v) = line.strip_prefix("event: ") {
                            kind = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("retry: ")
                            && let Ok(ms) = v.trim().parse()
                        {
                            retry = Duration::from_millis(ms);
                        }
                    }
                    if let Some(id) = id {
                        last = Some(id);
                        if !kind.starts_with("stream.") {
                            seen.lock().unwrap().ids.push(id);
                        }
                    }
                }
            }
            tokio::time::sleep(retry).await;
        }
    });
}

#[tokio::test]
async fn a_restart_of_one_upstream_is_invisible_to_event_source_clients_and_nginx_logs_no_token() {
    let (a, b) = two_upstreams(|_| {}).await;
    let db = a.db.clone();
    let nginx = Nginx::start([a.port, b.port]).await;
    let user = b.customer("Visitor").await;

    // Readers by token in the URL, by ticket, and by cookie, spread over both
    // instances by nginx.
    let mut seen = Vec::new();
    for i in 0..6 {
        let s = Arc::new(Mutex::new(Seen::default()));
        let (url, headers) = match i % 2 {
            0 => (
                nginx.url(&format!(
                    "/api/v1/events?topics=announcements&access_token={}",
                    user.token
                )),
                vec![],
            ),
            _ => (
                nginx.url("/api/v1/events?topics=announcements"),
                vec![(
                    "Cookie".to_string(),
                    format!("pointcast_session={}", user.token),
                )],
            ),
        };
        event_source(url, headers, Arc::clone(&s));
        seen.push(s);
    }
    let ticket: Value = reqwest::Client::new()
        .post(nginx.url("/api/v1/events/ticket"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = ticket["ticket"].as_str().unwrap().to_string();
    let r = reqwest::get(nginx.url(&format!("/api/v1/events/poll?timeout=0&ticket={ticket}")))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Both instances hold some of the six streams.
    let count = |app: &TestApp| {
        let (c, u) = (app.client.clone(), app.url("/api/v1/admin/connections"));
        async move {
            let v: Value = c
                .get(u)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["count"].as_u64().unwrap()
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count(&a).await + count(&b).await < 6 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "six streams never opened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        count(&a).await > 0,
        "nginx put no stream on the instance that restarts"
    );

    // Events keep coming (through B) while A restarts on its port.
    let mut published = Vec::new();
    for i in 0..5 {
        published.push(b.announce_all(&format!("before {i}")).await);
    }
    let a_port = a.port;
    a.stop().await;
    for i in 0..5 {
        published.push(b.announce_all(&format!("during {i}")).await);
    }
    let restart = move |db: Arc<TestDb>| {
        spawn_on(db, move |s| {
            s.listen = format!("127.0.0.1:{a_port}");
            s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            s.push.retry = Duration::from_millis(100);
            s.push.tail_interval = Duration::from_millis(50);
        })
    };
    // On PostgreSQL, A comes back at once and publishes the rest itself. On
    // SQLite an instance publishes only what its own commits made durable (one
    // process per database file): B publishes, and A comes back at the end, so
    // that no reader is on an instance that cannot see B's events.
    let back = if db.is_postgres() {
        let a = restart(db.clone()).await;
        for i in 0..5 {
            published.push(a.announce_all(&format!("after {i}")).await);
        }
        Some(a)
    } else {
        for i in 0..5 {
            published.push(b.announce_all(&format!("after {i}")).await);
        }
        None
    };

    let last = *published.last().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for s in &seen {
        loop {
            {
                let s = s.lock().unwrap();
                assert_eq!(s.fatal, None, "an EventSource would have stopped for good");
                if s.ids.last() == Some(&last) {
                    assert_eq!(s.ids, published, "every event, once, in order");
                    break;
                }
            }
            if tokio::time::Instant::now() > deadline {
                let s = s.lock().unwrap();
                panic!(
                    "events stopped arriving: got {:?} of {published:?} in {} connects",
                    s.ids, s.connects
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(
        seen.iter().any(|s| s.lock().unwrap().connects > 1),
        "some reader reconnected through the restart"
    );

    if back.is_none() {
        let a = restart(db).await;
        assert_eq!(a.get("/readyz", None).await.status(), StatusCode::OK);
    }
    let logs = nginx.logs();
    assert!(
        logs.contains("GET /api/v1/events "),
        "the access log is written: {logs}"
    );
    for secret in [
        user.token.as_str(),
        ticket.as_str(),
        "access_token",
        "ticket=",
    ] {
        assert!(!logs.contains(secret), "nginx logged {secret:?}:\n{logs}");
    }
}
