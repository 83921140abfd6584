//! A minimal SMTP server on loopback for tests: it speaks enough real SMTP for a
//! client such as lettre (greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA ... `.`,
//! RSET, NOOP, QUIT), records every accepted message, and can be "down": it then
//! answers `421` at the greeting and closes, as a server in trouble would.
//!
//! Started with [`SinkTls`], it behaves like a mail provider's submission port:
//! it offers STARTTLS (a real rustls handshake with the test's certificate), and
//! only inside TLS offers AUTH PLAIN and LOGIN and accepts mail after a login.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section, dot-unstuffed, lines joined with `\n`.
    pub data: String,
    /// Whether the message came over TLS.
    pub tls: bool,
    /// The user that logged in, if any.
    pub login: Option<String>,
}

/// What a TLS sink demands: STARTTLS with this certificate, then this login.
pub struct SinkTls {
    pub acceptor: tokio_rustls::TlsAcceptor,
    pub user: String,
    pub password: String,
}

enum Outcome<S> {
    Done,
    StartTls(S),
}

impl Received {
    /// The value of a header (first occurrence), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut lines = self.data.lines().take_while(|l| !l.is_empty()).peekable();
        while let Some(line) = lines.next() {
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                let mut value = v.trim().to_string();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }

    /// The body after the header block.
    pub fn body(&self) -> &str {
        self.data.split_once("\n\n").map(|(_, b)| b).unwrap_or("")
    }
}

/// A running sink; stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    down: Arc<AtomicBool>,
    messages: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    /// Connections refused while down (so a test can wait for a failed attempt).
    refused: Arc<AtomicUsize>,
    /// STARTTLS handshakes that failed (the client rejected the certificate).
    handshakes_failed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A sink that requires STARTTLS and a login.
    pub async fn start_tls(tls: SinkTls) -> Self {
        Self::start_with(Some(Arc::new(tls))).await
    }

    async fn start_with(tls: Option<Arc<SinkTls>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let port = listener.local_addr().expect("addr").port();
        let down = Arc::new(AtomicBool::new(false));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let refused = Arc::new(AtomicUsize::new(0));
        let handshakes_failed = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (down, messages, arrived, refused, failed) = (
                Arc::clone(&down),
                Arc::clone(&messages),
                Arc::clone(&arrived),
                Arc::clone(&refused),
                Arc::clone(&handshakes_failed),
            );
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let (down, messages, arrived, refused, failed, tls) = (
                        Arc::clone(&down),
                        Arc::clone(&messages),
                        Arc::clone(&arrived),
                        Arc::clone(&refused),
                        Arc::clone(&failed),
                        tls.clone(),
                    );
                    tokio::spawn(async move {
                        if down.load(Ordering::SeqCst) {
                            let mut socket = socket;
                            let _ = socket
                                .write_all(b"421 sink.test Service not available\r\n")
                                .await;
                            refused.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        let tls = tls.as_deref();
                        if let Outcome::StartTls(socket) =
                            session(socket, tls, false, &messages, &arrived).await
                            && let Some(t) = tls
                        {
                            match t.acceptor.accept(socket).await {
                                Ok(s) => {
                                    session(s, tls, true, &messages, &arrived).await;
                                }
                                Err(_) => {
                                    failed.fetch_add(1, Ordering::SeqCst);
                                    arrived.notify_waiters();
                                }
                            }
                        }
                    });
                }
            }
        });
        Self {
            port,
            down,
            messages,
            arrived,
            refused,
            handshakes_failed,
            task,
        }
    }

    /// STARTTLS handshakes the client broke off (an untrusted certificate).
    pub fn handshakes_failed(&self) -> usize {
        self.handshakes_failed.load(Ordering::SeqCst)
    }

    /// Waits until `n` STARTTLS handshakes failed; panics after 10 s.
    pub async fn wait_for_failed_handshakes(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if self.handshakes_failed() >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} failed TLS handshake(s) within 10 s");
            }
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// While down, every connection is refused with `421`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub async fn messages(&self) -> Vec<Received> {
        self.messages.lock().await.clone()
    }

    /// Waits until at least `n` messages arrived; panics after 10 s.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            let got = self.messages().await;
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {n} mail(s) within 10 s, got {}", got.len());
            }
        }
    }
}

/// Reads one line without its line end; `None` at end of input or on error.
async fn read_line<S: AsyncRead + Unpin>(r: &mut BufReader<S>) -> Option<String> {
    let mut line = String::new();
    match r.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
    }
}

