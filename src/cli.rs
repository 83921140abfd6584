//! Command line: `pointcast serve` and friends. Flags fall back to `POINTCAST_*`
//! environment variables, then to defaults that run out of the box.

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
    Serve(ServeArgs),
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
}

fn parse_tz(s: &str) -> Result<String, String> {
    s.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| format!("{s:?} is not an IANA time zone name (like Asia/Seoul)"))
}

impl ServeArgs {
    pub fn into_settings(self) -> Settings {
        let mut s = Settings {
            listen: self.listen,
            database_url: self.database_url,
            admin_token: self.admin_token.filter(|t| !t.is_empty()),
            smtp_url: self.smtp_url.filter(|t| !t.is_empty()),
            admin_email: self.admin_email.filter(|t| !t.is_empty()),
            demo: self.demo,
            bench_endpoints: self.bench_endpoints,
            workers: self.workers,
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
        s
    }
}
