//! Socket options for every accepted connection, set in `HttpServer::on_connect`.
//!
//! A reader that stops reading fills its socket; actix then stops polling its
//! response stream, so the stream can never notice that the hub cut it off (queue
//! overflow). `TCP_USER_TIMEOUT` makes the kernel abort a connection whose sent data
//! (zero-window probes included) stays unacknowledged that long; actix then sees the
//! error and drops the stream, its queue and its registry entry. It also ends
//! connections to peers that vanished while data was pending, sooner than a
//! heartbeat would.

use std::any::Any;
use std::time::Duration;

use actix_web::dev::Extensions;

/// Returns the `on_connect` hook that applies `stalled_timeout` to each connection.
pub fn on_connect(
    stalled_timeout: Duration,
) -> impl Fn(&dyn Any, &mut Extensions) + Send + Sync + Clone + 'static {
    move |conn: &dyn Any, _ext: &mut Extensions| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            set_user_timeout(tcp, stalled_timeout);
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_user_timeout(tcp: &actix_web::rt::net::TcpStream, timeout: Duration) {
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(timeout)) {
        tracing::debug!(error = %e, "TCP_USER_TIMEOUT not set");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn set_user_timeout(_tcp: &actix_web::rt::net::TcpStream, _timeout: Duration) {}
