//! Command line: `pointcast serve` and friends. Flags fall back to `POINTCAST_*`
//! environment variables, then to defaults that run out of the box.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::settings::Settings;

#[derive(Parser, Debug)]
#[command(
    name = "pointcast",
    version,
    about = "Real-time push server for a shop's loyalty program and record store"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines on stderr as `text` (for people) or `json` (one object a line,
    /// for log shippers).
    #[arg(
        long,
        global = true,
        env = "POINTCAST_LOG_FORMAT",
        default_value = "text",
        value_enum
    )]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// The record shop's terminal client.
    Shop(ShopArgs),
    /// Operator's tasks on the database.
    Admin(AdminArgs),
}

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub task: AdminTask,
}

#[derive(Subcommand, Debug)]
pub enum AdminTask {
    /// Set a new password for an admin account, straight in the database, and end
    /// its sessions. The password comes from --password-stdin (one line), else
    /// POINTCAST_ADMIN_PASSWORD, else a new one is generated and printed.
    ResetPassword(ResetPasswordArgs),
}

#[derive(Args, Debug)]
pub struct ResetPasswordArgs {
    /// sqlite://FILE (default) or postgres://...
    #[arg(
        long,
        env = "POINTCAST_DATABASE_URL",
        default_value = "sqlite://pointcast.db"
    )]
    pub database_url: String,
    /// The admin's login.
    #[arg(long, default_value = "admin")]
    pub login: String,
    /// Read the new password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// The new password (8 to 128 characters).
    #[arg(
        long = "password-env",
        env = "POINTCAST_ADMIN_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    pub password: Option<String>,
}

#[derive(Args, Debug)]
pub struct ShopArgs {
    /// The server's address.
    #[arg(long, env = "POINTCAST_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Member number (customers) or login (staff); asked for when absent.
    #[arg(long)]
    pub login: Option<String>,
    /// Password; asked for when absent.
    #[arg(long, env = "POINTCAST_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Language of the client (default: from LANG).
    #[arg(long, value_enum)]
    pub lang: Option<crate::client::Lang>,
    /// PEM file of private CAs to trust for an https:// URL (besides the public roots).
    #[arg(long, env = "POINTCAST_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,
}

