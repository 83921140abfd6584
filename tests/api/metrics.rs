use serde_json::{Value, json};

use crate::helpers::*;

/// Reads one sample's value from a Prometheus text scrape.
fn sample(scrape: &str, name: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from:\n{scrape}"))
}

#[tokio::test]
async fn a_scrape_shows_what_a_scripted_session_did() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut sse = app.sse("", Some(&kim.token), None).await;
    sse.next().await;
    for i in 0..3 {
        app.announce_to(kim.id, &format!("m{i}")).await;
    }
    sse.take(3).await;
    let (_, cursor) = app.poll("timeout=0", Some(&kim.token)).await;
    app.poll(&format!("cursor={cursor}&timeout=1"), Some(&kim.token))
        .await;
    let r = app
        .post(
            "/api/v1/announcements",
            Some(&kim.token),
            &json!({"text": "x", "all": true}),
        )
        .await;
    assert_eq!(r.status(), 403);

    let scrape = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(sample(&scrape, "pointcast_connections_sse"), 1.0);
    assert_eq!(sample(&scrape, "pointcast_events_published_total"), 3.0);
    assert_eq!(sample(&scrape, "pointcast_events_delivered_total"), 3.0);
    assert_eq!(sample(&scrape, "pointcast_poll_timeouts_total"), 1.0);
    assert_eq!(sample(&scrape, "pointcast_poll_wait_seconds_count"), 2.0);
    assert_eq!(sample(&scrape, "pointcast_delivery_lag_seconds_count"), 3.0);
    assert!(sample(&scrape, "pointcast_http_responses_total{class=\"4xx\"}") >= 1.0);
    assert!(sample(&scrape, "pointcast_db_transaction_seconds_count") >= 5.0);
    assert_eq!(sample(&scrape, "pointcast_grants_total"), 0.0);
    assert_eq!(sample(&scrape, "pointcast_orders_total"), 0.0);
    // The process's own figures, read from /proc at scrape time.
    assert!(sample(&scrape, "process_resident_memory_bytes") > 1e6);
    assert!(sample(&scrape, "process_open_fds") >= 3.0);
    assert!(sample(&scrape, "process_cpu_seconds_total") > 0.0);
    assert!(scrape.contains("# TYPE process_cpu_seconds_total counter"));
}

#[tokio::test]
async fn grants_and_orders_are_counted_once_even_when_retried() {
    let app = spawn_app().await;
    let store = app.store("Seoul").await;
    let kim = app.customer("Kim").await;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/stores/{store}/members/{}", kim.id)))
        .bearer_auth(&kim.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let product = app
        .post(
            "/api/v1/products",
            Some(ADMIN_TOKEN),
            &json!({"title": "T", "artist": "A", "price": 1000}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.client
        .put(app.url(&format!("/api/v1/stores/{store}/stock/{product}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let r = app
            .client
            .post(app.url(&format!(
                "/api/v1/stores/{store}/members/{}/mileage",
                kim.id
            )))
            .bearer_auth(ADMIN_TOKEN)
            .header("Idempotency-Key", "g1")
            .json(&json!({"points": 100, "reason": "visit", "reason_code": "promotion"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&kim.token)
            .header("Idempotency-Key", "o1")
            .json(&json!({"store_id": store, "product_id": product, "quantity": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let scrape = app.get("/metrics", None).await.text().await.unwrap();
    assert_eq!(sample(&scrape, "pointcast_grants_total"), 1.0);
    assert_eq!(sample(&scrape, "pointcast_orders_total"), 1.0);
}

/// SQLite's group commit: every write is counted and answered after a WAL sync.
/// (Whether concurrent writes share a sync depends on timing; the unit test in
/// `src/store/durable.rs` shows it deterministically.)
#[tokio::test]
async fn writes_are_answered_after_wal_syncs_on_sqlite() {
    let app = spawn_app().await;
    if app.db.is_postgres() {
        return; // PostgreSQL's COMMIT is durable by itself.
    }
    let kim = app.customer("Kim").await;
    let before = app.get("/metrics", None).await.text().await.unwrap();
    let (commits0, syncs0, batches0) = (
        sample(&before, "pointcast_db_group_commits_total"),
        sample(&before, "pointcast_db_wal_syncs_total"),
        sample(&before, "pointcast_db_write_batches_total"),
    );
    let texts: Vec<String> = (0..64).map(|i| format!("m{i}")).collect();
    let sends = texts.iter().map(|t| app.announce_to(kim.id, t));
    futures_util::future::join_all(sends).await;
    let after = app.get("/metrics", None).await.text().await.unwrap();
    let commits = sample(&after, "pointcast_db_group_commits_total") - commits0;
    let syncs = sample(&after, "pointcast_db_wal_syncs_total") - syncs0;
    let batches = sample(&after, "pointcast_db_write_batches_total") - batches0;
    assert!(commits >= 64.0, "{commits} commits");
    // Each batch is one transaction of one or more commits.
    assert!(
        batches >= 1.0 && batches <= commits,
        "{batches} batches for {commits} commits"
    );
    assert!(
        syncs >= 1.0 && syncs <= commits,
        "{syncs} syncs for {commits} commits"
    );
}
