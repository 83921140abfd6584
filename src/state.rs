//! What every handler shares: built once before `HttpServer::new`, so all workers
//! see the same hub (a hub built inside the factory would be per worker and miss
//! subscribers on the others).

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::throttle::LoginThrottle;
use crate::cors::Cors;
use crate::db::Db;
use crate::events::connections::Connections;
use crate::events::feed::Feeds;
use crate::events::hub::Hub;
use crate::jobs::scheduler::Scheduler;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::settings::Settings;

/// The state every handler and both transports reach.
pub struct AppState {
    pub db: Db,
    pub hub: Arc<Hub>,
    /// Who is connected (for `/admin/connections` and `/metrics`); feeds admit
    /// readers through it.
    pub connections: Arc<Connections>,
    /// What every reader's feed is opened over (the log, the hub, the registry).
    pub feeds: Arc<Feeds>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub login_throttle: LoginThrottle,
    pub scheduler: Arc<Scheduler>,
    /// Chat message rate per user (the customer center).
    pub support_limiter: Arc<RateLimiter>,
    /// Inquiry rate per address: the inquiry form is open to anyone.
    pub inquiry_limiter: RateLimiter<std::net::IpAddr>,
    /// Which browser origins may call the API; asked by the actix middleware and
    /// the lean stream path alike.
    pub cors: Cors,
    /// Wakes the mailer after a mail was put in the outbox.
    pub mail_wake: Arc<Notify>,
    /// Cancelled when the server begins to stop.
    pub shutdown: CancellationToken,
}
