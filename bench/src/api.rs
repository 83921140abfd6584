//! pointcast set-up calls: users with tokens, and a store they belong to.
//!
//! Creating N users through sign-up and login costs N argon2 hashes and
//! verifications, which takes minutes for 10k; a server started with
//! `--bench-endpoints` offers `POST /api/v1/admin/bench/users {"count"}` instead.
//! This module tries that first and falls back to the public API.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::timeout;

use crate::bail;
use crate::error::{Error, Result};
use crate::http::{self, Conn, Response};
use crate::target::Target;

/// Parallel connections used for one-by-one set-up calls.
const SETUP_PARALLEL: usize = 16;

/// A user the bench can subscribe as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: u64,
    pub token: String,
}

/// A small API client on one kept-alive connection.
pub struct Api {
    target: Arc<Target>,
    conn: Option<Conn>,
}

impl Api {
    pub fn new(target: Arc<Target>) -> Self {
        Api { target, conn: None }
    }

    /// Calls `method path` with an optional JSON body; returns status and JSON
    /// (`Null` for an empty or non-JSON body).
    pub async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        admin: bool,
    ) -> Result<(u16, Value)> {
        let auth = match (&self.target.admin_token, admin) {
            (Some(t), true) => Some(format!("Bearer {t}")),
            _ => None,
        };
        let body = body.map(|b| b.to_string());
        let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let req = http::request(
            method,
            &self.target.ep.path(path),
            &self.target.ep.host,
            &headers,
            body.as_deref().map(str::as_bytes),
        );
        let resp = match timeout(Duration::from_secs(60), self.roundtrip(&req)).await {
            Ok(r) => r,
            Err(e) => {
                self.conn = None;
                return Err(e.into());
            }
        }?;
        let json = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        Ok((resp.head.status, json))
    }

    async fn roundtrip(&mut self, req: &[u8]) -> Result<Response> {
        let mut conn = match self.conn.take() {
            Some(c) if c.reusable => c,
            _ => Conn::connect(&self.target.ep, None).await?,
        };
        let r = conn.roundtrip(req).await?;
        self.conn = Some(conn);
        Ok(r)
    }
}

/// Parses the bulk endpoint's `{"users": [{"id", "token"}...]}`.
pub fn parse_bulk_users(v: &Value) -> Result<Vec<User>> {
    let list = v
        .get("users")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::msg("bulk answer has no users array"))?;
    list.iter()
        .map(|u| {
            let id = u.get("id").and_then(Value::as_u64);
            let token = u.get("token").and_then(Value::as_str);
            match (id, token) {
                (Some(id), Some(t)) => Ok(User {
                    id,
                    token: t.to_string(),
                }),
                _ => Err(Error(format!("bad user entry {u}"))),
            }
        })
        .collect()
}

/// N users with tokens: the bulk endpoint when the server has it, else sign-up
/// and login one by one (in parallel, bounded by `limit`).
pub async fn provision_users(target: Arc<Target>, n: usize, limit: Duration) -> Result<Vec<User>> {
    let mut api = Api::new(target.clone());
    let mut users = Vec::with_capacity(n);
    // In batches, so one huge JSON answer never has to be built.
    while users.len() < n {
        let count = (n - users.len()).min(5_000);
        let (status, v) = api
            .call(
                "POST",
                "/api/v1/admin/bench/users",
                Some(&json!({ "count": count })),
                true,
            )
            .await?;
        match status {
            200 | 201 => users.extend(parse_bulk_users(&v)?),
            404 | 405 if users.is_empty() => {
                eprintln!(
                    "bench users endpoint absent ({status}); signing up {n} users one by one"
                );
                return timeout(limit, signup_many(target, n)).await?;
            }
            s => bail!("bench users endpoint answered {s}: {v}"),
        }
    }
    users.truncate(n);
    Ok(users)
}

