//! One shop, one loyalty program (#16) over real HTTP: a store's policy, what a
//! purchase earns and coupons at checkout (`purchases`), returns (`returns`), the
//! no-farming rule, the races and a property test (`farming`), and an upgrade in
//! place from the previous release (`upgrade`). This file holds their helpers.

mod farming;
mod purchases;
mod returns;
mod upgrade;

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A store with its owner and one album in stock.
pub struct Shop {
    pub store: i64,
    pub owner: User,
    pub album: i64,
}

/// A store named after `tag` with `policy` PATCHed in by its owner, and an album
/// at `price` with `stock` units there.
pub async fn open_shop(app: &TestApp, tag: &str, policy: Value, price: i64, stock: i64) -> Shop {
    let store = app.store(&format!("Store {tag}")).await;
    let owner = app.owner(&format!("owner.{tag}"), &[store]).await;
    if policy != json!({}) {
        let r = patch_store(app, &owner.token, store, &policy).await;
        assert_eq!(r.status(), StatusCode::OK, "policy {policy}");
    }
    let album = new_album(app, store, &format!("Album {tag}"), price, stock).await;
    Shop {
        store,
        owner,
        album,
    }
}

/// An album at `price` with `stock` units at `store`; returns its id.
pub async fn new_album(app: &TestApp, store: i64, title: &str, price: i64, stock: i64) -> i64 {
    let r = app
        .post(
            "/api/v1/products",
            Some(ADMIN_TOKEN),
            &json!({"title": title, "artist": "Test Artist", "price": price}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "create album");
    let album = json_of(r).await["id"].as_i64().unwrap();
    let r = app
        .client
        .put(app.url(&format!("/api/v1/stores/{store}/stock/{album}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"quantity": stock, "reason": "delivery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "set stock");
    album
}

pub async fn patch_store(app: &TestApp, token: &str, store: i64, body: &Value) -> Response {
    app.client
        .patch(app.url(&format!("/api/v1/stores/{store}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A fresh `Idempotency-Key`.
pub fn key() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("lc-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// `POST /orders` with a fresh key.
pub async fn buy(
    app: &TestApp,
    who: &User,
    store: i64,
    album: i64,
    quantity: i64,
    coupon: Option<i64>,
) -> Response {
    buy_with_key(app, who, store, album, quantity, coupon, &key()).await
}

pub async fn buy_with_key(
    app: &TestApp,
    who: &User,
    store: i64,
    album: i64,
    quantity: i64,
    coupon: Option<i64>,
    key: &str,
) -> Response {
    let mut body = json!({"store_id": store, "product_id": album, "quantity": quantity});
    if let Some(c) = coupon {
        body["coupon_id"] = json!(c);
    }
    app.client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&who.token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A purchase that must succeed; returns the order.
pub async fn bought(
    app: &TestApp,
    who: &User,
    store: i64,
    album: i64,
    quantity: i64,
    coupon: Option<i64>,
) -> Value {
    let r = buy(app, who, store, album, quantity, coupon).await;
    let status = r.status();
    let v = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "order: {v}");
    v["order"].clone()
}

/// `POST /orders/{id}/returns`.
pub async fn give_back(
    app: &TestApp,
    token: &str,
    order: i64,
    quantity: i64,
    key: &str,
) -> Response {
    app.client
        .post(app.url(&format!("/api/v1/orders/{order}/returns")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"quantity": quantity, "reason": "changed their mind"}))
        .send()
        .await
        .unwrap()
}

/// A return that must succeed; returns its answer.
pub async fn returned(app: &TestApp, token: &str, order: i64, quantity: i64) -> Value {
    let r = give_back(app, token, order, quantity, &key()).await;
    let status = r.status();
    let v = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "return: {v}");
    v
}

/// Joins `user` to the shop's store and grants `points` as its owner.
pub async fn give_points(app: &TestApp, shop: &Shop, user: &User, points: i64) -> Value {
    let r = app
        .client
        .put(app.url(&format!(
            "/api/v1/stores/{}/members/{}",
            shop.store, user.id
        )))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "join");
    let r = app
        .client
        .post(app.url(&format!(
            "/api/v1/stores/{}/members/{}/mileage",
            shop.store, user.id
        )))
        .bearer_auth(&shop.owner.token)
        .header("Idempotency-Key", key())
        .json(&json!({"points": points, "reason": "welcome", "reason_code": "promotion"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "grant");
    json_of(r).await
}

pub async fn json_of(r: Response) -> Value {
    r.json().await.expect("a JSON body")
}

pub async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get(path, Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    json_of(r).await
}

/// The user's row at `store` in `GET /users/{id}/mileage`, if any.
pub async fn balance_row(app: &TestApp, user: &User, store: i64) -> Option<Value> {
    let v = get_json(
        app,
        &format!("/api/v1/users/{}/mileage", user.id),
        &user.token,
    )
    .await;
    v["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["store_id"] == store)
        .cloned()
}

pub async fn balance(app: &TestApp, user: &User, store: i64) -> i64 {
    balance_row(app, user, store)
        .await
        .map_or(0, |b| b["balance"].as_i64().unwrap())
}

/// The user's ledger entries at `store`, oldest first.
pub async fn entries(app: &TestApp, user: &User, store: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let v = get_json(
            app,
            &format!(
                "/api/v1/users/{}/mileage/entries?store_id={store}&limit=200{before}",
                user.id
            ),
            &user.token,
        )
        .await;
        out.extend(v["entries"].as_array().unwrap().iter().cloned());
        match v["next_before"].as_i64() {
            Some(id) => before = format!("&before={id}"),
            None => break,
        }
    }
    out.reverse();
    out
}

/// The user's coupons (every status), at `store`.
pub async fn coupons(app: &TestApp, user: &User, store: i64) -> Vec<Value> {
    let v = get_json(
        app,
        &format!("/api/v1/users/{}/coupons", user.id),
        &user.token,
    )
    .await;
    v["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["store_id"] == store)
        .cloned()
        .collect()
}

pub async fn coupon_status(app: &TestApp, user: &User, store: i64, coupon: i64) -> String {
    coupons(app, user, store)
        .await
        .iter()
        .find(|c| c["id"] == coupon)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

pub async fn orders(app: &TestApp, user: &User) -> Vec<Value> {
    let v = get_json(
        app,
        &format!("/api/v1/users/{}/orders", user.id),
        &user.token,
    )
    .await;
    v["orders"].as_array().unwrap().clone()
}

pub async fn order_of(app: &TestApp, user: &User, id: i64) -> Value {
    orders(app, user)
        .await
        .into_iter()
        .find(|o| o["id"] == id)
        .expect("the order is listed")
}

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

/// Everything a refused request must leave as it was, for one customer and shop.
#[derive(Debug, PartialEq)]
pub struct Books {
    pub stock: i64,
    pub balance: Option<Value>,
    pub entries: Vec<Value>,
    pub coupons: Vec<Value>,
    pub orders: Vec<Value>,
}

pub async fn books(app: &TestApp, user: &User, shop: &Shop) -> Books {
    Books {
        stock: stock(app, shop.store, shop.album).await,
        balance: balance_row(app, user, shop.store).await,
        entries: entries(app, user, shop.store).await,
        coupons: coupons(app, user, shop.store).await,
        orders: orders(app, user).await,
    }
}

/// Asserts balance == sum of entries, and each entry's running balance.
pub async fn assert_ledger_adds_up(app: &TestApp, user: &User, store: i64) -> Vec<Value> {
    let list = entries(app, user, store).await;
    let mut running = 0;
    for e in &list {
        running += e["points"].as_i64().unwrap();
        assert_eq!(e["balance_after"], running, "entry {e}");
    }
    assert_eq!(
        balance(app, user, store).await,
        running,
        "balance = entries"
    );
    list
}

/// A live stream of `token`'s events of the given type prefixes, past its opening.
pub async fn live(app: &TestApp, token: &str, types: &str) -> SseClient {
    let mut s = app
        .sse(&format!("topics=&types={types}"), Some(token), None)
        .await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(s.next().await.event, "stream.open");
    s
}

pub fn kinds(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

/// Every stored event of `token`'s channels whose type starts with `prefix`.
pub async fn logged(app: &TestApp, token: &str, prefix: &str) -> Vec<Value> {
    let (events, _) = app
        .poll(
            &format!("cursor=0&timeout=0&topics=&types={prefix}"),
            Some(token),
        )
        .await;
    events
}
