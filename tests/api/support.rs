//! The customer center over real HTTP: live chat between two clients, access rules,
//! limits, inquiries mailed through a real SMTP server on loopback, and presence.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

const ADMIN_EMAIL: &str = "admins@shop.test";

/// Opens a conversation as `customer`; returns its id.
async fn open(app: &TestApp, customer: &User, store_id: Option<i64>, text: &str) -> i64 {
    let r = app
        .post(
            "/api/v1/support/conversations",
            Some(&customer.token),
            &json!({"text": text, "store_id": store_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "open a conversation");
    r.json::<Value>().await.expect("json")["conversation"]["id"]
        .as_i64()
        .expect("conversation id")
}

async fn say(app: &TestApp, token: &str, conversation: i64, text: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/support/conversations/{conversation}/messages"),
        Some(token),
        &json!({ "text": text }),
    )
    .await
}

async fn close(app: &TestApp, token: &str, conversation: i64) -> reqwest::Response {
    app.post(
        &format!("/api/v1/support/conversations/{conversation}/close"),
        Some(token),
        &json!({}),
    )
    .await
}

async fn json_of(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let r = app.get(path, token).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// (sender name, text) of a `support.*` event carrying a message.
fn said(e: &SseEvent) -> (String, String) {
    let m = &e.data["data"]["message"];
    (
        m["sender"]["name"].as_str().unwrap_or_default().to_string(),
        m["text"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn a_customer_and_store_staff_chat_live_and_a_closed_conversation_refuses_messages() {
    // Arrange: a store with its owner, a customer, both streaming.
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.park", &[store]).await;
    let kim = app.customer("Kim").await;
    let mut kim_sse = app.sse("topics=", Some(&kim.token), None).await;
    let mut staff_sse = app.sse("topics=", Some(&owner.token), None).await;
    kim_sse.next().await;
    staff_sse.next().await;

    // Act and assert: the opening reaches the store's staff, with the customer's name.
    app.join(store, &kim).await;
    let id = open(&app, &kim, Some(store), "Is the new album in stock?").await;
    let opened = staff_sse.take(1).await.remove(0);
    assert_eq!(opened.event, "support.opened");
    assert_eq!(opened.data["channel"], format!("store:{store}"));
    assert_eq!(opened.data["data"]["conversation"]["id"], id);
    assert_eq!(
        said(&opened),
        ("Kim".into(), "Is the new album in stock?".into())
    );
    assert_eq!(opened.data["data"]["message"]["sender"]["role"], "customer");
    assert_eq!(kim_sse.take(1).await[0].event, "support.opened");

    // The staff's reply reaches the customer, with the staff's name and role.
    let r = say(&app, &owner.token, id, "Yes, 3 copies left.").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let reply = kim_sse.take(1).await.remove(0);
    assert_eq!(reply.event, "support.message");
    assert_eq!(reply.data["channel"], format!("user:{}", kim.id));
    assert_eq!(
        said(&reply),
        ("owner.park".into(), "Yes, 3 copies left.".into())
    );
    assert_eq!(reply.data["data"]["message"]["sender"]["id"], owner.id);
    assert_eq!(reply.data["data"]["message"]["sender"]["role"], "owner");

    // The customer's messages reach the staff in order.
    for text in ["Please keep one for me.", "I come at 6."] {
        assert_eq!(
            say(&app, &kim.token, id, text).await.status(),
            StatusCode::CREATED
        );
    }
    let got: Vec<(String, String)> = staff_sse
        .take(3)
        .await
        .iter()
        .map(|e| {
            assert_eq!(e.event, "support.message");
            said(e)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("owner.park".to_string(), "Yes, 3 copies left.".to_string()),
            ("Kim".into(), "Please keep one for me.".into()),
            ("Kim".into(), "I come at 6.".into()),
        ]
    );

    // The customer's own messages come back on their channel too (other devices).
    let echoes: Vec<String> = kim_sse.take(2).await.iter().map(|e| said(e).1).collect();
    assert_eq!(echoes, ["Please keep one for me.", "I come at 6."]);

    // The thread holds the same messages with their senders.
    let (status, thread) = json_of(
        &app,
        &format!("/api/v1/support/conversations/{id}"),
        Some(&kim.token),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Is the new album in stock?",
            "Yes, 3 copies left.",
            "Please keep one for me.",
            "I come at 6."
        ]
    );
    assert_eq!(thread["messages"][1]["sender"]["name"], "owner.park");

    // Either side closes; both hear it; then the conversation refuses messages.
    let r = close(&app, &owner.token, id).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "closed");
    let kim_closed = kim_sse.take(1).await.remove(0);
    assert_eq!(kim_closed.event, "support.closed");
    assert_eq!(kim_closed.data["data"]["closed_by"]["name"], "owner.park");
    assert_eq!(staff_sse.take(1).await[0].event, "support.closed");
    let r = say(&app, &kim.token, id, "one more thing").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "conversation_closed"
    );
    assert_eq!(
        close(&app, &kim.token, id).await.status(),
        StatusCode::CONFLICT
    );
    let (_, thread) = json_of(
        &app,
        &format!("/api/v1/support/conversations/{id}"),
        Some(&kim.token),
    )
    .await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 4);
    assert_eq!(thread["conversation"]["status"], "closed");
}

#[tokio::test]
async fn a_conversation_without_a_store_goes_to_the_admins_once() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let mut admin_sse = app.sse("topics=", Some(ADMIN_TOKEN), None).await;
    admin_sse.next().await;
    let id = open(&app, &kim, None, "Hello?").await;
    let e = admin_sse.take(1).await.remove(0);
    assert_eq!(
        (e.event.as_str(), &e.data["channel"]),
        ("support.opened", &json!("admin"))
    );
    let r = say(&app, ADMIN_TOKEN, id, "Hello, Kim.").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let e = admin_sse.take(1).await.remove(0);
    assert_eq!(said(&e), ("Administrator".into(), "Hello, Kim.".into()));
    assert!(
        admin_sse
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "an admin sees each event once"
    );
}

