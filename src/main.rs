use clap::Parser;
use pointcast::Application;
use pointcast::cli::{AdminTask, Cli, Command, LogFormat, ResetPasswordArgs};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Before the runtime starts its threads, so that they inherit it.
    let scheduled = match &cli.command {
        Command::Serve(args) => Some((args.scheduler, pointcast::sched::apply(args.scheduler))),
        _ => None,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli, scheduled))
}

async fn run(
    cli: Cli,
    scheduled: Option<(pointcast::sched::Scheduler, std::io::Result<()>)>,
) -> anyhow::Result<()> {
    init_logs(cli.log_format);
    match scheduled {
        // A container may refuse the call, and only Linux has the policy: the
        // server then runs as started, which is correct, only slower.
        Some((policy, Err(e))) => tracing::warn!(
            ?policy,
            error = %e,
            "cannot set the threads' scheduling policy; running under the one the process was started with"
        ),
        Some((policy, Ok(()))) => tracing::debug!(?policy, "scheduler policy"),
        None => {}
    }
    match cli.command {
        Command::Serve(args) => {
            let settings = (*args).into_settings()?;
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

/// The operator's log: on stderr (stdout carries what a command prints, such as the
/// first start's admin password), colour only when stderr is a terminal, as text
/// or one JSON object a line. `RUST_LOG` filters (default `info,sqlx=warn`).
fn init_logs(format: LogFormat) {
    use std::io::IsTerminal;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
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
