//! API keys for machine clients: made by admins and owners, shown once, scoped to
//! what they may do and where, revoked at once, and named wherever they acted.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

impl TestApp {
    /// Makes a key as `token`; answers the raw response.
    pub async fn try_make_key(
        &self,
        token: &str,
        name: &str,
        scopes: &[&str],
        stores: &[i64],
    ) -> Response {
        self.post(
            "/api/v1/keys",
            Some(token),
            &json!({"name": name, "scopes": scopes, "store_ids": stores}),
        )
        .await
    }

    /// Makes a key as the admin; returns (id, secret).
    pub async fn make_key(&self, name: &str, scopes: &[&str], stores: &[i64]) -> (i64, String) {
        let r = self.try_make_key(ADMIN_TOKEN, name, scopes, stores).await;
        assert_eq!(r.status(), StatusCode::CREATED, "make key");
        let v: Value = r.json().await.unwrap();
        (
            v["id"].as_i64().unwrap(),
            v["key"].as_str().unwrap().to_string(),
        )
    }

    async fn key_grant(
        &self,
        token: &str,
        store: i64,
        user: i64,
        points: i64,
        idem: &str,
    ) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/stores/{store}/members/{user}/mileage")))
            .bearer_auth(token)
            .header("Idempotency-Key", idem)
            .json(&json!({"points": points, "reason": "till 3", "reason_code": "offline_purchase"}))
            .send()
            .await
            .unwrap()
    }

    async fn enrol(&self, token: &str, store: i64, user: i64) -> StatusCode {
        self.client
            .put(self.url(&format!("/api/v1/stores/{store}/members/{user}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    }
}

async fn code_of(r: Response) -> String {
    let v: Value = r.json().await.unwrap();
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_key_is_shown_once_listed_without_its_secret_and_grants_idempotently_in_its_own_name() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let kim = app.customer("Kim").await;
    let (id, key) = app.make_key("POS", &["grant", "read"], &[store]).await;
    assert!(key.starts_with("pck_"));

    let list: Value = app
        .get("/api/v1/keys", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let row = &list.as_array().unwrap()[0];
    assert_eq!(row["id"], id);
    assert_eq!(row["scopes"], json!(["grant", "read"]));
    assert_eq!(row["store_ids"], json!([store]));
    assert!(row.get("key").is_none(), "the secret is never listed");
    assert!(!list.to_string().contains(&key));

    let mut sse = app.sse("", Some(&kim.token), None).await;
    sse.next().await; // stream.open
    assert_eq!(app.enrol(&key, store, kim.id).await, StatusCode::CREATED);
    let first = app.key_grant(&key, store, kim.id, 100, "sale-1").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let again = app.key_grant(&key, store, kim.id, 100, "sale-1").await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["balance"], 100, "credited once");
    assert_eq!(body["entry"]["api_key_id"], id, "the ledger names the key");

    let granted = sse.next().await;
    assert_eq!(granted.event, "mileage.granted");
    assert_eq!(
        granted.data["data"]["granted_by"]["name"],
        format!("POS (key {id})")
    );
    let entries: Value = app
        .get(
            &format!("/api/v1/users/{}/mileage/entries", kim.id),
            Some(&kim.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        entries
            .to_string()
            .contains(&format!("\"api_key_id\":{id}"))
    );
    let audit: Value = app
        .get("/api/v1/audit", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    let grant_row = audit["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "grant")
        .cloned()
        .unwrap();
    assert_eq!(grant_row["actor"]["name"], format!("POS (key {id})"));

    let used: Value = app
        .get("/api/v1/keys", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert!(used[0]["last_used_at"].is_string());
}

#[tokio::test]
async fn scopes_and_stores_bound_what_a_key_does() {
    let app = spawn_app().await;
    let one = app.store("One").await;
    let two = app.store("Two").await;
    let kim = app.customer("Kim").await;
    let (_, reader) = app.make_key("dashboard", &["read"], &[one]).await;
    let (_, till) = app.make_key("till", &["grant"], &[one]).await;
    assert_eq!(
        app.enrol(ADMIN_TOKEN, one, kim.id).await,
        StatusCode::CREATED
    );
    assert_eq!(
        app.enrol(ADMIN_TOKEN, two, kim.id).await,
        StatusCode::CREATED
    );

    let r = app.key_grant(&reader, one, kim.id, 10, "a").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a read key cannot grant");
    assert_eq!(code_of(r).await, "key_scope");
    let r = app.key_grant(&till, two, kim.id, 10, "b").await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "store 1's key at store 2"
    );
    let r = app.get("/api/v1/keys", Some(&till)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "keys never manage keys");
    let r = app
        .post(
            "/api/v1/stores",
            Some(&till),
            &json!({"name": "x", "lat": 1.0, "lon": 1.0}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "nor do anything unlisted"
    );
    let r = app
        .get(&format!("/api/v1/stores/{one}/members"), Some(&reader))
        .await;
    assert_eq!(r.status(), StatusCode::OK, "a read key reads its store");
    let r = app
        .get(&format!("/api/v1/stores/{two}/members"), Some(&reader))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "but not another");

    let bal: Value = app
        .get(
            &format!("/api/v1/users/{}/mileage", kim.id),
            Some(&kim.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        !bal.to_string().contains("\"balance\":10"),
        "nothing was credited: {bal}"
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_its_very_next_request() {
    let app = spawn_app().await;
    let store = app.store("One").await;
    let (id, key) = app.make_key("old", &["read"], &[store]).await;
    let path = format!("/api/v1/stores/{store}/members");
    assert_eq!(app.get(&path, Some(&key)).await.status(), StatusCode::OK);
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/keys/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&path, Some(&key)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let list: Value = app
        .get("/api/v1/keys", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert!(list[0]["revoked_at"].is_string());
}

#[tokio::test]
async fn owners_make_and_see_keys_for_their_own_stores_only() {
    let app = spawn_app().await;
    let mine = app.store("Mine").await;
    let theirs = app.store("Theirs").await;
    let owner = app.owner("lee", &[mine]).await;
    let kim = app.customer("Kim").await;

    let r = app
        .try_make_key(&owner.token, "x", &["grant"], &[theirs])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(code_of(r).await, "not_your_store");
    let r = app.try_make_key(&owner.token, "x", &["grant"], &[]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.try_make_key(&owner.token, "x", &["fly"], &[mine]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code_of(r).await, "invalid_api_key");
    let r = app.try_make_key(&kim.token, "x", &["read"], &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "customers make no keys");

    let r = app
        .try_make_key(&owner.token, "till", &["grant"], &[mine])
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    app.make_key("hq", &["read"], &[theirs]).await;
    let list: Value = app
        .get("/api/v1/keys", Some(&owner.token))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["till"]);
    let all: Value = app
        .get("/api/v1/keys", Some(ADMIN_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_point_of_sale_orders_for_a_customer_once_per_idempotency_key() {
    let app = spawn_app().await;
    let store = app.store("One").await;
    let other = app.store("Two").await;
    let kim = app.customer("Kim").await;
    let album = app
        .post(
            "/api/v1/products",
            Some(ADMIN_TOKEN),
            &json!({"title": "Blue", "artist": "J", "price": 10000}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    for s in [store, other] {
        let r = app
            .client
            .put(app.url(&format!("/api/v1/stores/{s}/stock/{album}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"quantity": 5, "reason": "delivery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/stores/{store}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"earn_percent": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (id, pos) = app.make_key("POS", &["order"], &[store]).await;
    let order = |s: i64, user: Option<i64>, idem: &'static str| {
        let mut body = json!({"store_id": s, "product_id": album, "quantity": 1});
        if let Some(u) = user {
            body["user_id"] = json!(u);
        }
        app.client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&pos)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
    };
    let r = order(store, None, "o0").await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "names the buyer"
    );
    let r = order(other, Some(kim.id), "o1").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only at its store");
    let first = order(store, Some(kim.id), "o2").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let again = order(store, Some(kim.id), "o2").await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let placed: Value = again.json().await.unwrap();
    assert_eq!(placed["stock_left"], 4, "bought once");
    assert_eq!(placed["order"]["user_id"], kim.id);
    let entries: Value = app
        .get(
            &format!("/api/v1/users/{}/mileage/entries", kim.id),
            Some(&kim.token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(
        entries
            .to_string()
            .contains(&format!("\"api_key_id\":{id}")),
        "the purchase's points name the key: {entries}"
    );
}

#[tokio::test]
async fn a_read_key_streams_its_stores_channel_and_nothing_of_its_creator() {
    let app = spawn_app().await;
    let store = app.store("One").await;
    let other = app.store("Two").await;
    let kim = app.customer("Kim").await;
    for s in [store, other] {
        assert_eq!(app.enrol(ADMIN_TOKEN, s, kim.id).await, StatusCode::CREATED);
    }
    let (_, key) = app.make_key("screen", &["read"], &[store]).await;
    let mut sse = app.sse("topics=", Some(&key), None).await;
    assert_eq!(sse.status, StatusCode::OK);
    sse.next().await; // stream.open
    let admin = app.get("/api/v1/me", Some(ADMIN_TOKEN)).await;
    let admin_id = admin.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.key_grant(ADMIN_TOKEN, other, kim.id, 5, "g1").await;
    app.announce_to(admin_id, "the admin's own").await;
    app.announce_all("to everyone, but not asked for").await;
    app.key_grant(ADMIN_TOKEN, store, kim.id, 7, "g2").await;
    app.key_grant(ADMIN_TOKEN, store, kim.id, 9, "g3").await;
    let got: Vec<(String, String, i64)> = sse
        .take(2)
        .await
        .iter()
        .map(|e| {
            (
                e.event.clone(),
                e.data["channel"].as_str().unwrap().to_string(),
                e.data["data"]["points"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let ch = format!("store:{store}");
    assert_eq!(
        got,
        [
            ("mileage.granted".to_string(), ch.clone(), 7),
            ("mileage.granted".to_string(), ch, 9)
        ]
    );
}