impl ShopArgs {
    pub fn into_options(self) -> crate::client::ClientOptions {
        crate::client::ClientOptions {
            url: self.url,
            login: self.login,
            password: self.password,
            lang: crate::client::Lang::pick(self.lang, std::env::var("LANG").ok().as_deref()),
            ca_file: self.ca_file,
        }
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "POINTCAST_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// sqlite://FILE (default) or postgres://...
    #[arg(
        long,
        env = "POINTCAST_DATABASE_URL",
        default_value = "sqlite://pointcast.db"
    )]
    pub database_url: String,
    /// The bootstrap admin's token (otherwise generated and printed on first start).
    #[arg(long, env = "POINTCAST_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// SMTP server for inquiry mail: smtp://127.0.0.1:2525 (plain),
    /// submission://user:password@host (STARTTLS, 587), smtp://user:password@host:port?tls=starttls,
    /// or smtps://user:password@host (implicit TLS, 465).
    #[arg(long, env = "POINTCAST_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// PEM file of extra CAs trusted for the SMTP server's certificate (a private relay).
    #[arg(long, env = "POINTCAST_MAIL_CA_FILE")]
    pub mail_ca_file: Option<std::path::PathBuf>,
    /// The From of inquiry mail, e.g. "Gangnam Records <help@shop.example>" (the
    /// name may be Korean).
    #[arg(long, env = "POINTCAST_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Address inquiries are mailed to.
    #[arg(long, env = "POINTCAST_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Fill an empty database with demo stores, albums and customers.
    #[arg(long)]
    pub demo: bool,
    /// Expose the load generator's bulk endpoints (benchmarks only).
    #[arg(long, env = "POINTCAST_BENCH_ENDPOINTS")]
    pub bench_endpoints: bool,
    /// Worker threads (0: one per core).
    #[arg(long, env = "POINTCAST_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Linux scheduling policy of the server's threads: `batch` (SCHED_BATCH: a
    /// woken thread waits for the running one instead of preempting it) or
    /// `normal` (see docs/deploy.md).
    #[arg(long, env = "POINTCAST_SCHEDULER", value_enum, default_value = "batch")]
    pub scheduler: crate::sched::Scheduler,
    /// Database connections this instance keeps: on PostgreSQL all of them, on
    /// SQLite its readers (beside its one writer).
    #[arg(long, env = "POINTCAST_DATABASE_POOL", default_value_t = crate::db::DEFAULT_POOL,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool: u32,
    /// SSE heartbeat interval in seconds.
    #[arg(long, env = "POINTCAST_HEARTBEAT_SECS", default_value_t = 15)]
    pub heartbeat_secs: u64,
    /// Events a subscriber may have queued before it is cut off.
    #[arg(long, env = "POINTCAST_QUEUE_CAPACITY", default_value_t = 1024)]
    pub queue_capacity: usize,
    /// Streams one user may hold at once.
    #[arg(long, env = "POINTCAST_MAX_STREAMS", default_value_t = 16)]
    pub max_streams: usize,
    /// Streams anonymous readers from one client address may hold at once.
    #[arg(long, env = "POINTCAST_MAX_ANONYMOUS_STREAMS", default_value_t = 64)]
    pub max_anonymous_streams: usize,
    /// Seconds a request's body may take to arrive after its head (408 after).
    #[arg(long, env = "POINTCAST_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// An origin allowed to call the API from a browser (exact, e.g.
    /// https://shop.example); repeat for more. None by default: CORS stays closed.
    #[arg(
        long = "cors-origin",
        env = "POINTCAST_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// A reverse proxy (address or CIDR block, e.g. 10.0.0.0/8) whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client; repeat for more. None by default:
    /// the client is the connection's peer.
    #[arg(
        long = "trusted-proxy",
        env = "POINTCAST_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::net::parse_proxy
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// IANA time zone new stores start in (what "today" means for their daily grant
    /// cap), e.g. Asia/Seoul.
    #[arg(long, env = "POINTCAST_TIME_ZONE", default_value = "UTC", value_parser = parse_tz)]
    pub time_zone: String,
    /// Accept readers' JWTs signed with this HS256 secret (a file holding at least
    /// 32 bytes) from the shop's identity provider. Off unless one key is given.
    #[arg(long, env = "POINTCAST_JWT_HS256_SECRET_FILE", group = "jwt_key")]
    pub jwt_hs256_secret_file: Option<std::path::PathBuf>,
    /// Accept readers' JWTs signed with the RS256 public key in this PEM file.
    #[arg(long, env = "POINTCAST_JWT_RS256_PEM", group = "jwt_key")]
    pub jwt_rs256_pem: Option<std::path::PathBuf>,
    /// Accept readers' JWTs signed with the ES256 public key in this PEM file.
    #[arg(long, env = "POINTCAST_JWT_ES256_PEM", group = "jwt_key")]
    pub jwt_es256_pem: Option<std::path::PathBuf>,
    /// Accept readers' JWTs signed with a key of this JWKS file (RS256 or ES256).
    #[arg(long, env = "POINTCAST_JWT_JWKS", group = "jwt_key")]
    pub jwt_jwks: Option<std::path::PathBuf>,
    /// The `aud` a JWT must carry (unchecked when not set).
    #[arg(long, env = "POINTCAST_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// The `iss` a JWT must carry (unchecked when not set).
    #[arg(long, env = "POINTCAST_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// What a JWT's `sub` names: the customer's member number or the external id
    /// stored on the user.
    #[arg(long, env = "POINTCAST_JWT_SUBJECT", value_enum, default_value_t = JwtSubject::MemberNo)]
    pub jwt_subject: JwtSubject,
}

/// How a JWT's `sub` names a pointcast user (`--jwt-subject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JwtSubject {
    MemberNo,
    ExternalId,
}

fn parse_tz(s: &str) -> Result<String, String> {
    s.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| format!("{s:?} is not an IANA time zone name (like Asia/Seoul)"))
}

