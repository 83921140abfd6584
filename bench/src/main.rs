//! pointcast-bench: load generator for pointcast and nchan. See docs/performance.md.

mod api;
mod cli;
mod error;
mod fleet;
mod http;
mod procfs;
mod publisher;
mod scenarios;
mod sse;
mod stamp;
mod stats;
mod subscriber;
mod table;
mod target;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use cli::{Cli, Command, PublishMode};
use scenarios::{Ctx, Outcome};

/// Descriptors wanted: every connection is one, plus headroom.
const NOFILE_WANT: u64 = 1 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Table { files } = &cli.command {
        let mut results = Vec::new();
        for f in files {
            match std::fs::read_to_string(f) {
                Ok(t) => results.extend(table::parse_results(&t)),
                Err(e) => {
                    eprintln!("cannot read {}: {e}", f.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        print!("{}", table::render(&results));
        return ExitCode::SUCCESS;
    }
    let nofile = procfs::raise_nofile(NOFILE_WANT);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let max_secs = match &cli.command {
        Command::Idle { common, .. }
        | Command::Fanout { common, .. }
        | Command::Unicast { common, .. }
        | Command::Smoke { common } => common.max_secs,
        Command::Table { .. } => 0,
    };
    let result = rt.block_on(async {
        // The whole run is bounded: past max_secs it stops, whatever it is doing.
        tokio::time::timeout(Duration::from_secs(max_secs), run(cli.command, nofile)).await
    });
    // Do not wait for stray connection tasks: the runtime is dropped with them.
    rt.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(Ok(o)) => {
            for l in &o.summary {
                eprintln!("{l}");
            }
            println!("{}{}", table::PREFIX, o.json);
            if o.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: run exceeded --max-secs {max_secs}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cmd: Command, nofile: u64) -> error::Result<Outcome> {
    let n = match &cmd {
        Command::Idle { n, .. } | Command::Fanout { n, .. } | Command::Unicast { n, .. } => *n,
        Command::Smoke { .. } | Command::Table { .. } => 0,
    };
    if (n as u64) + 64 > nofile {
        eprintln!("warning: open-file limit {nofile} is below N={n}; raise ulimit -n");
    }
    let o = match cmd {
        Command::Idle {
            n,
            hold_secs,
            common,
        } => {
            let ctx = Ctx::new(&common, PublishMode::Announce, None)?;
            scenarios::idle::run(&ctx, n, hold_secs).await?
        }
        Command::Fanout {
            n,
            publishes,
            interval_ms,
            common,
        } => {
            let ctx = Ctx::new(&common, PublishMode::Announce, None)?;
            scenarios::fanout::run(&ctx, n, publishes, interval_ms).await?
        }
        Command::Unicast {
            n,
            rate,
            seconds,
            publish,
            publishers,
            store_id,
            common,
        } => {
            let ctx = Ctx::new(&common, publish, store_id)?;
            let p = scenarios::unicast::Params {
                n,
                rate,
                seconds,
                mode: publish,
                publishers,
                store_id,
            };
            scenarios::unicast::run(&ctx, p).await?
        }
        Command::Smoke { common } => scenarios::smoke::run(&common).await?,
        Command::Table { .. } => return Err(error::Error::msg("table runs without a server")),
    };
    Ok(o)
}
