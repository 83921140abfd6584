//! Returns: partial and whole, the coupon given back, retries, and who may.

use std::sync::Arc;

use futures_util::future::join_all;
use pointcast::jobs::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

// ---- returns ----

#[tokio::test]
async fn partial_returns_add_up_to_the_order_give_the_stock_back_and_take_the_points_back() {
    let app = spawn_app().await;
    let shop = open_shop(
        &app,
        "ret",
        json!({"earn_percent": 10, "coupon_threshold": 100_000}),
        3_337,
        10,
    )
    .await;
    let kim = app.customer("Kim").await;
    let order = bought(&app, &kim, shop.store, shop.album, 3, None).await;
    let id = order["id"].as_i64().unwrap();
    assert_eq!(order["points_earned"], 1_001, "floor(10011 × 10 / 100)");
    let mut mine = live(&app, &kim.token, "order.returned,mileage.reversed").await;
    let mut staff = live(
        &app,
        &shop.owner.token,
        "order.returned,mileage.reversed,stock.changed",
    )
    .await;

    // The order stands for floor(1001 × left / 3) points: 1001, 667, 333, 0.
    let mut reversed = Vec::new();
    for (n, (left, status)) in [(2, "partially_returned"), (1, "partially_returned")]
        .into_iter()
        .enumerate()
    {
        let answer = returned(&app, &shop.owner.token, id, 1).await;
        assert_eq!(answer["returned"], 1);
        assert_eq!(answer["order"]["returned_quantity"], 3 - left);
        assert_eq!(answer["order"]["status"], status, "return {n}");
        assert_eq!(answer["coupons_revoked"], json!([]));
        assert_eq!(answer["coupon_restored"], Value::Null);
        assert_eq!(stock(&app, shop.store, shop.album).await, 7 + 3 - left);
        reversed.push(answer["points_reversed"].as_i64().unwrap());
        assert_eq!(answer["balance"], balance(&app, &kim, shop.store).await);
    }
    assert_eq!(reversed, [334, 334]);
    let before = books(&app, &kim, &shop).await;
    let r = give_back(&app, &shop.owner.token, id, 2, &key()).await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "return_exceeds_order".into()
        )
    );
    assert_eq!(books(&app, &kim, &shop).await, before);
    let last = returned(&app, &shop.owner.token, id, 1).await;
    assert_eq!(last["points_reversed"], 333);
    assert_eq!(last["order"]["status"], "returned");
    assert_eq!(last["balance"], 0);
    let r = give_back(&app, &shop.owner.token, id, 1, &key()).await;
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "return_exceeds_order".into()
        )
    );

    assert_eq!(stock(&app, shop.store, shop.album).await, 10);
    let list = assert_ledger_adds_up(&app, &kim, shop.store).await;
    let reversals: Vec<(i64, Value)> = list
        .iter()
        .filter(|e| e["kind"] == "reversal")
        .map(|e| (e["points"].as_i64().unwrap(), e["order_id"].clone()))
        .collect();
    assert_eq!(
        reversals,
        [(-334, json!(id)), (-334, json!(id)), (-333, json!(id))]
    );
    let listed = order_of(&app, &kim, id).await;
    assert_eq!(
        (&listed["returned_quantity"], &listed["status"]),
        (&json!(3), &json!("returned"))
    );
    assert_eq!(
        listed["points_earned"], 1_001,
        "what it earned stays on record"
    );

    // Live: the customer and the store see each return; the store its stock come back.
    let got = mine.take(6).await;
    for (pair, points) in got.chunks(2).zip([334, 334, 333]) {
        assert_eq!(kinds(pair), ["order.returned", "mileage.reversed"]);
        let d = &pair[0].data["data"];
        assert_eq!(
            (&d["order"]["id"], &d["quantity"], &d["points_reversed"]),
            (&json!(id), &json!(1), &json!(points))
        );
        assert_eq!(d["returned_by"]["id"], shop.owner.id);
        assert_eq!(d["reason"], "changed their mind");
        let m = &pair[1].data["data"];
        assert_eq!((&m["points"], &m["order_id"]), (&json!(points), &json!(id)));
    }
    let seen = staff.take(9).await;
    assert_eq!(
        seen.iter().filter(|e| e.event == "order.returned").count(),
        3
    );
    let stock_back: Vec<(i64, i64)> = seen
        .iter()
        .filter(|e| e.event == "stock.changed")
        .map(|e| {
            (
                e.data["data"]["delta"].as_i64().unwrap(),
                e.data["data"]["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stock_back, [(1, 8), (1, 9), (1, 10)]);
    assert!(
        seen.iter()
            .filter(|e| e.event == "stock.changed")
            .all(|e| e.data["data"]["reason"] == "return")
    );
}

#[tokio::test]
async fn returning_the_whole_order_gives_back_the_coupon_it_paid_with() {
    let app = spawn_app().await;
    let shop = open_shop(
        &app,
        "back",
        json!({"earn_percent": 10, "coupon_value": 4000}),
        10_000,
        10,
    )
    .await;
    let kim = app.customer("Kim").await;
    give_points(&app, &shop, &kim, 1_500).await;
    let coupon = coupons(&app, &kim, shop.store).await[0]["id"]
        .as_i64()
        .unwrap();
    let order = bought(&app, &kim, shop.store, shop.album, 2, Some(coupon)).await;
    assert_eq!(
        (order["paid"].as_i64(), order["points_earned"].as_i64()),
        (Some(16_000), Some(1_600))
    );
    let id = order["id"].as_i64().unwrap();
    let mut mine = live(&app, &kim.token, "coupon.").await;

    let part = returned(&app, &shop.owner.token, id, 1).await;
    assert_eq!(
        part["coupon_restored"],
        Value::Null,
        "only the whole order gives it back"
    );
    assert_eq!(
        coupon_status(&app, &kim, shop.store, coupon).await,
        "redeemed"
    );
    let rest = returned(&app, &shop.owner.token, id, 1).await;

    assert_eq!(rest["coupon_restored"]["id"], coupon);
    assert_eq!(rest["coupon_restored"]["status"], "active");
    assert_eq!(
        coupon_status(&app, &kim, shop.store, coupon).await,
        "active"
    );
    // The 1,600 points it earned became a coupon (1,500) and a rest of 100; the
    // first return takes 800 of them, revoking that coupon.
    let e = mine.take(2).await;
    assert_eq!(kinds(&e), ["coupon.revoked", "coupon.restored"]);
    assert_eq!(
        (
            &e[1].data["data"]["coupon"]["id"],
            &e[1].data["data"]["order_id"]
        ),
        (&json!(coupon), &json!(id))
    );
    assert_eq!(balance(&app, &kim, shop.store).await, 0);
    assert_ledger_adds_up(&app, &kim, shop.store).await;
    // And it pays again.
    let again = bought(&app, &kim, shop.store, shop.album, 1, Some(coupon)).await;
    assert_eq!(again["discount"], 4_000);
}

#[tokio::test]
async fn a_retried_return_with_the_same_key_answers_the_same_and_changes_nothing() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "retry", json!({"earn_percent": 10}), 10_000, 10).await;
    let kim = app.customer("Kim").await;
    let order = bought(&app, &kim, shop.store, shop.album, 3, None).await;
    let id = order["id"].as_i64().unwrap();
    let k = key();
    let first = give_back(&app, &shop.owner.token, id, 2, &k).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(first.headers()["idempotent-replayed"], "false");
    let first = first.text().await.unwrap();
    let after = books(&app, &kim, &shop).await;
    let events_after = logged(&app, &kim.token, "").await.len();

    let retries = join_all((0..5).map(|_| give_back(&app, &shop.owner.token, id, 2, &k))).await;

    for r in retries {
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["idempotent-replayed"], "true");
        assert_eq!(r.text().await.unwrap(), first);
    }
    assert_eq!(books(&app, &kim, &shop).await, after);
    assert_eq!(logged(&app, &kim.token, "").await.len(), events_after);
    assert_eq!(after.stock, 9);
    // The same key for another return is refused.
    let r = give_back(&app, &shop.owner.token, id, 1, &k).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "idempotency_key_reused".into())
    );
    assert_eq!(books(&app, &kim, &shop).await, after);
}

