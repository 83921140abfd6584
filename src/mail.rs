//! The mailer: one task per instance that sends the outbox (`src/db/outbox.rs`)
//! over SMTP with lettre.
//!
//! It drains every due mail, then sleeps until the next one falls due, the poll
//! interval passes (a safety net, and how other instances' mail is noticed), it is
//! woken after an insert, or the server stops. A failed mail is retried with
//! exponential backoff; a mail is marked sent only after the server accepted it.
//! An SMTP conversation is never cut short by shutdown: it is bounded by the send
//! timeout instead, so an accepted mail is always recorded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::db::outbox::OutboxMail;
use crate::settings::MailSettings;
use crate::time::now_millis;

/// How the SMTP conversation is protected.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay on the same host or network); no login allowed.
    Plain,
    /// STARTTLS, required: the mail is not sent if the server does not offer it.
    StartTls,
    /// Implicit TLS from the first byte (`smtps://`, usually port 465).
    Tls,
}

/// Where mail goes, from `--smtp-url`:
/// - `smtp://host[:port]` plain (port 25);
/// - `smtp://user:password@host:587?tls=starttls` or `submission://user:password@host`
///   (port 587): STARTTLS, required;
/// - `smtps://user:password@host` (port 465): implicit TLS.
///
/// User and password are percent-decoded. A login is refused on plain SMTP so
/// that a password never crosses the network in clear.
#[derive(Clone, PartialEq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User and password for AUTH PLAIN/LOGIN.
    pub login: Option<(String, String)>,
}

/// Never prints the password (the target is logged at start-up).
impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.login.as_ref().map(|(u, _)| u))
            .finish()
    }
}

impl SmtpTarget {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let shape = "smtp://host[:port], smtp://user:password@host:587?tls=starttls, \
                     submission://user:password@host or smtps://user:password@host";
        let url = url::Url::parse(raw)
            .with_context(|| format!("SMTP URL {raw:?} must look like {shape}"))?;
        let (mut security, default_port) = match url.scheme() {
            "smtp" => (SmtpSecurity::Plain, 25),
            "submission" => (SmtpSecurity::StartTls, 587),
            "smtps" => (SmtpSecurity::Tls, 465),
            other => anyhow::bail!("SMTP URL scheme {other:?} is not one of {shape}"),
        };
        for (key, value) in url.query_pairs() {
            match (&*key, &*value) {
                ("tls", "starttls" | "required") if url.scheme() == "smtp" => {
                    security = SmtpSecurity::StartTls;
                }
                ("tls", "none") if url.scheme() == "smtp" => {}
                _ => anyhow::bail!(
                    "SMTP URL {raw:?}: unknown option {key}={value} (only tls=starttls on smtp://)"
                ),
            }
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .with_context(|| format!("SMTP URL {raw:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if !matches!(url.path(), "" | "/") {
            anyhow::bail!("SMTP URL {raw:?} must not have a path");
        }
        let login = match (url.username(), url.password()) {
            ("", None) => None,
            (user, Some(password)) if !user.is_empty() => Some((
                percent_decode(user)
                    .with_context(|| format!("SMTP URL {raw:?}: bad %-escape in the user"))?,
                percent_decode(password)
                    .with_context(|| format!("SMTP URL {raw:?}: bad %-escape in the password"))?,
            )),
            _ => anyhow::bail!("SMTP URL {raw:?}: a login needs both user and password"),
        };
        if login.is_some() && security == SmtpSecurity::Plain {
            anyhow::bail!(
                "SMTP URL {raw:?}: a login over plain SMTP would send the password in clear; \
                 use ?tls=starttls, submission:// or smtps://"
            );
        }
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            login,
        })
    }
}

