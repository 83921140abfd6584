//! Reaching a stream's TCP socket from outside the response, so that a reader who
//! stopped reading can be cut off (see [`super::hub`]).
//!
//! actix hands `on_connect` the raw stream; we note its descriptor number there. A
//! stream's handler duplicates it while its request is being served (so the number
//! surely still names this connection); the duplicate keeps the socket reachable,
//! with no risk of touching a reused descriptor, until the stream is dropped.

use std::any::Any;

use actix_web::HttpRequest;
use actix_web::dev::Extensions;

/// The connection's descriptor number, stored per connection by `on_connect`.
#[derive(Clone, Copy)]
struct ConnFd(#[cfg(unix)] std::os::fd::RawFd);

/// `HttpServer::on_connect` hook.
pub fn remember(conn: &dyn Any, ext: &mut Extensions) {
    #[cfg(unix)]
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        ext.insert(ConnFd(tcp.as_raw_fd()));
    }
    #[cfg(not(unix))]
    let _ = (conn, ext);
}

/// A duplicate of the request's socket, if it is a TCP connection.
pub fn duplicate(req: &HttpRequest) -> Option<std::net::TcpStream> {
    #[cfg(unix)]
    {
        use std::os::fd::BorrowedFd;
        let fd = req.conn_data::<ConnFd>()?.0;
        // SAFETY: the descriptor belongs to the connection serving `req`, which is
        // open for at least as long as this handler runs; we only borrow it to dup.
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .ok()?;
        Some(std::net::TcpStream::from(owned))
    }
    #[cfg(not(unix))]
    {
        let _ = req;
        None
    }
}
