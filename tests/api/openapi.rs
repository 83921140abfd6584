//! The OpenAPI document: served, OpenAPI 3.x, and in step with the routes.
//!
//! `ROUTES` is the list of routes the server registers under /api/v1. The test
//! checks both directions: the document lists exactly these operations, and the
//! server answers each of them with something other than its "no such route" 404
//! (so a route added without an annotation, or an annotation for a route that is
//! gone, fails here). `scripts/test-fuzz` then checks the answers match the document.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// Every route under /api/v1 (the bench endpoints, mounted only with
/// `--bench-endpoints`, are left out of the document on purpose).
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{id}"),
    ("HEAD", "/api/v1/users/{id}"),
    ("PATCH", "/api/v1/users/{id}"),
    ("PUT", "/api/v1/users/{id}/location"),
    ("POST", "/api/v1/staff"),
    ("GET", "/api/v1/stores"),
    ("POST", "/api/v1/stores"),
    ("GET", "/api/v1/stores/{id}"),
    ("PATCH", "/api/v1/stores/{id}"),
    ("PUT", "/api/v1/stores/{id}/coupon-design"),
    ("GET", "/api/v1/stores/{id}/coupon-design/history"),
    ("GET", "/api/v1/stores/{id}/members"),
    ("PUT", "/api/v1/stores/{id}/members/{user_id}"),
    ("DELETE", "/api/v1/stores/{id}/members/{user_id}"),
    ("POST", "/api/v1/stores/{id}/members/{user_id}/mileage"),
    ("GET", "/api/v1/stores/{id}/redemptions"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/users/{id}/mileage"),
    ("GET", "/api/v1/users/{id}/mileage/entries"),
    ("GET", "/api/v1/users/{id}/stores"),
    ("GET", "/api/v1/stores/{id}/customers"),
    ("GET", "/api/v1/users/{id}/coupons"),
    ("POST", "/api/v1/coupons/{id}/redeem"),
    ("GET", "/api/v1/products"),
    ("POST", "/api/v1/products"),
    ("GET", "/api/v1/products/{id}"),
    ("PATCH", "/api/v1/products/{id}"),
    ("GET", "/api/v1/products/{id}/history"),
    ("GET", "/api/v1/products/{id}/stock"),
    ("GET", "/api/v1/stores/{id}/stock"),
    ("PUT", "/api/v1/stores/{id}/stock/{product_id}"),
    ("POST", "/api/v1/stores/{id}/stock/{product_id}/adjust"),
    ("POST", "/api/v1/orders"),
    ("POST", "/api/v1/orders/{id}/returns"),
    ("GET", "/api/v1/stores/{id}/orders"),
    ("GET", "/api/v1/users/{id}/orders"),
    ("PUT", "/api/v1/stores/{id}/stock/{product_id}/watch"),
    ("DELETE", "/api/v1/stores/{id}/stock/{product_id}/watch"),
    ("GET", "/api/v1/users/{id}/watches"),
    ("GET", "/api/v1/stores/{id}/sales"),
    ("GET", "/api/v1/stores/{id}/inventory"),
    ("POST", "/api/v1/support/conversations"),
    ("GET", "/api/v1/support/conversations"),
    ("GET", "/api/v1/support/conversations/{id}"),
    ("POST", "/api/v1/support/conversations/{id}/messages"),
    ("POST", "/api/v1/support/conversations/{id}/close"),
    ("POST", "/api/v1/inquiries"),
    ("GET", "/api/v1/inquiries"),
    ("PATCH", "/api/v1/inquiries/{id}"),
    ("POST", "/api/v1/announcements"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/events/poll"),
    ("POST", "/api/v1/events/ticket"),
    ("GET", "/api/v1/admin/connections"),
    ("POST", "/api/v1/admin/users/{id}/disconnect"),
    ("GET", "/api/v1/admin/jobs"),
    ("PUT", "/api/v1/admin/jobs/{name}"),
    ("POST", "/api/v1/admin/jobs/{name}/run"),
    ("GET", "/api/v1/admin/jobs/{name}/runs"),
    ("GET", "/api/v1/keys"),
    ("POST", "/api/v1/keys"),
    ("DELETE", "/api/v1/keys/{id}"),
    ("POST", "/api/v1/publish"),
    ("POST", "/api/v1/topics"),
    ("GET", "/api/v1/topics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("GET", "/api/v1/asyncapi.json"),
];

async fn document(app: &TestApp) -> Value {
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    r.json().await.expect("the document is JSON")
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "head", "post", "put", "patch", "delete", "options", "trace",
        ] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn openapi_document_is_served_and_lists_every_route() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string());

    let listed = operations(&doc);
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = expected.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in the document: {missing:?}; in the document but not in ROUTES: {extra:?}"
    );
}

