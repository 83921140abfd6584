//! The middleware every request served by actix passes (the lean stream path in
//! [`crate::transport::edge`] applies the same CORS rule itself):
//!
//! - **CORS** ([`crate::cors`]): a preflight from a listed origin is answered here
//!   (204 with the allowed methods and headers); a preflight from any other origin
//!   gets a 403 without any `Access-Control-*` header; other responses to a listed
//!   origin carry its `Access-Control-Allow-Origin`.
//! - **Body deadline**: the body must have arrived `request_timeout` after the head,
//!   or reading it fails and the request is answered 408 (see
//!   [`crate::routes::json_config`]). Body extractors run before a handler touches
//!   the database, so a client trickling its body holds neither a worker (all of
//!   this is async) nor a database connection, and only for a bounded time.
//!   Streams and long-polls are GETs without a body: the deadline never concerns
//!   them.

use std::io;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{Method, header};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::cors::Cors;
use crate::error::ApiError;
use crate::state::AppState;

/// Runs one request through the CORS rule and the body deadline.
pub fn call<S, B>(
    state: &AppState,
    mut req: ServiceRequest,
    srv: &S,
) -> LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    let origin = if state.cors.is_closed() {
        None
    } else {
        let sent = req.headers().get(header::ORIGIN).map(|v| v.as_bytes());
        state.cors.allowed(sent).map(str::to_owned)
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let res = match &origin {
            Some(o) => {
                let mut res = HttpResponse::NoContent();
                for h in Cors::preflight_headers(o) {
                    res.insert_header(h);
                }
                res.insert_header((
                    header::VARY,
                    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
                ));
                res.finish()
            }
            None => ApiError::Forbidden("this origin may not call the API").error_response(),
        };
        return Box::pin(std::future::ready(Ok(req.into_response(res))));
    }
    with_deadline(&mut req, state.settings.request_timeout);
    let fut = srv.call(req);
    Box::pin(async move {
        let mut res = fut.await?;
        if let Some(o) = origin {
            let headers = res.headers_mut();
            for (name, value) in Cors::headers(&o) {
                let Ok(value) = header::HeaderValue::from_str(&value) else {
                    continue;
                };
                let name = header::HeaderName::from_static(name);
                if name == header::VARY {
                    headers.append(name, value);
                } else {
                    headers.insert(name, value);
                }
            }
        }
        Ok(res.map_into_boxed_body())
    })
}

/// Marks the payload error raised when a body misses its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

/// True for the error [`with_deadline`] raises (mapped to 408).
pub fn is_body_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<BodyTimeout>()))
}

/// Makes the request's body fail with [`BodyTimeout`] once `timeout` has passed.
fn with_deadline(req: &mut ServiceRequest, timeout: Duration) {
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        req.set_payload(payload);
        return;
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let body = futures_util::stream::unfold(Some(payload), move |payload| async move {
        let mut payload = payload?;
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => Some((chunk, Some(payload))),
            Ok(None) => None,
            Err(_) => Some((
                Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    BodyTimeout,
                ))),
                None,
            )),
        }
    });
    req.set_payload(Payload::from(
        Box::pin(body) as actix_http::BoxedPayloadStream
    ));
}
