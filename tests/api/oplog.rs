//! The operator's log of the real binary: `serve --log-format json` writes one
//! JSON object a line on stderr, and a grant's line names the staff login and the
//! member.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStderr;

/// The next stderr line that parses as JSON and satisfies `want` (15 s at most);
/// every line before it must be JSON too.
async fn line_where(
    lines: &mut Lines<BufReader<ChildStderr>>,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("the line comes in time")
            .unwrap()
            .expect("stderr still open");
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(!line.contains("\u{1b}["), "no colour codes: {line}");
        if want(&v) {
            return v;
        }
    }
}

#[tokio::test]
async fn a_grant_writes_a_json_line_naming_the_staff_login_and_the_member() {
    let dir = tempfile::tempdir().unwrap();
    let token = "pc_oplog_test_admin_token_0123456789";
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pointcast"))
        .args(["serve", "--log-format", "json", "--listen", "127.0.0.1:0"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.path().join("p.db").display()))
        .env("POINTCAST_ADMIN_TOKEN", token)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pointcast serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let up = line_where(&mut lines, |v| v["message"] == "pointcast listening").await;
    let base = format!("http://127.0.0.1:{}/api/v1", up["port"]);
    pointcast::tls::install_provider();
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, auth: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .bearer_auth(auth)
            .header("Idempotency-Key", "oplog-1")
            .json(&body)
            .send()
    };
    let store: Value = call(
        reqwest::Method::POST,
        "/stores",
        token,
        json!({"name": "Hongdae"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let store = store["id"].as_i64().unwrap();
    let staff = json!({"name": "Park Owner", "login": "owner.park", "password": "password123", "role": "owner", "store_ids": [store]});
    let r = call(reqwest::Method::POST, "/staff", token, staff)
        .await
        .unwrap();
    assert!(r.status().is_success());
    let kim: Value = call(
        reqwest::Method::POST,
        "/users",
        "",
        json!({"name": "Kim Min-su", "phone": "010-1234-5678", "password": "password123"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (kim_id, member_no) = (
        kim["id"].as_i64().unwrap(),
        kim["member_no"].as_str().unwrap(),
    );
    let r = call(
        reqwest::Method::PUT,
        &format!("/stores/{store}/members/{kim_id}"),
        token,
        json!({}),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let login: Value = call(
        reqwest::Method::POST,
        "/auth/login",
        "",
        json!({"login": "owner.park", "password": "password123"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let owner_token = login["token"].as_str().unwrap().to_string();

    let r = call(
        reqwest::Method::POST,
        &format!("/stores/{store}/members/{kim_id}/mileage"),
        &owner_token,
        json!({"points": 1200, "reason": "birthday", "reason_code": "promotion"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201);

    let grant = line_where(&mut lines, |v| v["action"] == "grant").await;
    assert_eq!(grant["staff_login"], "owner.park");
    assert_eq!(grant["staff"], "Park Owner");
    assert_eq!(grant["member"], "Kim Min-su");
    assert_eq!(grant["member_no"], member_no);
    assert_eq!(grant["points"], 1200);
    assert_eq!(grant["outcome"], "ok");
    assert_eq!(grant["level"], "INFO");
    // Request lines carry whole microseconds, not float noise.
    let request = line_where(&mut lines, |v| v["message"] == "request").await;
    assert!(request["us"].is_u64(), "{request}");
    child.kill().await.unwrap();
}
