use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::accounts::{AccountError, Name, Password, Phone};
use crate::auth::{Role, password};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::users::NewUser;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(sign_up));
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        ApiError::invalid("invalid_account", e.to_string())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUp {
    name: String,
    phone: String,
    password: String,
}

/// Open sign-up of a customer; answers with the member number to log in with.
async fn sign_up(state: web::Data<AppState>, body: web::Json<SignUp>) -> ApiResult<HttpResponse> {
    let name = Name::parse(&body.name)?;
    let phone = Phone::parse(&body.phone)?;
    let pw = Password::parse(&body.password)?;
    let hash = password::hash(pw.into_inner()).await?;
    let user = state
        .db
        .create_user(
            &NewUser {
                role: Role::Customer,
                login: None,
                name: name.as_str(),
                phone: Some(phone.as_str()),
                password_hash: Some(&hash),
            },
            &[],
        )
        .await?;
    tracing::info!(user_id = user.id, member_no = ?user.member_no, "customer signed up");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .json(user))
}
