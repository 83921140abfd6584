use clap::Parser;
use pointcast::Application;
use pointcast::cli::{AdminTask, Cli, Command, ResetPasswordArgs};
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
        Command::Admin(args) => match args.task {
            AdminTask::ResetPassword(a) => reset_password(a).await,
        },
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

/// `pointcast admin reset-password`: prints the new password only when it made it.
async fn reset_password(a: ResetPasswordArgs) -> anyhow::Result<()> {
    let given = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        a.password
    };
    let db = pointcast::db::Db::connect(&a.database_url).await?;
    let done =
        match pointcast::accounts::recovery::reset_admin_password(&db, &a.login, given.as_deref())
            .await
        {
            Ok(done) => done,
            Err(e) => {
                let why = match e {
                    pointcast::accounts::AccountError::NotFound => "no admin has this login".into(),
                    other => other.to_string(),
                };
                eprintln!("pointcast admin reset-password: {}: {why}", a.login);
                std::process::exit(2)
            }
        };
    match done.generated {
        Some(pw) => println!(
            "pointcast: new password of {}: {pw}\n  (its sessions ended; log in again)",
            done.login
        ),
        None => println!(
            "pointcast: password of {} changed; its sessions ended",
            done.login
        ),
    }
    Ok(())
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
