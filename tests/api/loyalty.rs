//! The loyalty program over HTTP: memberships, the mileage ledger, conversion into
//! coupons, redemption, and the events each of them sends.

use futures_util::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A store with its owner and one customer who joined it.
struct Shop {
    store: i64,
    owner: User,
    customer: User,
}

async fn shop(app: &TestApp, tag: &str) -> Shop {
    let store = app.store(&format!("Store {tag}")).await;
    let owner = app.owner(&format!("owner.{tag}"), &[store]).await;
    let customer = app.customer(&format!("Customer {tag}")).await;
    let r = put(
        app,
        &format!("/api/v1/stores/{store}/members/{}", customer.id),
        &customer.token,
        &json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "join");
    Shop {
        store,
        owner,
        customer,
    }
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> Response {
    app.client
        .put(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("PUT")
}

async fn grant(
    app: &TestApp,
    token: &str,
    store: i64,
    user: i64,
    body: &Value,
    key: Option<&str>,
) -> Response {
    let mut r = app
        .client
        .post(app.url(&format!("/api/v1/stores/{store}/members/{user}/mileage")))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    r.send().await.expect("grant")
}

async fn json_of(r: Response) -> Value {
    r.json().await.expect("json body")
}

/// The balance the REST API reports for (user, store).
async fn balance(app: &TestApp, user: &User, store: i64) -> i64 {
    let v = json_of(
        app.get(
            &format!("/api/v1/users/{}/mileage", user.id),
            Some(&user.token),
        )
        .await,
    )
    .await;
    v["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|b| b["store_id"] == store)
        .map_or(0, |b| b["balance"].as_i64().expect("balance"))
}

/// Every ledger entry of a user, oldest first, read page by page.
async fn all_entries(app: &TestApp, user: &User) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before = String::new();
    loop {
        let v = json_of(
            app.get(
                &format!("/api/v1/users/{}/mileage/entries?limit=37{before}", user.id),
                Some(&user.token),
            )
            .await,
        )
        .await;
        out.extend(v["entries"].as_array().expect("entries").iter().cloned());
        match v["next_before"].as_i64() {
            Some(id) => before = format!("&before={id}"),
            None => break,
        }
    }
    out.reverse();
    out
}

async fn coupons(app: &TestApp, user: &User) -> Vec<Value> {
    let v = json_of(
        app.get(
            &format!("/api/v1/users/{}/coupons", user.id),
            Some(&user.token),
        )
        .await,
    )
    .await;
    v["coupons"].as_array().expect("coupons").clone()
}

#[tokio::test]
async fn a_hundred_concurrent_grants_keep_the_balance_equal_to_the_ledger() {
    let app = spawn_app().await;
    let s = shop(&app, "a").await;
    let sizes: Vec<i64> = (0..100).map(|_| rand::random_range(1..=1000)).collect();
    let total: i64 = sizes.iter().sum();
    // Up to 100,000 points in one day: past the default daily grant cap.
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/stores/{}", s.store)))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"daily_grant_cap": 1_000_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let answers = join_all(sizes.iter().enumerate().map(|(i, p)| {
        let (app, s) = (&app, &s);
        async move {
            let body = json!({"points": p, "reason": "purchase", "reason_code": "promotion"});
            let key = format!("k-{i}");
            grant(
                app,
                &s.owner.token,
                s.store,
                s.customer.id,
                &body,
                Some(&key),
            )
            .await
        }
    }))
    .await;

    let mut issued = 0;
    for r in answers {
        assert_eq!(r.status(), StatusCode::CREATED);
        issued += json_of(r).await["coupons_issued"].as_i64().unwrap();
    }
    let entries = all_entries(&app, &s.customer).await;
    let mut running = 0;
    for e in &entries {
        running += e["points"].as_i64().unwrap();
        assert_eq!(e["balance_after"], running, "entry {e}");
    }
    let final_balance = balance(&app, &s.customer, s.store).await;
    assert_eq!(final_balance, running);
    assert_eq!(final_balance, total - 1500 * issued);
    assert_eq!(issued, total / 1500);
    assert!(final_balance < 1500);
    assert_eq!(coupons(&app, &s.customer).await.len() as i64, issued);
    assert_eq!(entries.iter().filter(|e| e["kind"] == "grant").count(), 100);
}