async fn signup_many(target: Arc<Target>, n: usize) -> Result<Vec<User>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(n.max(1));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..SETUP_PARALLEL.min(n.max(1)) {
        let (target, tx, next) = (target.clone(), tx.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut api = Api::new(target);
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let r = signup_one(&mut api, i).await;
                let failed = r.is_err();
                if tx.send(r).await.is_err() || failed {
                    return;
                }
            }
        }));
    }
    drop(tx);
    let mut users = Vec::with_capacity(n);
    while let Some(r) = rx.recv().await {
        users.push(r?);
    }
    for w in workers {
        let _ = w.await;
    }
    if users.len() < n {
        bail!("only {} of {n} users could be created", users.len());
    }
    Ok(users)
}

async fn signup_one(api: &mut Api, i: usize) -> Result<User> {
    let password = format!("bench-pass-{i}-{}", crate::stamp::now_us());
    let phone = format!(
        "010{:08}",
        (crate::stamp::now_us() + i as u64) % 100_000_000
    );
    let (s, v) = api
        .call(
            "POST",
            "/api/v1/users",
            Some(&json!({"name": format!("bench {i}"), "phone": phone, "password": password})),
            false,
        )
        .await?;
    if s != 201 && s != 200 {
        bail!("sign-up answered {s}: {v}");
    }
    let login = match v.get("member_no") {
        Some(Value::String(m)) => m.clone(),
        Some(other) => other.to_string(),
        None => bail!("sign-up answer has no member_no: {v}"),
    };
    let (s, v) = api
        .call(
            "POST",
            "/api/v1/auth/login",
            Some(&json!({"login": login, "password": password})),
            false,
        )
        .await?;
    if s != 200 {
        bail!("login answered {s}: {v}");
    }
    let token = v.get("token").and_then(Value::as_str);
    let id = v
        .pointer("/user/id")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error(format!("login answer has no user.id: {v}")))?;
    match token {
        Some(t) => Ok(User {
            id,
            token: t.to_string(),
        }),
        None => bail!("login answer has no token: {v}"),
    }
}

/// For `--publish grant`: a store (the given one, or a new one owned by the
/// admin) that every user is a member of. Returns the store id.
pub async fn prepare_grants(
    target: Arc<Target>,
    users: &[User],
    store_id: Option<u64>,
) -> Result<u64> {
    let mut api = Api::new(target.clone());
    let store = match store_id {
        Some(s) => s,
        None => {
            // No owner: the admin granting is staff of every store.
            let body = json!({"name": format!("bench store {}", target.run_id),
                "address": "loopback", "lat": 37.5, "lon": 127.0,
                "coupon_threshold": 1_000_000});
            let (s, v) = api
                .call("POST", "/api/v1/stores", Some(&body), true)
                .await?;
            if s != 201 && s != 200 {
                bail!("creating a store answered {s}: {v}");
            }
            v.get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| Error(format!("store answer has no id: {v}")))?
        }
    };
    // Memberships, in parallel connections.
    let chunks: Vec<Vec<u64>> = users
        .chunks(users.len().div_ceil(SETUP_PARALLEL).max(1))
        .map(|c| c.iter().map(|u| u.id).collect())
        .collect();
    let mut tasks = Vec::new();
    for ids in chunks {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut api = Api::new(target);
            for id in ids {
                let path = format!("/api/v1/stores/{store}/members/{id}");
                let (s, v) = api.call("PUT", &path, None, true).await?;
                if !(200..300).contains(&s) {
                    bail!("joining user {id} to store {store} answered {s}: {v}");
                }
            }
            Ok::<(), Error>(())
        }));
    }
    for t in tasks {
        t.await
            .map_err(|e| Error(format!("membership task: {e}")))??;
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_users() {
        let v = json!({"users": [{"id": 1, "token": "a"}, {"id": 2, "token": "b"}]});
        let u = parse_bulk_users(&v).unwrap();
        assert_eq!(
            u[1],
            User {
                id: 2,
                token: "b".into()
            }
        );
        assert!(parse_bulk_users(&json!({"users": [{"id": 1}]})).is_err());
        assert!(parse_bulk_users(&json!({})).is_err());
    }
}
