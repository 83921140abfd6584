//! Faults the server must survive without losing or double-counting anything.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::scale::Process;

struct Customer {
    id: i64,
    token: String,
}

async fn customer(c: &Client, url: &str, store: i64, name: &str) -> Customer {
    let u: Value = c
        .post(format!("{url}/api/v1/users"))
        .json(&json!({"name": name, "phone": "010-0000-0000", "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let login: Value = c
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"login": u["member_no"], "password": "password123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let id = u["id"].as_i64().unwrap();
    let r = c
        .put(format!("{url}/api/v1/stores/{store}/members/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    Customer { id, token }
}

/// A store made by the admin; its id.
async fn new_store(c: &Client, url: &str, name: &str) -> i64 {
    c.post(format!("{url}/api/v1/stores"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn grant(
    c: &Client,
    url: &str,
    store: i64,
    user: i64,
    key: &str,
) -> Result<StatusCode, reqwest::Error> {
    let points = key.bytes().map(u64::from).sum::<u64>() % 97 + 1;
    c.post(format!(
        "{url}/api/v1/stores/{store}/members/{user}/mileage"
    ))
    .bearer_auth(ADMIN_TOKEN)
    .header("Idempotency-Key", key)
    .json(&json!({"points": points, "reason": key, "reason_code": "promotion"}))
    .send()
    .await
    .map(|r| r.status())
}

/// Every ledger entry of a user, following `next_before`.
async fn entries(c: &Client, url: &str, user: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let mut u = format!("{url}/api/v1/users/{user}/mileage/entries?limit=200");
        if let Some(b) = before {
            u.push_str(&format!("&before={b}"));
        }
        let v: Value = c
            .get(u)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(v["entries"].as_array().unwrap().iter().cloned());
        match v["next_before"].as_i64() {
            Some(b) => before = Some(b),
            None => return out,
        }
    }
}

/// The ids of every event on a user's own channel, from the log, by long-poll.
async fn logged_ids(c: &Client, url: &str, token: &str) -> Vec<i64> {
    let (mut ids, mut cursor) = (Vec::new(), 0);
    loop {
        let v: Value = c
            .get(format!(
                "{url}/api/v1/events/poll?cursor={cursor}&timeout=0&topics="
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = v["events"].as_array().unwrap();
        if events.is_empty() {
            return ids;
        }
        ids.extend(events.iter().map(|e| e["id"].as_i64().unwrap()));
        cursor = v["cursor"].as_i64().unwrap();
    }
}

#[tokio::test]
async fn a_server_killed_mid_burst_of_grants_loses_and_doubles_nothing() {
    let db = Arc::new(TestDb::new().await);
    let mut server = Process::start(&db.url).await;
    let c = Client::new();
    let url = server.url.clone();
    let store = new_store(&c, &url, "Busan").await;
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(customer(&c, &url, store, &format!("C{i}")).await);
    }

    // Each customer watches their stream while four clients grant 250 times each.
    let mut streams = Vec::new();
    for cu in &customers {
        let r = c
            .get(format!("{url}/api/v1/events?topics="))
            .bearer_auth(&cu.token)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        streams.push(SseClient::from_response_for_tests(r).await);
    }
    let ok = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for cu in &customers {
        let (c, url, ok, user) = (c.clone(), url.clone(), Arc::clone(&ok), cu.id);
        clients.push(tokio::spawn(async move {
            // key -> answered 2xx (true) or unanswered (false)
            let mut sent: Vec<(String, bool)> = Vec::new();
            for n in 0..250 {
                let key = format!("u{user}-{n}");
                match grant(&c, &url, store, user, &key).await {
                    Ok(s) if s.is_success() => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        sent.push((key, true));
                    }
                    Ok(s) => panic!("grant {key} refused with {s}"),
                    Err(_) => {
                        sent.push((key, false));
                        break;
                    }
                }
            }
            sent
        }));
    }
    assert!(eventually(|| async { ok.load(Ordering::Relaxed) >= 200 }).await);
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut sent: Vec<Vec<(String, bool)>> = Vec::new();
    for t in clients {
        sent.push(t.await.unwrap());
    }
    let answered: usize = sent.iter().flatten().filter(|(_, a)| *a).count();
    assert!(answered < 1000, "the kill landed mid-burst");
    let mut seen: Vec<HashSet<i64>> = Vec::new();
    let mut last_seen = Vec::new();
    for s in &mut streams {
        let mut ids = HashSet::new();
        let mut last = 0;
        while let Some(e) = s.next_within(Duration::from_secs(5)).await {
            if let Some(id) = e.id {
                last = last.max(id);
                if !e.event.starts_with("stream.") {
                    assert!(ids.insert(id), "duplicate {id}");
                }
            }
        }
        seen.push(ids);
        last_seen.push(last);
    }

    // Restart on the same database; clients retry what went unanswered.
    let server = Process::start(&db.url).await;
    let url = server.url.clone();
    for (cu, s) in customers.iter().zip(&sent) {
        for (key, answered) in s {
            if !answered {
                assert!(
                    grant(&c, &url, store, cu.id, key)
                        .await
                        .unwrap()
                        .is_success()
                );
            }
        }
    }
    for (i, cu) in customers.iter().enumerate() {
        let ledger = entries(&c, &url, cu.id).await;
        let mut grants: HashMap<String, usize> = HashMap::new();
        for e in ledger.iter().filter(|e| e["kind"] == "grant") {
            *grants
                .entry(e["reason"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        for (key, _) in &sent[i] {
            assert_eq!(
                grants.get(key),
                Some(&1),
                "{key} is in the ledger exactly once"
            );
        }
        assert_eq!(
            grants.len(),
            sent[i].len(),
            "nothing granted that was not asked for"
        );
        let sum: i64 = ledger.iter().map(|e| e["points"].as_i64().unwrap()).sum();
        let balances: Value = c
            .get(format!("{url}/api/v1/users/{}/mileage", cu.id))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let balance = balances["balances"][0]["balance"].as_i64().unwrap_or(0);
        assert_eq!(balance, sum, "balance = sum of the ledger");

        // The stream resumes from its last id with no gap and nothing twice.
        let log = logged_ids(&c, &url, &cu.token).await;
        let r = c
            .get(format!("{url}/api/v1/events?topics="))
            .bearer_auth(&cu.token)
            .header("Accept", "text/event-stream")
            .header("Last-Event-ID", last_seen[i].to_string())
            .send()
            .await
            .unwrap();
        let mut resumed = SseClient::from_response_for_tests(r).await;
        let missing = log.iter().filter(|id| **id > last_seen[i]).count();
        let after: Vec<i64> = resumed
            .take(missing)
            .await
            .iter()
            .map(|e| e.id.unwrap())
            .collect();
        assert!(
            seen[i].iter().all(|id| log.contains(id)),
            "only logged events were streamed"
        );
        let mut all: Vec<i64> = seen[i].iter().copied().collect();
        all.sort_unstable();
        all.extend(after);
        assert_eq!(all, log, "customer {i}: every event once, in order");
    }
}

/// Announcements commit on the SQLite writer's second connection, between its
/// batches of grants: a kill in the middle of both keeps every answered one of
/// each, once, in one gap-free log.
#[tokio::test]
async fn a_server_killed_mid_burst_of_announcements_and_grants_keeps_every_answered_one() {
    let db = Arc::new(TestDb::new().await);
    let mut server = Process::start(&db.url).await;
    let c = Client::new();
    let url = server.url.clone();
    let store = new_store(&c, &url, "Daegu").await;
    let cu = customer(&c, &url, store, "Listener").await;
    let ok = Arc::new(AtomicUsize::new(0));
    let mut announcers = Vec::new();
    for a in 0..3 {
        let (c, url, ok, user) = (c.clone(), url.clone(), Arc::clone(&ok), cu.id);
        announcers.push(tokio::spawn(async move {
            // The ids of the announcements answered 201.
            let mut answered = Vec::new();
            for n in 0..400 {
                let r = c
                    .post(format!("{url}/api/v1/announcements"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"text": format!("a{a}-{n}"), "user_id": user}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let v: Value = r.json().await.unwrap();
                        answered.push(v["last_event_id"].as_i64().unwrap());
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => panic!("announcement refused with {}", r.status()),
                    Err(_) => break,
                }
            }
            answered
        }));
    }
    let granter = {
        let (c, url, ok, user) = (c.clone(), url.clone(), Arc::clone(&ok), cu.id);
        tokio::spawn(async move {
            let mut answered = Vec::new();
            for n in 0..400 {
                let key = format!("g{n}");
                match grant(&c, &url, store, user, &key).await {
                    Ok(s) if s.is_success() => {
                        answered.push(key);
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(s) => panic!("grant {key} refused with {s}"),
                    Err(_) => break,
                }
            }
            answered
        })
    };
    assert!(eventually(|| async { ok.load(Ordering::Relaxed) >= 300 }).await);
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut announced = Vec::new();
    for t in announcers {
        announced.extend(t.await.unwrap());
    }
    let granted = granter.await.unwrap();
    assert!(
        announced.len() < 1200 && granted.len() < 400,
        "the kill landed mid-burst"
    );
    assert!(
        !announced.is_empty() && !granted.is_empty(),
        "both kinds were answered before the kill"
    );

    let server = Process::start(&db.url).await;
    let url = server.url.clone();
    let log = logged_ids(&c, &url, &cu.token).await;
    let unique: HashSet<i64> = log.iter().copied().collect();
    assert_eq!(unique.len(), log.len(), "no event twice");
    assert!(log.windows(2).all(|w| w[0] < w[1]), "in id order");
    for id in &announced {
        assert!(log.contains(id), "answered announcement {id} survived");
    }
    let ledger = entries(&c, &url, cu.id).await;
    for key in &granted {
        let n = ledger
            .iter()
            .filter(|e| e["reason"] == key.as_str())
            .count();
        assert_eq!(n, 1, "answered grant {key} is in the ledger once");
    }
}
