//! Scheduled jobs with a clock the test moves by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use pointcast::db::jobs::claim;
use pointcast::jobs::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn app_at(clock: &Arc<ManualClock>) -> TestApp {
    let clock = Arc::clone(clock);
    spawn_app_with(move |s| s.clock = clock).await
}

async fn job(app: &TestApp, name: &str) -> Value {
    let v: Value = app
        .get("/api/v1/admin/jobs", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    v["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == name)
        .cloned()
        .unwrap()
}

async fn runs(app: &TestApp, name: &str) -> Vec<Value> {
    let v: Value = app
        .get(
            &format!("/api/v1/admin/jobs/{name}/runs"),
            Some(ADMIN_TOKEN),
        )
        .await
        .json()
        .await
        .unwrap();
    v["runs"].as_array().unwrap().clone()
}

/// The next `job.completed` on the admin's stream.
async fn completed(sse: &mut SseClient) -> Value {
    loop {
        let e = sse.next().await;
        if e.event == "job.completed" {
            return e.data["data"].clone();
        }
    }
}

#[tokio::test]
async fn a_schedule_fires_at_its_time_and_moves_to_the_next_day() {
    let clock = Arc::new(ManualClock::new(at("2026-11-21T23:00:00Z")));
    let app = app_at(&clock).await;
    assert_eq!(
        job(&app, "sales-rollup").await["next_run_at"],
        "2026-11-22T00:10:00.000Z"
    );
    let mut admin = app.sse("types=job.", Some(ADMIN_TOKEN), None).await;
    admin.next().await;

    clock.set(at("2026-11-22T00:09:00Z"));
    assert!(
        admin
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "not before its time"
    );
    clock.set(at("2026-11-22T00:10:00Z"));
    let done = completed(&mut admin).await;
    assert_eq!(done["job"], "sales-rollup");
    let r = runs(&app, "sales-rollup").await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["trigger"], "schedule");
    assert_eq!(
        job(&app, "sales-rollup").await["next_run_at"],
        "2026-11-23T00:10:00.000Z"
    );
    assert!(runs(&app, "optimal-stock").await.is_empty());
}

#[tokio::test]
async fn a_changed_schedule_takes_effect_at_once() {
    let clock = Arc::new(ManualClock::new(at("2026-11-21T23:00:00Z")));
    let app = app_at(&clock).await;
    let mut admin = app.sse("types=job.", Some(ADMIN_TOKEN), None).await;
    admin.next().await;
    let r = app
        .client
        .put(app.url("/api/v1/admin/jobs/optimal-stock"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"schedule": "daily 12:00", "time_zone": "Asia/Seoul"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let j: Value = r.json().await.unwrap();
    // 12:00 in Seoul is 03:00 UTC.
    assert_eq!(j["next_run_at"], "2026-11-22T03:00:00.000Z");
    assert_eq!(j["time_zone"], "Asia/Seoul");
    clock.set(at("2026-11-22T03:00:00Z"));
    let mut seen = Vec::new();
    while !seen.contains(&"optimal-stock".to_string()) {
        seen.push(
            completed(&mut admin).await["job"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // sales-rollup (00:10) was due on the way; optimal-stock ran at its new time.
    assert_eq!(runs(&app, "optimal-stock").await.len(), 1);
}

#[tokio::test]
async fn a_run_missed_while_down_is_caught_up_once() {
    let clock = Arc::new(ManualClock::new(at("2026-11-21T23:00:00Z")));
    let app = app_at(&clock).await;
    let db = app.db.clone();
    app.stop().await;
    clock.set(at("2026-11-25T01:00:00Z")); // three daily runs missed
    let c = Arc::clone(&clock);
    let app = spawn_on(db, move |s| s.clock = c).await;
    assert!(eventually(|| async { runs(&app, "sales-rollup").await.len() == 1 }).await);
    let r = runs(&app, "sales-rollup").await;
    assert_eq!(r[0]["trigger"], "catch-up");
    assert_eq!(
        job(&app, "sales-rollup").await["next_run_at"],
        "2026-11-26T00:10:00.000Z"
    );
    // optimal-stock (06:00) and mileage-expiry were missed too and are caught up
    // once as well.
    assert!(eventually(|| async { runs(&app, "optimal-stock").await.len() == 1 }).await);
    assert!(eventually(|| async { runs(&app, "mileage-expiry").await.len() == 1 }).await);
    assert!(admin_poll_quiet(&app, 3).await);
    assert_eq!(runs(&app, "sales-rollup").await.len(), 1);
}

/// Once `completed` runs have been announced, gives the scheduler a moment with
/// nothing due, via a long-poll that times out; true when no job event came.
/// (A run's row is readable a moment before its event is published, so the cursor
/// is taken after the announcements, not after the rows.)
async fn admin_poll_quiet(app: &TestApp, completed: usize) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let cursor = loop {
        let (events, cursor) = app
            .poll("cursor=0&timeout=0&types=job.completed", Some(ADMIN_TOKEN))
            .await;
        if events.len() >= completed || tokio::time::Instant::now() > deadline {
            break cursor;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let (events, _) = app
        .poll(
            &format!("cursor={cursor}&timeout=1&types=job."),
            Some(ADMIN_TOKEN),
        )
        .await;
    events.is_empty()
}

#[tokio::test]
async fn overlapping_triggers_make_one_run_at_a_time() {
    let clock = Arc::new(ManualClock::new(at("2026-11-21T12:00:00Z")));
    let app = app_at(&clock).await;
    let posts = (0..8).map(|_| {
        let (c, u) = (
            app.client.clone(),
            app.url("/api/v1/admin/jobs/sales-rollup/run"),
        );
        tokio::spawn(async move {
            c.post(u)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(posts)
        .await
        .into_iter()
        .map(|s| s.unwrap())
        .collect();
    let ok = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT)
    );
    let r = runs(&app, "sales-rollup").await;
    assert_eq!(r.len(), ok, "one run per accepted trigger");
    // The clock stands still, so runs that did not overlap share a start time; the
    // lease is what keeps them apart: at most one was holding the job at any moment.
    let db = pointcast::db::Db::connect(&app.db.url).await.unwrap();
    let now = clock_ms("2026-11-21T12:00:00Z");
    let first = claim(
        &db,
        "sales-rollup",
        now,
        now + 60_000,
        None,
        false,
        "manual",
    )
    .await
    .unwrap();
    assert!(first.is_some());
    let second = claim(
        &db,
        "sales-rollup",
        now,
        now + 60_000,
        None,
        false,
        "manual",
    )
    .await
    .unwrap();
    assert!(second.is_none(), "a held lease refuses a second run");
    let after_lease = claim(
        &db,
        "sales-rollup",
        now + 61_000,
        now + 120_000,
        None,
        false,
        "manual",
    )
    .await
    .unwrap();
    assert!(
        after_lease.is_some(),
        "an expired lease (a crashed run) frees the job"
    );
    let r = app
        .post(
            "/api/v1/admin/jobs/sales-rollup/run",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "job_running"
    );
}

fn clock_ms(s: &str) -> i64 {
    at(s).timestamp_millis()
}

#[tokio::test]
async fn malformed_schedules_and_unknown_jobs_change_nothing() {
    let clock = Arc::new(ManualClock::new(at("2026-11-21T23:00:00Z")));
    let app = app_at(&clock).await;
    let before = job(&app, "sales-rollup").await;
    for body in [
        json!({"schedule": "daily 25:00"}),
        json!({"schedule": "every day"}),
        json!({"schedule": "cron * * *"}),
        json!({"schedule": "daily 03:00", "time_zone": "Nowhere/Atlantis"}),
    ] {
        let r = app
            .client
            .put(app.url("/api/v1/admin/jobs/sales-rollup"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_schedule");
    }
    assert_eq!(
        job(&app, "sales-rollup").await,
        before,
        "the old schedule is kept"
    );
    let r = app
        .client
        .put(app.url("/api/v1/admin/jobs/nope"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"schedule": "daily 01:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.post("/api/v1/admin/jobs/nope/run", Some(ADMIN_TOKEN), &json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let kim = app.customer("Kim").await;
    assert_eq!(
        app.get("/api/v1/admin/jobs", Some(&kim.token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(
            "/api/v1/admin/jobs/sales-rollup/run",
            Some(&kim.token),
            &json!({})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

async fn order(app: &TestApp, token: &str, store: i64, product: i64, quantity: i64) {
    let r = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("k-{store}-{product}-{quantity}"))
        .json(&json!({"store_id": store, "product_id": product, "quantity": quantity}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn album_with_stock(app: &TestApp, store: i64, title: &str, quantity: i64) -> i64 {
    let r = app
        .post(
            "/api/v1/products",
            Some(ADMIN_TOKEN),
            &json!({"title": title, "artist": "A", "price": 20000}),
        )
        .await;
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = app
        .client
        .put(app.url(&format!("/api/v1/stores/{store}/stock/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"quantity": quantity, "reason": "delivery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    id
}

#[tokio::test]
async fn seeded_sales_give_the_documented_optimum_and_one_stock_low_live() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = app_at(&clock).await;
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.hong", &[store]).await;
    let kim = app.customer("Kim").await;
    let hot = album_with_stock(&app, store, "Hot", 30).await;
    let slow = album_with_stock(&app, store, "Slow", 100).await;
    order(&app, &kim.token, store, hot, 28).await; // 2 left
    order(&app, &kim.token, store, slow, 3).await; // 97 left
    let mut staff = app.sse("types=stock.low", Some(&owner.token), None).await;
    staff.next().await;

    let r = app
        .post(
            "/api/v1/admin/jobs/optimal-stock/run",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let run: Value = r.json().await.unwrap();
    assert_eq!(run["outcome"], "ok");
    assert_eq!(run["summary"], json!({"products": 2, "low": 1}));

    // optimum = ceil(sold / 14 * (3 + 2)): Hot 28 -> 10, Slow 3 -> 2.
    let low = staff.take(1).await.remove(0);
    assert_eq!(low.data["data"]["product_id"], hot);
    assert_eq!(low.data["data"]["quantity"], 2);
    assert_eq!(low.data["data"]["optimum"], 10);
    assert!(
        staff
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "one stock.low"
    );

    let inv: Value = app
        .get(
            &format!("/api/v1/stores/{store}/inventory"),
            Some(&owner.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let row = |id: i64| {
        inv["inventory"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["product_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        (
            row(hot)["optimal_stock"].clone(),
            row(hot)["status"].clone()
        ),
        (json!(10), json!("low"))
    );
    assert_eq!(
        (
            row(slow)["optimal_stock"].clone(),
            row(slow)["status"].clone()
        ),
        (json!(2), json!("ok"))
    );

    let r = app
        .post(
            "/api/v1/admin/jobs/sales-rollup/run",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    let run: Value = r.json().await.unwrap();
    assert_eq!(run["outcome"], "ok");
    assert_eq!(run["summary"]["rows"], 2);
}
