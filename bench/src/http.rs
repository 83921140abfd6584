//! A deliberately tiny HTTP/1.1 client over raw TCP.
//!
//! Why hand-written: a load generator holding tens of thousands of connections
//! wants a few kilobytes per connection and nothing it does not use, and the crate
//! should build in seconds. It speaks just what the targets answer: a status line,
//! headers, and a body framed by `Content-Length`, `Transfer-Encoding: chunked`, or
//! the end of the connection. Bodies can be read whole (API calls, long-polls) or
//! incrementally (SSE streams).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::bail;
use crate::error::{Error, Result};

/// Largest response head accepted; anything bigger is not one of our targets.
const MAX_HEAD: usize = 16 * 1024;

/// Where the server under test listens. Only loopback addresses are accepted:
/// this tool must never send load anywhere else.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Socket address to connect to.
    pub addr: SocketAddr,
    /// Value for the `Host` header.
    pub host: String,
    /// Path prefix from the URL (without a trailing slash), prepended to every path.
    pub prefix: String,
}

impl Endpoint {
    /// Parses `http://HOST:PORT[/prefix]`, resolves it, and refuses anything that is
    /// not on 127.0.0.0/8 or ::1.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("only http:// URLs are supported: {url}");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            bail!("URL has no host: {url}");
        }
        let with_port = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| Error(format!("cannot resolve {authority}: {e}")))?
            .next()
            .ok_or_else(|| Error(format!("{authority} resolves to nothing")))?;
        if !addr.ip().is_loopback() {
            bail!("refusing non-loopback target {addr}: load goes to 127.0.0.0/8 only");
        }
        Ok(Endpoint {
            addr,
            host: authority.to_string(),
            prefix: path.trim_end_matches('/').to_string(),
        })
    }

    /// Full request path for an API path such as `/healthz`.
    pub fn path(&self, p: &str) -> String {
        format!("{}{}", self.prefix, p)
    }
}

/// Asks the kernel to pick the source port at `connect` rather than at `bind`.
///
/// Without this, `bind(ip, 0)` must find a port free for *every* destination and
/// walks the whole range past sockets in TIME_WAIT, which after one large run
/// slows set-up to a few hundred connections per second; with it, the port only
/// has to be unique for the 4-tuple. Best effort: on failure binding still works.
fn no_port_at_bind(sock: &TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a c_int option of the right size.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Builds a request with `Host`, optional extra headers and an optional body.
pub fn request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.map_or(0, |b| b.len()));
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if let Some(b) = body {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
        out.extend_from_slice(b);
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The status line and headers of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// Header names lower-cased; values trimmed.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How the body that follows this head is delimited.
    pub fn framing(&self) -> Framing {
        let chunked = self
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            return Framing::Chunked;
        }
        if self.status == 204 || self.status == 304 || (100..200).contains(&self.status) {
            return Framing::Length(0);
        }
        match self
            .header("content-length")
            .and_then(|v| v.parse::<u64>().ok())
        {
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    }

    /// Whether the server will keep the connection open after this response.
    pub fn keep_alive(&self) -> bool {
        !self
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            && self.framing() != Framing::UntilClose
    }
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// Parses a response head at the start of `buf`. Returns the head and the number
/// of bytes it took, or `None` if more bytes are needed.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            bail!("response head larger than {MAX_HEAD} bytes");
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| Error::msg("head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: {status_line:?}");
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| Error(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            bail!("bad header line {line:?}");
        };
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Ok(Some((Head { status, headers }, end + 4)))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Incremental body decoder: feed it raw bytes, get body bytes out.
#[derive(Debug)]
pub enum BodyDecoder {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Length(n) => BodyDecoder::Length(n),
            Framing::Chunked => BodyDecoder::Chunked(ChunkedDecoder::default()),
            Framing::UntilClose => BodyDecoder::UntilClose,
        }
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns how many input
    /// bytes were used (the rest belongs to the next response) and whether the
    /// body is complete.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool)> {
        match self {
            BodyDecoder::Length(left) => {
                let take = (*left).min(input.len() as u64) as usize;
                out.extend_from_slice(&input[..take]);
                *left -= take as u64;
                Ok((take, *left == 0))
            }
            BodyDecoder::Chunked(c) => c.feed(input, out),
            BodyDecoder::UntilClose => {
                out.extend_from_slice(input);
                Ok((input.len(), false))
            }
        }
    }

    /// Whether a clean end of connection completes this body.
    pub fn done_at_eof(&self) -> bool {
        matches!(self, BodyDecoder::UntilClose | BodyDecoder::Length(0))
    }
}

