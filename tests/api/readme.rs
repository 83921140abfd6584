//! The README's long-poll loop, taken from README.md and run with bash, curl and jq
//! across a server restart and a 502 in between: it sees every event once.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::helpers::*;

/// The block between `# --- long-poll loop ---` and `# --- end ---` in README.md.
fn readme_loop() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("# --- long-poll loop ---")
        .expect("the loop's start marker");
    let end = readme[start..]
        .find("# --- end ---")
        .expect("the loop's end marker");
    readme[start..start + end].to_string()
}

#[tokio::test]
async fn the_readme_long_poll_loop_survives_a_restart_and_sees_every_event_once() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let (port, db) = (app.port, app.db.clone());
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(readme_loop())
        .env("BASE", &app.address)
        .env("TOKEN", &kim.token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("bash");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_event = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(40), lines.next_line())
            .await
            .expect("an event line in time")
            .unwrap()
            .expect("the loop is still running");
        serde_json::from_str(&line).expect("one JSON event per line")
    };

    // The loop starts from the current cursor: wait until its poll is waiting.
    assert!(eventually(|| async { app.connection_count().await >= 1 }).await);
    let mut sent = vec![
        app.announce_to(kim.id, "one").await,
        app.announce_to(kim.id, "two").await,
    ];
    let mut seen = vec![next_event().await["id"].as_i64().unwrap()];
    seen.push(next_event().await["id"].as_i64().unwrap());

    // Stopped; meanwhile a stand-in on the same port answers 502 (as a proxy
    // does while its upstream restarts) until the loop has met it; then the
    // server comes back on the same port and database.
    app.stop().await;
    let proxy = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut sock, _) = tokio::time::timeout(Duration::from_secs(10), proxy.accept())
        .await
        .expect("the loop polls again")
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if sock.read(&mut b).await.unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    sock.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    drop((sock, proxy));
    let app = spawn_on(db, move |s| s.listen = format!("127.0.0.1:{port}")).await;
    sent.push(app.announce_to(kim.id, "three").await);
    sent.push(app.announce_to(kim.id, "four").await);
    seen.push(next_event().await["id"].as_i64().unwrap());
    seen.push(next_event().await["id"].as_i64().unwrap());
    assert_eq!(seen, sent, "every event once, in order");

    // Nothing more (a duplicate would show here) until the next real event.
    sent.push(app.announce_to(kim.id, "five").await);
    assert_eq!(next_event().await["id"].as_i64(), sent.last().copied());
    child.kill().await.ok();
}
