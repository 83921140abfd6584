//! A store's loyalty policy, what a purchase earns, and coupons at checkout.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;

// ---- store policy ----

#[tokio::test]
async fn a_stores_owner_or_an_admin_sets_its_earn_percent_and_coupon_value_and_bad_values_change_nothing()
 {
    let app = spawn_app().await;
    let store = app.store("Policy").await;
    let owner = app.owner("owner.policy", &[store]).await;
    let other = app.store("Other").await;
    let other_owner = app.owner("owner.other", &[other]).await;
    let kim = app.customer("Kim").await;
    let path = format!("/api/v1/stores/{store}");
    let fresh: Value = json_of(app.get(&path, None).await).await;
    assert_eq!(
        (&fresh["earn_percent"], &fresh["coupon_value"]),
        (&json!(0), &json!(10_000))
    );

    let r = patch_store(
        &app,
        &owner.token,
        store,
        &json!({"earn_percent": 10, "coupon_value": 5000}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let answer = json_of(r).await;
    assert_eq!(
        (&answer["earn_percent"], &answer["coupon_value"]),
        (&json!(10), &json!(5000))
    );
    let r = patch_store(&app, ADMIN_TOKEN, store, &json!({"earn_percent": 20})).await;
    assert_eq!(r.status(), StatusCode::OK);
    for body in [
        json!({"earn_percent": 0}),
        json!({"coupon_value": 0}),
        json!({"coupon_value": 100_000_000}),
    ] {
        let r = patch_store(&app, &owner.token, store, &body).await;
        assert_eq!(r.status(), StatusCode::OK, "{body}");
    }
    let r = patch_store(
        &app,
        &owner.token,
        store,
        &json!({"earn_percent": 20, "coupon_value": 5000}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let set: Value = json_of(app.get(&path, None).await).await;
    assert_eq!(
        (&set["earn_percent"], &set["coupon_value"]),
        (&json!(20), &json!(5000))
    );
    assert_eq!(set["coupon_threshold"], 1500);
    let listed = json_of(app.get("/api/v1/stores", None).await).await;
    let row = listed["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == store)
        .unwrap()
        .clone();
    assert_eq!(
        (&row["earn_percent"], &row["coupon_value"]),
        (&json!(20), &json!(5000))
    );

    // Out of range, or not an integer: 422, and nothing changes.
    for (field, bad) in [
        ("earn_percent", json!(21)),
        ("earn_percent", json!(-1)),
        ("earn_percent", json!(1.5)),
        ("earn_percent", json!("5")),
        ("coupon_value", json!(-1)),
        ("coupon_value", json!(100_000_001)),
        ("coupon_value", json!(1.5)),
        ("coupon_value", json!("5")),
    ] {
        let body = json!({ field: bad });
        let (status, code) = error_code(patch_store(&app, &owner.token, store, &body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        if bad.is_i64() {
            assert_eq!(code, "invalid_store", "{body}");
        }
    }
    // Another store's owner, a customer, nobody: refused.
    let change = json!({"earn_percent": 1});
    let r = patch_store(&app, &other_owner.token, store, &change).await;
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    let r = patch_store(&app, &kim.token, store, &change).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .patch(app.url(&path))
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(app.get(&path, None).await).await, set);
}

// ---- what a purchase earns ----

#[tokio::test]
async fn a_purchase_earns_its_percent_of_what_was_paid_makes_the_buyer_a_member_and_converts_into_coupons()
 {
    let app = spawn_app().await;
    let shop = open_shop(&app, "earn", json!({"earn_percent": 10}), 12_345, 10).await;
    let kim = app.customer("Kim").await;
    assert!(
        balance_row(&app, &kim, shop.store).await.is_none(),
        "not a member yet"
    );
    let mut mine = live(&app, &kim.token, "mileage.,coupon.").await;
    let mut staff = live(&app, &shop.owner.token, "mileage.,coupon.").await;

    let first = bought(&app, &kim, shop.store, shop.album, 1, None).await;
    assert_eq!(first["total"], 12_345);
    assert_eq!(first["discount"], 0);
    assert_eq!(first["paid"], 12_345);
    assert_eq!(first["coupon_id"], Value::Null);
    assert_eq!(first["points_earned"], 1_234, "floor(12345 × 10 / 100)");
    assert_eq!(first["returned_quantity"], 0);
    assert_eq!(first["status"], "placed");
    assert_eq!(first["user_id"], kim.id);
    let e = mine.take(1).await.remove(0);
    assert_eq!(e.event, "mileage.granted");
    assert_eq!(e.data["channel"], format!("user:{}", kim.id));
    let d = &e.data["data"];
    assert_eq!(
        (d["points"].as_i64(), d["balance"].as_i64()),
        (Some(1_234), Some(1_234))
    );
    assert_eq!(d["coupons_issued"], 0);
    assert_eq!(d["granted_by"], Value::Null);
    assert_eq!(d["order_id"], first["id"]);
    assert_eq!(d["store"]["id"], shop.store);

    // Crossing the threshold (1500) converts, exactly as a grant does.
    let second = bought(&app, &kim, shop.store, shop.album, 2, None).await;
    assert_eq!(second["points_earned"], 2_469, "floor(24690 × 10 / 100)");
    let got = mine.take(3).await;
    assert_eq!(
        kinds(&got),
        ["mileage.granted", "coupon.issued", "coupon.issued"]
    );
    let d = &got[0].data["data"];
    assert_eq!(d["balance_before_conversion"], 3_703);
    assert_eq!(d["balance"], 703);
    assert_eq!(d["coupons_issued"], 2);
    assert_eq!(d["order_id"], second["id"]);
    assert_eq!(d["granted_by"], Value::Null);
    assert!(got[1..].iter().all(|e| e.data["data"]["balance"] == 703));
    let echoed = staff.take(4).await;
    assert_eq!(
        kinds(&echoed),
        [
            "mileage.granted",
            "mileage.granted",
            "coupon.issued",
            "coupon.issued"
        ]
    );
    assert_eq!(echoed[1].data["channel"], format!("store:{}", shop.store));
    assert_eq!(echoed[1].data["data"], got[0].data["data"]);

    // The ledger names the orders; the buyer is now a member.
    let list = assert_ledger_adds_up(&app, &kim, shop.store).await;
    let summary: Vec<(&str, i64, Value)> = list
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["points"].as_i64().unwrap(),
                e["order_id"].clone(),
            )
        })
        .collect();
    // (The contract leaves open which order, if any, a conversion names.)
    assert_eq!(
        summary[..2],
        [
            ("purchase", 1_234, first["id"].clone()),
            ("purchase", 2_469, second["id"].clone()),
        ]
    );
    assert_eq!(
        (summary[2].0, summary[2].1, summary.len()),
        ("conversion", -3_000, 3)
    );
    let row = balance_row(&app, &kim, shop.store).await.unwrap();
    assert_eq!(
        (&row["balance"], &row["member"]),
        (&json!(703), &json!(true))
    );
    let members = get_json(
        &app,
        &format!("/api/v1/stores/{}/members", shop.store),
        &shop.owner.token,
    )
    .await;
    let me = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == kim.id)
        .unwrap()
        .clone();
    assert_eq!(
        (&me["balance"], &me["active_coupons"]),
        (&json!(703), &json!(2))
    );
    let held = coupons(&app, &kim, shop.store).await;
    assert_eq!(held.len(), 2);
    assert!(held.iter().all(|c| c["status"] == "active"));

    // Both order lists show what each order earned, newest first.
    let mine_listed = orders(&app, &kim).await;
    assert_eq!(mine_listed[0], second);
    assert_eq!(mine_listed[1], first);
    let path = format!("/api/v1/stores/{}/orders", shop.store);
    let theirs = get_json(&app, &path, &shop.owner.token).await;
    assert_eq!(theirs["orders"], json!([second, first]));
    assert_eq!(
        app.get(&path, Some(&kim.token)).await.status(),
        StatusCode::FORBIDDEN
    );
    let page = get_json(&app, &format!("{path}?limit=1"), &shop.owner.token).await;
    assert_eq!(page["orders"], json!([second]));
    assert_eq!(page["next_before"], second["id"]);
}

#[tokio::test]
async fn a_purchase_at_a_store_with_earn_percent_zero_credits_nothing() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "zero", json!({}), 50_000, 5).await;
    let kim = app.customer("Kim").await;

    let order = bought(&app, &kim, shop.store, shop.album, 2, None).await;

    assert_eq!(
        (order["paid"].as_i64(), order["points_earned"].as_i64()),
        (Some(100_000), Some(0))
    );
    assert!(entries(&app, &kim, shop.store).await.is_empty());
    assert_eq!(balance(&app, &kim, shop.store).await, 0);
    assert!(coupons(&app, &kim, shop.store).await.is_empty());
    assert!(
        logged(&app, &kim.token, "mileage.,coupon.")
            .await
            .is_empty()
    );
    assert_eq!(stock(&app, shop.store, shop.album).await, 3);
}

