//! JWTs from the shop's identity provider: signature, audience, issuer and expiry
//! checked; `sub` names a customer by member number; a stream ends at `exp`.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use pointcast::auth::jwt::{JwtVerifier, Subject};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &[u8] = b"the-shops-idp-shared-secret-0123456789";

async fn app_with_jwt() -> TestApp {
    spawn_app_with(|s| {
        s.jwt = Some(Arc::new(
            JwtVerifier::hs256(SECRET, Subject::MemberNo)
                .unwrap()
                .audience("pointcast")
                .issuer("https://id.shop.example"),
        ));
    })
    .await
}

fn jwt(sub: &str, exp_in_secs: i64, aud: &str, secret: &[u8]) -> String {
    let now = chrono::Utc::now().timestamp();
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "exp": now + exp_in_secs, "aud": aud, "iss": "https://id.shop.example"}),
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_token_from_the_shops_idp_reads_as_its_customer_and_bad_ones_are_refused() {
    let app = app_with_jwt().await;
    let kim = app.customer("Kim").await;
    let good = jwt(&kim.login, 600, "pointcast", SECRET);
    let me = app.get("/api/v1/me", Some(&good)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["id"], kim.id);

    for (why, token) in [
        (
            "bad signature",
            jwt(
                &kim.login,
                600,
                "pointcast",
                b"not-the-shops-secret-not-the-shops",
            ),
        ),
        ("wrong aud", jwt(&kim.login, 600, "another-app", SECRET)),
        ("expired", jwt(&kim.login, -5, "pointcast", SECRET)),
        ("nobody", jwt("M-NOBODY", 600, "pointcast", SECRET)),
    ] {
        let r = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{why}");
        let r = app.poll_status(&token).await;
        assert_eq!(r, StatusCode::UNAUTHORIZED, "{why} on the stream");
    }
}

#[tokio::test]
async fn a_stream_opened_with_a_token_ends_at_its_exp() {
    let app = app_with_jwt().await;
    let kim = app.customer("Kim").await;
    let short = jwt(&kim.login, 2, "pointcast", SECRET);
    let mut sse = app.sse("", Some(&short), None).await;
    assert_eq!(sse.status, StatusCode::OK);
    sse.next().await; // stream.open
    app.announce_to(kim.id, "before exp").await;
    assert_eq!(sse.next().await.data["data"]["text"], "before exp");
    assert!(
        sse.ends_within(Duration::from_secs(6)).await,
        "the stream ends at the token's exp"
    );
    let r = app.poll_status(&short).await;
    assert_eq!(
        r,
        StatusCode::UNAUTHORIZED,
        "and the token opens nothing more"
    );
}

impl TestApp {
    async fn poll_status(&self, token: &str) -> StatusCode {
        self.get("/api/v1/events/poll?timeout=0", Some(token))
            .await
            .status()
    }
}
