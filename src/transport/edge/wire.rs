//! The socket as actix sees it: an IO wrapper that hands a kept-alive connection
//! back to the lean path when its next request is a stream or a poll.
//!
//! Browsers and proxies reuse connections: a page's stream is usually the second
//! request on its connection. actix serves a connection over a [`Wire`], which
//! passes actix the bytes of each request (head, then `Content-Length` bytes of
//! body) and reads each next head itself before actix sees it. When that head is a
//! plain stream or poll ([`head::decide`]), the wire stops feeding actix: reads
//! end (EOF), so actix finishes the responses it owes (`h1_allow_half_closed`) and
//! shuts down, and the shutdown is not passed on to the socket. When actix's
//! dispatcher drops the wire, the socket and the bytes read past actix's requests
//! go back to the connection's task ([`Handback`]), which serves the request on the
//! lean path at a fresh connection's cost. Anything this side cannot frame (a
//! chunked body, an upgrade, HTTP/1.0, `Connection: close`, a malformed head) is
//! passed through whole: actix serves the rest of that connection.
//!
//! Between requests the wire holds no buffer; reading a head waits on the socket's
//! readiness like any read. actix's keep-alive timer still bounds how long the
//! next head may take.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::head::{self, Decision};

/// A socket given back by actix, with the bytes read past its last request (the
/// next request's head, whole, first).
pub type Handback = Rc<Cell<Option<(TcpStream, BytesMut)>>>;

/// Where the wire is in the connection's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// A request head starts here.
    Head,
    /// This many bytes of body are still actix's.
    Body(u64),
    /// Everything is actix's.
    Through,
    /// A lean request is next: actix gets EOF.
    Handing,
}

/// The socket actix reads and writes (see the module doc).
pub struct Wire {
    io: Option<TcpStream>,
    /// Bytes read from the socket, not yet given to actix.
    buf: BytesMut,
    /// How many at the start of `buf` are actix's.
    ready: usize,
    at: At,
    /// The request actix serves is a stream (one the lean path does not take:
    /// HTTP/1.0, `Expect`, a large head...): the client's close ends it.
    stream: bool,
    back: Handback,
}

impl Wire {
    /// A wire over `io` whose next bytes are `buf` (read already, starting at a
    /// request boundary); when it hands back, the socket goes to `back`.
    pub fn new(io: TcpStream, buf: BytesMut, back: Handback) -> Self {
        Self {
            io: Some(io),
            buf,
            ready: 0,
            at: At::Head,
            stream: false,
            back,
        }
    }

    fn io(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        match self.io.as_mut() {
            Some(io) => Ok(Pin::new(io)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Reads more of the socket into `buf` (at most `want` bytes more); `false` at
    /// end of stream.
    fn fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<bool>> {
        let Some(io) = self.io.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        self.buf.reserve(want.clamp(1, 16 * 1024));
        let n = ready!(tokio_util::io::poll_read_buf(
            Pin::new(io),
            cx,
            &mut self.buf
        ))?;
        Poll::Ready(Ok(n > 0))
    }
}

impl Wire {
    /// The client's end of stream, as actix is to see it. actix lets a client that
    /// half-closes keep its response (`h1_allow_half_closed`, which the hand-over
    /// needs); but a stream's client that closes is gone, so for a stream the end
    /// is an error, which ends the response and frees its slot at once.
    fn end(&self) -> Poll<io::Result<()>> {
        if self.stream {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready > 0 {
                let n = this.ready.min(out.remaining());
                out.put_slice(&this.buf[..n]);
                this.buf.advance(n);
                this.ready -= n;
                if this.buf.is_empty() {
                    // Idle connections hold no buffer.
                    this.buf = BytesMut::new();
                }
                return Poll::Ready(Ok(()));
            }
            match this.at {
                At::Handing => return Poll::Ready(Ok(())),
                At::Through if !this.buf.is_empty() => this.ready = this.buf.len(),
                At::Through => {
                    let before = out.filled().len();
                    ready!(this.io()?.poll_read(cx, out))?;
                    if out.filled().len() == before {
                        return this.end();
                    }
                    return Poll::Ready(Ok(()));
                }
                At::Body(0) => this.at = At::Head,
                At::Body(n) if !this.buf.is_empty() => {
                    let k = (this.buf.len() as u64).min(n);
                    this.ready = k as usize;
                    this.at = At::Body(n - k);
                }
                At::Body(n) => {
                    if !ready!(this.fill(cx, n.min(64 * 1024) as usize))? {
                        return this.end();
                    }
                }
                At::Head => match head::decide(&this.buf) {
                    Decision::Partial => {
                        if !ready!(this.fill(cx, 2048))? {
                            // A partial head and then the end: actix sees it all.
                            this.at = At::Through;
                            if this.buf.is_empty() {
                                return this.end();
                            }
                        }
                    }
                    Decision::Lean { .. } => this.at = At::Handing,
                    Decision::Actix { len, body } => {
                        this.stream = head::names_stream(&this.buf);
                        this.ready = len;
                        this.at = At::Body(body);
                    }
                    Decision::Through => {
                        this.stream = head::names_stream(&this.buf);
                        this.at = At::Through;
                    }
                },
            }
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io()?.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io()?.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io()?.poll_flush(cx)
    }

    /// Not passed on while handing back: the connection lives on.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at == At::Handing {
            return Poll::Ready(Ok(()));
        }
        this.io()?.poll_shutdown(cx)
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        if self.at == At::Handing
            && let Some(io) = self.io.take()
        {
            self.back.set(Some((io, std::mem::take(&mut self.buf))));
        }
    }
}
