//! Points and coupons that expire (#17): lots consumed first in, first out, the
//! `mileage-expiry` job (expired remainders once, one warning per lot, coupons
//! marked expired), expired coupons refused at redemption and checkout, expiry
//! racing conversions, and the policy's bounds. Time moves with the app's clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use pointcast::jobs::clock::{Clock, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle::*;

/// An app on a clock the test moves.
async fn app_with_clock() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = {
        let clock = Arc::clone(&clock);
        spawn_app_with(move |s| s.clock = clock).await
    };
    (app, clock)
}

/// Runs `mileage-expiry` now; a scheduled run the clock's move started may be
/// under way (409), so this waits for its turn. Answers the run.
async fn run_expiry(app: &TestApp) -> Value {
    for _ in 0..500 {
        let r = app
            .post(
                "/api/v1/admin/jobs/mileage-expiry/run",
                Some(ADMIN_TOKEN),
                &json!({}),
            )
            .await;
        if r.status() == StatusCode::CREATED {
            let answer = json_of(r).await;
            assert_eq!(answer["outcome"], "ok", "{answer}");
            return answer;
        }
        assert_eq!(r.status(), StatusCode::CONFLICT);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("mileage-expiry never got its turn");
}

async fn grant(app: &TestApp, shop: &Shop, user: &User, points: i64) -> Value {
    let r = app
        .client
        .post(app.url(&format!(
            "/api/v1/stores/{}/members/{}/mileage",
            shop.store, user.id
        )))
        .bearer_auth(&shop.owner.token)
        .header("Idempotency-Key", key())
        .json(&json!({"points": points, "reason": "visit", "reason_code": "promotion"}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v = json_of(r).await;
    assert_eq!(status, StatusCode::CREATED, "grant: {v}");
    v
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a time"))
        .unwrap()
        .with_timezone(&Utc)
}

fn sum(entries: &[Value]) -> i64 {
    entries.iter().map(|e| e["points"].as_i64().unwrap()).sum()
}

fn of_kind<'a>(entries: &'a [Value], kind: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["kind"] == kind).collect()
}

/// Balance = sum of entries = what the lots hold (no other credits here).
async fn consistent(app: &TestApp, user: &User, store: i64) -> i64 {
    let list = entries(app, user, store).await;
    let b = balance(app, user, store).await;
    assert_eq!(b, sum(&list), "balance = sum of entries");
    let held: i64 = list.iter().map(|e| e["remaining"].as_i64().unwrap()).sum();
    assert_eq!(b, held, "balance = what the lots hold");
    assert!(b >= 0);
    b
}

#[tokio::test]
async fn the_policy_is_shown_and_bounded() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "exp-policy", json!({}), 10_000, 5).await;
    let store = |v: Value| {
        v["stores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == shop.store)
            .cloned()
            .unwrap()
    };
    let listed = store(json_of(app.get("/api/v1/stores", None).await).await);
    assert_eq!(
        (&listed["points_valid_days"], &listed["coupon_valid_days"]),
        (&json!(365), &json!(90))
    );
    for bad in [
        json!({"points_valid_days": -1}),
        json!({"points_valid_days": 3651}),
        json!({"coupon_valid_days": -5}),
        json!({"coupon_valid_days": 100000, "earn_percent": 5}),
    ] {
        let r = patch_store(&app, &shop.owner.token, shop.store, &bad).await;
        assert_eq!(
            error_code(r).await,
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_store".into()),
            "{bad}"
        );
    }
    let kim = app.customer("Kim").await;
    let r = patch_store(
        &app,
        &kim.token,
        shop.store,
        &json!({"points_valid_days": 1}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let unchanged = store(json_of(app.get("/api/v1/stores", None).await).await);
    assert_eq!(unchanged, listed, "nothing changed");

    let r = patch_store(
        &app,
        &shop.owner.token,
        shop.store,
        &json!({"points_valid_days": 0, "coupon_valid_days": 3650}),
    )
    .await;
    let v = json_of(r).await;
    assert_eq!(
        (&v["points_valid_days"], &v["coupon_valid_days"]),
        (&json!(0), &json!(3650))
    );
    // 0: never. A grant's lot has no expiry.
    let g = give_points(&app, &shop, &kim, 100).await;
    assert_eq!(g["entry"]["expires_at"], Value::Null);
    assert_eq!(g["entry"]["remaining"], 100);
    assert_eq!(
        balance_row(&app, &kim, shop.store).await.unwrap()["expiring"],
        Value::Null
    );
}

#[tokio::test]
async fn conversions_consume_the_oldest_lots_first_and_the_job_expires_only_what_is_left_once() {
    let (app, clock) = app_with_clock().await;
    let shop = open_shop(
        &app,
        "exp-fifo",
        json!({"points_valid_days": 10}),
        10_000,
        5,
    )
    .await;
    let kim = app.customer("Kim").await;
    let t0 = clock.now();
    let first = give_points(&app, &shop, &kim, 1_000).await["entry"].clone();
    assert_eq!(first["remaining"], 1_000);
    assert_eq!(
        at(&first["expires_at"]),
        at(&first["created_at"]) + Duration::days(10)
    );
    clock.advance(Duration::days(2));
    // 2,000 reach the threshold (1,500): the conversion takes all of the first lot
    // and 500 of the second.
    let second = grant(&app, &shop, &kim, 1_000).await;
    assert_eq!(second["coupons_issued"], 1);
    assert_eq!(
        second["entry"]["remaining"], 500,
        "the answer shows what is left"
    );
    let lot2 = second["entry"]["id"].clone();
    let list = entries(&app, &kim, shop.store).await;
    let lot = |id: &Value| list.iter().find(|e| &e["id"] == id).unwrap().clone();
    assert_eq!(lot(&first["id"])["remaining"], 0);
    assert_eq!(lot(&lot2)["remaining"], 500);
    assert_eq!(consistent(&app, &kim, shop.store).await, 500);
    let row = balance_row(&app, &kim, shop.store).await.unwrap();
    assert_eq!(row["expiring"]["points"], 500);
    assert_eq!(at(&row["expiring"]["at"]), at(&lot(&lot2)["expires_at"]));
    assert!(at(&row["expiring"]["at"]) > t0 + Duration::days(11));

    // Day 11: the first lot has expired, but nothing was left of it.
    clock.advance(Duration::days(9));
    run_expiry(&app).await;
    assert!(of_kind(&entries(&app, &kim, shop.store).await, "expiry").is_empty());
    assert_eq!(consistent(&app, &kim, shop.store).await, 500);

    // Day 13: the second lot's 500 expire, once.
    clock.advance(Duration::days(2));
    run_expiry(&app).await;
    run_expiry(&app).await;
    let list = entries(&app, &kim, shop.store).await;
    let expiries = of_kind(&list, "expiry");
    assert_eq!(expiries.len(), 1, "{list:?}");
    assert_eq!(expiries[0]["points"], -500);
    assert_eq!(expiries[0]["balance_after"], 0);
    // The history names the lot that expired (the 1,000-point grant).
    assert_eq!(expiries[0]["lot"]["id"], lot2);
    assert_eq!(expiries[0]["lot"]["kind"], "grant");
    assert_eq!(expiries[0]["lot"]["points"], 1000);
    assert_eq!(expiries[0]["actor"], Value::Null);
    assert_eq!(consistent(&app, &kim, shop.store).await, 0);
    assert_eq!(
        balance_row(&app, &kim, shop.store).await.unwrap()["expiring"],
        Value::Null
    );
    let told = logged(&app, &kim.token, "mileage.expired").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["data"]["points"], 500);
    assert_eq!(told[0]["data"]["balance"], 0);
    assert_eq!(told[0]["data"]["store"]["id"], shop.store);
    // The store's staff hear it too.
    assert_eq!(
        logged(&app, &shop.owner.token, "mileage.expired")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_purchase_is_a_lot_and_a_return_consumes_lots() {
    let (app, clock) = app_with_clock().await;
    let shop = open_shop(
        &app,
        "exp-buy",
        json!({"points_valid_days": 30, "earn_percent": 10}),
        10_000,
        5,
    )
    .await;
    let kim = app.customer("Kim").await;
    give_points(&app, &shop, &kim, 200).await;
    clock.advance(Duration::days(1));
    let order = bought(&app, &kim, shop.store, shop.album, 1, None).await;
    let list = entries(&app, &kim, shop.store).await;
    let purchase = of_kind(&list, "purchase")[0].clone();
    assert_eq!(purchase["remaining"], 1_000);
    assert_eq!(
        at(&purchase["expires_at"]),
        at(&purchase["created_at"]) + Duration::days(30)
    );
    // The return takes back 1,000: the grant's 200 go first (older), then 800.
    returned(&app, &kim.token, order["id"].as_i64().unwrap(), 1).await;
    let list = entries(&app, &kim, shop.store).await;
    assert_eq!(of_kind(&list, "grant")[0]["remaining"], 0);
    assert_eq!(of_kind(&list, "purchase")[0]["remaining"], 200);
    assert_eq!(consistent(&app, &kim, shop.store).await, 200);
}

#[tokio::test]
async fn a_lot_is_warned_about_once_within_seven_days_of_expiring() {
    let (app, clock) = app_with_clock().await;
    let shop = open_shop(
        &app,
        "exp-warn",
        json!({"points_valid_days": 10}),
        10_000,
        5,
    )
    .await;
    let kim = app.customer("Kim").await;
    let lot = give_points(&app, &shop, &kim, 300).await["entry"].clone();
    clock.advance(Duration::days(2)); // 8 days left: not yet
    run_expiry(&app).await;
    assert!(
        logged(&app, &kim.token, "mileage.expiring")
            .await
            .is_empty()
    );
    clock.advance(Duration::days(2)); // 6 days left
    run_expiry(&app).await;
    run_expiry(&app).await;
    clock.advance(Duration::days(1));
    run_expiry(&app).await;
    let told = logged(&app, &kim.token, "mileage.expiring").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["data"]["points"], 300);
    assert_eq!(at(&told[0]["data"]["expires_at"]), at(&lot["expires_at"]));
    assert_eq!(told[0]["data"]["store"]["id"], shop.store);
    assert_eq!(consistent(&app, &kim, shop.store).await, 300);
}

#[tokio::test]
async fn expired_coupons_are_refused_at_redemption_and_checkout_then_marked() {
    let (app, clock) = app_with_clock().await;
    let shop = open_shop(
        &app,
        "exp-coupon",
        json!({"coupon_valid_days": 5, "coupon_value": 3000}),
        10_000,
        5,
    )
    .await;
    let kim = app.customer("Kim").await;
    let granted = give_points(&app, &shop, &kim, 3_000).await;
    let ids: Vec<i64> = granted["coupons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let c = &granted["coupons"][0];
    assert_eq!(
        at(&c["expires_at"]),
        at(&c["issued_at"]) + Duration::days(5)
    );

    clock.advance(Duration::days(5) + Duration::seconds(1));
    // Past expires_at, before the job has marked them.
    let r = app
        .post(
            &format!("/api/v1/coupons/{}/redeem", ids[0]),
            Some(&shop.owner.token),
            &json!({}),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "coupon_expired".into())
    );
    let r = buy(&app, &kim, shop.store, shop.album, 1, Some(ids[1])).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "coupon_expired".into())
    );
    assert_eq!(
        stock(&app, shop.store, shop.album).await,
        5,
        "nothing bought"
    );
    assert!(orders(&app, &kim).await.is_empty());

    run_expiry(&app).await;
    for id in &ids {
        assert_eq!(coupon_status(&app, &kim, shop.store, *id).await, "expired");
    }
    let told = logged(&app, &kim.token, "coupon.expired").await;
    assert_eq!(told.len(), 2);
    assert_eq!(told[0]["data"]["store"]["id"], shop.store);
    let r = app
        .post(
            &format!("/api/v1/coupons/{}/redeem", ids[0]),
            Some(&shop.owner.token),
            &json!({}),
        )
        .await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "coupon_expired".into())
    );
    run_expiry(&app).await;
    assert_eq!(
        logged(&app, &kim.token, "coupon.expired").await.len(),
        2,
        "once"
    );
}

