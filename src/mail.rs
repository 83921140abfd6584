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

/// Where mail goes: `smtp://host[:port]` (plain SMTP; the build carries no TLS).
#[derive(Clone, Debug, PartialEq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
}

impl SmtpTarget {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("smtp://")
            .with_context(|| format!("SMTP URL {url:?} must start with smtp://"))?;
        let authority = rest.trim_end_matches('/');
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .with_context(|| format!("bad port in SMTP URL {url:?}"))?,
            ),
            None => (authority, 25),
        };
        if host.is_empty() || host.contains(['/', '@', '?']) {
            anyhow::bail!("SMTP URL {url:?} must be smtp://host[:port]");
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
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
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&target.host)
        .port(target.port)
        .timeout(Some(settings.send_timeout))
        .build();
    tracing::info!(host = %target.host, port = target.port, "mailer started");
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
    transport
        .send(message)
        .await
        .context("the SMTP server did not accept the mail")?;
    Ok(())
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
                port: 2525
            }
        );
        assert_eq!(SmtpTarget::parse("smtp://mail.local").unwrap().port, 25);
        assert!(SmtpTarget::parse("smtps://x:465").is_err());
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
