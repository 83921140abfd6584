//! What the staff console and the customer's page read (issue #18): the mileage
//! history explained, member search and enrolment lookup, a customer's stores,
//! and the demo data a newcomer starts from.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// Grants `points` as `token` with a fresh key; asserts 201.
async fn grant(app: &TestApp, token: &str, store: i64, user: i64, points: i64, code: &str) {
    let r = app
        .client
        .post(app.url(&format!("/api/v1/stores/{store}/members/{user}/mileage")))
        .bearer_auth(token)
        .header(
            "Idempotency-Key",
            format!("k-{store}-{user}-{points}-{code}"),
        )
        .json(&json!({"points": points, "reason": "at the counter", "reason_code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "grant");
}

async fn json_of(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let r = app.get(path, Some(token)).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_history_says_who_granted_and_what_became_a_coupon_page_by_page() {
    // Arrange: Kim at two stores; Park owns Hongdae, Choi Gangnam.
    let app = spawn_app().await;
    let (hongdae, gangnam) = (app.store("Hongdae").await, app.store("Gangnam").await);
    let park = app.owner("owner.park", &[hongdae]).await;
    let choi = app.owner("owner.choi", &[gangnam]).await;
    let kim = app.customer("Kim").await;
    app.join(hongdae, &kim).await;
    app.join(gangnam, &kim).await;
    grant(&app, &park.token, hongdae, kim.id, 500, "offline_purchase").await;
    grant(&app, &park.token, hongdae, kim.id, 1200, "promotion").await;
    grant(&app, &choi.token, gangnam, kim.id, 300, "compensation").await;

    // Act
    let base = format!("/api/v1/users/{}/mileage/entries", kim.id);
    let (status, all) = json_of(&app, &base, &kim.token).await;

    // Assert: newest first; the 1,200 grant says 1,500 became a coupon, balance 200.
    assert_eq!(status, StatusCode::OK);
    let entries = all["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["grant", "conversion", "grant", "grant"]);
    let (conversion, big) = (&entries[1], &entries[2]);
    assert_eq!(big["points"], 1200);
    assert_eq!(big["reason_code"], "promotion");
    assert_eq!(big["store_name"], "Hongdae");
    assert_eq!(
        big["actor"],
        json!({"id": park.id, "name": "owner.park", "login": "owner.park"})
    );
    let coupon_ids = conversion["coupon_ids"].clone();
    assert_eq!(coupon_ids.as_array().unwrap().len(), 1);
    assert_eq!(
        big["converted"],
        json!({"entry_id": conversion["id"], "points": 1500, "coupon_ids": coupon_ids, "balance_after": 200})
    );
    let coupons: Value = app
        .get(
            &format!("/api/v1/users/{}/coupons", kim.id),
            Some(&kim.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coupons["coupons"][0]["id"], coupon_ids[0]);
    assert_eq!(entries[3]["converted"], Value::Null);
    assert_eq!(entries[0]["actor"]["login"], "owner.choi");

    // Pages of two walk back through the same entries.
    let (_, first) = json_of(&app, &format!("{base}?limit=2"), &kim.token).await;
    let next = first["next_before"].as_i64().expect("a next page");
    let (_, second) = json_of(&app, &format!("{base}?limit=2&before={next}"), &kim.token).await;
    let ids = |v: &Value| -> Vec<i64> {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!([ids(&first), ids(&second)].concat(), ids(&all));
    // The credit is on the second page, its conversion on the first: still explained.
    assert_eq!(second["entries"][0]["converted"]["points"], 1500);

    // Per store; staff read their own store's history of a member, and only that.
    let only = format!("{base}?store_id={hongdae}");
    let (_, mine) = json_of(&app, &only, &kim.token).await;
    assert_eq!(mine["entries"].as_array().unwrap().len(), 3);
    let (status, theirs) = json_of(&app, &only, &park.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&theirs), ids(&mine));
    for path in [base.clone(), only.clone()] {
        let (status, body) = json_of(&app, &path, &choi.token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let other = app.customer("Lee").await;
    assert_eq!(
        json_of(&app, &base, &other.token).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn owners_find_members_by_number_or_name_and_look_up_a_customer_to_enrol() {
    let app = spawn_app().await;
    let (hongdae, gangnam) = (app.store("Hongdae").await, app.store("Gangnam").await);
    let park = app.owner("owner.park", &[hongdae]).await;
    let (kim, lee) = (
        app.customer("Kim Min-su").await,
        app.customer("Lee Ji-eun").await,
    );
    app.join(hongdae, &kim).await;
    app.join(hongdae, &lee).await;
    app.join(gangnam, &lee).await;

    let members = |q: &str| {
        let path = format!("/api/v1/stores/{hongdae}/members?q={q}");
        let app = &app;
        let token = park.token.clone();
        async move {
            let (status, v) = json_of(app, &path, &token).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            v["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["user_id"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(members("min").await, [kim.id]);
    assert_eq!(members("JI-EUN").await, [lee.id]);
    assert_eq!(members(&kim.login).await, [kim.id]);
    assert_eq!(members("").await, [kim.id, lee.id]);
    assert_eq!(members("%25").await, [kim.id, lee.id]);
    assert!(members("nobody").await.is_empty());

    // Enrolment: an exact member number finds a customer who is not a member yet.
    let newcomer = app.customer("Choi Woo-sik").await;
    let path = format!(
        "/api/v1/stores/{hongdae}/customers?member_no={}",
        newcomer.login
    );
    let (status, found) = json_of(&app, &path, &park.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        found,
        json!({"user_id": newcomer.id, "name": "Choi Woo-sik", "member_no": newcomer.login, "member": false})
    );
    let prefix = &newcomer.login[..newcomer.login.len() - 1];
    let path = format!("/api/v1/stores/{hongdae}/customers?member_no={prefix}");
    assert_eq!(
        json_of(&app, &path, &park.token).await.0,
        StatusCode::NOT_FOUND
    );
    let path = format!("/api/v1/stores/{gangnam}/customers?member_no={}", kim.login);
    assert_eq!(
        json_of(&app, &path, &park.token).await.0,
        StatusCode::FORBIDDEN
    );

    // A customer's own stores, with balances; nobody else's.
    let (status, stores) = json_of(
        &app,
        &format!("/api/v1/users/{}/stores", lee.id),
        &lee.token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = stores["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hongdae", "Gangnam"]);
    assert_eq!(stores["stores"][0]["balance"], 0);
    assert_eq!(
        json_of(
            &app,
            &format!("/api/v1/users/{}/stores", lee.id),
            &kim.token
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn demo_customers_belong_to_stores_and_have_a_history() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let owner = app.login("owner", "demo-pass-1234").await;
    let stores: Value = app.get("/api/v1/stores", None).await.json().await.unwrap();
    let hongdae = stores["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Hongdae Records")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // The owner finds Kim among Hongdae's members, with two coupons: one from the
    // grants (1,700 points), one from what her order earned.
    let (_, found) = json_of(
        &app,
        &format!("/api/v1/stores/{hongdae}/members?q=kim"),
        &owner,
    )
    .await;
    let kim = &found["members"][0];
    assert_eq!(kim["name"], "Kim Min-su");
    assert_eq!(kim["active_coupons"], 2);
    let member_no = kim["member_no"].as_str().unwrap();

    // Kim logs in and sees her history, her order and her chat with the store.
    let token = app.login(member_no, "demo-pass-1234").await;
    let id = kim["user_id"].as_i64().unwrap();
    let (_, history) = json_of(
        &app,
        &format!("/api/v1/users/{id}/mileage/entries?store_id={hongdae}"),
        &token,
    )
    .await;
    let entries = history["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["converted"]["points"] == 1500 && e["actor"]["login"] == "owner"),
        "{history}"
    );
    assert!(entries.iter().any(|e| e["kind"] == "purchase"), "{history}");
    let (_, orders) = json_of(&app, &format!("/api/v1/users/{id}/orders"), &token).await;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 1);
    let (_, chats) = json_of(&app, "/api/v1/support/conversations", &owner).await;
    assert_eq!(chats["conversations"][0]["store_id"], hongdae);
    assert_eq!(chats["conversations"][0]["customer"]["id"], id);
}

#[tokio::test]
async fn owners_read_jobs_with_the_next_run_in_local_time_and_the_last_result() {
    use pointcast::jobs::clock::ManualClock;
    use std::sync::Arc;
    let start: chrono::DateTime<chrono::Utc> = "2026-11-21T23:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let app = {
        let clock = Arc::clone(&clock);
        spawn_app_with(move |s| s.clock = clock).await
    };
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.park", &[store]).await;

    // An admin sets 07:30 in Seoul (22:30 UTC the day before).
    let r = app
        .client
        .put(app.url("/api/v1/admin/jobs/optimal-stock"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"schedule": "daily 07:30", "time_zone": "Asia/Seoul"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let run = app
        .post(
            "/api/v1/admin/jobs/optimal-stock/run",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(run.status(), StatusCode::CREATED);

    // The owner reads it: UTC and local next run, the last run's outcome.
    let (status, list) = json_of(&app, "/api/v1/admin/jobs", &owner.token).await;
    assert_eq!(status, StatusCode::OK);
    let job = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "optimal-stock")
        .unwrap()
        .clone();
    assert_eq!(job["time_zone"], "Asia/Seoul");
    assert_eq!(job["schedule"], "daily 07:30");
    assert_eq!(job["next_run_at"], "2026-11-22T22:30:00.000Z");
    assert_eq!(job["next_run_local"], "2026-11-23T07:30:00+09:00");
    assert_eq!(job["last_run"]["trigger"], "manual");
    let (status, runs) = json_of(&app, "/api/v1/admin/jobs/optimal-stock/runs", &owner.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs["runs"][0]["id"], job["last_run"]["id"]);

    // Changing or running a job stays with admins; a customer reads nothing.
    let r = app
        .client
        .put(app.url("/api/v1/admin/jobs/optimal-stock"))
        .bearer_auth(&owner.token)
        .json(&json!({"schedule": "daily 08:00", "time_zone": "Asia/Seoul"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/admin/jobs/optimal-stock/run",
            Some(&owner.token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, after) = json_of(&app, "/api/v1/admin/jobs/optimal-stock/runs", &owner.token).await;
    assert_eq!(after["runs"].as_array().unwrap().len(), 1);
    let kim = app.customer("Kim").await;
    assert_eq!(
        json_of(&app, "/api/v1/admin/jobs", &kim.token).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn admins_move_an_inquiry_through_its_statuses_and_filter_by_them() {
    let app = spawn_app().await;
    let send = |subject: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post(
                    "/api/v1/inquiries",
                    None,
                    &json!({"subject": subject, "message": "안녕하세요", "reply_to": "kim@example.com"}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
        }
    };
    let (first, second) = (send("환불 문의").await, send("배송").await);
    let patch = |id: i64, token: &str, body: Value| {
        let req = app
            .client
            .patch(app.url(&format!("/api/v1/inquiries/{id}")))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.unwrap() }
    };

    let r = patch(first, ADMIN_TOKEN, json!({"status": "in_progress"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["status"], "in_progress");
    assert_eq!(moved["subject"], "환불 문의");
    assert!(moved["status_changed_at"].is_string());

    let (_, fresh) = json_of(&app, "/api/v1/inquiries?status=new", ADMIN_TOKEN).await;
    assert_eq!(fresh["inquiries"].as_array().unwrap().len(), 1);
    assert_eq!(fresh["inquiries"][0]["id"], second);
    let (_, busy) = json_of(&app, "/api/v1/inquiries?status=in_progress", ADMIN_TOKEN).await;
    assert_eq!(busy["inquiries"][0]["id"], first);

    // Refused, changing nothing: a bad status, an unknown inquiry, an owner.
    let r = patch(first, ADMIN_TOKEN, json!({"status": "done"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_status"
    );
    let r = patch(424242, ADMIN_TOKEN, json!({"status": "closed"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.park", &[store]).await;
    let r = patch(first, &owner.token, json!({"status": "closed"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (status, _) = json_of(&app, "/api/v1/inquiries?status=done", ADMIN_TOKEN).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, all) = json_of(&app, "/api/v1/inquiries", ADMIN_TOKEN).await;
    let statuses: Vec<&str> = all["inquiries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["new", "in_progress"]);
}

#[tokio::test]
async fn the_inventory_states_its_optimum_rule_and_marks_low_by_it() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.park", &[store]).await;
    let kim = app.customer("Kim").await;
    let mut albums = Vec::new();
    for title in ["Abbey Road", "Kind of Blue"] {
        let r = app
            .post(
                "/api/v1/products",
                Some(ADMIN_TOKEN),
                &json!({"title": title, "artist": "Test Artist", "price": 30000}),
            )
            .await;
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = app
            .client
            .put(app.url(&format!("/api/v1/stores/{store}/stock/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"quantity": 10}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        albums.push(id);
    }
    let inventory = format!("/api/v1/stores/{store}/inventory");
    let (_, before) = json_of(&app, &inventory, &owner.token).await;
    assert_eq!(before["inventory"][0]["status"], "unknown");
    assert_eq!(before["inventory"][0]["low"], false);
    assert_eq!(
        before["rule"],
        json!({"formula": "ceil(units sold in the last W days / W * (L + S))",
               "window_days": 14, "lead_days": 3, "safety_days": 2,
               "low_when": "quantity < optimal_stock"})
    );

    // 8 of the first album sell: optimum ceil(8 / 14 * 5) = 3 > 2 left: low.
    let r = app
        .client
        .post(app.url("/api/v1/orders"))
        .bearer_auth(&kim.token)
        .header("Idempotency-Key", "buy-8")
        .json(&json!({"store_id": store, "product_id": albums[0], "quantity": 8}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .post(
            "/api/v1/admin/jobs/optimal-stock/run",
            Some(ADMIN_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);

    let (_, after) = json_of(&app, &inventory, &owner.token).await;
    let rows = after["inventory"].as_array().unwrap();
    let sold = rows.iter().find(|r| r["product_id"] == albums[0]).unwrap();
    let idle = rows.iter().find(|r| r["product_id"] == albums[1]).unwrap();
    assert_eq!(
        (
            &sold["quantity"],
            &sold["optimal_stock"],
            &sold["status"],
            &sold["low"]
        ),
        (&json!(2), &json!(3), &json!("low"), &json!(true))
    );
    assert_eq!(
        (&idle["optimal_stock"], &idle["status"], &idle["low"]),
        (&json!(0), &json!("ok"), &json!(false))
    );
}