#[tokio::test]
async fn a_customer_cancels_their_own_order_within_15_minutes_but_not_after() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = {
        let clock = Arc::clone(&clock);
        spawn_app_with(move |s| s.clock = clock).await
    };
    let shop = open_shop(&app, "cancel", json!({"earn_percent": 10}), 10_000, 10).await;
    let kim = app.customer("Kim").await;
    let order = bought(&app, &kim, shop.store, shop.album, 3, None).await;
    let id = order["id"].as_i64().unwrap();

    clock.advance(chrono::Duration::minutes(14));
    let first_key = key();
    let r = give_back(&app, &kim.token, id, 1, &first_key).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let answer = json_of(r).await;
    assert_eq!(answer["order"]["returned_quantity"], 1);
    assert_eq!(answer["points_reversed"], 1_000);
    let mut staff = live(&app, &shop.owner.token, "order.returned").await;
    let answer = returned(&app, &kim.token, id, 1).await;
    let e = staff.take(1).await.remove(0);
    assert_eq!(e.data["data"]["returned_by"]["id"], kim.id);
    assert_eq!(answer["order"]["status"], "partially_returned");

    clock.advance(chrono::Duration::minutes(2));
    let before = books(&app, &kim, &shop).await;
    let r = give_back(&app, &kim.token, id, 1, &key()).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert_eq!(books(&app, &kim, &shop).await, before);
    // A retry of the cancellation made in time (its answer lost) gets that answer
    // again past the window, and changes nothing.
    let r = give_back(&app, &kim.token, id, 1, &first_key).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["Idempotent-Replayed"], "true");
    assert_eq!(json_of(r).await["order"]["returned_quantity"], 1);
    assert_eq!(books(&app, &kim, &shop).await, before);
    // The store may still take it back.
    let answer = returned(&app, &shop.owner.token, id, 1).await;
    assert_eq!(answer["order"]["status"], "returned");
}

