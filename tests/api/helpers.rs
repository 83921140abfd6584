//! Starting a server for a test and talking to it as a client would.
//!
//! Every test gets its own database: a fresh SQLite file in a temp dir, or, when
//! `POINTCAST_TEST_PG` holds a PostgreSQL server URL, a fresh database on that
//! server (dropped when the test's app is dropped). The same tests thus run on both
//! backends; `scripts/test` runs the suite once per backend.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use pointcast::{Application, Settings, Shutdown};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub const ADMIN_TOKEN: &str = "pc_test_admin_token";

/// Where a test's data lives; kept alive (and cleaned up) with the app.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> Self {
        // reqwest is built without its own rustls provider (see src/tls.rs).
        pointcast::tls::install_provider();
        match std::env::var("POINTCAST_TEST_PG")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(server) => {
                static N: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "pc_test_{}_{}_{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed),
                    rand_suffix()
                );
                admin_sql(&server, &format!("CREATE DATABASE {name}")).await;
                let url = with_db(&server, &name);
                Self {
                    url,
                    _dir: None,
                    pg: Some((server, name)),
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg.take() {
            // Drop runs inside the test's runtime; use a thread with its own.
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(admin_sql(
                        &server,
                        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    ));
                }
            })
            .join();
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

fn with_db(server: &str, db: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    format!("{base}/{db}{query}")
}

async fn admin_sql(server: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(server)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .expect("admin SQL");
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: Client,
    pub shutdown: Shutdown,
    pub settings: Settings,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub db: std::sync::Arc<TestDb>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server on a fresh database, letting the test adjust its settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let db = std::sync::Arc::new(TestDb::new().await);
    spawn_on(db, adjust).await
}

/// Starts a server on an existing test database (a restart, or a second instance).
pub async fn spawn_on(db: std::sync::Arc<TestDb>, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let mut settings = Settings::for_tests(db.url.clone(), ADMIN_TOKEN);
    adjust(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("build app");
    let port = app.port();
    let shutdown = app.shutdown_handle();
    let handle = tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client"),
        shutdown,
        settings,
        handle: Some(handle),
        db,
    }
}

fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("info,sqlx=warn"))
                .with_test_writer()
                .try_init();
        }
    });
}

