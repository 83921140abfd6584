//! A minimal SMTP server on loopback for tests: it speaks enough real SMTP for a
//! client such as lettre (greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA ... `.`,
//! RSET, NOOP, QUIT), records every accepted message, and can be "down": it then
//! answers `421` at the greeting and closes, as a server in trouble would.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

/// One accepted message.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section, dot-unstuffed, lines joined with `\n`.
    pub data: String,
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
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let port = listener.local_addr().expect("addr").port();
        let down = Arc::new(AtomicBool::new(false));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let refused = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (down, messages, arrived, refused) = (
                Arc::clone(&down),
                Arc::clone(&messages),
                Arc::clone(&arrived),
                Arc::clone(&refused),
            );
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let (down, messages, arrived, refused) = (
                        Arc::clone(&down),
                        Arc::clone(&messages),
                        Arc::clone(&arrived),
                        Arc::clone(&refused),
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
                        session(socket, &messages, &arrived).await;
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
            task,
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

/// Serves one SMTP session, recording each message as its DATA ends.
async fn session(
    socket: tokio::net::TcpStream,
    messages: &Mutex<Vec<Received>>,
    arrived: &Notify,
) -> Option<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let (mut from, mut to) = (None::<String>, Vec::new());
    write
        .write_all(b"220 sink.test ESMTP ready\r\n")
        .await
        .ok()?;
    while let Some(line) = lines.next_line().await.ok()? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = Some(address(&line["MAIL FROM:".len()..]));
            to.clear();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                b"503 MAIL first\r\n"
            } else {
                to.push(address(&line["RCPT TO:".len()..]));
                b"250 OK\r\n"
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                b"503 RCPT first\r\n"
            } else {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .ok()?;
                let mut data = Vec::new();
                loop {
                    let l = lines.next_line().await.ok()??;
                    if l == "." {
                        break;
                    }
                    data.push(l.strip_prefix('.').map(str::to_string).unwrap_or(l));
                }
                messages.lock().await.push(Received {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data: data.join("\n"),
                });
                arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
        } else if upper == "RSET" {
            (from, to) = (None, Vec::new());
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 Bye\r\n").await;
            break;
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await.ok()?;
    }
    Some(())
}

/// `<a@b>` (maybe with parameters after it) -> `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_string(),
        _ => arg.split_whitespace().next().unwrap_or("").to_string(),
    }
}