#[tokio::test]
async fn others_can_neither_read_nor_write_a_conversation_and_lists_are_scoped() {
    let app = spawn_app().await;
    let (hongdae, gangnam) = (app.store("Hongdae").await, app.store("Gangnam").await);
    let park = app.owner("owner.park", &[hongdae]).await;
    let choi = app.owner("owner.choi", &[gangnam]).await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    // Kim belongs to two stores, so a chat naming none goes to the admins.
    app.join(hongdae, &kim).await;
    app.join(gangnam, &kim).await;
    app.join(gangnam, &lee).await;
    let kims = open(&app, &kim, Some(hongdae), "about my order").await;
    let for_admins = open(&app, &kim, None, "about my account").await;
    let lees = open(&app, &lee, Some(gangnam), "hi").await;

    for (who, id) in [
        (&lee.token, kims),
        (&choi.token, kims),
        (&park.token, for_admins),
        (&park.token, lees),
    ] {
        let path = format!("/api/v1/support/conversations/{id}");
        assert_eq!(
            app.get(&path, Some(who)).await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            say(&app, who, id, "hi").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(close(&app, who, id).await.status(), StatusCode::NOT_FOUND);
    }
    let path = format!("/api/v1/support/conversations/{kims}");
    assert_eq!(
        app.get(&path, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(&path, Some(&park.token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(&path, Some(ADMIN_TOKEN)).await.status(),
        StatusCode::OK
    );
    // Nothing the refused requests tried was written.
    let (_, thread) = json_of(&app, &path, Some(&kim.token)).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1);
    assert_eq!(thread["conversation"]["status"], "open");

    let ids = |v: &Value| -> Vec<i64> {
        v["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let list = "/api/v1/support/conversations";
    assert_eq!(
        ids(&json_of(&app, list, Some(&kim.token)).await.1),
        [for_admins, kims]
    );
    assert_eq!(ids(&json_of(&app, list, Some(&lee.token)).await.1), [lees]);
    assert_eq!(ids(&json_of(&app, list, Some(&park.token)).await.1), [kims]);
    assert_eq!(ids(&json_of(&app, list, Some(&choi.token)).await.1), [lees]);
    assert_eq!(
        ids(&json_of(&app, list, Some(ADMIN_TOKEN)).await.1),
        [lees, for_admins, kims]
    );
    assert_eq!(close(&app, &kim.token, kims).await.status(), StatusCode::OK);
    let open_only = format!("{list}?status=open");
    assert_eq!(
        ids(&json_of(&app, &open_only, Some(ADMIN_TOKEN)).await.1),
        [lees, for_admins]
    );
    let closed_only = format!("{list}?status=closed");
    assert_eq!(
        ids(&json_of(&app, &closed_only, Some(&kim.token)).await.1),
        [kims]
    );
    let (status, _) = json_of(&app, &format!("{list}?status=pending"), Some(&kim.token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_chat_reaches_the_customers_store_whose_owner_answers_and_closes_it() {
    // Arrange: two stores with their owners; Kim belongs to Hongdae only, Lee to both.
    let app = spawn_app().await;
    let (hongdae, gangnam) = (app.store("Hongdae").await, app.store("Gangnam").await);
    let park = app.owner("owner.park", &[hongdae]).await;
    let choi = app.owner("owner.choi", &[gangnam]).await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    app.join(hongdae, &kim).await;
    app.join(hongdae, &lee).await;
    app.join(gangnam, &lee).await;
    let mut park_sse = app.sse("topics=", Some(&park.token), None).await;
    park_sse.next().await;
    let list = "/api/v1/support/conversations";

    // Act: Kim names no store; her only store gets the chat, live.
    let id = open(&app, &kim, None, "Do you have the new album?").await;
    let opened = park_sse.take(1).await.remove(0);

    // Assert
    assert_eq!(opened.event, "support.opened");
    assert_eq!(opened.data["channel"], format!("store:{hongdae}"));
    let conversation = &opened.data["data"]["conversation"];
    assert_eq!(conversation["store_id"], hongdae);
    assert_eq!(conversation["store_name"], "Hongdae");
    assert_eq!(
        say(&app, &park.token, id, "Yes, two left.").await.status(),
        StatusCode::CREATED
    );
    // Another store's owner can neither read, answer nor close it, nor list it.
    let path = format!("{list}/{id}");
    assert_eq!(
        app.get(&path, Some(&choi.token)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        say(&app, &choi.token, id, "hi").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        close(&app, &choi.token, id).await.status(),
        StatusCode::NOT_FOUND
    );
    let (_, theirs) = json_of(&app, list, Some(&choi.token)).await;
    assert_eq!(theirs["conversations"], json!([]));
    // Its own owner closes it; the customer's list shows it closed, with its store.
    let r = close(&app, &park.token, id).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, mine) = json_of(&app, list, Some(&kim.token)).await;
    assert_eq!(mine["conversations"][0]["status"], "closed");
    assert_eq!(mine["conversations"][0]["store_name"], "Hongdae");
    let (_, thread) = json_of(&app, &path, Some(&kim.token)).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 2);

    // A store the customer does not belong to is refused, and nothing is created.
    let r = app
        .post(
            list,
            Some(&kim.token),
            &json!({"text": "hello", "store_id": gangnam}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_a_member"
    );
    let (_, all) = json_of(&app, list, Some(ADMIN_TOKEN)).await;
    assert_eq!(all["conversations"].as_array().unwrap().len(), 1);

    // A customer of two stores picks one; naming none goes to the admins.
    let to_gangnam = open(&app, &lee, Some(gangnam), "a question for Gangnam").await;
    let to_admins = open(&app, &lee, None, "a question for anyone").await;
    let (_, choi_list) = json_of(&app, list, Some(&choi.token)).await;
    assert_eq!(choi_list["conversations"][0]["id"], to_gangnam);
    let (_, thread) = json_of(&app, &format!("{list}/{to_admins}"), Some(ADMIN_TOKEN)).await;
    assert_eq!(thread["conversation"]["store_id"], Value::Null);
    // Admins see all and may narrow to one store.
    let (_, only) = json_of(
        &app,
        &format!("{list}?store_id={hongdae}"),
        Some(ADMIN_TOKEN),
    )
    .await;
    let ids: Vec<i64> = only["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id]);
}

#[tokio::test]
async fn bad_messages_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let store = app.store("Hongdae").await;
    let owner = app.owner("owner.park", &[store]).await;
    let kim = app.customer("Kim").await;
    app.join(store, &kim).await;
    let id = open(&app, &kim, Some(store), "first").await;
    let list = "/api/v1/support/conversations";

    for (body, status) in [
        (json!({"text": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"text": "  \n\t "}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"text": "x".repeat(2001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"text": 5}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"text": "hi", "store_id": 999}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = app.post(list, Some(&kim.token), &body).await;
        assert_eq!(r.status(), status, "open {body}");
        assert!(r.json::<Value>().await.unwrap()["error"]["code"].is_string());
        if body.get("store_id").is_none() {
            let r = app
                .post(&format!("{list}/{id}/messages"), Some(&kim.token), &body)
                .await;
            assert_eq!(r.status(), status, "write {body}");
        }
    }
    let r = app
        .client
        .post(app.url(&format!("{list}/{id}/messages")))
        .bearer_auth(&kim.token)
        .header("Content-Type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .post(
            list,
            Some(&owner.token),
            &json!({"text": "staff cannot open"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.post(list, None, &json!({"text": "who am I"})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        say(&app, &kim.token, 424242, "hello").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{list}/abc"), Some(&kim.token))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Exactly the first conversation and its first message exist.
    let (_, all) = json_of(&app, list, Some(ADMIN_TOKEN)).await;
    assert_eq!(all["conversations"].as_array().unwrap().len(), 1);
    let (_, thread) = json_of(&app, &format!("{list}/{id}"), Some(&kim.token)).await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 1);
    // 2000 characters (not bytes) is the limit.
    assert_eq!(
        say(&app, &kim.token, id, &"가".repeat(2000)).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_fast_writer_gets_429_with_retry_after_and_others_are_not_slowed() {
    let app = spawn_app_with(|s| {
        s.support.rate_burst = 5;
        s.support.rate_window = Duration::from_secs(60);
    })
    .await;
    let (kim, lee) = (app.customer("Kim").await, app.customer("Lee").await);
    let id = open(&app, &kim, None, "one").await; // takes one of Kim's 5 tokens

    let posts: Vec<_> = (0..8)
        .map(|i| {
            let (c, u, t) = (
                app.client.clone(),
                app.url(&format!("/api/v1/support/conversations/{id}/messages")),
                kim.token.clone(),
            );
            tokio::spawn(async move {
                c.post(u)
                    .bearer_auth(t)
                    .json(&json!({ "text": format!("message {i}") }))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut created, mut limited) = (0, 0);
    for p in posts {
        let r = p.await.unwrap();
        match r.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let secs: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=12).contains(&secs), "Retry-After {secs}");
                limited += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, limited), (4, 4));
    let (_, thread) = json_of(
        &app,
        &format!("/api/v1/support/conversations/{id}"),
        Some(&kim.token),
    )
    .await;
    assert_eq!(thread["messages"].as_array().unwrap().len(), 5);
    // Lee has a bucket of their own.
    open(&app, &lee, None, "hello").await;
}

#[tokio::test]
async fn concurrent_closes_close_once_and_pages_walk_back_through_messages() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let id = open(&app, &kim, None, "m0").await;
    for i in 1..5 {
        assert_eq!(
            say(&app, &kim.token, id, &format!("m{i}")).await.status(),
            StatusCode::CREATED
        );
    }
    let base = format!("/api/v1/support/conversations/{id}");
    let page = |v: &Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, p1) = json_of(&app, &format!("{base}?limit=2"), Some(&kim.token)).await;
    assert_eq!(page(&p1), ["m3", "m4"]);
    let before = p1["next_before"].as_i64().unwrap();
    let (_, p2) = json_of(
        &app,
        &format!("{base}?limit=2&before={before}"),
        Some(&kim.token),
    )
    .await;
    assert_eq!(page(&p2), ["m1", "m2"]);
    let before = p2["next_before"].as_i64().unwrap();
    let (_, p3) = json_of(
        &app,
        &format!("{base}?limit=2&before={before}"),
        Some(&kim.token),
    )
    .await;
    assert_eq!(page(&p3), ["m0"]);
    assert!(p3["next_before"].is_null());
    let (status, _) = json_of(&app, &format!("{base}?limit=0"), Some(&kim.token)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, cursor) = app.poll("timeout=0&topics=", Some(&kim.token)).await;
    let closes: Vec<_> = (0..6)
        .map(|i| {
            let token = if i % 2 == 0 {
                kim.token.clone()
            } else {
                ADMIN_TOKEN.to_string()
            };
            let (c, u) = (app.client.clone(), app.url(&format!("{base}/close")));
            tokio::spawn(async move { c.post(u).bearer_auth(token).send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in closes {
        statuses.push(c.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        5
    );
    let (events, _) = app
        .poll(
            &format!("cursor={cursor}&timeout=1&topics="),
            Some(&kim.token),
        )
        .await;
    let closed: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "support.closed")
        .collect();
    assert_eq!(closed.len(), 1);
}

/// An app that mails inquiries to [`ADMIN_EMAIL`] through `sink`, with short retries.
async fn spawn_mailing_app(db: Option<std::sync::Arc<TestDb>>, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    let adjust = move |s: &mut pointcast::Settings| {
        s.smtp_url = Some(url);
        s.admin_email = Some(ADMIN_EMAIL.into());
        s.mail.retry_initial = Duration::from_millis(100);
        s.mail.retry_max = Duration::from_millis(300);
        s.mail.poll_interval = Duration::from_millis(500);
        s.mail.send_timeout = Duration::from_secs(3);
    };
    match db {
        Some(db) => spawn_on(db, adjust).await,
        None => spawn_app_with(adjust).await,
    }
}

async fn inquiries(app: &TestApp) -> Vec<Value> {
    let (status, v) = json_of(app, "/api/v1/inquiries", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    v["inquiries"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn an_inquiry_is_stored_pushed_to_admins_and_mailed_to_the_admin_address() {
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(None, &sink).await;
    let mut admin_sse = app.sse("topics=", Some(ADMIN_TOKEN), None).await;
    admin_sse.next().await;

    let r = app
        .post(
            "/api/v1/inquiries",
            None,
            &json!({"subject": "Bulk order", "message": "Can I order 40 copies?\nThanks.", "reply_to": "buyer@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let e = admin_sse.take(1).await.remove(0);
    assert_eq!(e.event, "inquiry.received");
    assert_eq!(e.data["channel"], "admin");
    assert_eq!(e.data["data"]["id"], id);
    assert_eq!(e.data["data"]["subject"], "Bulk order");
    assert_eq!(e.data["data"]["reply_to"], "buyer@example.com");

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, [ADMIN_EMAIL]);
    assert_eq!(mail.from, "pointcast@localhost");
    assert_eq!(mail.header("To").as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("[pointcast inquiry] Bulk order")
    );
    assert_eq!(
        mail.header("Reply-To").as_deref(),
        Some("buyer@example.com")
    );
    let body = mail.body().replace("\r\n", "\n");
    assert!(body.contains("Can I order 40 copies?\nThanks."), "{body}");
    assert!(body.contains("buyer@example.com"), "{body}");
    assert!(eventually(|| async { inquiries(&app).await[0]["mail_status"] == "sent" }).await);

    // A signed-in sender is named; bad inquiries are refused and change nothing.
    let kim = app.customer("Kim").await;
    for body in [
        json!({"subject": "", "message": "m", "reply_to": "a@b.test"}),
        json!({"subject": "s\nBcc: x@evil.test", "message": "m", "reply_to": "a@b.test"}),
        json!({"subject": "s", "message": "  ", "reply_to": "a@b.test"}),
        json!({"subject": "s", "message": "m", "reply_to": "not an address"}),
        json!({"subject": "s", "message": "m"}),
    ] {
        let r = app.post("/api/v1/inquiries", Some(&kim.token), &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_eq!(inquiries(&app).await.len(), 1);
    let r = app
        .post(
            "/api/v1/inquiries",
            Some(&kim.token),
            &json!({"subject": "Points", "message": "Where are my points?", "reply_to": "kim@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let e = admin_sse.take(1).await.remove(0);
    assert_eq!(e.data["data"]["user"]["name"], "Kim");
    let mails = sink.wait_for(2).await;
    assert!(mails[1].body().contains(&format!("user {}", kim.id)));
    assert_eq!(
        app.get("/api/v1/inquiries", Some(&kim.token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_mail_refused_by_a_down_server_goes_out_once_after_it_recovers_across_a_restart() {
    // Arrange: the mail server refuses everything.
    let sink = SmtpSink::start().await;
    sink.set_down(true);
    let app = spawn_mailing_app(None, &sink).await;

    // The inquiry is saved although its mail cannot go.
    let r = app
        .post(
            "/api/v1/inquiries",
            None,
            &json!({"subject": "Lost parcel", "message": "It never came.", "reply_to": "p@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        eventually(|| async { sink.refused() >= 2 }).await,
        "retried"
    );
    let saved = inquiries(&app).await;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["mail_status"], "pending");
    assert!(saved[0]["mail_attempts"].as_i64().unwrap() >= 1);

    // The server restarts on the same database while the mail server recovers.
    let db = app.db.clone();
    app.stop().await;
    sink.set_down(false);
    let app = spawn_mailing_app(Some(db), &sink).await;

    let mails = sink.wait_for(1).await;
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("[pointcast inquiry] Lost parcel")
    );
    assert!(eventually(|| async { inquiries(&app).await[0]["mail_status"] == "sent" }).await);
    // A later mail goes too, and the first was not sent again.
    let r = app
        .post(
            "/api/v1/inquiries",
            None,
            &json!({"subject": "Found it", "message": "Sorry!", "reply_to": "p@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mails = sink.wait_for(2).await;
    assert!(
        eventually(|| async {
            inquiries(&app)
                .await
                .iter()
                .all(|i| i["mail_status"] == "sent")
        })
        .await
    );
    let subjects: Vec<String> = sink
        .messages()
        .await
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    assert_eq!(
        subjects,
        [
            "[pointcast inquiry] Lost parcel",
            "[pointcast inquiry] Found it"
        ]
    );
    assert_eq!(mails.len(), 2);
}

#[tokio::test]
async fn without_mail_settings_an_inquiry_is_stored_and_pushed_only() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/inquiries",
            None,
            &json!({"subject": "Hi", "message": "Just saying hi.", "reply_to": "a@b.test"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["mailed"], false);
    let (events, _) = app
        .poll("cursor=0&timeout=0&topics=", Some(ADMIN_TOKEN))
        .await;
    assert!(events.iter().any(|e| e["type"] == "inquiry.received"));
    assert_eq!(inquiries(&app).await[0]["mail_status"], "none");
}

/// Opens an SSE stream on a raw socket and reads until `stream.open`.
async fn raw_sse(app: &TestApp, token: &str) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    s.write_all(
        format!(
            "GET /api/v1/events?topics= HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .expect("send the request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("stream.open") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("stream.open within 10 s")
            .expect("read");
        assert!(n > 0, "stream closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

async fn connections(app: &TestApp) -> Vec<Value> {
    let (status, v) = json_of(app, "/api/v1/admin/connections", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    v["connections"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn presence_shows_an_open_stream_and_drops_it_by_the_next_heartbeat_after_the_client_goes() {
    let heartbeat = Duration::from_millis(200);
    let app = spawn_app_with(|s| s.push.heartbeat = heartbeat).await;
    let kim = app.customer("Kim").await;
    let socket = raw_sse(&app, &kim.token).await;

    let list = connections(&app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!(c["user_id"], kim.id);
    assert_eq!(c["name"], "Kim");
    assert_eq!(c["role"], "customer");
    assert_eq!(c["transport"], "sse");
    assert!(
        chrono::DateTime::parse_from_rfc3339(c["since"].as_str().unwrap()).is_ok(),
        "{c}"
    );
    assert!(
        c["remote_addr"].as_str().unwrap().starts_with("127.0.0.1"),
        "{c}"
    );
    assert_eq!(
        app.get("/api/v1/admin/connections", Some(&kim.token))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    let gone = Instant::now();
    drop(socket);
    assert!(eventually(|| async { connections(&app).await.is_empty() }).await);
    // The first heartbeat written after the close finds the socket gone (or its reset
    // comes back and the next write fails); allow one extra beat for scheduling.
    let took = gone.elapsed();
    assert!(took <= heartbeat * 3, "dropped after {took:?}");
}

#[tokio::test]
async fn two_instances_on_postgresql_send_each_mail_once() {
    let sink = SmtpSink::start().await;
    let a = spawn_mailing_app(None, &sink).await;
    if !a.db.is_postgres() {
        return; // SQLite runs one instance: one writer, one mailer.
    }
    let b = spawn_mailing_app(Some(a.db.clone()), &sink).await;
    let posts: Vec<_> = (0..8)
        .map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            let (c, u) = (app.client.clone(), app.url("/api/v1/inquiries"));
            tokio::spawn(async move {
                c.post(u)
                    .json(&json!({"subject": format!("n{i}"), "message": "m", "reply_to": "x@example.com"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    for p in posts {
        assert_eq!(p.await.unwrap(), StatusCode::CREATED);
    }
    sink.wait_for(8).await;
    assert!(
        eventually(|| async {
            inquiries(&a)
                .await
                .iter()
                .all(|i| i["mail_status"] == "sent")
        })
        .await
    );
    let mut subjects: Vec<String> = sink
        .messages()
        .await
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect();
    subjects.sort();
    let want: Vec<String> = (0..8)
        .map(|i| format!("[pointcast inquiry] n{i}"))
        .collect();
    assert_eq!(subjects, want);
}