#[tokio::test]
async fn expiry_racing_conversions_never_spends_a_lot_twice() {
    let (app, clock) = app_with_clock().await;
    let shop = open_shop(
        &app,
        "exp-race",
        json!({"points_valid_days": 10}),
        10_000,
        5,
    )
    .await;
    let mut people = Vec::new();
    for i in 0..6 {
        let u = app.customer(&format!("Racer{i}")).await;
        give_points(&app, &shop, &u, 1_400).await;
        people.push(u);
    }
    clock.advance(Duration::days(11)); // every 1,400 lot has expired, unmarked
    // Each member's 100 reaches 1,500 and converts, while the job expires the lots.
    let grants = join_all(people.iter().map(|u| grant(&app, &shop, u, 100)));
    let runs = join_all((0..2).map(|_| run_expiry(&app)));
    let (granted, _) = tokio::join!(grants, runs);
    run_expiry(&app).await;
    for (u, g) in people.iter().zip(&granted) {
        let b = consistent(&app, u, shop.store).await;
        let list = entries(&app, u, shop.store).await;
        let expired: i64 = -sum(&of_kind(&list, "expiry")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>());
        let converted: i64 = -sum(&of_kind(&list, "conversion")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>());
        // Either the conversion got the old lot, or the job did: never both.
        assert_eq!(expired + converted + b, 1_500, "{list:?}");
        if g["coupons_issued"] == 1 {
            assert_eq!((expired, b), (0, 0));
        } else {
            assert_eq!((expired, converted, b), (1_400, 0, 100));
        }
    }
}
