//! The write flows on a database pool of one connection (`--database-pool 1`).
//!
//! A flow that holds a transaction must not wait for a second pooled connection
//! (`Db::begin`): on PostgreSQL the pool is shared, and as many such flows as the
//! pool has connections would wait on each other until the acquire timeout and
//! answer 500. With one connection the first such read waits at once, so each flow
//! here answers as it should or fails this test. (On SQLite the writer has its own
//! connection, so there the test only checks that one reader is enough.)

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::lifecycle::{bought, give_back, give_points, json_of, key, open_shop, returned};

#[tokio::test]
async fn every_write_flow_finishes_on_one_pooled_connection() {
    let app = spawn_app_with(|s| s.database_pool = 1).await;
    let shop = open_shop(&app, "one", json!({"earn_percent": 10}), 10_000, 10).await;
    let elsewhere = open_shop(&app, "other", json!({}), 1_000, 1).await;
    let kim = app.customer("Kim").await;

    give_points(&app, &shop, &kim, 500).await;
    let order = bought(&app, &kim, shop.store, shop.album, 2, None).await;
    let id = order["id"].as_i64().unwrap();
    let r = give_back(&app, &elsewhere.owner.token, id, 1, &key()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "another store's owner");
    returned(&app, &shop.owner.token, id, 1).await;

    let r = app
        .post(
            "/api/v1/announcements",
            Some(&shop.owner.token),
            &json!({"text": "new stock on Friday", "store_id": shop.store}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", json_of(r).await);

    let (_, publisher) = app.make_key("till", &["publish"], &[shop.store]).await;
    for (token, channel, status) in [
        (
            ADMIN_TOKEN,
            format!("store:{}", shop.store),
            StatusCode::CREATED,
        ),
        (ADMIN_TOKEN, "user:999999".into(), StatusCode::NOT_FOUND),
        (ADMIN_TOKEN, "store:999999".into(), StatusCode::NOT_FOUND),
        (
            publisher.as_str(),
            format!("user:{}", kim.id),
            StatusCode::CREATED,
        ),
        (
            publisher.as_str(),
            format!("store:{}", elsewhere.store),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let r = app
            .post(
                "/api/v1/publish",
                Some(token),
                &json!({"channel": channel, "type": "app.till.opened", "data": {}}),
            )
            .await;
        assert_eq!(r.status(), status, "publish to {channel}");
    }
    app.stop().await;
}
