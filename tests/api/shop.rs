//! The record shop over real HTTP: catalog, stock, orders under concurrency, sales,
//! the demo data and the terminal client.

// Test helpers below unwrap like the tests themselves: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

// ---- helpers of this area ----

impl TestApp {
    /// Creates an album as the admin; returns its id.
    async fn album(&self, title: &str, price: i64) -> i64 {
        let r = self
            .post(
                "/api/v1/products",
                Some(ADMIN_TOKEN),
                &json!({"title": title, "artist": "Test Artist", "price": price}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "create album");
        r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    }

    async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self.client.put(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    async fn set_stock(&self, store: i64, product: i64, quantity: i64) {
        let r = self
            .put_json(
                &format!("/api/v1/stores/{store}/stock/{product}"),
                Some(ADMIN_TOKEN),
                &json!({"quantity": quantity, "reason": "delivery"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "set stock");
    }

    /// The quantity of `product` at `store` (0 if the store never held it).
    async fn stock_of(&self, store: i64, product: i64) -> i64 {
        let v: Value = self
            .get(&format!("/api/v1/stores/{store}/stock"), None)
            .await
            .json()
            .await
            .unwrap();
        v["stock"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["product_id"] == product)
            .map_or(0, |s| s["quantity"].as_i64().unwrap())
    }

    async fn order(&self, token: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self
            .client
            .post(self.url("/api/v1/orders"))
            .bearer_auth(token)
            .json(body);
        if let Some(k) = key {
            r = r.header("Idempotency-Key", k);
        }
        r.send().await.unwrap()
    }

    async fn orders_of(&self, user: &User) -> Vec<Value> {
        let v: Value = self
            .get(
                &format!("/api/v1/users/{}/orders", user.id),
                Some(&user.token),
            )
            .await
            .json()
            .await
            .unwrap();
        v["orders"].as_array().unwrap().clone()
    }
}

async fn error_code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

// ---- orders ----

#[tokio::test]
async fn two_hundred_concurrent_orders_against_120_in_stock_sell_exactly_120() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let album = app.album("Abbey Road", 38_000).await;
    let mut products = app.sse("topics=products", None, None).await;
    assert_eq!(products.next().await.event, "stream.open");
    app.set_stock(store, album, 120).await;
    let mut buyers = Vec::new();
    for i in 0..10 {
        buyers.push(app.customer(&format!("Buyer {i}")).await);
    }

    // A watcher reads the stock throughout and records anything below zero.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (client, url, done) = (
            app.client.clone(),
            app.url(&format!("/api/v1/stores/{store}/stock")),
            Arc::clone(&done),
        );
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let v: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
                seen.push(v["stock"][0]["quantity"].as_i64().unwrap());
            }
            seen
        })
    };
    let mut orders = Vec::new();
    for n in 0..200 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/orders"));
        let token = buyers[n % 10].token.clone();
        orders.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", format!("order-{n}"))
                .json(&json!({"store_id": store, "product_id": album, "quantity": 1}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let (mut placed, mut refused) = (0, 0);
    for o in orders {
        let (status, body) = o.await.unwrap();
        match status {
            StatusCode::CREATED => placed += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["error"]["code"], "insufficient_stock");
                assert_eq!(body["error"]["available"], 0);
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    let seen = watcher.await.unwrap();

    assert_eq!((placed, refused), (120, 80));
    assert_eq!(app.stock_of(store, album).await, 0);
    assert!(seen.iter().all(|q| (0..=120).contains(q)), "{seen:?}");
    let mut sold = 0;
    for b in &buyers {
        sold += app
            .orders_of(b)
            .await
            .iter()
            .map(|o| o["quantity"].as_i64().unwrap())
            .sum::<i64>();
    }
    assert_eq!(sold, 120, "the orders add up to the stock taken");

    // The public topic saw the delivery and every sale, in order, down to 0.
    // (The album's creation may reach the stream too, as it opened just after it.)
    let mut events = Vec::new();
    while events.len() < 121 {
        let e = products.take(1).await.remove(0);
        if e.event != "product.updated" {
            assert_eq!(e.event, "stock.changed");
            events.push(e);
        }
    }
    let quantities: Vec<i64> = events
        .iter()
        .map(|e| e.data["data"]["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(quantities, (0..=120).rev().collect::<Vec<_>>());
    assert!(events[1..].iter().all(|e| e.data["data"]["delta"] == -1
        && e.data["data"]["reason"] == "order"
        && e.data["data"].get("by").is_none()));
    let ids: Vec<i64> = events.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn an_order_is_pushed_to_the_buyer_and_the_stores_staff() {
    let app = spawn_app().await;
    let store = app.store("Gangnam").await;
    let owner = app.owner("owner.lee", &[store]).await;
    let album = app.album("Kind of Blue", 33_000).await;
    let kim = app.customer("Kim").await;
    let mut kim_sse = app.sse("topics=", Some(&kim.token), None).await;
    let mut staff_sse = app.sse("topics=", Some(&owner.token), None).await;
    assert_eq!(kim_sse.next().await.event, "stream.open");
    assert_eq!(staff_sse.next().await.event, "stream.open");
    app.set_stock(store, album, 4).await;
    assert_eq!(
        staff_sse.take(1).await[0].data["data"]["reason"],
        "delivery"
    );

    let r = app
        .order(
            &kim.token,
            Some("k-1"),
            &json!({"store_id": store, "product_id": album, "quantity": 3}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["order"]["total"], 99_000);
    assert_eq!(body["stock_left"], 1);

    let e = kim_sse.take(1).await.remove(0);
    assert_eq!(e.event, "order.placed");
    assert_eq!(e.data["channel"], format!("user:{}", kim.id));
    assert_eq!(e.data["data"]["order"]["id"], body["order"]["id"]);
    let e = staff_sse.take(1).await.remove(0);
    assert_eq!(e.event, "stock.changed");
    assert_eq!(e.data["channel"], format!("store:{store}"));
    let d = &e.data["data"];
    assert_eq!(
        (d["store_id"].as_i64(), d["product_id"].as_i64()),
        (Some(store), Some(album))
    );
    assert_eq!(
        (d["quantity"].as_i64(), d["delta"].as_i64()),
        (Some(1), Some(-3))
    );
    assert_eq!(d["reason"], "order");
    assert_eq!(d["order_id"], body["order"]["id"]);
    assert_eq!(d["by"], kim.id);

    let history = app.orders_of(&kim).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["title"], "Kind of Blue");
    assert_eq!(history[0]["store_name"], "Gangnam");
    let lee = app.customer("Lee").await;
    let r = app
        .get(
            &format!("/api/v1/users/{}/orders", kim.id),
            Some(&lee.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .get(
            &format!("/api/v1/users/{}/orders", kim.id),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_retried_order_with_the_same_key_buys_once() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let album = app.album("Rumours", 36_000).await;
    app.set_stock(store, album, 10).await;
    let kim = app.customer("Kim").await;
    let body = json!({"store_id": store, "product_id": album, "quantity": 2});

    // Five copies of the same request race; then one more arrives late.
    let mut tries = Vec::new();
    for _ in 0..5 {
        let (client, url, token, body) = (
            app.client.clone(),
            app.url("/api/v1/orders"),
            kim.token.clone(),
            body.clone(),
        );
        tries.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "same-key")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["order"]["id"]
                .as_i64()
                .unwrap()
        }));
    }
    let mut ids = HashSet::new();
    for t in tries {
        ids.insert(t.await.unwrap());
    }
    let late = app.order(&kim.token, Some("same-key"), &body).await;
    assert_eq!(late.status(), StatusCode::CREATED);
    assert_eq!(late.headers()["idempotent-replayed"], "true");
    ids.insert(
        late.json::<Value>().await.unwrap()["order"]["id"]
            .as_i64()
            .unwrap(),
    );

    assert_eq!(ids.len(), 1, "one order");
    assert_eq!(app.stock_of(store, album).await, 8);
    assert_eq!(app.orders_of(&kim).await.len(), 1);

    // The same key for a different order is refused and changes nothing.
    let r = app
        .order(
            &kim.token,
            Some("same-key"),
            &json!({"store_id": store, "product_id": album, "quantity": 3}),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "idempotency_key_reused".into())
    );
    assert_eq!(app.stock_of(store, album).await, 8);
}

#[tokio::test]
async fn bad_orders_get_a_clear_error_and_leave_the_stock_untouched() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let mut products = app.sse("topics=products", None, None).await;
    assert_eq!(products.next().await.event, "stream.open");
    let album = app.album("Nevermind", 32_000).await;
    app.set_stock(store, album, 5).await;
    let kim = app.customer("Kim").await;
    let cursor = products.take(2).await[1].id.unwrap();

    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"store_id": store, "product_id": album, "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"store_id": store, "product_id": album, "quantity": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"store_id": store, "product_id": album, "quantity": 1001}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"store_id": store, "product_id": album, "quantity": i64::MAX}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"store_id": store, "product_id": album, "quantity": 1e30}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"store_id": store, "product_id": album, "quantity": "2"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"store_id": store, "product_id": album}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"store_id": store, "product_id": 9999, "quantity": 1}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"store_id": 9999, "product_id": album, "quantity": 1}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"store_id": store, "product_id": album, "quantity": 6}),
            StatusCode::CONFLICT,
            "insufficient_stock",
        ),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let r = app
            .order(&kim.token, Some(&format!("bad-{i}")), &body)
            .await;
        assert_eq!(error_code(r).await, (status, code.to_string()), "{body}");
    }
    let r = app
        .order(
            &kim.token,
            Some("short"),
            &json!({"store_id": store, "product_id": album, "quantity": 9}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["available"], 5);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only 5 left")
    );

    let r = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&kim.token)
        .header("Idempotency-Key", "malformed")
        .header("content-type", "application/json")
        .body("{\"store_id\": 1, \"quantity\":")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "malformed_json".into())
    );
    let good = json!({"store_id": store, "product_id": album, "quantity": 1});
    let r = app.order(&kim.token, None, &good).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "missing_idempotency_key".into())
    );
    let r = app.order(&kim.token, Some("has space"), &good).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::BAD_REQUEST, "invalid_idempotency_key".into())
    );
    let r = app.post("/api/v1/orders", None, &good).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(app.stock_of(store, album).await, 5);
    assert!(app.orders_of(&kim).await.is_empty());
    let (events, _) = app
        .poll(&format!("cursor={cursor}&timeout=0&topics=products"), None)
        .await;
    assert!(events.is_empty(), "{events:?}");
    // A refused key is not used up: the same key may buy once there is stock.
    app.set_stock(store, album, 9).await;
    let r = app
        .order(
            &kim.token,
            Some("short"),
            &json!({"store_id": store, "product_id": album, "quantity": 9}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

// ---- stock and catalog ----

#[tokio::test]
async fn staff_set_and_adjust_their_stores_stock_with_a_reason_and_others_are_refused() {
    let app = spawn_app().await;
    let (mine, other) = (app.store("Mine").await, app.store("Other").await);
    let owner = app.owner("owner.park", &[mine]).await;
    let kim = app.customer("Kim").await;
    let album = app.album("OK Computer", 36_000).await;
    let mut staff = app.sse("topics=", Some(&owner.token), None).await;
    assert_eq!(staff.next().await.event, "stream.open");

    let path = format!("/api/v1/stores/{mine}/stock/{album}");
    let r = app
        .put_json(
            &path,
            Some(&owner.token),
            &json!({"quantity": 7, "reason": "delivery"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .post(
            &format!("{path}/adjust"),
            Some(&owner.token),
            &json!({"delta": -2, "reason": "damaged"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["quantity"].as_i64(), v["delta"].as_i64()),
        (Some(5), Some(-2))
    );
    let got: Vec<(i64, i64, String)> = staff
        .take(2)
        .await
        .iter()
        .map(|e| {
            let d = &e.data["data"];
            (
                d["quantity"].as_i64().unwrap(),
                d["delta"].as_i64().unwrap(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(7, 7, "delivery".into()), (5, -2, "damaged".into())]
    );

    let refusals: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (
            app.post(
                &format!("{path}/adjust"),
                Some(&owner.token),
                &json!({"delta": -6, "reason": "lost"}),
            )
            .await,
            StatusCode::CONFLICT,
            "insufficient_stock",
        ),
        (
            app.post(
                &format!("{path}/adjust"),
                Some(&owner.token),
                &json!({"delta": 0, "reason": "x"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_stock",
        ),
        (
            app.put_json(&path, Some(&owner.token), &json!({"quantity": -1}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_stock",
        ),
        (
            app.put_json(
                &path,
                Some(&owner.token),
                &json!({"quantity": 1, "reason": "r".repeat(201)}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reason",
        ),
        (
            app.put_json(
                &format!("/api/v1/stores/{other}/stock/{album}"),
                Some(&owner.token),
                &json!({"quantity": 1}),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            app.put_json(&path, Some(&kim.token), &json!({"quantity": 1}))
                .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            app.put_json(
                &format!("/api/v1/stores/{mine}/stock/999"),
                Some(&owner.token),
                &json!({"quantity": 1}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            app.put_json(
                &format!("/api/v1/stores/999/stock/{album}"),
                Some(ADMIN_TOKEN),
                &json!({"quantity": 1}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (r, status, code) in refusals {
        assert_eq!(error_code(r).await, (status, code.to_string()));
    }
    assert_eq!(app.stock_of(mine, album).await, 5);
    assert_eq!(app.stock_of(other, album).await, 0);
    // The album's stock at every store, for the terminal client.
    let v: Value = app
        .get(&format!("/api/v1/products/{album}/stock"), None)
        .await
        .json()
        .await
        .unwrap();
    let per_store: Vec<(i64, i64)> = v["stock"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["store_id"].as_i64().unwrap(),
                s["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per_store, vec![(mine, 5), (other, 0)]);
}

#[tokio::test]
async fn an_admin_renames_and_reprices_an_album_which_is_pushed_and_kept_in_history() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let r = app
        .post(
            "/api/v1/products",
            Some(&kim.token),
            &json!({"title": "x", "artist": "y", "price": 1}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for body in [
        json!({"title": "", "artist": "y", "price": 1}),
        json!({"title": "x", "artist": "y", "price": -1}),
        json!({"title": "x", "artist": "y"}),
        json!({"title": "x", "artist": "y", "price": 1, "extra": true}),
    ] {
        let r = app.post("/api/v1/products", Some(ADMIN_TOKEN), &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let mut products = app.sse("topics=products", None, None).await;
    assert_eq!(products.next().await.event, "stream.open");
    let album = app.album("Blue Trane", 30_000).await;
    let created = products.take(1).await.remove(0);
    assert_eq!(created.data["data"]["change"], "created");

    let r = app
        .client
        .patch(app.url(&format!("/api/v1/products/{album}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"title": "Blue Train", "price": 31_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let e = products.take(1).await.remove(0);
    assert_eq!(e.event, "product.updated");
    assert_eq!(e.data["data"]["product"]["title"], "Blue Train");
    assert_eq!(e.data["data"]["previous"]["title"], "Blue Trane");
    assert_eq!(e.data["data"]["previous"]["price"], 30_000);
    let got: Value = app
        .get(&format!("/api/v1/products/{album}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (got["title"].as_str(), got["price"].as_i64()),
        (Some("Blue Train"), Some(31_000))
    );
    let h: Value = app
        .get(&format!("/api/v1/products/{album}/history"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(h["history"].as_array().unwrap().len(), 2);
    assert_eq!(h["history"][1]["previous"]["title"], "Blue Trane");

    for (body, status) in [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"price": 100_000_001}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = app
            .client
            .patch(app.url(&format!("/api/v1/products/{album}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{body}");
    }
    let r = app
        .client
        .patch(app.url("/api/v1/products/9999"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"price": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let list: Value = app
        .get("/api/v1/products", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["products"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn staff_see_sales_per_day_and_an_inventory_with_recent_sales() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.choi", &[store]).await;
    let (a, b) = (
        app.album("Thriller", 35_000).await,
        app.album("Purple Rain", 34_000).await,
    );
    app.set_stock(store, a, 10).await;
    app.set_stock(store, b, 10).await;
    let kim = app.customer("Kim").await;
    for (i, (p, q)) in [(a, 2), (a, 1), (b, 4)].into_iter().enumerate() {
        let r = app
            .order(
                &kim.token,
                Some(&format!("s{i}")),
                &json!({"store_id": store, "product_id": p, "quantity": q}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let r = app
        .get(
            &format!("/api/v1/stores/{store}/sales?from={today}&to={today}"),
            Some(&owner.token),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let rows: Vec<(String, i64, i64, i64)> = v["sales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["day"].as_str().unwrap().to_string(),
                s["product_id"].as_i64().unwrap(),
                s["quantity"].as_i64().unwrap(),
                s["revenue"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (today.clone(), a, 3, 105_000),
            (today.clone(), b, 4, 136_000)
        ]
    );

    let v: Value = app
        .get(
            &format!("/api/v1/stores/{store}/inventory"),
            Some(&owner.token),
        )
        .await
        .json()
        .await
        .unwrap();
    let inv = v["inventory"].as_array().unwrap();
    assert_eq!(
        (inv[0]["quantity"].as_i64(), inv[0]["sold_7d"].as_i64()),
        (Some(7), Some(3))
    );
    assert_eq!(
        (inv[1]["quantity"].as_i64(), inv[1]["sold_7d"].as_i64()),
        (Some(6), Some(4))
    );
    assert!(inv[0]["optimal_stock"].is_null());

    let sales = format!("/api/v1/stores/{store}/sales?from={today}&to={today}");
    assert_eq!(
        app.get(&sales, Some(&kim.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/stores/{store}/inventory"),
            Some(&kim.token)
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    for q in [
        "from=2026-02-01&to=2026-01-01",
        "from=bad&to=2026-01-01",
        "from=2026-01-01",
    ] {
        let r = app
            .get(
                &format!("/api/v1/stores/{store}/sales?{q}"),
                Some(&owner.token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
    }
    assert_eq!(
        app.get(
            &format!("/api/v1/stores/999/sales?from={today}&to={today}"),
            Some(ADMIN_TOKEN)
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}

// ---- demo and terminal client ----

#[tokio::test]
async fn the_demo_fills_an_empty_database_once() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let count = |v: Value, k: &str| v[k].as_array().unwrap().len();
    let albums = count(
        app.get("/api/v1/products", None)
            .await
            .json()
            .await
            .unwrap(),
        "products",
    );
    let stores = count(
        app.get("/api/v1/stores", None).await.json().await.unwrap(),
        "stores",
    );
    assert!(albums >= 24, "{albums}");
    assert_eq!(stores, 3);
    let owner = app.login("owner", "demo-pass-1234").await;
    let v: Value = app
        .get("/api/v1/me", Some(&owner))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["store_ids"].as_array().unwrap().len(), 3);

    let db = app.db.clone();
    app.stop().await;
    let app = spawn_on(db, |s| s.demo = true).await;
    assert_eq!(
        count(
            app.get("/api/v1/products", None)
                .await
                .json()
                .await
                .unwrap(),
            "products"
        ),
        albums
    );
    assert_eq!(
        count(
            app.get("/api/v1/stores", None).await.json().await.unwrap(),
            "stores"
        ),
        stores
    );
}

/// Runs `pointcast shop` with `script` on its stdin; returns its stdout.
async fn run_client(app: &TestApp, login: &str, script: &str) -> (bool, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pointcast"))
        .args([
            "shop",
            "--url",
            &app.address,
            "--login",
            login,
            "--password",
            "password123",
            "--lang",
            "en",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pointcast shop");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(script.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the client finishes")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn the_terminal_client_lists_albums_shows_stock_buys_and_shows_the_drop() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let album = app.album("Abbey Road", 38_000).await;
    app.set_stock(store, album, 5).await;
    let kim = app.customer("Kim").await;

    let script = format!(
        "1\n2\n{album}\n3\n{album}\n{store}\n2\n2\n{album}\n3\n{album}\n{store}\n9\n4\n7\nabc\n0\n"
    );
    let (ok, out) = run_client(&app, &kim.login, &script).await;

    assert!(ok, "{out}");
    assert!(out.contains("Welcome, Kim."), "{out}");
    assert!(
        out.contains(&format!("[{album}] Abbey Road - Test Artist  38,000 won")),
        "{out}"
    );
    assert!(
        out.contains(&format!("[{store}] Hongdae: 5 in stock")),
        "{out}"
    );
    assert!(
        out.contains("Bought 2 x Abbey Road at Hongdae for 76,000 won"),
        "{out}"
    );
    assert!(out.contains("3 left there."), "{out}");
    assert!(
        out.contains(&format!("[{store}] Hongdae: 3 in stock")),
        "{out}"
    );
    assert!(
        out.contains("Not enough stock: only 3 left at this store. Nothing was bought."),
        "{out}"
    );
    assert!(out.contains("customer center is closed"), "{out}");
    assert!(out.contains("\"7\" is not on the menu"), "{out}");
    assert!(out.contains("\"abc\" is not on the menu"), "{out}");
    assert!(out.trim_end().ends_with("Bye."), "{out}");
    assert_eq!(app.stock_of(store, album).await, 3);
    assert_eq!(app.orders_of(&kim).await.len(), 1);
}

#[tokio::test]
async fn the_terminal_client_says_clearly_when_login_fails_or_input_ends() {
    let app = spawn_app().await;
    let (ok, out) = run_client(&app, "nobody", "").await;
    assert!(!ok);
    assert!(
        out.contains("Login failed: wrong login or password"),
        "{out}"
    );
    let kim = app.customer("Kim").await;
    let (ok, out) = run_client(&app, &kim.login, "2\n424242\n").await;
    assert!(ok, "{out}");
    assert!(out.contains("There is no album with that number."), "{out}");
    assert!(out.trim_end().ends_with("Bye."), "{out}");
}
