//! Socket options for every accepted connection, set before its first byte is read
//! (see [`crate::startup`]), whichever path then serves it.
//!
//! A reader that stops reading fills its socket; the server then cannot write, so a
//! stream can never finish a write and notice that the hub cut it off (queue
//! overflow). `TCP_USER_TIMEOUT` makes the kernel abort a connection whose sent data
//! (zero-window probes included) stays unacknowledged that long; the writer then
//! sees the error and drops the stream, its queue and its registry entry. It also
//! ends connections to peers that vanished while data was pending, sooner than a
//! heartbeat would.

use std::time::Duration;

use tokio::net::TcpStream;

/// Applies `stalled_timeout` to an accepted connection.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn configure(tcp: &TcpStream, stalled_timeout: Duration) {
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(stalled_timeout)) {
        tracing::debug!(error = %e, "TCP_USER_TIMEOUT not set");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn configure(_tcp: &TcpStream, _stalled_timeout: Duration) {}
