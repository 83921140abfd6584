//! The jobs' own event: `job.completed`, to the admins after every run. The
//! `stock.low` alerts of `optimal-stock` are the shop's ([`crate::shop::events`]).

use serde::Serialize;
use serde_json::Value;

use crate::events::Payload;

/// `job.completed` on `admin`: a run ended, with its outcome and summary.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobCompleted<'a> {
    pub job: &'a str,
    pub run_id: i64,
    /// `ok` or `error`.
    pub outcome: &'a str,
    /// The body's summary (`{"error": ...}` when it failed).
    pub summary: &'a Value,
    pub started_at: String,
    pub finished_at: String,
}

impl Payload for JobCompleted<'_> {
    const TYPE: &'static str = "job.completed";
}