#[tokio::test]
async fn fifty_retries_of_one_grant_credit_once_and_answer_alike() {
    let app = spawn_app().await;
    let s = shop(&app, "b").await;
    let body = json!({"points": 1600, "reason": "vinyl", "reason_code": "promotion"});

    let answers = join_all((0..50).map(|_| {
        grant(
            &app,
            &s.owner.token,
            s.store,
            s.customer.id,
            &body,
            Some("same-key"),
        )
    }))
    .await;

    let mut bodies = Vec::new();
    for r in answers {
        assert_eq!(r.status(), StatusCode::CREATED);
        bodies.push(r.text().await.unwrap());
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["entry"]["points"], 1600);
    assert_eq!(first["balance"], 100);
    assert_eq!(first["balance_before_conversion"], 1600);
    assert_eq!(first["coupons_issued"], 1);
    assert_eq!(balance(&app, &s.customer, s.store).await, 100);
    assert_eq!(all_entries(&app, &s.customer).await.len(), 2);
    assert_eq!(coupons(&app, &s.customer).await.len(), 1);

    // The same key with another body is refused and changes nothing.
    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        s.customer.id,
        &json!({"points": 1700, "reason": "vinyl", "reason_code": "promotion"}),
        Some("same-key"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(r).await["error"]["code"], "idempotency_key_reused");
    // No key at all is a 400.
    let r = grant(&app, &s.owner.token, s.store, s.customer.id, &body, None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(r).await["error"]["code"], "missing_idempotency_key");
    assert_eq!(balance(&app, &s.customer, s.store).await, 100);
    assert_eq!(all_entries(&app, &s.customer).await.len(), 2);
}

#[tokio::test]
async fn a_live_client_sees_the_grant_then_its_coupons_with_the_rest_balances() {
    let app = spawn_app().await;
    let s = shop(&app, "c").await;
    let mut mine = app.sse("", Some(&s.customer.token), None).await;
    let mut staff = app.sse("", Some(&s.owner.token), None).await;
    assert_eq!(mine.next().await.event, "stream.open");
    assert_eq!(staff.next().await.event, "stream.open");

    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        s.customer.id,
        &json!({"points": 1400, "reason": "first", "reason_code": "promotion"}),
        Some("c1"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        s.customer.id,
        &json!({"points": 1700, "reason": "second", "reason_code": "promotion"}),
        Some("c2"),
    )
    .await;
    let answer = json_of(r).await;
    assert_eq!(answer["coupons_issued"], 2);

    let got = mine.take(4).await;
    let types: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        types,
        [
            "mileage.granted",
            "mileage.granted",
            "coupon.issued",
            "coupon.issued"
        ]
    );
    let first = &got[0].data["data"];
    assert_eq!(first["points"], 1400);
    assert_eq!(first["balance"], 1400);
    assert_eq!(first["store"]["id"], s.store);
    assert_eq!(first["granted_by"]["id"], s.owner.id);
    assert_eq!(first["reason"], "first");
    let second = &got[1].data["data"];
    assert_eq!(second["balance_before_conversion"], 3100);
    assert_eq!(second["balance"], 100);
    assert_eq!(second["entry_id"], answer["entry"]["id"]);
    let rest_balance = balance(&app, &s.customer, s.store).await;
    assert_eq!(rest_balance, 100);
    let rest_coupons = coupons(&app, &s.customer).await;
    for e in &got[2..] {
        assert_eq!(e.data["channel"], format!("user:{}", s.customer.id));
        assert_eq!(e.data["data"]["balance"], rest_balance);
        assert_eq!(e.data["data"]["design"]["shape"], "rounded");
        let id = &e.data["data"]["coupon"]["id"];
        assert!(
            rest_coupons
                .iter()
                .any(|c| &c["id"] == id && c["status"] == "active")
        );
    }
    assert!(got.windows(2).all(|w| w[0].id < w[1].id));

    // The store's staff see the same events on the store's channel.
    let echoed = staff.take(4).await;
    let types: Vec<&str> = echoed.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        types,
        [
            "mileage.granted",
            "mileage.granted",
            "coupon.issued",
            "coupon.issued"
        ]
    );
    assert_eq!(echoed[1].data["channel"], format!("store:{}", s.store));
    assert_eq!(echoed[1].data["data"], got[1].data["data"]);
}

