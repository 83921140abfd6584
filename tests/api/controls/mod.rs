//! Staff controls (#17): reason codes on grants, the daily grant cap (also under 20
//! concurrent grants), corrections, and the audit trail with its owner scoping.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle::{balance, error_code, json_of, key, logged};

/// A store, its owner, and a customer who joined it.
async fn counter(app: &TestApp, tag: &str) -> (i64, User, User) {
    let store = app.store(&format!("Store {tag}")).await;
    let owner = app.owner(&format!("owner.{tag}"), &[store]).await;
    let kim = app.customer(&format!("Kim {tag}")).await;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/stores/{store}/members/{}", kim.id)))
        .bearer_auth(&kim.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "join");
    (store, owner, kim)
}

async fn grant(app: &TestApp, token: &str, store: i64, user: i64, body: Value) -> Response {
    app.client
        .post(app.url(&format!("/api/v1/stores/{store}/members/{user}/mileage")))
        .bearer_auth(token)
        .header("Idempotency-Key", key())
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn audit(app: &TestApp, token: &str, query: &str) -> (StatusCode, Value) {
    let r = app
        .get(&format!("/api/v1/audit?{query}"), Some(token))
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_grant_without_a_known_reason_code_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (store, owner, kim) = counter(&app, "codes").await;
    for body in [
        json!({"points": 100, "reason": "x"}),
        json!({"points": 100, "reason": "x", "reason_code": "bonus"}),
        json!({"points": 100, "reason": "x", "reason_code": ""}),
        json!({"points": -100, "reason": "x", "reason_code": "promotion"}),
    ] {
        let r = grant(&app, &owner.token, store, kim.id, body.clone()).await;
        let (status, code) = error_code(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let want = if body["points"] == -100 {
            "invalid_points"
        } else {
            "invalid_reason_code"
        };
        assert_eq!(code, want, "{body}");
    }
    assert_eq!(balance(&app, &kim, store).await, 0);
    let (_, page) = audit(&app, ADMIN_TOKEN, &format!("store_id={store}")).await;
    assert_eq!(page["rows"], json!([]));

    let r = grant(
        &app,
        &owner.token,
        store,
        kim.id,
        json!({"points": 100, "reason": "LP", "reason_code": "offline_purchase"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = json_of(r).await;
    assert_eq!(v["entry"]["reason_code"], "offline_purchase");
    let entries = app
        .get(
            &format!("/api/v1/users/{}/mileage/entries", kim.id),
            Some(&kim.token),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(entries["entries"][0]["reason_code"], "offline_purchase");
    let granted = logged(&app, ADMIN_TOKEN, "mileage.granted").await;
    assert!(
        granted
            .iter()
            .any(|e| e["data"]["reason_code"] == "offline_purchase")
    );
}

#[tokio::test]
async fn an_owner_is_capped_per_day_and_an_admin_is_not() {
    let app = spawn_app().await;
    let (store, owner, kim) = counter(&app, "cap").await;
    let body = |p: i64| json!({"points": p, "reason": "x", "reason_code": "promotion"});
    let r = grant(&app, &owner.token, store, kim.id, body(49_000)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = grant(&app, &owner.token, store, kim.id, body(1_001)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v = json_of(r).await;
    assert_eq!(v["error"]["code"], "grant_cap_exceeded");
    assert_eq!(v["error"]["left"], 1_000);
    let before = balance(&app, &kim, store).await;
    let r = grant(&app, &owner.token, store, kim.id, body(1_000)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = grant(&app, &owner.token, store, kim.id, body(1)).await;
    assert_eq!(json_of(r).await["error"]["left"], 0);
    let r = grant(&app, ADMIN_TOKEN, store, kim.id, body(100_000)).await;
    assert_eq!(r.status(), StatusCode::CREATED, "admins are not capped");
    assert!(balance(&app, &kim, store).await >= 0);
    let _ = before;
}

#[tokio::test]
async fn twenty_concurrent_grants_never_pass_the_cap() {
    let app = spawn_app().await;
    let (store, owner, kim) = counter(&app, "race").await;
    let body = json!({"points": 7_000, "reason": "rush", "reason_code": "promotion"});
    let answers = futures_util::future::join_all(
        (0..20).map(|_| grant(&app, &owner.token, store, kim.id, body.clone())),
    )
    .await;
    let mut ok = 0;
    for r in answers {
        match r.status() {
            StatusCode::CREATED => ok += 1,
            StatusCode::FORBIDDEN => {
                assert_eq!(json_of(r).await["error"]["code"], "grant_cap_exceeded")
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(ok, 7, "50,000 / 7,000 grants fit");
    let entries = app
        .get(
            &format!(
                "/api/v1/users/{}/mileage/entries?store_id={store}&limit=100",
                kim.id
            ),
            Some(&kim.token),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let granted: i64 = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "grant")
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(granted, 49_000);
    let (_, page) = audit(&app, ADMIN_TOKEN, &format!("store_id={store}&kind=grant")).await;
    let audited: i64 = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["after"]["points"].as_i64().unwrap())
        .sum();
    assert_eq!(audited, granted, "ledger and audit agree");
}

#[tokio::test]
async fn a_correction_takes_points_back_but_never_below_zero() {
    let app = spawn_app().await;
    let (store, owner, kim) = counter(&app, "fix").await;
    let r = grant(
        &app,
        &owner.token,
        store,
        kim.id,
        json!({"points": 500, "reason": "x", "reason_code": "promotion"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = grant(
        &app,
        &owner.token,
        store,
        kim.id,
        json!({"points": -501, "reason": "typo", "reason_code": "correction"}),
    )
    .await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "correction_below_zero".into()
        )
    );
    assert_eq!(balance(&app, &kim, store).await, 500);
    let r = grant(
        &app,
        &owner.token,
        store,
        kim.id,
        json!({"points": -200, "reason": "typo", "reason_code": "correction"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v = json_of(r).await;
    assert_eq!(v["entry"]["kind"], "adjustment");
    assert_eq!(v["entry"]["reason_code"], "correction");
    assert_eq!(v["balance"], 300);
    assert_eq!(balance(&app, &kim, store).await, 300);
    let (_, page) = audit(
        &app,
        &owner.token,
        &format!("store_id={store}&kind=correction"),
    )
    .await;
    let row = &page["rows"][0];
    assert_eq!(
        (&row["before"]["balance"], &row["after"]["balance"]),
        (&json!(500), &json!(300))
    );
    assert_eq!(row["actor"]["id"], owner.id);
    assert_eq!(row["target_id"], kim.id);
}

#[tokio::test]
async fn owners_see_only_their_own_stores_audit_rows() {
    let app = spawn_app().await;
    let (a, owner_a, kim) = counter(&app, "aud-a").await;
    let (b, owner_b, lee) = counter(&app, "aud-b").await;
    let body = json!({"points": 10, "reason": "x", "reason_code": "compensation"});
    assert_eq!(
        grant(&app, &owner_a.token, a, kim.id, body.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        grant(&app, &owner_b.token, b, lee.id, body.clone())
            .await
            .status(),
        StatusCode::CREATED
    );

    let (status, page) = audit(&app, &owner_a.token, "").await;
    assert_eq!(status, StatusCode::OK);
    let rows = page["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["store_id"] == a), "{rows:?}");
    let (status, _) = audit(&app, &owner_a.token, &format!("store_id={b}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = audit(&app, &kim.token, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = audit(&app, ADMIN_TOKEN, &format!("actor_id={}", owner_b.id)).await;
    assert_eq!(page["rows"][0]["store_id"], b);
    assert_eq!(page["rows"][0]["actor"]["name"], "owner.aud-b");
    for bad in ["kind=nope", "from=yesterday", "limit=0", "limit=201"] {
        let (status, _) = audit(&app, ADMIN_TOKEN, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // Paging: one row a page, newest first.
    let (_, first) = audit(&app, ADMIN_TOKEN, "limit=1").await;
    let next = first["next_before"].as_i64().unwrap();
    let (_, second) = audit(&app, ADMIN_TOKEN, &format!("limit=1&before={next}")).await;
    assert!(second["rows"][0]["id"].as_i64().unwrap() < first["rows"][0]["id"].as_i64().unwrap());
}

#[tokio::test]
async fn only_an_admin_sets_the_cap_and_a_time_zone_must_be_real() {
    let app = spawn_app().await;
    let (store, owner, _) = counter(&app, "policy").await;
    let patch = |token: &str, body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/stores/{store}")))
            .bearer_auth(token.to_string())
            .json(&body)
            .send()
    };
    let r = patch(&owner.token, json!({"daily_grant_cap": 1_000_000}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = patch(&owner.token, json!({"time_zone": "Mars/Olympus"}))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_store".into())
    );
    let r = patch(ADMIN_TOKEN, json!({"daily_grant_cap": -1}))
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_store".into())
    );
    let s = json_of(app.get(&format!("/api/v1/stores/{store}"), None).await).await;
    assert_eq!(
        (&s["time_zone"], &s["daily_grant_cap"]),
        (&json!("UTC"), &json!(50_000))
    );
    let (_, page) = audit(
        &app,
        ADMIN_TOKEN,
        &format!("store_id={store}&kind=store_policy"),
    )
    .await;
    assert_eq!(
        page["rows"],
        json!([]),
        "refused changes leave no audit row"
    );

    let r = patch(&owner.token, json!({"time_zone": "Asia/Seoul"}))
        .await
        .unwrap();
    assert_eq!(json_of(r).await["time_zone"], "Asia/Seoul");
    let r = patch(ADMIN_TOKEN, json!({"daily_grant_cap": 100}))
        .await
        .unwrap();
    assert_eq!(json_of(r).await["daily_grant_cap"], 100);
    let (_, page) = audit(
        &app,
        ADMIN_TOKEN,
        &format!("store_id={store}&kind=store_policy"),
    )
    .await;
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            &rows[0]["before"]["daily_grant_cap"],
            &rows[0]["after"]["daily_grant_cap"]
        ),
        (&json!(50_000), &json!(100))
    );
}

#[tokio::test]
async fn the_cap_resets_at_midnight_in_the_stores_time_zone() {
    let clock = std::sync::Arc::new(pointcast::jobs::clock::ManualClock::new(
        "2026-11-21T14:30:00Z".parse().unwrap(),
    ));
    let c = clock.clone();
    let app = spawn_app_with(move |s| s.clock = c).await;
    let (store, owner, kim) = counter(&app, "midnight").await;
    // 23:30 in Seoul (UTC+9); the cap is 1,000 a day.
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/stores/{store}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"time_zone": "Asia/Seoul", "daily_grant_cap": 1_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = json!({"points": 1_000, "reason": "x", "reason_code": "promotion"});
    assert_eq!(
        grant(&app, &owner.token, store, kim.id, body.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        grant(&app, &owner.token, store, kim.id, body.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // 23:59 in Seoul: still the same day.
    clock.advance(chrono::Duration::minutes(29));
    assert_eq!(
        grant(&app, &owner.token, store, kim.id, body.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // 00:00 in Seoul, though still the 21st in UTC: a new day.
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(
        grant(&app, &owner.token, store, kim.id, body.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    // 2,000 granted: one 1,500-point coupon and 500 left.
    assert_eq!(balance(&app, &kim, store).await, 500);
}

#[tokio::test]
async fn every_staff_action_that_moves_money_or_stock_leaves_one_audit_row() {
    use crate::lifecycle::{bought, coupons, give_points, open_shop, returned};
    let app = spawn_app().await;
    // The owner sets the policy (store_policy); the admin stocks the album (stock_set).
    let shop = open_shop(&app, "trail", json!({"earn_percent": 10}), 20_000, 10).await;
    let kim = app.customer("Kim trail").await;
    give_points(&app, &shop, &kim, 1_500).await; // grant, and a coupon
    let coupon = coupons(&app, &kim, shop.store).await[0]["id"]
        .as_i64()
        .unwrap();
    let r = app
        .post(
            &format!("/api/v1/coupons/{coupon}/redeem"),
            Some(&shop.owner.token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "redeem");
    let order = bought(&app, &kim, shop.store, shop.album, 2, None).await;
    let order_id = order["id"].as_i64().unwrap();
    returned(&app, &shop.owner.token, order_id, 1).await;
    let r = app
        .post(
            &format!("/api/v1/stores/{}/stock/{}/adjust", shop.store, shop.album),
            Some(&shop.owner.token),
            &json!({"delta": -1, "reason": "damaged"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "adjust");
    let r = app
        .client
        .put(app.url(&format!("/api/v1/stores/{}/coupon-design", shop.store)))
        .bearer_auth(&shop.owner.token)
        .json(&json!({"shape": "star", "color": "#112233", "label": "Thanks"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "design");

    let (_, page) = audit(&app, &shop.owner.token, &format!("store_id={}", shop.store)).await;
    let rows = page["rows"].as_array().unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "coupon_design",
            "stock_adjust",
            "order_return",
            "coupon_redeem",
            "grant",
            "stock_set",
            "store_policy"
        ],
        "{rows:?}"
    );
    let by_kind = |k: &str| rows.iter().find(|r| r["kind"] == k).unwrap().clone();
    let ret = by_kind("order_return");
    assert_eq!(
        (&ret["target_type"], &ret["target_id"]),
        (&json!("order"), &json!(order_id))
    );
    assert_eq!(ret["actor"]["id"], shop.owner.id);
    let adj = by_kind("stock_adjust");
    assert_eq!(
        (&adj["before"]["quantity"], &adj["after"]["quantity"]),
        (&json!(9), &json!(8))
    );
    assert_eq!(adj["actor"]["name"], shop.owner.login);
    let red = by_kind("coupon_redeem");
    assert_eq!(red["target_id"], coupon);
    assert_eq!(by_kind("store_policy")["after"]["earn_percent"], 10);
    assert_eq!(by_kind("coupon_design")["after"]["shape"], "star");
    // Filters.
    let (_, page) = audit(
        &app,
        ADMIN_TOKEN,
        &format!("store_id={}&kind=stock_set", shop.store),
    )
    .await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 1);
    let (_, page) = audit(&app, ADMIN_TOKEN, "from=2999-01-01T00:00:00Z").await;
    assert_eq!(page["rows"], json!([]));
}

#[tokio::test]
async fn new_stores_start_in_the_servers_configured_time_zone() {
    let app = spawn_app_with(|s| s.time_zone = "Asia/Seoul".into()).await;
    let store = app.store("Store seoul").await;
    let s = json_of(app.get(&format!("/api/v1/stores/{store}"), None).await).await;
    assert_eq!(s["time_zone"], "Asia/Seoul");
    let all = json_of(app.get("/api/v1/stores", None).await).await;
    let listed = all["stores"].as_array().map_or(&all, |_| &all["stores"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == store)
        .unwrap();
    assert_eq!(
        (&row["time_zone"], &row["daily_grant_cap"]),
        (&json!("Asia/Seoul"), &json!(50_000))
    );
}