/// State machine for `Transfer-Encoding: chunked`.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    line: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex size line.
    #[default]
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the zero chunk: reading trailer lines until an empty one.
    Trailer,
    Done,
}

impl ChunkedDecoder {
    /// See [`BodyDecoder::feed`].
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(usize, bool)> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                ChunkState::Done => break,
                ChunkState::Size | ChunkState::Trailer | ChunkState::DataEnd => {
                    let b = input[i];
                    i += 1;
                    if b != b'\n' {
                        if self.line.len() > 1024 {
                            bail!("chunk framing line too long");
                        }
                        self.line.push(b);
                        continue;
                    }
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    self.state = match self.state {
                        ChunkState::DataEnd => {
                            if !line.is_empty() {
                                bail!("missing CRLF after chunk data");
                            }
                            ChunkState::Size
                        }
                        ChunkState::Trailer => {
                            if line.is_empty() {
                                ChunkState::Done
                            } else {
                                ChunkState::Trailer
                            }
                        }
                        _ => {
                            let hex = line.split(|&c| c == b';').next().unwrap_or_default();
                            let hex = std::str::from_utf8(hex)
                                .map_err(|_| Error::msg("bad chunk size"))?
                                .trim();
                            let n = u64::from_str_radix(hex, 16)
                                .map_err(|_| Error(format!("bad chunk size {hex:?}")))?;
                            if n == 0 {
                                ChunkState::Trailer
                            } else {
                                ChunkState::Data(n)
                            }
                        }
                    };
                }
                ChunkState::Data(left) => {
                    let take = left.min((input.len() - i) as u64) as usize;
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    self.state = if left == take as u64 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - take as u64)
                    };
                }
            }
        }
        Ok((i, self.state == ChunkState::Done))
    }
}

/// A full response read into memory.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

/// One client connection with its read buffer.
pub struct Conn {
    stream: TcpStream,
    /// Bytes read from the socket but not yet consumed.
    buf: Vec<u8>,
    /// False once the peer said `Connection: close` or framing needs EOF.
    pub reusable: bool,
}