#[tokio::test]
async fn a_coupon_is_redeemed_once_at_its_own_store_by_its_staff() {
    let app = spawn_app().await;
    let s = shop(&app, "d").await;
    let other = app.store("Elsewhere").await;
    let other_owner = app.owner("owner.other", &[other]).await;
    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        s.customer.id,
        &json!({"points": 3000, "reason": "big", "reason_code": "promotion"}),
        Some("d1"),
    )
    .await;
    assert_eq!(json_of(r).await["coupons_issued"], 2);
    let list = coupons(&app, &s.customer).await;
    let (c1, c2) = (
        list[0]["id"].as_i64().unwrap(),
        list[1]["id"].as_i64().unwrap(),
    );
    let mut live = app
        .sse("types=coupon.redeemed", Some(&s.customer.token), None)
        .await;

    // A customer, and staff of another store, are refused.
    let redeem = |token: String, id: i64| {
        let app = &app;
        async move {
            app.post(
                &format!("/api/v1/coupons/{id}/redeem"),
                Some(&token),
                &json!({}),
            )
            .await
        }
    };
    assert_eq!(
        redeem(s.customer.token.clone(), c1).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        redeem(other_owner.token.clone(), c1).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        redeem(s.owner.token.clone(), 999_999).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        coupons(&app, &s.customer)
            .await
            .iter()
            .all(|c| c["status"] == "active")
    );

    // Ten staff clicks at once: exactly one redemption.
    let answers = join_all((0..10).map(|_| redeem(s.owner.token.clone(), c1))).await;
    let mut ok = 0;
    for r in answers {
        match r.status() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {
                assert_eq!(json_of(r).await["error"]["code"], "already_redeemed")
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        redeem(s.owner.token.clone(), c1).await.status(),
        StatusCode::CONFLICT
    );

    let e = live.take(1).await.remove(0);
    assert_eq!(e.event, "coupon.redeemed");
    assert_eq!(e.data["data"]["coupon"]["id"], c1);
    assert_eq!(e.data["data"]["redeemed_by"]["id"], s.owner.id);

    let log = json_of(
        app.get(
            &format!("/api/v1/stores/{}/redemptions", s.store),
            Some(&s.owner.token),
        )
        .await,
    )
    .await;
    let log = log["redemptions"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["coupon_id"], c1);
    assert_eq!(log[0]["user_id"], s.customer.id);
    assert_eq!(log[0]["store_id"], s.store);
    assert_eq!(log[0]["redeemed_by"]["name"], s.owner.login);
    let statuses: Vec<(i64, String)> = coupons(&app, &s.customer)
        .await
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(statuses.contains(&(c1, "redeemed".into())));
    assert!(statuses.contains(&(c2, "active".into())));
    // Neither customers nor other stores read the log.
    for t in [&s.customer.token, &other_owner.token] {
        let r = app
            .get(&format!("/api/v1/stores/{}/redemptions", s.store), Some(t))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn bad_grants_are_refused_with_a_clear_error_and_change_nothing() {
    let app = spawn_app().await;
    let s = shop(&app, "e").await;
    let other = app.store("Other").await;
    let other_owner = app.owner("owner.b", &[other]).await;
    let outsider = app.customer("Not a member").await;
    let ok = json!({"points": 10, "reason": "x", "reason_code": "promotion"});

    let cases: Vec<(&str, i64, i64, Value, StatusCode, &str)> = vec![
        (
            &other_owner.token,
            s.store,
            s.customer.id,
            ok.clone(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &s.customer.token,
            s.store,
            s.customer.id,
            ok.clone(),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": 0, "reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": -5, "reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": 1.5, "reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": "10", "reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": 100_001, "reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": 1e30, "reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"reason": "x", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_points",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": 10, "reason": " ", "reason_code": "promotion"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reason",
        ),
        (
            &s.owner.token,
            s.store,
            s.customer.id,
            json!({"points": 10, "reason": "x", "reason_code": "promotion", "bonus": 5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            &s.owner.token,
            s.store,
            outsider.id,
            ok.clone(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            ADMIN_TOKEN,
            424_242,
            s.customer.id,
            ok.clone(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (i, (token, store, user, body, status, code)) in cases.into_iter().enumerate() {
        let r = grant(&app, token, store, user, &body, Some(&format!("bad-{i}"))).await;
        assert_eq!(r.status(), status, "case {i}: {body}");
        let v = json_of(r).await;
        assert_eq!(v["error"]["code"], code, "case {i}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let r = app
        .client
        .post(app.url(&format!(
            "/api/v1/stores/{}/members/{}/mileage",
            s.store, s.customer.id
        )))
        .bearer_auth(&s.owner.token)
        .header("Idempotency-Key", "k")
        .header("Content-Type", "application/json")
        .body("{\"points\": 10,")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    assert_eq!(balance(&app, &s.customer, s.store).await, 0);
    assert!(all_entries(&app, &s.customer).await.is_empty());
    assert!(all_entries(&app, &outsider).await.is_empty());
    let (events, _) = app
        .poll("cursor=0&timeout=0", Some(&s.customer.token))
        .await;
    assert!(events.iter().all(|e| e["type"] != "mileage.granted"));
    // A refused key was not spent: it works once the request is right.
    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        s.customer.id,
        &ok,
        Some("bad-2"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn members_join_and_leave_and_see_only_their_own_data() {
    let app = spawn_app().await;
    let s = shop(&app, "f").await;
    let other = app.store("Other").await;
    let other_owner = app.owner("owner.f2", &[other]).await;
    let kim = app.customer("Kim").await;
    let path = format!("/api/v1/stores/{}/members/{}", s.store, kim.id);

    // Another customer or another store's owner cannot enrol Kim; this store's owner can.
    assert_eq!(
        put(&app, &path, &s.customer.token, &json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&app, &path, &other_owner.token, &json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&app, &path, &s.owner.token, &json!({})).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(&app, &path, &kim.token, &json!({})).await.status(),
        StatusCode::OK
    );
    let staff_path = format!("/api/v1/stores/{}/members/{}", s.store, s.owner.id);
    let r = put(&app, &staff_path, &s.owner.token, &json!({})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        kim.id,
        &json!({"points": 700, "reason": "x", "reason_code": "promotion"}),
        Some("f1"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let members = json_of(
        app.get(
            &format!("/api/v1/stores/{}/members", s.store),
            Some(&s.owner.token),
        )
        .await,
    )
    .await;
    let members = members["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    let k = members.iter().find(|m| m["user_id"] == kim.id).unwrap();
    assert_eq!(k["balance"], 700);
    for t in [&kim.token, &other_owner.token] {
        let r = app
            .get(&format!("/api/v1/stores/{}/members", s.store), Some(t))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // A customer reads only their own mileage, entries and coupons.
    for p in ["mileage", "mileage/entries", "coupons"] {
        let r = app
            .get(
                &format!("/api/v1/users/{}/{p}", kim.id),
                Some(&s.customer.token),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{p}");
        let r = app
            .get(&format!("/api/v1/users/{}/{p}", kim.id), Some(ADMIN_TOKEN))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{p}");
    }
    let r = app
        .get(
            &format!("/api/v1/users/{}/mileage/entries?store_id={other}", kim.id),
            Some(&kim.token),
        )
        .await;
    assert!(json_of(r).await["entries"].as_array().unwrap().is_empty());

    // Leaving keeps the balance; the member is gone from the list and grants stop.
    let r = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&kim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&kim.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        kim.id,
        &json!({"points": 5, "reason": "x", "reason_code": "promotion"}),
        Some("f2"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v = json_of(
        app.get(
            &format!("/api/v1/users/{}/mileage", kim.id),
            Some(&kim.token),
        )
        .await,
    )
    .await;
    assert_eq!(v["balances"][0]["balance"], 700);
    assert_eq!(v["balances"][0]["member"], false);
}

#[tokio::test]
async fn users_read_and_change_their_own_accounts() {
    let app = spawn_app().await;
    let s = shop(&app, "g").await;
    let stranger = app.customer("Stranger").await;
    let other = app.store("Far").await;
    let other_owner = app.owner("owner.g2", &[other]).await;
    let me = format!("/api/v1/users/{}", s.customer.id);

    assert_eq!(
        app.get(&me, Some(&s.customer.token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&me, Some(&s.owner.token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&me, Some(&stranger.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&me, Some(&other_owner.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&me, None).await.status(), StatusCode::UNAUTHORIZED);

    let head = |path: String, token: String| {
        let app = &app;
        async move {
            app.client
                .head(app.url(&path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        head(me.clone(), s.owner.token.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        head("/api/v1/users/999999".into(), s.owner.token.clone()).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        head(me.clone(), stranger.token.clone()).await,
        StatusCode::FORBIDDEN
    );

    let patch = |token: String, body: Value| {
        let (app, me) = (&app, me.clone());
        async move {
            app.client
                .patch(app.url(&me))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        patch(stranger.token.clone(), json!({"name": "Evil"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patch(s.customer.token.clone(), json!({})).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        patch(s.customer.token.clone(), json!({"phone": "nope"}))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = patch(
        s.customer.token.clone(),
        json!({"name": "Renamed", "password": "new password 1"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json_of(r).await["name"], "Renamed");
    // The caller's session survives its own password change; the new password works.
    assert_eq!(
        app.get(&me, Some(&s.customer.token)).await.status(),
        StatusCode::OK
    );
    app.login(&s.customer.login, "new password 1").await;

    let loc = format!("{me}/location");
    assert_eq!(
        put(
            &app,
            &loc,
            &stranger.token,
            &json!({"lat": 1.0, "lon": 2.0})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(
            &app,
            &loc,
            &s.customer.token,
            &json!({"lat": 91.0, "lon": 2.0})
        )
        .await
        .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(
            &app,
            &loc,
            &s.customer.token,
            &json!({"lat": 35.1, "lon": 129.0})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let v = json_of(app.get(&me, Some(&s.customer.token)).await).await;
    assert_eq!(v["location"], json!({"lat": 35.1, "lon": 129.0}));
}

#[tokio::test]
async fn stores_sort_by_distance_change_by_their_owner_and_log_each_design() {
    let app = spawn_app().await;
    let s = shop(&app, "h").await; // at 37.5, 127.0 (Seoul)
    let busan = json_of(
        app.post(
            "/api/v1/stores",
            Some(ADMIN_TOKEN),
            &json!({"name": "Busan", "lat": 35.18, "lon": 129.08}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let nowhere = json_of(
        app.post(
            "/api/v1/stores",
            Some(ADMIN_TOKEN),
            &json!({"name": "Online"}),
        )
        .await,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let other_owner = app.owner("owner.h2", &[busan]).await;

    let v = json_of(app.get("/api/v1/stores?near=35.1,129.0", None).await).await;
    let ids: Vec<i64> = v["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [busan, s.store, nowhere]);
    assert!(v["stores"][0]["distance_km"].as_f64().unwrap() < 20.0);
    assert_eq!(v["stores"][2]["distance_km"], Value::Null);
    assert_eq!(
        app.get("/api/v1/stores?near=oops", None).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let patch = |token: &str, body: Value| {
        let r = app
            .client
            .patch(app.url(&format!("/api/v1/stores/{}", s.store)))
            .bearer_auth(token)
            .json(&body);
        async move { r.send().await.unwrap() }
    };
    assert_eq!(
        patch(&other_owner.token, json!({"name": "Mine now"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patch(&s.customer.token, json!({"name": "Mine now"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        patch(&s.owner.token, json!({"coupon_threshold": 0}))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = patch(
        &s.owner.token,
        json!({"name": "Hongdae", "coupon_threshold": 1000}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let store = json_of(r).await;
    assert_eq!(
        (
            store["name"].as_str(),
            store["coupon_threshold"].as_i64(),
            store["lat"].as_f64()
        ),
        (Some("Hongdae"), Some(1000), Some(37.5))
    );

    let design = format!("/api/v1/stores/{}/coupon-design", s.store);
    assert_eq!(
        put(
            &app,
            &design,
            &other_owner.token,
            &json!({"shape": "star", "color": "#112233", "label": "X"})
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(
            &app,
            &design,
            &s.owner.token,
            &json!({"shape": "blob", "color": "#112233", "label": "X"})
        )
        .await
        .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(
            &app,
            &design,
            &s.owner.token,
            &json!({"shape": "star", "color": "#112233", "label": "Free LP"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        put(
            &app,
            &design,
            ADMIN_TOKEN,
            &json!({"shape": "ticket", "color": "#445566", "label": "Free CD"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    let h = json_of(
        app.get(&format!("{design}/history"), Some(&s.owner.token))
            .await,
    )
    .await;
    let h = h["history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["design"]["label"], "Free CD");
    assert_eq!(h[1]["design"]["shape"], "star");
    assert_eq!(h[1]["changed_by"]["id"], s.owner.id);
    assert!(h[0]["changed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        app.get(&format!("{design}/history"), Some(&s.customer.token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // New coupons take the new design and the new threshold.
    let r = grant(
        &app,
        &s.owner.token,
        s.store,
        s.customer.id,
        &json!({"points": 1000, "reason": "x", "reason_code": "promotion"}),
        Some("h1"),
    )
    .await;
    let v = json_of(r).await;
    assert_eq!(v["coupons_issued"], 1);
    assert_eq!(v["coupons"][0]["design"]["label"], "Free CD");
}
