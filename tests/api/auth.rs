use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_customer_signs_up_logs_in_and_sees_themself() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let me: Value = app
        .get("/api/v1/me", Some(&kim.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], kim.id);
    assert_eq!(me["role"], "customer");
    assert_eq!(me["member_no"], kim.login.as_str());
    assert!(me.get("password_hash").is_none());
}

#[tokio::test]
async fn login_sets_an_http_only_cookie_that_authenticates() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let r = app.try_login(&kim.login, "password123").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .header("Cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_401_with_a_json_error() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let r = app.try_login(&kim.login, "wrong-password").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let r = app.try_login("nobody", "whatever1").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/me", Some("pc_forged")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let r = app
        .post("/api/v1/auth/logout", Some(&kim.token), &json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", Some(&kim.token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Sessions are cached for a few seconds; ending one must not wait for that.
#[tokio::test]
async fn a_password_change_ends_other_sessions_at_once_though_they_were_just_used() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let phone = app.login(&kim.login, "password123").await;
    for t in [&kim.token, &phone] {
        assert_eq!(
            app.get("/api/v1/me", Some(t)).await.status(),
            StatusCode::OK
        );
    }
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/users/{}", kim.id)))
        .bearer_auth(&kim.token)
        .json(&json!({"password": "a-new-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/me", Some(&phone)).await.status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&kim.token)).await.status(),
        StatusCode::OK,
        "the caller's own session stays"
    );
}

#[tokio::test]
async fn bad_sign_up_bodies_get_clear_errors_and_create_nobody() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "", "phone": "010-1", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "Kim", "phone": "010-1234-5678", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "Kim", "phone": "not a phone", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": 5, "phone": "010-1234-5678", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"name": "Kim"}), StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, status) in cases {
        let r = app.post("/api/v1/users", None, &body).await;
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let r = app
        .client
        .post(app.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let huge = "x".repeat(200_000);
    let r = app
        .post(
            "/api/v1/users",
            None,
            &json!({"name": huge, "phone": "1", "password": "p"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Nobody was created: the next customer is the first one (member 100002, after the admin).
    let kim = app.customer("Kim").await;
    assert_eq!(kim.login, "100002");
}

#[tokio::test]
async fn unknown_routes_answer_json_404() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/nope", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "not_found");
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}