// ---- coupons at checkout ----

#[tokio::test]
async fn a_coupon_takes_its_value_off_the_total_and_points_are_earned_on_what_was_paid() {
    let app = spawn_app().await;
    let shop = open_shop(
        &app,
        "pay",
        json!({"earn_percent": 10, "coupon_value": 5000}),
        12_000,
        10,
    )
    .await;
    let cheap = new_album(&app, shop.store, "Single", 3_000, 10).await;
    let kim = app.customer("Kim").await;
    let granted = give_points(&app, &shop, &kim, 3_000).await;
    assert_eq!(granted["coupons_issued"], 2);
    let held = coupons(&app, &kim, shop.store).await;
    let (c1, c2) = (
        held[0]["id"].as_i64().unwrap(),
        held[1]["id"].as_i64().unwrap(),
    );
    let mut mine = live(&app, &kim.token, "mileage.,coupon.").await;
    let mut staff = live(&app, &shop.owner.token, "coupon.").await;

    let k = key();
    let r = buy_with_key(&app, &kim, shop.store, shop.album, 1, Some(c1), &k).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let first = r.text().await.unwrap();
    let order = serde_json::from_str::<Value>(&first).unwrap()["order"].clone();

    assert_eq!(order["total"], 12_000);
    assert_eq!(order["discount"], 5_000);
    assert_eq!(order["paid"], 7_000);
    assert_eq!(order["coupon_id"], c1);
    assert_eq!(order["points_earned"], 700);
    let got = mine.take(2).await;
    assert_eq!(kinds(&got), ["coupon.redeemed", "mileage.granted"]);
    let d = &got[0].data["data"];
    assert_eq!(d["coupon"]["id"], c1);
    assert_eq!(d["coupon"]["status"], "redeemed");
    assert_eq!(d["order_id"], order["id"]);
    assert_eq!(d["redemption_id"], Value::Null);
    assert_eq!(d["redeemed_by"]["id"], kim.id);
    assert_eq!(d["store"]["id"], shop.store);
    assert_eq!(got[1].data["data"]["points"], 700);
    assert_eq!(got[1].data["data"]["order_id"], order["id"]);
    let e = staff.take(1).await.remove(0);
    assert_eq!(
        (e.event.as_str(), &e.data["data"]["order_id"]),
        ("coupon.redeemed", &order["id"])
    );
    assert_eq!(coupon_status(&app, &kim, shop.store, c1).await, "redeemed");
    assert_eq!(coupon_status(&app, &kim, shop.store, c2).await, "active");
    assert_eq!(balance(&app, &kim, shop.store).await, 700);

    // A retry with the same key answers the same and neither pays nor earns again.
    let r = buy_with_key(&app, &kim, shop.store, shop.album, 1, Some(c1), &k).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    assert_eq!(r.text().await.unwrap(), first);
    assert_eq!(balance(&app, &kim, shop.store).await, 700);
    assert_eq!(stock(&app, shop.store, shop.album).await, 9);
    assert_eq!(orders(&app, &kim).await.len(), 1);
    assert_eq!(logged(&app, &kim.token, "coupon.redeemed").await.len(), 1);
    assert_eq!(
        logged(&app, &kim.token, "mileage.").await.len(),
        2,
        "the grant, the order"
    );

    // A coupon worth more than the total takes the total; nothing paid earns nothing.
    let free = bought(&app, &kim, shop.store, cheap, 1, Some(c2)).await;
    assert_eq!(
        (
            free["total"].as_i64(),
            free["discount"].as_i64(),
            free["paid"].as_i64()
        ),
        (Some(3_000), Some(3_000), Some(0))
    );
    assert_eq!(free["points_earned"], 0);
    let e = mine.take(1).await.remove(0);
    assert_eq!(
        (e.event.as_str(), &e.data["data"]["order_id"]),
        ("coupon.redeemed", &free["id"])
    );
    let earned: Vec<Value> = logged(&app, &kim.token, "mileage.granted").await;
    assert!(
        earned.iter().all(|e| e["data"]["order_id"] != free["id"]),
        "{earned:?}"
    );
    assert_eq!(balance(&app, &kim, shop.store).await, 700);
    assert_eq!(stock(&app, shop.store, shop.album).await, 9);
    assert_eq!(stock(&app, shop.store, cheap).await, 9);
    assert_ledger_adds_up(&app, &kim, shop.store).await;
}

