use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn an_admin_creates_a_store_with_an_owner_who_reads_its_channel() {
    let app = spawn_app().await;
    let owner = app.owner("owner.kim", &[]).await;
    let r = app
        .post("/api/v1/stores", Some(ADMIN_TOKEN), &json!({"name": "Hongdae", "address": "Seoul", "lat": 37.55, "lon": 126.92, "owner_id": owner.id}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let store: Value = r.json().await.unwrap();
    assert_eq!(store["coupon_threshold"], 1500);
    assert!(store["joined_at"].as_str().unwrap().ends_with('Z'));
    let me: Value = app
        .get("/api/v1/me", Some(&owner.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["store_ids"], json!([store["id"]]));
    let got: Value = app
        .get(&format!("/api/v1/stores/{}", store["id"]), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, store);
}

#[tokio::test]
async fn only_admins_create_stores_and_staff_and_bad_input_is_refused() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let r = app
        .post("/api/v1/stores", Some(&kim.token), &json!({"name": "Mine"}))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .post(
            "/api/v1/staff",
            Some(&kim.token),
            &json!({"name": "x", "login": "xyz", "password": "password123", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    for body in [
        json!({"name": ""}),
        json!({"name": "a", "lat": 100.0, "lon": 0.0}),
        json!({"name": "a", "coupon_threshold": 0}),
        json!({"name": "a", "owner_id": kim.id}),
        json!({"name": "a", "owner_id": 9999}),
    ] {
        let r = app.post("/api/v1/stores", Some(ADMIN_TOKEN), &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    app.owner("dup.login", &[]).await;
    let r = app
        .post(
            "/api/v1/staff",
            Some(ADMIN_TOKEN),
            &json!({"name": "x", "login": "dup.login", "password": "password123", "role": "owner"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = app
        .post("/api/v1/staff", Some(ADMIN_TOKEN), &json!({"name": "x", "login": "ghost", "password": "password123", "role": "owner", "store_ids": [777]}))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get("/api/v1/stores/424242", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/stores/abc", None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_store_registered_late_keeps_its_join_day_and_a_bad_day_changes_nothing() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/stores",
            Some(ADMIN_TOKEN),
            &json!({"name": "Since 2024", "joined_at": "2024-03-01"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let store: Value = r.json().await.unwrap();
    assert!(
        store["joined_at"]
            .as_str()
            .unwrap()
            .starts_with("2024-03-01T00:00:00"),
        "{store}"
    );
    for bad in ["2024-02-30", "01/03/2024", "2999-01-01", ""] {
        let r = app
            .post(
                "/api/v1/stores",
                Some(ADMIN_TOKEN),
                &json!({"name": "Bad day", "joined_at": bad}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_store");
    }
    let all: Value = app.get("/api/v1/stores", None).await.json().await.unwrap();
    let names: Vec<&str> = all["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Since 2024"], "a refused store is not created");
}