#[tokio::test]
async fn another_stores_staff_and_another_customer_cannot_return_an_order() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "guard", json!({"earn_percent": 10}), 10_000, 10).await;
    let elsewhere = open_shop(&app, "elsewhere", json!({}), 1_000, 1).await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    let order = bought(&app, &kim, shop.store, shop.album, 2, None).await;
    let id = order["id"].as_i64().unwrap();
    let before = books(&app, &kim, &shop).await;

    let r = give_back(&app, &elsewhere.owner.token, id, 1, &key()).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    let r = give_back(&app, &lee.token, id, 1, &key()).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    let r = give_back(&app, &shop.owner.token, 999_999, 1, &key()).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
    for (body, code) in [
        (json!({"quantity": 0, "reason": "x"}), "invalid_quantity"),
        (json!({"quantity": 1, "reason": ""}), "invalid_reason"),
        (
            json!({"quantity": 1, "reason": "x".repeat(201)}),
            "invalid_reason",
        ),
    ] {
        let r = app
            .client
            .post(app.url(&format!("/api/v1/orders/{id}/returns")))
            .bearer_auth(&shop.owner.token)
            .header("Idempotency-Key", key())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(r).await,
            (StatusCode::UNPROCESSABLE_ENTITY, code.into()),
            "{body}"
        );
    }
    let r = app
        .client
        .post(app.url(&format!("/api/v1/orders/{id}/returns")))
        .bearer_auth(&shop.owner.token)
        .json(&json!({"quantity": 1, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no Idempotency-Key");

    assert_eq!(books(&app, &kim, &shop).await, before);
    assert_eq!(stock(&app, elsewhere.store, shop.album).await, 0);
    // An admin may.
    let answer = returned(&app, ADMIN_TOKEN, id, 2).await;
    assert_eq!(answer["order"]["status"], "returned");
}