#[tokio::test]
async fn a_coupon_that_is_someone_elses_another_stores_or_used_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let shop = open_shop(&app, "mine", json!({"earn_percent": 10}), 20_000, 10).await;
    let elsewhere = open_shop(&app, "theirs", json!({"earn_percent": 10}), 20_000, 10).await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    give_points(&app, &shop, &kim, 3_000).await;
    give_points(&app, &elsewhere, &kim, 1_500).await;
    let held = coupons(&app, &kim, shop.store).await;
    let (used, unused) = (
        held[0]["id"].as_i64().unwrap(),
        held[1]["id"].as_i64().unwrap(),
    );
    let foreign = coupons(&app, &kim, elsewhere.store).await[0]["id"]
        .as_i64()
        .unwrap();
    bought(&app, &kim, shop.store, shop.album, 1, Some(used)).await;
    let (kim_before, lee_before) = (
        books(&app, &kim, &shop).await,
        books(&app, &lee, &shop).await,
    );
    let foreign_before = books(&app, &kim, &elsewhere).await;

    let (s, a) = (shop.store, shop.album);
    let refusals = [
        (
            buy(&app, &lee, s, a, 1, Some(unused)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            buy(&app, &kim, s, a, 1, Some(999_999)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            buy(&app, &kim, s, a, 1, Some(foreign)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            buy(&app, &kim, s, a, 1, Some(used)).await,
            StatusCode::CONFLICT,
            "coupon_not_active",
        ),
    ];
    for (i, (r, status, code)) in refusals.into_iter().enumerate() {
        assert_eq!(error_code(r).await, (status, code.to_string()), "case {i}");
    }

    assert_eq!(books(&app, &kim, &shop).await, kim_before);
    assert_eq!(books(&app, &lee, &shop).await, lee_before);
    assert!(lee_before.orders.is_empty() && lee_before.balance.is_none());
    assert_eq!(books(&app, &kim, &elsewhere).await, foreign_before);
    // A refusal does not spend the key: the corrected request goes through with it.
    let k = key();
    let r = buy_with_key(&app, &kim, s, a, 1, Some(used), &k).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = buy_with_key(&app, &kim, s, a, 1, Some(unused), &k).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["idempotent-replayed"], "false");
}
