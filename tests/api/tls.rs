//! TLS where users need it, with certificates made in the test (`certs.rs`):
//! inquiry mail through STARTTLS with a login, a clear error (and the mail kept)
//! when the mail server's certificate is not trusted, and the terminal client
//! over `https://` through a TLS-terminating proxy in front of the server.

use std::time::Duration;

use pointcast::client::{ClientOptions, Lang};
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::certs::TestCerts;
use crate::helpers::*;
use crate::smtp_sink::{SinkTls, SmtpSink};

const USER: &str = "shop@pointcast.test";
const PASSWORD: &str = "s3cret pass+word";

async fn tls_sink(certs: &TestCerts) -> SmtpSink {
    SmtpSink::start_tls(SinkTls {
        acceptor: certs.acceptor(),
        user: USER.into(),
        password: PASSWORD.into(),
    })
    .await
}

async fn mailing_app(url: String, ca_file: Option<std::path::PathBuf>) -> TestApp {
    spawn_app_with(move |s| {
        s.smtp_url = Some(url);
        s.admin_email = Some("admin@pointcast.test".into());
        s.mail.ca_file = ca_file;
        s.mail.retry_initial = Duration::from_millis(100);
        s.mail.retry_max = Duration::from_millis(300);
        s.mail.poll_interval = Duration::from_millis(500);
        s.mail.send_timeout = Duration::from_secs(5);
    })
    .await
}

async fn inquire(app: &TestApp) {
    let r = app
        .post(
            "/api/v1/inquiries",
            None,
            &json!({"subject": "Over TLS", "message": "Hello.", "reply_to": "buyer@example.com"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_inquiry_is_delivered_through_starttls_with_a_login() {
    let certs = TestCerts::new();
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink(&certs).await;
    // User and password percent-encoded in the URL, as an operator writes them.
    let url = format!(
        "smtp://shop%40pointcast.test:s3cret%20pass%2Bword@127.0.0.1:{}?tls=starttls",
        sink.port
    );
    let app = mailing_app(url, Some(certs.ca_file(dir.path()))).await;
    inquire(&app).await;

    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.tls, "the mail came over TLS");
    assert_eq!(mail.login.as_deref(), Some(USER));
    assert_eq!(mail.to, ["admin@pointcast.test"]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("[pointcast inquiry] Over TLS")
    );
    assert_eq!(sink.handshakes_failed(), 0);
}

#[tokio::test]
async fn an_untrusted_mail_server_certificate_is_a_clear_error_and_the_mail_stays_queued() {
    let certs = TestCerts::new();
    let sink = tls_sink(&certs).await;
    let url = format!(
        "submission://shop%40pointcast.test:pw@127.0.0.1:{}",
        sink.port
    );
    // No --mail-ca-file: the test CA is not trusted.
    let app = mailing_app(url, None).await;
    inquire(&app).await;
    // The second attempt starts only after the first failure was recorded.
    sink.wait_for_failed_handshakes(2).await;

    // The failure is recorded with a sentence that names the cause and the fix.
    let pool = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
    let (error, sent_at): (Option<String>, Option<i64>) =
        sqlx::query_as("SELECT last_error, sent_at FROM mail_outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(sent_at, None, "the mail stays queued");
    let error = error.expect("an error is recorded");
    assert!(
        error.contains("certificate is not trusted") && error.contains("--mail-ca-file"),
        "{error}"
    );
    assert!(sink.messages().await.is_empty());
}

/// A TLS-terminating proxy (as a load balancer would be) in front of `port`.
async fn tls_proxy(certs: &TestCerts, port: u16) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let acceptor = certs.acceptor();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", port)).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (proxy_port, task)
}

async fn run_client(url: String, login: &str, ca_file: Option<std::path::PathBuf>) -> String {
    let opts = ClientOptions {
        url,
        login: Some(login.into()),
        password: Some("password123".into()),
        lang: Lang::En,
        ca_file,
    };
    let mut out = Vec::new();
    let _ = pointcast::client::run_with(opts, &b"1\n0\n"[..], &mut out).await;
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn the_terminal_client_shops_over_https_and_names_an_untrusted_certificate() {
    let app = spawn_app().await;
    let kim = app.customer("Kim").await;
    let certs = TestCerts::new();
    let dir = tempfile::tempdir().unwrap();
    let (proxy_port, proxy) = tls_proxy(&certs, app.port).await;
    let url = format!("https://127.0.0.1:{proxy_port}");

    let out = run_client(url.clone(), &kim.login, Some(certs.ca_file(dir.path()))).await;
    assert!(out.contains("Welcome, Kim."), "{out}");
    assert!(out.contains("Bye."), "{out}");

    // Without the CA: a sentence about the certificate, not "Cannot reach".
    let out = run_client(url, &kim.login, None).await;
    assert!(out.contains("TLS certificate"), "{out}");
    assert!(out.contains("--ca-file"), "{out}");
    assert!(!out.contains("Cannot reach"), "{out}");
    proxy.abort();
}
