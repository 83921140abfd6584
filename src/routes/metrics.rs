use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};

use crate::events::connections::Transport;
use crate::state::AppState;

/// Prometheus text exposition of this instance's counters.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let hub = &state.hub.stats;
    let c = &state.connections;
    let (commits, syncs) = state.db.group_commit_counts().unwrap_or_default();
    let extra = [
        (
            "pointcast_connections_sse",
            "gauge",
            "Open SSE streams.",
            c.count(Transport::Sse) as u64,
        ),
        (
            "pointcast_connections_long_poll",
            "gauge",
            "Long-polls waiting now.",
            c.count(Transport::LongPoll) as u64,
        ),
        (
            "pointcast_events_published_total",
            "counter",
            "Committed events handed to the hub.",
            hub.published.load(Ordering::Relaxed),
        ),
        (
            "pointcast_events_delivered_total",
            "counter",
            "Events put on subscriber queues.",
            hub.delivered.load(Ordering::Relaxed),
        ),
        (
            "pointcast_queue_overflows_total",
            "counter",
            "Subscribers cut off because their queue was full.",
            hub.overflows.load(Ordering::Relaxed),
        ),
        (
            "pointcast_event_head",
            "gauge",
            "Id of the newest event published.",
            state.hub.head().max(0) as u64,
        ),
        (
            "pointcast_db_group_commits_total",
            "counter",
            "SQLite commits made durable by a group WAL sync (0 on PostgreSQL).",
            commits,
        ),
        (
            "pointcast_db_wal_syncs_total",
            "counter",
            "SQLite WAL syncs; commits per sync is the grouping achieved.",
            syncs,
        ),
        (
            "pointcast_db_write_batches_total",
            "counter",
            "SQLite transactions of the group writer (many requests' work each, or a run of appends); commits per batch is the batching achieved.",
            state.db.write_batches().unwrap_or_default(),
        ),
    ];
    let body = state.metrics.render(
        &extra,
        &[(
            "pointcast_db_transaction_seconds",
            "Write transactions, begin to commit.",
            &state.db.stats.transactions,
        )],
    );
    HttpResponse::Ok()
        .content_type(prometheus_client::encoding::prometheus_text::CONTENT_TYPE)
        .body(body)
}
