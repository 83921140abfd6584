//! One accepted connection, from its first byte to its close: which path serves
//! each of its requests.
//!
//! Every request head is read here first ([`read::next`], readiness-driven, by a
//! deadline, under the unfinished-heads semaphore). A plain stream goes to the
//! lean SSE loop for the rest of the connection; a plain poll is answered by the
//! lean poll loop and the connection comes back here for its next request, with
//! the poll's feed kept for a next poll that carries on with it ([`poll::Kept`]);
//! anything else goes to actix over a [`Wire`], which gives the connection back
//! when its next request is a plain stream or poll. So a stream costs the same
//! whether it opens a connection or follows a page load on a kept-alive one.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use bytes::BytesMut;
use futures_util::future::LocalBoxFuture;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::beat::Beats;
use super::head;
use super::read::{self, Next, Wait};
use super::wire::{Handback, Wire};
use super::{Route, poll, sse};
use crate::state::AppState;

/// Serves a connection over actix's HTTP/1 dispatcher, until it ends or hands the
/// connection back through its [`Wire`].
pub type Actix = Rc<dyn Fn(Wire, Option<SocketAddr>) -> LocalBoxFuture<'static, ()>>;

/// What every connection of a worker shares.
pub struct Edge {
    pub state: web::Data<AppState>,
    pub actix: Actix,
    /// Permits for connections reading a request head (see [`read`]).
    pub heads: Arc<Semaphore>,
    /// The worker's heartbeat clock for its streams.
    pub beats: Rc<Beats>,
}

/// Serves one accepted connection (see the module doc).
///
/// Not an `async fn`: its arguments would stay in its state for the whole
/// connection. Reading heads and handing requests to actix take more state than
/// an idle stream, and the returned future is what every stream's task keeps, so
/// that part runs boxed, and the box is freed when the connection becomes a
/// stream.
pub fn serve(io: TcpStream, edge: Rc<Edge>) -> impl Future<Output = ()> {
    let requests = Box::pin(requests(io, edge));
    async move {
        let Some(mut stream) = requests.await else {
            return;
        };
        // By reference: moved into `run`, the stream would take its space twice.
        sse::run(&mut stream).await;
    }
}

/// Serves the connection's requests until it ends, or until one is a stream,
/// which is returned opened (its head and preamble written) to run for the rest
/// of the connection.
async fn requests(mut io: TcpStream, edge: Rc<Edge>) -> Option<sse::Stream> {
    let peer = io.peer_addr().ok();
    let mut buf = BytesMut::new();
    let mut first = true;
    // Set once: a connection that long-polls asks again after every answer, and
    // a `setsockopt` per answer was 2% of a long-poll fan-out's time.
    let mut nodelay = false;
    // The last poll's feed, for a next poll that carries on with it.
    let mut kept: Option<Box<poll::Kept>> = None;
    loop {
        let mut idle = poll::KEEP_ALIVE;
        if kept.is_some() && buf.is_empty() {
            // Only a prompt next request finds the feed: a quiet connection
            // gives its reader's slot back.
            let since = Instant::now();
            // Boxed: a timer and a readiness wait, held only for this moment,
            // would otherwise size every polling connection's state.
            if Box::pin(tokio::time::timeout(poll::KEPT_FOR, io.readable()))
                .await
                .is_err()
            {
                kept = None;
            }
            idle = idle.saturating_sub(since.elapsed());
        }
        let next = Box::pin(next_request(&io, &mut buf, &edge, first, idle)).await;
        first = false;
        if !matches!(next, Next::Lean(Route::Poll, _)) {
            kept = None;
        }
        match next {
            Next::Lean(Route::Stream, request) => {
                let _ = io.set_nodelay(true);
                let extra = buf.len();
                drop(buf);
                let beats = Rc::clone(&edge.beats);
                return sse::open(io, edge.state.clone(), beats, request, extra).await;
            }
            Next::Lean(Route::Poll, request) => {
                if !nodelay {
                    let _ = io.set_nodelay(true);
                    nodelay = true;
                }
                // Boxed: a waiting poll's state would otherwise size every
                // stream's future too.
                let answer = poll::answer(&mut io, &edge.state, request, peer, &mut kept);
                if !Box::pin(answer).await {
                    Box::pin(head::close_gently(&mut io)).await;
                    return None;
                }
            }
            Next::Lean(Route::Actix, _) | Next::Actix => {
                let back = Handback::default();
                let wire = Wire::new(io, std::mem::take(&mut buf), Rc::clone(&back));
                (edge.actix)(wire, peer).await;
                // Not given back: actix served the connection to its end.
                (io, buf) = back.take()?;
            }
            Next::Gone => return None,
            Next::TimedOut => {
                if io.write_all(&head::timeout_response()).await.is_ok() {
                    Box::pin(head::close_gently(&mut io)).await;
                }
                return None;
            }
        }
    }
}

/// Waits for the connection's next request head ([`read::next`]): the first
/// within [`head::HEAD_TIMEOUT`] of the accept; a later one after at most
/// `idle` more of idleness. A head already buffered is decided at once.
async fn next_request(
    io: &TcpStream,
    buf: &mut BytesMut,
    edge: &Edge,
    first: bool,
    idle: Duration,
) -> Next {
    let wait = if first {
        Wait::First
    } else {
        Wait::Later {
            idle,
            stop: edge.state.shutdown.clone(),
        }
    };
    read::next(io, buf, &edge.heads, wait).await
}
