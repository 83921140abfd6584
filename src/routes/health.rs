use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and the server is not stopping.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db_ok = sqlx::query("SELECT 1")
        .execute(state.db.reader())
        .await
        .is_ok();
    if db_ok && !state.shutdown.is_cancelled() {
        HttpResponse::Ok().json(json!({ "status": "ready", "backend": format!("{:?}", state.db.backend()).to_lowercase() }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "unavailable", "database": db_ok }))
    }
}
