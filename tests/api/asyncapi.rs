//! The AsyncAPI document of the event stream: served, AsyncAPI 3, and complete: every
//! event type declared by a `Payload` anywhere in `src/` has its message and schema.

use std::path::Path;

use serde_json::Value;

use crate::helpers::*;

/// Every `const TYPE: &'static str = "..."` outside test modules in `src/`.
fn declared_types() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Test modules sit at the end of a file; their payloads are not emitted.
            let live = text.split("#[cfg(test)]").next().unwrap();
            for part in live.split("const TYPE: &'static str = \"").skip(1) {
                out.push(part[..part.find('"').unwrap()].to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn every_event_type_declared_in_the_code_has_a_schema_in_the_asyncapi_document() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/asyncapi.json", None).await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["asyncapi"], "3.0.0");
    let messages = doc["components"]["messages"].as_object().unwrap();
    let declared = declared_types();
    assert!(declared.len() >= 20, "found {declared:?}");
    for t in &declared {
        let m = messages
            .values()
            .find(|m| m["name"] == t.as_str())
            .unwrap_or_else(|| panic!("{t} is emitted but missing from asyncapi.json"));
        let data = &m["payload"]["properties"]["data"];
        assert!(
            data.get("$ref").is_some() || data.get("properties").is_some(),
            "{t} has no schema: {data}"
        );
        let on_a_channel = doc["channels"]
            .as_object()
            .unwrap()
            .values()
            .any(|c| c["messages"].to_string().contains("#/components/messages/"));
        assert!(on_a_channel);
    }
    for ch in [
        "user",
        "store",
        "admin",
        "products",
        "announcements",
        "topic",
    ] {
        assert!(doc["channels"][ch]["address"].is_string(), "{ch}");
    }
    let docs_page = app.get("/api/v1/docs", None).await.text().await.unwrap();
    assert!(
        docs_page.contains("asyncapi.json"),
        "linked beside the OpenAPI"
    );
}