/// A signed-in user as a test holds it.
#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) {
        self.shutdown.stop().await;
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut r = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("POST")
    }

    /// Signs up a customer and logs in.
    pub async fn customer(&self, name: &str) -> User {
        let r = self
            .post(
                "/api/v1/users",
                None,
                &json!({"name": name, "phone": "010-0000-0000", "password": "password123"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "sign-up");
        let u: Value = r.json().await.expect("json");
        let login = u["member_no"].as_str().expect("member_no").to_string();
        let token = self.login(&login, "password123").await;
        User {
            id: u["id"].as_i64().expect("id"),
            login,
            token,
        }
    }

    /// One login attempt, whatever its answer.
    pub async fn try_login(&self, login: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({"login": login, "password": password}),
        )
        .await
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let r = self.try_login(login, password).await;
        assert_eq!(r.status(), StatusCode::OK, "login");
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// Announces `text` to one user as the admin; returns the event id.
    pub async fn announce_to(&self, user_id: i64, text: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/announcements",
                Some(ADMIN_TOKEN),
                &json!({"text": text, "user_id": user_id}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "announce");
        let v: Value = r.json().await.expect("json");
        v["last_event_id"].as_i64().expect("id")
    }

    pub async fn announce_all(&self, text: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/announcements",
                Some(ADMIN_TOKEN),
                &json!({"text": text, "all": true}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "announce");
        let v: Value = r.json().await.expect("json");
        v["last_event_id"].as_i64().expect("id")
    }

    /// One long-poll; returns (events, cursor).
    pub async fn poll(&self, query: &str, token: Option<&str>) -> (Vec<Value>, i64) {
        let r = self
            .get(&format!("/api/v1/events/poll?{query}"), token)
            .await;
        assert_eq!(r.status(), StatusCode::OK, "poll {query}");
        let v: Value = r.json().await.expect("json");
        (
            v["events"].as_array().cloned().unwrap_or_default(),
            v["cursor"].as_i64().expect("cursor"),
        )
    }

    /// Opens an SSE stream.
    pub async fn sse(
        &self,
        query: &str,
        token: Option<&str>,
        last_event_id: Option<i64>,
    ) -> SseClient {
        let mut r = self
            .client
            .get(self.url(&format!("/api/v1/events?{query}")))
            .header("Accept", "text/event-stream");
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(id) = last_event_id {
            r = r.header("Last-Event-ID", id.to_string());
        }
        let resp = r.send().await.expect("SSE request");
        SseClient::from_response(resp).await
    }
}

/// One parsed SSE event.
#[derive(Clone, Debug)]
pub struct SseEvent {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// A live SSE stream read by a background task.
pub struct SseClient {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    rx: mpsc::UnboundedReceiver<SseEvent>,
    pub error_body: Option<Value>,
}

impl SseClient {
    /// Reads an SSE response obtained elsewhere (another server process).
    pub async fn from_response_for_tests(resp: Response) -> Self {
        Self::from_response(resp).await
    }

    async fn from_response(resp: Response) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let (tx, rx) = mpsc::unbounded_channel();
        if !status.is_success() {
            let body = resp.json().await.ok();
            return Self {
                status,
                headers,
                rx,
                error_body: body,
            };
        }
        tokio::spawn(async move {
            let mut stream = resp.bytes_stream();
            let mut buf = String::new();
            while let Some(Ok(chunk)) = stream.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if let Some(e) = parse_block(&block)
                        && tx.send(e).is_err()
                    {
                        return;
                    }
                }
            }
        });
        Self {
            status,
            headers,
            rx,
            error_body: None,
        }
    }

    /// The next event, or `None` if the stream ended or nothing came within `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<SseEvent> {
        tokio::time::timeout(within, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next event; panics after 10 s.
    pub async fn next(&mut self) -> SseEvent {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an SSE event within 10 s")
    }

    /// The next `n` events that are not control events.
    pub async fn take(&mut self, n: usize) -> Vec<SseEvent> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let e = self.next().await;
            if !e.event.starts_with("stream.") {
                out.push(e);
            }
        }
        out
    }

    /// True if the stream ended (the server closed it) within `within`.
    pub async fn ends_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(None) => return true,
                Ok(Some(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    if data.is_empty() {
        return None; // a comment or a retry hint
    }
    Some(SseEvent {
        id,
        event,
        data: serde_json::from_str(&data).ok()?,
    })
}

/// Polls `check` until it holds or 10 s pass (for state that settles after an
/// event we cannot observe directly, such as a server noticing a disconnect).
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

impl TestApp {
    /// Creates an owner (as the admin) and logs in.
    pub async fn owner(&self, login: &str, store_ids: &[i64]) -> User {
        let r = self
            .post(
                "/api/v1/staff",
                Some(ADMIN_TOKEN),
                &json!({"name": login, "login": login, "password": "password123", "role": "owner", "store_ids": store_ids}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "create owner");
        let v: Value = r.json().await.expect("json");
        let token = self.login(login, "password123").await;
        User {
            id: v["id"].as_i64().expect("id"),
            login: login.into(),
            token,
        }
    }

    /// Enrols `user` as a member of `store` (as the admin).
    pub async fn join(&self, store: i64, user: &User) {
        let r = self
            .client
            .put(self.url(&format!("/api/v1/stores/{store}/members/{}", user.id)))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("PUT member");
        assert!(r.status().is_success(), "join: {}", r.status());
    }

    /// Creates a store (as the admin); returns its id.
    pub async fn store(&self, name: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/stores",
                Some(ADMIN_TOKEN),
                &json!({"name": name, "lat": 37.5, "lon": 127.0}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "create store");
        r.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id")
    }
}

impl TestApp {
    /// Starts a long-poll in the background (`query` after `?`) and returns once the
    /// server has registered it, so a test can then make the event that wakes it.
    /// The task yields the answer and how long the poll waited.
    pub async fn waiting_poll(
        &self,
        query: &str,
        token: &str,
    ) -> tokio::task::JoinHandle<(Value, std::time::Duration)> {
        let before = self.connection_count().await;
        let (client, url, token) = (
            self.client.clone(),
            self.url(&format!("/api/v1/events/poll?{query}")),
            token.to_string(),
        );
        let task = tokio::spawn(async move {
            let t = std::time::Instant::now();
            let v: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (v, t.elapsed())
        });
        assert!(
            eventually(|| async { self.connection_count().await > before }).await,
            "the poll is registered"
        );
        task
    }

    /// The admin's list of the streams and waiting polls held now
    /// (`{"connections": [...], "count": n}`).
    pub async fn connections(&self) -> Value {
        self.get("/api/v1/admin/connections", Some(ADMIN_TOKEN))
            .await
            .json::<Value>()
            .await
            .unwrap()
    }

    /// How many streams and waiting polls the server holds now.
    pub async fn connection_count(&self) -> i64 {
        self.connections().await["count"].as_i64().unwrap()
    }
}
