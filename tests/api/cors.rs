//! Cross-origin access over real HTTP: closed by default; a listed origin is echoed
//! on ordinary routes, on preflights and on the lean stream path; any other origin
//! gets nothing.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

const SHOP: &str = "https://shop.example";

fn cors_headers(h: &HeaderMap) -> Vec<String> {
    h.keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap()
}

async fn get_from(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("Origin", origin)
        .send()
        .await
        .unwrap()
}

/// The response head of `GET /api/v1/events` as the first request of a fresh
/// connection (so the lean path answers), lower-cased.
async fn stream_head(app: &TestApp, origin: &str) -> String {
    let mut io = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    io.write_all(
        format!(
            "GET /api/v1/events?topics=products HTTP/1.1\r\nHost: localhost\r\n\
             Accept: text/event-stream\r\nOrigin: {origin}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 2048];
        while !String::from_utf8_lossy(&got).contains("stream.open") {
            let n = io.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the stream opens within 10 s");
    let text = String::from_utf8(got).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "served by the lean path: {head}"
    );
    head.to_ascii_lowercase()
}

#[tokio::test]
async fn by_default_no_origin_gets_any_cors_permission() {
    let app = spawn_app().await;

    let r = get_from(&app, "/api/v1/products", SHOP).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(cors_headers(r.headers()), Vec::<String>::new());

    let r = preflight(&app, "/api/v1/orders", SHOP).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(cors_headers(r.headers()), Vec::<String>::new());
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "forbidden");

    let head = stream_head(&app, SHOP).await;
    assert!(!head.contains("access-control-"), "{head}");
}

#[tokio::test]
async fn a_listed_origin_is_echoed_on_routes_preflights_and_the_stream() {
    let app =
        spawn_app_with(|s| s.cors_origins = vec![SHOP.into(), "http://localhost:3000".into()])
            .await;

    // An ordinary route.
    let r = get_from(&app, "/api/v1/products", SHOP).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], SHOP);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(
        h.get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Origin"))
    );
    // Errors too, so a page can read them.
    let r = get_from(&app, "/api/v1/me", SHOP).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["access-control-allow-origin"], SHOP);

    // A preflight.
    let r = preflight(&app, "/api/v1/orders", SHOP).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], SHOP);
    assert_eq!(h["access-control-allow-credentials"], "true");
    let methods = h["access-control-allow-methods"].to_str().unwrap();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "last-event-id",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    let max_age: u64 = h["access-control-max-age"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age > 0);

    // The lean stream path.
    let head = stream_head(&app, SHOP).await;
    assert!(
        head.contains("access-control-allow-origin: https://shop.example\r\n"),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-credentials: true"),
        "{head}"
    );
    assert!(head.contains("vary: origin"), "{head}");

    // Any other origin gets nothing, anywhere.
    for other in ["https://evil.example", "https://shop.example.evil", "null"] {
        let r = get_from(&app, "/api/v1/products", other).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(cors_headers(r.headers()), Vec::<String>::new(), "{other}");
        let r = preflight(&app, "/api/v1/orders", other).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{other}");
        assert_eq!(cors_headers(r.headers()), Vec::<String>::new(), "{other}");
        let head = stream_head(&app, other).await;
        assert!(!head.contains("access-control-"), "{other}: {head}");
    }
}
