//! The publish API: integrators' `app.` events through the durable log, to users,
//! stores and admin-created topics, with every refusal changing nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn publish(
    app: &TestApp,
    token: &str,
    channel: &str,
    ty: &str,
    data: Value,
) -> (StatusCode, Value) {
    let r = app
        .post(
            "/api/v1/publish",
            Some(token),
            &json!({"channel": channel, "type": ty, "data": data}),
        )
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The log's head as an admin's poll sees it.
async fn head(app: &TestApp) -> i64 {
    app.poll("timeout=0", Some(ADMIN_TOKEN)).await.1
}

#[tokio::test]
async fn an_admin_topic_carries_published_events_to_anyone_and_they_resume_like_any_other() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/topics",
            Some(ADMIN_TOKEN),
            &json!({"name": "deals"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .post(
            "/api/v1/topics",
            Some(ADMIN_TOKEN),
            &json!({"name": "deals"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let topics: Value = app.get("/api/v1/topics", None).await.json().await.unwrap();
    assert_eq!(topics[0]["name"], "deals");

    let (_, start) = app.poll("topics=deals&timeout=0", None).await;
    let mut sse = app.sse("topics=deals", None, None).await;
    sse.next().await; // stream.open
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, v) = publish(
            &app,
            ADMIN_TOKEN,
            "deals",
            "app.deal.posted",
            json!({"n": i, "title": "LP sale"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["channel"], "deals");
        ids.push(v["id"].as_i64().unwrap());
    }
    let live = sse.take(3).await;
    assert_eq!(live[0].event, "app.deal.posted");
    assert_eq!(live[0].data["data"], json!({"n": 0, "title": "LP sale"}));
    assert_eq!(live.iter().map(|e| e.id.unwrap()).collect::<Vec<_>>(), ids);

    let (resumed, _) = app
        .poll(&format!("topics=deals&cursor={start}&timeout=0"), None)
        .await;
    assert_eq!(
        resumed
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        ids
    );
    let (tail, _) = app
        .poll(&format!("topics=deals&cursor={}&timeout=0", ids[0]), None)
        .await;
    assert_eq!(tail.len(), 2, "resumes after the cursor");
    let (products_only, _) = app
        .poll(&format!("topics=products&cursor={start}&timeout=0"), None)
        .await;
    assert!(
        products_only.is_empty(),
        "a topic is read only when asked for"
    );
}

#[tokio::test]
async fn a_publish_key_reaches_its_stores_and_their_members_only() {
    let app = spawn_app().await;
    let store = app.store("One").await;
    let other = app.store("Two").await;
    let kim = app.customer("Kim").await;
    let lee = app.customer("Lee").await;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/stores/{store}/members/{}", kim.id)))
        .bearer_auth(&kim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, key) = app.make_key("shop backend", &["publish"], &[store]).await;
    let (_, reader) = app.make_key("dash", &["read"], &[store]).await;

    let mut sse = app.sse("", Some(&kim.token), None).await;
    sse.next().await;
    let (s, _) = publish(
        &app,
        &key,
        &format!("user:{}", kim.id),
        "app.parcel.shipped",
        json!({"tracking": "KR1"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let got = sse.next().await;
    assert_eq!(got.event, "app.parcel.shipped");
    assert_eq!(got.data["channel"], format!("user:{}", kim.id));
    assert_eq!(got.data["data"]["tracking"], "KR1");

    let (s, _) = publish(
        &app,
        &key,
        &format!("store:{store}"),
        "app.till.opened",
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);

    let before = head(&app).await;
    let (s, _) = publish(&app, &key, &format!("store:{other}"), "app.x", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another store");
    let (s, _) = publish(&app, &key, &format!("user:{}", lee.id), "app.x", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not a member of its stores");
    let (s, v) = publish(&app, &reader, &format!("store:{store}"), "app.x", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a read key");
    assert_eq!(v["error"]["code"], "key_scope");
    let (s, _) = publish(
        &app,
        &kim.token,
        &format!("user:{}", kim.id),
        "app.x",
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a customer");
    assert_eq!(head(&app).await, before, "refusals append nothing");
}

#[tokio::test]
async fn malformed_publishes_are_refused_with_clear_codes_and_change_nothing() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let user = format!("user:{}", kim.id);
    let before = head(&app).await;
    let cases: Vec<(&str, &str, Value, StatusCode, &str)> = vec![
        (
            &user,
            "mileage.granted",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
        ),
        (
            &user,
            "stream.reset",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
        ),
        (
            &user,
            "app.Upper",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
        ),
        (
            &user,
            "app.list",
            json!([1, 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_data",
        ),
        (
            &user,
            "app.text",
            json!("hi"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_data",
        ),
        (
            "admin",
            "app.x",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_channel",
        ),
        (
            "user:abc",
            "app.x",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_channel",
        ),
        (
            "nosuchtopic",
            "app.x",
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "user:999999",
            "app.x",
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "store:999999",
            "app.x",
            json!({}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            &user,
            "app.big",
            json!({"blob": "x".repeat(16 * 1024)}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (channel, ty, data, status, code) in cases {
        let (s, v) = publish(&app, ADMIN_TOKEN, channel, ty, data).await;
        assert_eq!(
            (s, v["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{channel} {ty}"
        );
    }
    let (s, _) = publish(
        &app,
        ADMIN_TOKEN,
        &user,
        "app.fits",
        json!({"blob": "x".repeat(16 * 1024 - 20)}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "just under 16 KiB is accepted");
    assert_eq!(
        head(&app).await,
        before + 1,
        "only the valid one was appended"
    );
    let r = app
        .post(
            "/api/v1/topics",
            Some(ADMIN_TOKEN),
            &json!({"name": "products"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "pointcast's own names are reserved"
    );
    let r = app
        .post("/api/v1/topics", Some(&kim.token), &json!({"name": "mine"}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "admins create topics");
}
