//! Every error code the API can send has a Korean and an English sentence in
//! `web/js/errors.json`, the file the pages (and anyone else) translate codes
//! with: `{"code": {"en": "...", "ko": "..."}}`. A new code without both fails here.

use pointcast::error::ALL_CODES;
use serde_json::Value;

#[test]
fn every_error_code_has_a_korean_and_an_english_sentence() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/js/errors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} must exist ({e})", path.display()));
    let sentences: Value = serde_json::from_str(&text).expect("errors.json is JSON");
    let mut missing = Vec::new();
    for (code, _) in ALL_CODES {
        let entry = &sentences[*code];
        let en = entry["en"].as_str().unwrap_or("").trim();
        let ko = entry["ko"].as_str().unwrap_or("").trim();
        // A Korean sentence has Hangul in it (not an English copy).
        let korean = ko.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
        if en.is_empty() || !korean {
            missing.push(*code);
        }
    }
    assert!(
        missing.is_empty(),
        "codes without an English and a Korean sentence in web/js/errors.json: {missing:?}"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_error_code() {
    let app = crate::helpers::spawn_app().await;
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("an ErrorCode enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: Vec<&str> = ALL_CODES.iter().map(|(c, _)| *c).collect();
    assert_eq!(listed, all);
}