impl ServeArgs {
    /// The settings these arguments describe; fails when a JWT key file cannot be
    /// read or parsed, so a misconfigured server never starts.
    pub fn into_settings(self) -> anyhow::Result<Settings> {
        let jwt = self.jwt_verifier()?.map(std::sync::Arc::new);
        let mut s = Settings {
            listen: self.listen,
            database_url: self.database_url,
            admin_token: self.admin_token.filter(|t| !t.is_empty()),
            smtp_url: self.smtp_url.filter(|t| !t.is_empty()),
            admin_email: self.admin_email.filter(|t| !t.is_empty()),
            demo: self.demo,
            bench_endpoints: self.bench_endpoints,
            workers: self.workers,
            database_pool: self.database_pool,
            request_timeout: std::time::Duration::from_secs(self.request_timeout.max(1)),
            cors_origins: self.cors_origins,
            trusted_proxies: self.trusted_proxies,
            time_zone: self.time_zone,
            ..Settings::default()
        };
        if let Some(from) = self.mail_from.filter(|f| !f.trim().is_empty()) {
            s.mail.from = from;
        }
        s.mail.ca_file = self.mail_ca_file;
        s.push.heartbeat = std::time::Duration::from_secs(self.heartbeat_secs.max(1));
        s.push.queue_capacity = self.queue_capacity.max(1);
        s.push.max_streams_per_principal = self.max_streams.max(1);
        s.push.max_anonymous_per_address = self.max_anonymous_streams.max(1);
        s.jwt = jwt;
        Ok(s)
    }

    fn jwt_verifier(&self) -> anyhow::Result<Option<crate::auth::jwt::JwtVerifier>> {
        use crate::auth::jwt::{Algorithm, JwtVerifier, Subject};
        let subject = match self.jwt_subject {
            JwtSubject::MemberNo => Subject::MemberNo,
            JwtSubject::ExternalId => Subject::ExternalId,
        };
        let verifier = if let Some(path) = &self.jwt_hs256_secret_file {
            let secret = std::fs::read(path)
                .with_context(|| format!("reading the JWT secret {}", path.display()))?;
            JwtVerifier::hs256(secret.trim_ascii(), subject)?
        } else if let Some(path) = &self.jwt_rs256_pem {
            JwtVerifier::pem_file(path, Algorithm::RS256, subject)?
        } else if let Some(path) = &self.jwt_es256_pem {
            JwtVerifier::pem_file(path, Algorithm::ES256, subject)?
        } else if let Some(path) = &self.jwt_jwks {
            JwtVerifier::jwks_file(path, subject)?
        } else {
            return Ok(None);
        };
        let verifier = match &self.jwt_audience {
            Some(aud) => verifier.audience(aud.clone()),
            None => verifier,
        };
        Ok(Some(match &self.jwt_issuer {
            Some(iss) => verifier.issuer(iss.clone()),
            None => verifier,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut all = vec!["pointcast", "serve"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all)?.command {
            Command::Serve(a) => Ok(*a),
            _ => unreachable!("serve parses as serve"),
        }
    }

    #[test]
    fn jwt_flags_configure_the_verifier_or_refuse_to_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").expect("write");
        let s = serve(&[
            "--jwt-hs256-secret-file",
            secret.to_str().expect("utf-8"),
            "--jwt-audience",
            "shop",
        ])
        .expect("parses")
        .into_settings()
        .expect("a 32-byte secret");
        assert!(s.jwt.is_some());
        assert!(
            serve(&[])
                .expect("parses")
                .into_settings()
                .expect("ok")
                .jwt
                .is_none()
        );

        std::fs::write(&secret, "short").expect("write");
        let short =
            serve(&["--jwt-hs256-secret-file", secret.to_str().expect("utf-8")]).expect("parses");
        assert!(
            short.into_settings().is_err(),
            "a short secret never starts a server"
        );
        let missing = serve(&["--jwt-jwks", "/nonexistent/jwks.json"]).expect("parses");
        assert!(missing.into_settings().is_err());
        assert!(
            serve(&["--jwt-jwks", "a", "--jwt-rs256-pem", "b"]).is_err(),
            "one key source at a time"
        );
    }
}