#[tokio::test]
async fn openapi_every_listed_route_is_registered() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    for (method, path) in ROUTES {
        let url = app.url(
            &path
                .replace("{id}", "1")
                .replace("{user_id}", "1")
                .replace("{product_id}", "1")
                .replace("{name}", "no-such-job"),
        );
        let url = if path.ends_with("/events/poll") {
            format!("{url}?timeout=0")
        } else {
            url
        };
        let r = client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), &url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = r.status();
        // Only GET /events streams; its headers are enough.
        let body: Value = if *method == "HEAD" || path.ends_with("/events") {
            Value::Null
        } else {
            r.bytes()
                .await
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null)
        };
        assert!(
            !(status == 404 && body["error"]["message"] == "route not found"),
            "{method} {path} is documented but not registered"
        );
        assert!(status.as_u16() < 500, "{method} {path} answered {status}");
    }
}

#[tokio::test]
async fn openapi_errors_share_one_shape_and_operations_are_tagged() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap_or_default();
            assert!(tags.contains(tag), "{method} {path}: tag {tag:?}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path}: no success response"
            );
            for (status, r) in responses {
                assert!(r["description"].is_string(), "{method} {path} {status}");
                if status.starts_with('4') && method != "head" {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
            let secured = op["security"].to_string().contains("bearer");
            if secured {
                assert!(responses.contains_key("401"), "{method} {path}: 401");
            }
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "422"] {
                    assert!(responses.contains_key(s), "{method} {path}: {s}");
                }
            }
        }
    }
    // The error shape itself.
    let detail = &doc["components"]["schemas"]["ErrorDetail"];
    assert_eq!(detail["required"], serde_json::json!(["code", "message"]));
}

#[tokio::test]
async fn openapi_reference_page_is_served_self_contained() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/docs", None).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("openapi.json"));
    // Nothing loaded from elsewhere: the network may be closed.
    for outside in ["<script src=", "<link ", "https://", "http://"] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }
}

/// Follows a local `$ref` (`#/components/schemas/X`) to its schema.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(schema),
        None => schema,
    }
}

fn has_type(schema: &Value, t: &str) -> bool {
    match &schema["type"] {
        Value::String(s) => s == t,
        Value::Array(ts) => ts.iter().any(|x| x == t),
        _ => false,
    }
}

#[tokio::test]
async fn the_document_states_every_limit() {
    let app = spawn_app().await;
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_null() {
                let schema = resolve(&doc, body);
                for (name, prop) in schema["properties"].as_object().unwrap() {
                    let at = format!("{method} {path} body.{name}");
                    if has_type(prop, "string") && prop.get("enum").is_none() {
                        assert!(prop["maxLength"].is_u64(), "{at}: maxLength");
                        checked += 1;
                    }
                    if has_type(prop, "array") {
                        assert!(prop["maxItems"].is_u64(), "{at}: maxItems");
                        checked += 1;
                    }
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let at = format!("{method} {path} {}", p["name"]);
                if p["name"] == "limit" {
                    assert!(p["schema"]["maximum"].is_number(), "{at}: maximum");
                    assert!(p["schema"]["minimum"].is_number(), "{at}: minimum");
                    checked += 1;
                }
                if p["name"] == "Idempotency-Key" {
                    assert_eq!(p["schema"]["maxLength"], 128, "{at}");
                    assert!(p["schema"]["pattern"].is_string(), "{at}");
                    checked += 1;
                }
                if p["in"] == "query" && has_type(&p["schema"], "string") {
                    let bounded =
                        p["schema"]["maxLength"].is_u64() || p["schema"]["format"].is_string();
                    if p["name"] != "cursor" && p["name"] != "last_event_id" {
                        assert!(
                            bounded || path.starts_with("/api/v1/events"),
                            "{at}: maxLength"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} limits checked");
    // Times by the naming rule.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["Product"]["properties"]["created_at"]["format"],
        "date-time"
    );
    assert_eq!(
        schemas["EventEnvelope"]["properties"]["at"]["format"],
        "date-time"
    );
    assert_eq!(schemas["SalesRow"]["properties"]["day"]["format"], "date");
}