impl Conn {
    /// Connects to `ep`, first binding to `source` (port chosen by the kernel) if
    /// given. Binding to several 127.0.0.x addresses is what lets more than one
    /// ephemeral port range (~28k) of connections reach one server port.
    pub async fn connect(ep: &Endpoint, source: Option<IpAddr>) -> Result<Conn> {
        let sock = if ep.addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(ip) = source {
            no_port_at_bind(&sock);
            sock.bind(SocketAddr::new(ip, 0))
                .map_err(|e| Error(format!("bind {ip}: {e}")))?;
        }
        let stream = sock
            .connect(ep.addr)
            .await
            .map_err(|e| Error(format!("connect {}: {e}", ep.addr)))?;
        stream.set_nodelay(true)?;
        // Close with a reset rather than FIN: a load generator that closes tens of
        // thousands of sockets would otherwise leave them in TIME_WAIT on its side,
        // occupying the 4-tuples the next run needs and slowing every connect.
        stream.set_zero_linger()?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(1024),
            reusable: true,
        })
    }

    /// Writes a whole request.
    pub async fn send(&mut self, req: &[u8]) -> Result<()> {
        self.stream.write_all(req).await?;
        Ok(())
    }

    /// Reads more bytes into the buffer; `Ok(0)` means the peer closed.
    async fn fill(&mut self) -> Result<usize> {
        let mut tmp = [0u8; 4096];
        let n = self.stream.read(&mut tmp).await?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    /// Reads the next response head.
    pub async fn read_head(&mut self) -> Result<Head> {
        loop {
            if let Some((head, used)) = parse_head(&self.buf)? {
                self.buf.drain(..used);
                if !head.keep_alive() {
                    self.reusable = false;
                }
                return Ok(head);
            }
            if self.fill().await? == 0 {
                bail!("connection closed before response head");
            }
        }
    }

    /// Reads some body bytes into `out`. Returns `true` when the body is complete
    /// (or the connection ended where that is a valid end).
    pub async fn read_body_some(
        &mut self,
        dec: &mut BodyDecoder,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if self.buf.is_empty() && self.fill().await? == 0 {
            if dec.done_at_eof() {
                return Ok(true);
            }
            bail!("connection closed mid-body");
        }
        let (used, done) = dec.feed(&self.buf, out)?;
        self.buf.drain(..used);
        Ok(done)
    }

    /// Reads a whole body, refusing more than `limit` bytes.
    pub async fn read_body(&mut self, head: &Head, limit: usize) -> Result<Vec<u8>> {
        let mut dec = BodyDecoder::new(head.framing());
        let mut out = Vec::new();
        if matches!(dec, BodyDecoder::Length(0)) {
            return Ok(out);
        }
        loop {
            if self.read_body_some(&mut dec, &mut out).await? {
                return Ok(out);
            }
            if out.len() > limit {
                bail!("response body larger than {limit} bytes");
            }
        }
    }

    /// Sends a request and reads the whole response.
    pub async fn roundtrip(&mut self, req: &[u8]) -> Result<Response> {
        self.send(req).await?;
        let head = self.read_head().await?;
        let body = self.read_body(&head, 64 * 1024 * 1024).await?;
        Ok(Response { head, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_head_and_headers() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nrest";
        let (head, used) = parse_head(raw).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-type"), Some("text/event-stream"));
        assert_eq!(head.framing(), Framing::Chunked);
        assert_eq!(&raw[used..], b"rest");
    }

    #[test]
    fn partial_head_needs_more() {
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nA: b\r\n")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_head(b"SSH-2.0-x\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 abc\r\n\r\n").is_err());
    }

    #[test]
    fn framing_rules() {
        let h = |hs: &[(&str, &str)], status| Head {
            status,
            headers: hs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert_eq!(
            h(&[("content-length", "12")], 200).framing(),
            Framing::Length(12)
        );
        assert_eq!(h(&[], 200).framing(), Framing::UntilClose);
        assert_eq!(h(&[], 304).framing(), Framing::Length(0));
        assert!(!h(&[("connection", "close"), ("content-length", "1")], 200).keep_alive());
        assert!(h(&[("content-length", "1")], 200).keep_alive());
    }

    #[test]
    fn chunked_in_pieces() {
        let raw = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        // Feed byte by byte to exercise every state boundary.
        let mut dec = ChunkedDecoder::default();
        let mut out = Vec::new();
        let mut pos = 0;
        let mut done = false;
        while !done {
            let (used, d) = dec.feed(&raw[pos..pos + 1], &mut out).unwrap();
            pos += used;
            done = d;
        }
        assert_eq!(out, b"hello, world");
        assert_eq!(&raw[pos..], b"NEXT");
    }

    #[test]
    fn chunked_rejects_bad_size() {
        let mut dec = ChunkedDecoder::default();
        assert!(dec.feed(b"zz\r\n", &mut Vec::new()).is_err());
    }

    #[test]
    fn length_body_leaves_rest() {
        let mut dec = BodyDecoder::new(Framing::Length(3));
        let mut out = Vec::new();
        let (used, done) = dec.feed(b"abcdef", &mut out).unwrap();
        assert_eq!((used, done), (3, true));
        assert_eq!(out, b"abc");
    }

    #[test]
    fn endpoint_only_loopback() {
        let ep = Endpoint::parse("http://127.0.0.1:8080/x/").unwrap();
        assert_eq!(ep.addr.port(), 8080);
        assert_eq!(ep.path("/healthz"), "/x/healthz");
        assert!(Endpoint::parse("http://10.0.0.1:80").is_err());
        assert!(Endpoint::parse("https://127.0.0.1").is_err());
    }

    #[test]
    fn request_has_length() {
        let r = request("POST", "/p", "h", &[("A", "b")], Some(b"{}"));
        let s = String::from_utf8(r).unwrap();
        assert!(s.starts_with("POST /p HTTP/1.1\r\nHost: h\r\nA: b\r\n"));
        assert!(s.ends_with("Content-Length: 2\r\n\r\n{}"));
    }
}
