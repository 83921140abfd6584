use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/jobs", web::get().to(list))
        .route("/admin/jobs/{name}", web::put().to(reschedule))
        .route("/admin/jobs/{name}/run", web::post().to(run))
        .route("/admin/jobs/{name}/runs", web::get().to(runs));
}

/// Staff (owners and admins) read jobs and their runs: the jobs are the whole
/// service's and their summaries are totals, so an owner sees nothing of another
/// store's. Changing a schedule or running a job stays with admins.
fn staff(who: &Principal) -> ApiResult<()> {
    if who.role.is_staff() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("staff only"))
    }
}

fn admin(who: &Principal) -> ApiResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("admins only"))
    }
}

#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::JobList),
        (status = 403, description = "Staff only"),
    ))]
async fn list(state: web::Data<AppState>, who: Principal) -> ApiResult<HttpResponse> {
    staff(&who)?;
    Ok(HttpResponse::Ok().json(json!({ "jobs": state.scheduler.list().await? })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Reschedule {
    /// `daily HH:MM` or `cron MIN HOUR DOM MON DOW`.
    #[schema(min_length = 1, max_length = 100)]
    schedule: String,
    /// An IANA name such as `Asia/Seoul`; UTC when absent.
    #[schema(max_length = 64)]
    time_zone: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/admin/jobs/{name}", tag = "admin", params(("name" = String, Path, description = "job name")),
    request_body = Reschedule, security(("bearer" = [])),
    responses(
        (status = 200, body = crate::jobs::scheduler::JobView),
        (status = 403, description = "Admins only"),
    ))]
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

#[utoipa::path(post, path = "/api/v1/admin/jobs/{name}/run", tag = "admin", params(("name" = String, Path, description = "job name")),
    security(("bearer" = [])),
    responses(
        (status = 201, body = crate::jobs::scheduler::RunView),
        (status = 403, description = "Admins only"),
        (status = 409, description = "The job is running"),
    ))]
async fn run(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    admin(&who)?;
    Ok(HttpResponse::Created().json(state.scheduler.run_now(&name).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RunsQuery {
    /// How many runs, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/jobs/{name}/runs", tag = "admin",
    params(("name" = String, Path, description = "job name"), RunsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = crate::routes::openapi::RunList),
        (status = 403, description = "Staff only"),
    ))]
async fn runs(
    state: web::Data<AppState>,
    who: Principal,
    name: web::Path<String>,
    q: web::Query<RunsQuery>,
) -> ApiResult<HttpResponse> {
    staff(&who)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("invalid_limit", "limit must be 1 to 500"));
    }
    Ok(HttpResponse::Ok().json(json!({ "runs": state.scheduler.runs(&name, limit).await? })))
}
