//! "Tell me when it is back in stock" (#17): watching a sold-out album (`watch`),
//! and `stock.back` when a count, an adjustment or a return brings it back from 0
//! (`back`). This file holds their helpers.

mod back;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A store with its owner and an album with `stock` units there.
pub struct Shop {
    pub store: i64,
    pub owner: User,
    pub album: i64,
}

pub async fn open_shop(app: &TestApp, tag: &str, stock: i64) -> Shop {
    let store = app.store(&format!("Store {tag}")).await;
    let owner = app.owner(&format!("owner.{tag}"), &[store]).await;
    let r = app
        .post(
            "/api/v1/products",
            Some(ADMIN_TOKEN),
            &json!({"title": format!("Album {tag}"), "artist": "Test Artist", "price": 10_000}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "create album");
    let album = json_of(r).await["id"].as_i64().unwrap();
    let r = set_stock(app, ADMIN_TOKEN, store, album, stock).await;
    assert_eq!(r.status(), StatusCode::OK, "set stock");
    Shop {
        store,
        owner,
        album,
    }
}

pub async fn json_of(r: Response) -> Value {
    r.json().await.expect("json body")
}

pub async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

pub fn watch_url(store: i64, album: i64) -> String {
    format!("/api/v1/stores/{store}/stock/{album}/watch")
}

pub async fn watch(app: &TestApp, token: &str, store: i64, album: i64) -> Response {
    app.client
        .put(app.url(&watch_url(store, album)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

pub async fn unwatch(app: &TestApp, token: &str, store: i64, album: i64) -> Response {
    app.client
        .delete(app.url(&watch_url(store, album)))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// `user`'s watches, as they see them.
pub async fn watches(app: &TestApp, user: &User) -> Vec<Value> {
    let r = app
        .get(
            &format!("/api/v1/users/{}/watches", user.id),
            Some(&user.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    json_of(r).await["watches"].as_array().unwrap().clone()
}

pub async fn set_stock(app: &TestApp, token: &str, store: i64, album: i64, q: i64) -> Response {
    app.client
        .put(app.url(&format!("/api/v1/stores/{store}/stock/{album}")))
        .bearer_auth(token)
        .json(&json!({"quantity": q, "reason": "delivery"}))
        .send()
        .await
        .unwrap()
}

pub async fn adjust(app: &TestApp, token: &str, store: i64, album: i64, delta: i64) -> Response {
    app.post(
        &format!("/api/v1/stores/{store}/stock/{album}/adjust"),
        Some(token),
        &json!({"delta": delta}),
    )
    .await
}

/// The current quantity of `album` at `store` (0 if never held).
pub async fn stock(app: &TestApp, store: i64, album: i64) -> i64 {
    let v = json_of(
        app.get(&format!("/api/v1/stores/{store}/stock"), None)
            .await,
    )
    .await;
    v["stock"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["product_id"] == album)
        .map_or(0, |s| s["quantity"].as_i64().unwrap())
}

/// Every `stock.back` stored on `user`'s channels.
pub async fn told(app: &TestApp, user: &User) -> Vec<Value> {
    let (events, _) = app
        .poll(
            "cursor=0&timeout=0&topics=&types=stock.back",
            Some(&user.token),
        )
        .await;
    events
}

/// A fresh `Idempotency-Key`.
pub fn key() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("watch-{}", N.fetch_add(1, Ordering::Relaxed))
}