/// Serves one SMTP session (or its part after STARTTLS, when `secure`),
/// recording each message as its DATA ends. Returns the socket when the client
/// asked for STARTTLS, so the caller can run the handshake and go on.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    socket: S,
    tls: Option<&SinkTls>,
    secure: bool,
    messages: &Mutex<Vec<Received>>,
    arrived: &Notify,
) -> Outcome<S> {
    let mut io = BufReader::new(socket);
    let (mut from, mut to) = (None::<String>, Vec::new());
    let mut login = None::<String>;
    if !secure
        && io
            .write_all(b"220 sink.test ESMTP ready\r\n")
            .await
            .is_err()
    {
        return Outcome::Done;
    }
    while let Some(line) = read_line(&mut io).await {
        let upper = line.to_ascii_uppercase();
        let reply: Vec<u8> = if upper.starts_with("EHLO") {
            let ext = match (tls, secure) {
                (Some(_), false) => "250-STARTTLS\r\n",
                (Some(_), true) => "250-AUTH PLAIN LOGIN\r\n",
                (None, _) => "",
            };
            format!("250-sink.test\r\n{ext}250 8BITMIME\r\n").into_bytes()
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n".to_vec()
        } else if upper == "STARTTLS" && tls.is_some() && !secure {
            if io.write_all(b"220 Go ahead\r\n").await.is_err() || io.flush().await.is_err() {
                return Outcome::Done;
            }
            return Outcome::StartTls(io.into_inner());
        } else if upper.starts_with("AUTH ") && secure {
            let Some(t) = tls else { return Outcome::Done };
            let mut words = line.split_whitespace().skip(1);
            let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
            let inline = words.next().map(str::to_string);
            let creds = match mechanism.as_str() {
                "PLAIN" => {
                    let arg = match inline {
                        Some(a) => Some(a),
                        None => {
                            if io.write_all(b"334 \r\n").await.is_err() {
                                return Outcome::Done;
                            }
                            read_line(&mut io).await
                        }
                    };
                    arg.and_then(|a| B64.decode(a.trim()).ok()).and_then(|raw| {
                        let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
                        match parts[..] {
                            [_, user, pass] => Some((
                                String::from_utf8_lossy(user).into_owned(),
                                String::from_utf8_lossy(pass).into_owned(),
                            )),
                            _ => None,
                        }
                    })
                }
                "LOGIN" => {
                    let mut ask = async |prompt: &[u8]| -> Option<String> {
                        io.write_all(prompt).await.ok()?;
                        let l = read_line(&mut io).await?;
                        String::from_utf8(B64.decode(l.trim()).ok()?).ok()
                    };
                    let user = match inline {
                        Some(u) => String::from_utf8(B64.decode(u).unwrap_or_default()).ok(),
                        None => ask(b"334 VXNlcm5hbWU6\r\n").await,
                    };
                    match user {
                        Some(u) => ask(b"334 UGFzc3dvcmQ6\r\n").await.map(|p| (u, p)),
                        None => None,
                    }
                }
                _ => None,
            };
            match creds {
                Some((u, p)) if u == t.user && p == t.password => {
                    login = Some(u);
                    b"235 2.7.0 Authentication successful\r\n".to_vec()
                }
                _ => b"535 5.7.8 Authentication credentials invalid\r\n".to_vec(),
            }
        } else if upper.starts_with("MAIL FROM:") {
            if tls.is_some() && login.is_none() {
                b"530 5.7.0 Authentication required\r\n".to_vec()
            } else {
                from = Some(address(&line["MAIL FROM:".len()..]));
                to.clear();
                b"250 OK\r\n".to_vec()
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                b"503 MAIL first\r\n".to_vec()
            } else {
                to.push(address(&line["RCPT TO:".len()..]));
                b"250 OK\r\n".to_vec()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                b"503 RCPT first\r\n".to_vec()
            } else {
                if io
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return Outcome::Done;
                }
                let mut data = Vec::new();
                loop {
                    let Some(l) = read_line(&mut io).await else {
                        return Outcome::Done;
                    };
                    if l == "." {
                        break;
                    }
                    data.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
                }
                messages.lock().await.push(Received {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data: data.join("\n"),
                    tls: secure,
                    login: login.clone(),
                });
                arrived.notify_waiters();
                b"250 OK queued\r\n".to_vec()
            }
        } else if upper == "RSET" {
            (from, to) = (None, Vec::new());
            b"250 OK\r\n".to_vec()
        } else if upper == "NOOP" {
            b"250 OK\r\n".to_vec()
        } else if upper == "QUIT" {
            let _ = io.write_all(b"221 Bye\r\n").await;
            break;
        } else {
            b"502 Command not implemented\r\n".to_vec()
        };
        if io.write_all(&reply).await.is_err() {
            return Outcome::Done;
        }
    }
    Outcome::Done
}

/// `<a@b>` (maybe with parameters after it) -> `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_string(),
        _ => arg.split_whitespace().next().unwrap_or("").to_string(),
    }
}
