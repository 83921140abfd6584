//! The HTTP calls of the terminal client: the same public API a browser uses.

use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// Why a call did not give what was asked.
#[derive(Debug)]
pub enum CallError {
    /// No answer at all (server down, wrong URL, connection cut).
    Unreachable(String),
    /// The server answered TLS with a certificate this client does not trust
    /// (a wrong host, or a private CA not given with `--ca-file`).
    BadCertificate(String),
    /// The server refused, with its error object (`{code, message, ...}`).
    Refused {
        status: StatusCode,
        code: String,
        message: String,
        /// `available` of an `insufficient_stock` refusal.
        available: Option<i64>,
    },
    /// An answer that is not the JSON this client expects.
    BadAnswer(String),
}

pub type CallResult<T> = Result<T, CallError>;

#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    pub id: i64,
    pub title: String,
    pub artist: String,
    pub price: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StockItem {
    pub store_id: i64,
    pub store_name: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: i64,
    pub store_name: String,
    pub title: String,
    pub quantity: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Placed {
    pub order: Order,
    pub stock_left: i64,
}

/// A logged-in connection to one server. Cloning shares the connection pool.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    token: Option<String>,
    /// The logged-in user's id, from the login answer.
    user_id: Option<i64>,
}

/// One of the customer's stores.
#[derive(Debug, Clone, Deserialize)]
pub struct MyStore {
    pub store_id: i64,
    pub name: String,
}

impl Api {
    /// `ca_file`: PEM of private CAs trusted besides the Mozilla roots, for an
    /// `https://` server whose certificate a public CA did not sign.
    pub fn new(url: &str, ca_file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let extra = match ca_file {
            Some(path) => crate::tls::read_ca_file(path)?,
            None => Vec::new(),
        };
        let client = Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .tls_backend_preconfigured(crate::tls::client_config(&extra)?)
            .build()?;
        Ok(Self {
            client,
            base: format!("{}/api/v1", url.trim_end_matches('/')),
            token: None,
            user_id: None,
        })
    }

    /// Logs in with a member number (customers) or a staff login; returns the name.
    pub async fn login(&mut self, login: &str, password: &str) -> CallResult<String> {
        let v = self
            .send(
                self.client
                    .post(format!("{}/auth/login", self.base))
                    .json(&json!({"login": login, "password": password})),
            )
            .await?;
        let token = v["token"].as_str().ok_or_else(|| bad("token"))?;
        self.token = Some(token.to_string());
        self.user_id = v["user"]["id"].as_i64();
        Ok(v["user"]["name"].as_str().unwrap_or(login).to_string())
    }

    pub async fn products(&self) -> CallResult<Vec<Product>> {
        let v = self.get("/products").await?;
        decode(&v["products"])
    }

    pub async fn product(&self, id: i64) -> CallResult<Product> {
        decode(&self.get(&format!("/products/{id}")).await?)
    }

    /// The album's stock at every store.
    pub async fn product_stock(&self, id: i64) -> CallResult<Vec<StockItem>> {
        let v = self.get(&format!("/products/{id}/stock")).await?;
        decode(&v["stock"])
    }

    /// Places an order under `key`; the caller retries with the same key after a
    /// lost answer, so the order is placed once.
    pub async fn order(
        &self,
        key: &str,
        store_id: i64,
        product_id: i64,
        quantity: i64,
    ) -> CallResult<Placed> {
        let req = self
            .authed(self.client.post(format!("{}/orders", self.base)))
            .header("Idempotency-Key", key)
            .json(&json!({"store_id": store_id, "product_id": product_id, "quantity": quantity}));
        decode(&self.send(req).await?)
    }

    /// The stores the logged-in customer belongs to.
    pub async fn my_stores(&self) -> CallResult<Vec<MyStore>> {
        let id = self.user_id.ok_or_else(|| bad("user.id"))?;
        let v = self.get(&format!("/users/{id}/stores")).await?;
        decode(&v["stores"])
    }

    /// Opens a customer-center conversation with its first message, with one of
    /// the customer's stores or (`None`) as the server decides; returns its id.
    pub async fn open_conversation(&self, text: &str, store_id: Option<i64>) -> CallResult<i64> {
        let mut body = json!({ "text": text });
        if let Some(s) = store_id {
            body["store_id"] = json!(s);
        }
        let req = self
            .authed(
                self.client
                    .post(format!("{}/support/conversations", self.base)),
            )
            .json(&body);
        let v = self.send(req).await?;
        v["conversation"]["id"]
            .as_i64()
            .ok_or_else(|| bad("conversation.id"))
    }

    pub async fn send_message(&self, conversation: i64, text: &str) -> CallResult<()> {
        let req = self
            .authed(self.client.post(format!(
                "{}/support/conversations/{conversation}/messages",
                self.base
            )))
            .json(&json!({ "text": text }));
        self.send(req).await.map(|_| ())
    }

    pub async fn close_conversation(&self, conversation: i64) -> CallResult<()> {
        let req = self.authed(self.client.post(format!(
            "{}/support/conversations/{conversation}/close",
            self.base
        )));
        self.send(req).await.map(|_| ())
    }

    /// One long-poll for events of the given type prefix; `None` starts from now.
    pub async fn poll(
        &self,
        cursor: Option<i64>,
        timeout_secs: u64,
        types: &str,
    ) -> CallResult<(Vec<Value>, i64)> {
        let mut path = format!("/events/poll?timeout={timeout_secs}&types={types}&topics=");
        if let Some(c) = cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let v = self.get(&path).await?;
        let events = v["events"].as_array().cloned().unwrap_or_default();
        let cursor = v["cursor"].as_i64().ok_or_else(|| bad("cursor"))?;
        Ok((events, cursor))
    }

    async fn get(&self, path: &str) -> CallResult<Value> {
        self.send(self.authed(self.client.get(format!("{}{path}", self.base))))
            .await
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> CallResult<Value> {
        let resp = req
            .send()
            .await
            .map_err(|e| match crate::tls::certificate_problem(&e) {
                Some(problem) => CallError::BadCertificate(problem),
                None => CallError::Unreachable(e.to_string()),
            })?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| {
            if e.is_decode() {
                CallError::BadAnswer(format!("{status}: not JSON"))
            } else {
                CallError::Unreachable(e.to_string())
            }
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let err = &body["error"];
        Err(CallError::Refused {
            status,
            code: err["code"].as_str().unwrap_or("unknown").to_string(),
            message: err["message"].as_str().unwrap_or("").to_string(),
            available: err["available"].as_i64(),
        })
    }
}

fn bad(what: &str) -> CallError {
    CallError::BadAnswer(format!("missing {what}"))
}

fn decode<T: serde::de::DeserializeOwned>(v: &Value) -> CallResult<T> {
    T::deserialize(v).map_err(|e| CallError::BadAnswer(e.to_string()))
}
