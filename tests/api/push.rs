//! The push core over real HTTP: SSE, long-poll, resume, fan-out, limits.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

#[tokio::test]
async fn an_announcement_reaches_its_user_on_sse_and_long_poll_and_no_one_else() {
    let app = spawn_app().await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    let mut kim_sse = app.sse("topics=", Some(&kim.token), None).await;
    let mut lee_sse = app.sse("topics=", Some(&lee.token), None).await;
    assert_eq!(kim_sse.status, StatusCode::OK);
    assert_eq!(kim_sse.headers["content-type"], "text/event-stream");
    assert!(
        kim_sse.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    assert_eq!(kim_sse.headers["x-accel-buffering"], "no");
    let open = kim_sse.next().await;
    assert_eq!(open.event, "stream.open");
    let cursor = open.id.unwrap();
    assert_eq!(lee_sse.next().await.event, "stream.open");

    let id = app.announce_to(kim.id, "for Kim only").await;

    let e = kim_sse.next().await;
    assert_eq!((e.id, e.event.as_str()), (Some(id), "announcement"));
    assert_eq!(e.data["data"]["text"], "for Kim only");
    assert_eq!(e.data["channel"], format!("user:{}", kim.id));
    let (events, next) = app
        .poll(&format!("cursor={cursor}&timeout=0"), Some(&kim.token))
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(next, id);

    assert!(
        lee_sse
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    let (events, lee_cursor) = app
        .poll(&format!("cursor={cursor}&timeout=0"), Some(&lee.token))
        .await;
    assert!(events.is_empty());
    assert_eq!(lee_cursor, cursor);
}

/// Bad announcements get their status and append nothing: the next good one takes
/// the very next id.
#[tokio::test]
async fn a_bad_announcement_gets_its_error_and_appends_nothing() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let before = app.announce_to(kim.id, "first").await;
    let cases = [
        (
            ADMIN_TOKEN,
            serde_json::json!({"text": "x", "user_id": 987_654}),
            StatusCode::NOT_FOUND,
        ),
        (
            ADMIN_TOKEN,
            serde_json::json!({"text": "x", "store_id": 987_654}),
            StatusCode::NOT_FOUND,
        ),
        (
            kim.token.as_str(),
            serde_json::json!({"text": "x", "user_id": kim.id}),
            StatusCode::FORBIDDEN,
        ),
        (
            ADMIN_TOKEN,
            serde_json::json!({"text": "  ", "user_id": kim.id}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            ADMIN_TOKEN,
            serde_json::json!({"text": "x", "user_id": kim.id, "all": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (token, body, status) in cases {
        let r = app.post("/api/v1/announcements", Some(token), &body).await;
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    assert_eq!(app.announce_to(kim.id, "next").await, before + 1);
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_the_missed_events_even_after_a_restart() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut sse = app.sse("", Some(&kim.token), None).await;
    let cursor = sse.next().await.id.unwrap();
    let first = app.announce_to(kim.id, "one").await;
    assert_eq!(sse.take(1).await[0].id, Some(first));
    drop(sse);

    let missed = [
        app.announce_to(kim.id, "two").await,
        app.announce_all("three").await,
        app.announce_to(kim.id, "four").await,
    ];
    let mut sse = app.sse("", Some(&kim.token), Some(first)).await;
    let open = sse.next().await;
    assert_eq!((open.event.as_str(), open.id), ("stream.open", Some(first)));
    let got: Vec<i64> = sse.take(3).await.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(got, missed);
    assert!(
        sse.next_within(Duration::from_millis(200)).await.is_none(),
        "no duplicates"
    );
    drop(sse);

    // The same across a restart of the server on the same database.
    let db = app.db.clone();
    let after_restart_missed = app.announce_to(kim.id, "five").await;
    app.stop().await;
    let app = spawn_on(db, |_| {}).await;
    let newer = app.announce_to(kim.id, "six").await;
    let mut sse = app.sse("", Some(&kim.token), Some(missed[2])).await;
    let got: Vec<i64> = sse.take(2).await.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(got, vec![after_restart_missed, newer]);
    // ?cursor= does the same as the header, from the very beginning.
    let (events, _) = app
        .poll(&format!("cursor={cursor}&timeout=0"), Some(&kim.token))
        .await;
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        [
            vec![first],
            missed.to_vec(),
            vec![after_restart_missed, newer]
        ]
        .concat()
    );
}

#[tokio::test]
async fn eight_concurrent_writers_reach_every_reader_in_order_without_gaps() {
    let app = spawn_app().await;
    let mut sse = app.sse("topics=announcements", None, None).await;
    let start = sse.next().await.id.unwrap();

    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, url) = (app.client.clone(), app.url("/api/v1/announcements"));
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..500 {
                let r = client
                    .post(&url)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&serde_json::json!({"text": format!("w{w} e{i}"), "all": true}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                let v: Value = r.json().await.unwrap();
                ids.push(v["last_event_id"].as_i64().unwrap());
            }
            ids
        }));
    }
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    written.sort_unstable();
    assert_eq!(written.len(), 4000);

    let streamed: Vec<i64> = sse.take(4000).await.iter().map(|e| e.id.unwrap()).collect();
    assert!(
        streamed.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing"
    );
    assert_eq!(streamed, written, "every event, no gaps");

    // A long-poll reader paging from the same start sees the same sequence.
    let (mut polled, mut cursor) = (Vec::new(), start);
    while polled.len() < 4000 {
        let (events, next) = app
            .poll(
                &format!("cursor={cursor}&timeout=5&topics=announcements"),
                None,
            )
            .await;
        polled.extend(events.iter().map(|e| e["id"].as_i64().unwrap()));
        cursor = next;
    }
    assert_eq!(polled, written);
}

#[tokio::test]
async fn long_poll_answers_at_once_waits_to_be_woken_and_times_out_empty() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let (_, cursor) = app.poll("timeout=0", Some(&kim.token)).await;

    // Pending: answered at once, batched.
    let a = app.announce_to(kim.id, "a").await;
    let b = app.announce_to(kim.id, "b").await;
    let t = Instant::now();
    let (events, next) = app
        .poll(&format!("cursor={cursor}&timeout=30"), Some(&kim.token))
        .await;
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(
        events
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![a, b]
    );
    assert_eq!(next, b);

    // Nothing pending: the poll waits, and an event wakes it.
    let waiting = app
        .waiting_poll(&format!("cursor={b}&timeout=30"), &kim.token)
        .await;
    let c = app.announce_to(kim.id, "c").await;
    let (v, waited) = waiting.await.unwrap();
    assert_eq!(v["events"][0]["id"], c);
    assert_eq!(v["cursor"], c);
    assert!(
        waited < Duration::from_secs(10),
        "woken, not timed out: {waited:?}"
    );

    // Nothing arrives: an empty answer at the timeout, same cursor.
    let t = Instant::now();
    let (events, same) = app
        .poll(&format!("cursor={c}&timeout=1"), Some(&kim.token))
        .await;
    assert!(events.is_empty());
    assert_eq!(same, c);
    assert!(t.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_reader_that_never_reads_is_cut_off_without_delaying_the_others() {
    stalled_reader_is_cut_off(Duration::from_secs(1)).await;
}

/// With the kernel's stalled-connection timeout far beyond the test's 10 s, the
/// stalled reader's end comes from the hub's cut alone: its blocked write sees
/// its queue close (`Feed::poll_cut`).
#[tokio::test]
async fn a_reader_blocked_writing_ends_when_the_hub_cuts_it_off_not_at_the_kernels_timeout() {
    stalled_reader_is_cut_off(Duration::from_secs(120)).await;
}

async fn stalled_reader_is_cut_off(stalled: Duration) {
    let app = spawn_app_with(|s| {
        s.push.queue_capacity = 64;
        s.push.stalled_timeout = stalled;
    })
    .await;
    let mut fast = app.sse("topics=announcements", None, None).await;
    fast.next().await;

    // A raw connection with a tiny receive buffer that never reads a byte.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut slow = socket
        .connect(format!("127.0.0.1:{}", app.port).parse().unwrap())
        .await
        .unwrap();
    slow.write_all(b"GET /api/v1/events?topics=announcements HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap();
    let count = |app: &TestApp| {
        let (c, u) = (app.client.clone(), app.url("/api/v1/admin/connections"));
        async move {
            c.get(u)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["count"]
                .as_i64()
                .unwrap()
        }
    };
    assert!(eventually(|| async { count(&app).await == 2 }).await);

    let text = "x".repeat(2000);
    let total = 2500;
    let mut last = 0;
    let started = Instant::now();
    for chunk in 0..total / 50 {
        let mut posts = Vec::new();
        for _ in 0..50 {
            let (c, u, t) = (
                app.client.clone(),
                app.url("/api/v1/announcements"),
                text.clone(),
            );
            posts.push(tokio::spawn(async move {
                let r = c
                    .post(u)
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&serde_json::json!({"text": t, "all": true}))
                    .send()
                    .await
                    .unwrap();
                r.json::<Value>().await.unwrap()["last_event_id"]
                    .as_i64()
                    .unwrap()
            }));
        }
        for p in posts {
            last = last.max(p.await.unwrap());
        }
        // The fast reader keeps up as we go.
        let got = fast.take(50).await;
        assert_eq!(got.len(), 50, "chunk {chunk}");
    }
    let publish_time = started.elapsed();
    // The stalled reader was cut off: only the fast one is still connected.
    assert!(
        eventually(|| async { count(&app).await == 1 }).await,
        "slow reader still registered"
    );
    assert!(last > 0);
    drop(slow);
    // Publishing never waited on the stalled reader.
    assert!(publish_time < Duration::from_secs(60), "{publish_time:?}");
}

#[tokio::test]
async fn bad_tokens_cursors_topics_and_too_many_streams_are_refused() {
    let app = spawn_app_with(|s| s.push.max_streams_per_principal = 2).await;
    let kim = app.customer("Kim").await;

    let r = app
        .get("/api/v1/events/poll?timeout=0", Some("pc_nope"))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .get("/api/v1/events/poll?timeout=0&access_token=pc_nope", None)
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    for (q, code) in [
        ("cursor=abc", "bad_cursor"),
        ("cursor=-5", "bad_cursor"),
        ("topics=admin", "bad_topics"),
        ("topics=user:1", "bad_topics"),
        ("types=Mileage!", "bad_types"),
        ("timeout=9999", "bad_timeout"),
        ("topics=", "no_channels"),
    ] {
        let r = app.get(&format!("/api/v1/events/poll?{q}"), None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], code, "{q}");
    }
    let r = app
        .client
        .get(app.url("/api/v1/events"))
        .bearer_auth(&kim.token)
        .header("Last-Event-ID", "not-a-number")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let _one = app.sse("", Some(&kim.token), None).await;
    let _two = app.sse("", Some(&kim.token), None).await;
    let three = app.sse("", Some(&kim.token), None).await;
    assert_eq!(three.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        three.error_body.unwrap()["error"]["code"],
        "too_many_requests"
    );
    // Someone else is not affected by Kim's cap.
    let lee = app.customer("Lee").await;
    assert_eq!(
        app.sse("", Some(&lee.token), None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_customer_cannot_read_another_users_or_a_stores_channel() {
    let app = spawn_app().await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    let (_, cursor) = app.poll("timeout=0", Some(&lee.token)).await;
    app.announce_to(kim.id, "private").await;
    let (events, _) = app
        .poll(&format!("cursor={cursor}&timeout=0"), Some(&lee.token))
        .await;
    assert!(events.is_empty());
    let (events, _) = app.poll(&format!("cursor={cursor}&timeout=0"), None).await;
    assert!(events.is_empty(), "visitors see public topics only");
}

#[tokio::test]
async fn type_filters_narrow_a_stream() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let (_, cursor) = app.poll("timeout=0", Some(&kim.token)).await;
    app.announce_to(kim.id, "hello").await;
    let (events, _) = app
        .poll(
            &format!("cursor={cursor}&timeout=0&types=mileage."),
            Some(&kim.token),
        )
        .await;
    assert!(events.is_empty());
    let (events, _) = app
        .poll(
            &format!("cursor={cursor}&timeout=0&types=announce"),
            Some(&kim.token),
        )
        .await;
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn a_cursor_the_log_no_longer_holds_gets_stream_reset() {
    let app = spawn_app_with(|s| {
        s.push.retention = Duration::from_millis(1);
        s.push.prune_interval = Duration::from_millis(50);
        // A cursor still covered by the in-memory ring is served from it; make
        // the ring too small to reach back that far.
        s.push.ring_capacity = 1;
    })
    .await;
    let kim = app.customer("Kim").await;
    let first = app.announce_to(kim.id, "old").await;
    app.announce_to(kim.id, "older still").await;
    let reset = eventually(|| async {
        let (events, _) = app
            .poll(&format!("cursor={}&timeout=0", first - 1), Some(&kim.token))
            .await;
        events.first().is_some_and(|e| e["type"] == "stream.reset")
    })
    .await;
    assert!(reset);
    let mut sse = app.sse("", Some(&kim.token), Some(first - 1)).await;
    assert_eq!(sse.next().await.event, "stream.open");
    assert_eq!(sse.next().await.event, "stream.reset");
    // A cursor from another database altogether (ahead of everything) too.
    let (events, _) = app.poll("cursor=999999&timeout=0", Some(&kim.token)).await;
    assert_eq!(events[0]["type"], "stream.reset");
}

#[tokio::test]
async fn shutdown_ends_streams_and_answers_waiting_polls() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut sse = app.sse("", Some(&kim.token), None).await;
    sse.next().await;
    let waiting = {
        let (c, u, t) = (
            app.client.clone(),
            app.url("/api/v1/events/poll?timeout=50"),
            kim.token.clone(),
        );
        tokio::spawn(async move { c.get(u).bearer_auth(t).send().await.map(|r| r.status()) })
    };
    assert!(
        eventually(|| async {
            app.get("/api/v1/admin/connections", Some(ADMIN_TOKEN))
                .await
                .json::<Value>()
                .await
                .unwrap()["count"]
                == 2
        })
        .await
    );
    let t = Instant::now();
    app.stop().await;
    assert!(sse.ends_within(Duration::from_secs(5)).await);
    assert_eq!(waiting.await.unwrap().unwrap(), StatusCode::OK);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stopped in {:?}",
        t.elapsed()
    );
}
