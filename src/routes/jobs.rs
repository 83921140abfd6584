use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::jobs::JobError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/jobs", web::get().to(list))
        .route("/admin/jobs/{name}", web::put().to(reschedule))
        .route("/admin/jobs/{name}/run", web::post().to(run))
        .route("/admin/jobs/{name}/runs", web::get().to(runs));
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Unknown => ApiError::NotFound("job"),
            JobError::Schedule(s) => ApiError::invalid("invalid_schedule", s.to_string()),
            JobError::Running => ApiError::conflict("job_running", e.to_string()),
            JobError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

fn admin(who: &Principal) -> ApiResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("admins only"))
    }
}

async fn list(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    admin(&who)?;
    Ok(HttpResponse::Ok().json(json!({ "jobs": state.scheduler.list().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reschedule {
    schedule: String,
    time_zone: Option<String>,
}

async fn reschedule(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    body: web::Json<Reschedule>,
) -> ApiResult<HttpResponse> {
    admin(&who)?;
    let job = state
        .scheduler
        .reschedule(&name, &body.schedule, body.time_zone.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(job))
}

async fn run(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    admin(&who)?;
    Ok(HttpResponse::Created().json(state.scheduler.run_now(&name).await?))
}

#[derive(Deserialize)]
struct RunsQuery {
    limit: Option<i64>,
}

async fn runs(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    q: web::Query<RunsQuery>,
) -> ApiResult<HttpResponse> {
    admin(&who)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("bad_limit", "limit must be 1 to 500"));
    }
    Ok(HttpResponse::Ok().json(json!({ "runs": state.scheduler.runs(&name, limit).await? })))
}
