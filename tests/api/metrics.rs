use serde_json::json;

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
}
