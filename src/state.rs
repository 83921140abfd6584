//! What every handler shares: built once before `HttpServer::new`, so all workers
//! see the same hub (a hub built inside the factory would be per worker and miss
//! subscribers on the others).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::throttle::LoginThrottle;
use crate::events::connections::Connections;
use crate::events::hub::Hub;
use crate::jobs::scheduler::Scheduler;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::store::Db;

pub struct AppState {
    pub db: Db,
    pub hub: Arc<Hub>,
    pub connections: Arc<Connections>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub login_throttle: LoginThrottle,
    pub scheduler: Arc<Scheduler>,
    /// Cancelled when the server begins to stop.
    pub shutdown: CancellationToken,
}
