use clap::Parser;
use pointcast::Application;
use pointcast::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let settings = args.into_settings();
            let app = Application::build(settings.clone()).await?;
            tracing::info!(listen = %settings.listen, port = app.port(), database = %redact(&settings.database_url), "pointcast listening");
            app.run_until_stopped().await
        }
        Command::Shop(args) => match pointcast::client::run(args.into_options()).await {
            Ok(()) => Ok(()),
            // A person's mistake is one plain line, never a backtrace or a chain.
            Err(e) if e.downcast_ref::<pointcast::client::UserError>().is_some() => {
                eprintln!("{e}");
                std::process::exit(2)
            }
            Err(e) => {
                eprintln!("pointcast shop: {e}");
                std::process::exit(1)
            }
        },
    }
}

/// The database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}