/// Percent-decoding that keeps `+` as `+` (URL userinfo is not form data).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The lettre transport for a target: TLS trusts the Mozilla roots plus the
/// certificates in `--mail-ca-file`; a login offers AUTH PLAIN and LOGIN.
pub fn transport(
    target: &SmtpTarget,
    settings: &MailSettings,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
        .port(target.port)
        .timeout(Some(settings.send_timeout));
    if target.security != SmtpSecurity::Plain {
        let mut params = TlsParameters::builder(target.host.clone());
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read --mail-ca-file {}", path.display()))?;
            params =
                params
                    .add_root_certificate(Certificate::from_pem(&pem).with_context(|| {
                        format!("--mail-ca-file {} is not PEM", path.display())
                    })?);
        }
        let params = params.build_rustls().context("SMTP TLS settings")?;
        builder = builder.tls(match target.security {
            SmtpSecurity::Tls => Tls::Wrapper(params),
            _ => Tls::Required(params),
        });
    }
    if let Some((user, password)) = &target.login {
        builder = builder
            .credentials(Credentials::new(user.clone(), password.clone()))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

/// Checks the configured From (`--mail-from`) at start-up, so a typo stops the
/// server with a clear error instead of failing every mail later.
pub fn check_from(from: &str) -> anyhow::Result<()> {
    from.parse::<Mailbox>().map(|_| ()).with_context(|| {
        format!("--mail-from {from:?} is not a mailbox like \"Shop <help@shop.example>\"")
    })
}

/// Wait before the next attempt after `failures` failed ones: `initial`, doubled
/// per failure, at most `max`.
pub fn backoff(failures: i64, initial: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    initial.saturating_mul(1u32 << exp).min(max)
}

/// Runs the mailer until `shutdown`.
pub async fn run(
    db: Db,
    target: SmtpTarget,
    settings: MailSettings,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let transport = match transport(&target, &settings) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "mailer not started");
            return;
        }
    };
    tracing::info!(host = %target.host, port = target.port, security = ?target.security,
        user = target.login.as_ref().map(|(u, _)| u.as_str()), "mailer started");
    while !shutdown.is_cancelled() {
        if let Err(e) = drain(&db, &transport, &settings, &shutdown).await {
            tracing::warn!(error = ?e, "mailer: reading the outbox failed");
        }
        let nap = match db.next_mail_due().await {
            Ok(Some(due)) => Duration::from_millis(u64::try_from(due - now_millis()).unwrap_or(0))
                .min(settings.poll_interval),
            _ => settings.poll_interval,
        };
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(nap) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

/// Sends every due mail, one at a time.
async fn drain(
    db: &Db,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    settings: &MailSettings,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    while !shutdown.is_cancelled() {
        let Some(claimed) = db.claim_due_mail().await? else {
            return Ok(());
        };
        let mail = claimed.mail.clone();
        match send(transport, settings, &mail).await {
            Ok(()) => {
                claimed.sent().await?;
                tracing::info!(mail = mail.id, to = %mail.to, "mail sent");
            }
            Err(e) => {
                let failures = mail.attempts + 1;
                let wait = backoff(failures, settings.retry_initial, settings.retry_max);
                let retry_at = now_millis()
                    .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                tracing::warn!(mail = mail.id, attempts = failures, retry_in = ?wait,
                    error = %format!("{e:#}"), "mail not sent; will retry");
                claimed.failed(&format!("{e:#}"), retry_at).await?;
            }
        }
    }
    Ok(())
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    settings: &MailSettings,
    mail: &OutboxMail,
) -> anyhow::Result<()> {
    let mut builder = Message::builder()
        .from(
            settings
                .from
                .parse::<Mailbox>()
                .context("the From address")?,
        )
        .to(mail.to.parse::<Mailbox>().context("the To address")?)
        .subject(mail.subject.clone());
    if let Some(r) = mail
        .reply_to
        .as_deref()
        .and_then(|r| r.parse::<Mailbox>().ok())
    {
        builder = builder.reply_to(r);
    }
    // UTF-8 text with its MIME type and charset (lettre picks a transfer
    // encoding that survives 7-bit relays, and writes non-ASCII headers, such as
    // a Korean subject or sender name, as RFC 2047 encoded words), so that any
    // mail reader shows Korean as Korean.
    let message = builder
        .header(lettre::message::header::MIME_VERSION_1_0)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .context("building the mail")?;
    match transport.send(message).await {
        Ok(_) => Ok(()),
        // Said plainly: an untrusted certificate is a configuration problem
        // (wrong host, or a private CA that needs --mail-ca-file), not a hiccup.
        Err(e) => match crate::tls::certificate_problem(&e) {
            Some(problem) => Err(anyhow::anyhow!(
                "the SMTP server's TLS certificate is not trusted ({problem}); \
                 check the host name, or pass its CA with --mail-ca-file"
            )),
            None => Err(anyhow::Error::new(e).context("the SMTP server did not accept the mail")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        assert_eq!(
            SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap(),
            SmtpTarget {
                host: "127.0.0.1".into(),
                port: 2525,
                security: SmtpSecurity::Plain,
                login: None,
            }
        );
        assert_eq!(SmtpTarget::parse("smtp://mail.local").unwrap().port, 25);
        let s = SmtpTarget::parse("smtps://me%40shop.example:p%2Bw+d@mail.example").unwrap();
        assert_eq!((s.port, s.security), (465, SmtpSecurity::Tls));
        assert_eq!(s.login, Some(("me@shop.example".into(), "p+w+d".into())));
        assert!(!format!("{s:?}").contains("p+w+d"));
        let s = SmtpTarget::parse("submission://u:p@mail.example").unwrap();
        assert_eq!((s.port, s.security), (587, SmtpSecurity::StartTls));
        let s = SmtpTarget::parse("smtp://u:p@mail.example:2587?tls=starttls").unwrap();
        assert_eq!((s.port, s.security), (2587, SmtpSecurity::StartTls));
        assert!(SmtpTarget::parse("smtp://u:p@mail.example").is_err());
        assert!(SmtpTarget::parse("smtp://x?tls=maybe").is_err());
        assert!(SmtpTarget::parse("http://x").is_err());
        assert!(SmtpTarget::parse("smtp://x:port").is_err());
        assert!(SmtpTarget::parse("smtp://").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (i, m) = (Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<u64> = (1..=6).map(|f| backoff(f, i, m).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff(1000, i, m), m);
    }
}
