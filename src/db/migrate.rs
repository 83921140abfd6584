//! A small migration runner: one SQL file per backend and version, applied in order,
//! each in its own transaction, recorded in `schema_migrations`.
//!
//! Why not `sqlx::migrate!`: the two backends need different DDL for the same
//! version, and this keeps the `macros` feature (and its build time) out.

use anyhow::Context;
use sqlx::Row;

use super::{Backend, Db};
use crate::time::now_millis;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// The SQLite file rebuilds tables that others reference (SQLite cannot drop a
    /// CHECK in place): it runs with foreign keys off, as SQLite's own procedure for
    /// such changes prescribes, and `PRAGMA foreign_key_check` must find nothing
    /// before it commits.
    sqlite_rebuilds: bool,
}

/// Every migration, in order. Append; never edit one that has shipped.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 2,
        name: "loyalty",
        sqlite: include_str!("../../migrations/sqlite/0002_loyalty.sql"),
        postgres: include_str!("../../migrations/postgres/0002_loyalty.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 3,
        name: "shop",
        sqlite: include_str!("../../migrations/sqlite/0003_shop.sql"),
        postgres: include_str!("../../migrations/postgres/0003_shop.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 4,
        name: "support",
        sqlite: include_str!("../../migrations/sqlite/0004_support.sql"),
        postgres: include_str!("../../migrations/postgres/0004_support.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 5,
        name: "jobs",
        sqlite: include_str!("../../migrations/sqlite/0005_jobs.sql"),
        postgres: include_str!("../../migrations/postgres/0005_jobs.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 6,
        name: "purchases",
        sqlite: include_str!("../../migrations/sqlite/0006_purchases.sql"),
        postgres: include_str!("../../migrations/postgres/0006_purchases.sql"),
        sqlite_rebuilds: true,
    },
    Migration {
        version: 7,
        name: "expiry",
        sqlite: include_str!("../../migrations/sqlite/0007_expiry.sql"),
        postgres: include_str!("../../migrations/postgres/0007_expiry.sql"),
        sqlite_rebuilds: true,
    },
    Migration {
        version: 8,
        name: "controls",
        sqlite: include_str!("../../migrations/sqlite/0008_controls.sql"),
        postgres: include_str!("../../migrations/postgres/0008_controls.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 9,
        name: "watches",
        sqlite: include_str!("../../migrations/sqlite/0009_watches.sql"),
        postgres: include_str!("../../migrations/postgres/0009_watches.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 10,
        name: "console",
        sqlite: include_str!("../../migrations/sqlite/0010_console.sql"),
        postgres: include_str!("../../migrations/postgres/0010_console.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 11,
        name: "integration",
        sqlite: include_str!("../../migrations/sqlite/0011_integration.sql"),
        postgres: include_str!("../../migrations/postgres/0011_integration.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 12,
        name: "stream_tickets",
        sqlite: include_str!("../../migrations/sqlite/0012_stream_tickets.sql"),
        postgres: include_str!("../../migrations/postgres/0012_stream_tickets.sql"),
        sqlite_rebuilds: false,
    },
    Migration {
        version: 13,
        name: "ledger_index",
        sqlite: include_str!("../../migrations/sqlite/0013_ledger_index.sql"),
        postgres: include_str!("../../migrations/postgres/0013_ledger_index.sql"),
        sqlite_rebuilds: false,
    },
];

/// Lock key so that several instances starting together migrate one at a time.
const MIGRATE_LOCK_KEY: i64 = 0x6d69_6772_6174;

pub(super) async fn run(db: &Db) -> anyhow::Result<()> {
    let mut conn = db.writer.acquire().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATE_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply_pending(db, &mut conn).await;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATE_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply_pending(db: &Db, conn: &mut sqlx::AnyConnection) -> anyhow::Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match db.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let rebuild = m.sqlite_rebuilds && db.backend == Backend::Sqlite;
        if rebuild {
            // A no-op inside a transaction, so it goes first.
            sqlx::raw_sql("PRAGMA foreign_keys=OFF")
                .execute(&mut *conn)
                .await?;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("migration {} ({})", m.version, m.name))?;
        if rebuild {
            let broken = sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&mut *tx)
                .await?;
            anyhow::ensure!(
                broken.is_empty(),
                "migration {} ({}) would break {} foreign keys",
                m.version,
                m.name,
                broken.len()
            );
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if rebuild {
            sqlx::raw_sql("PRAGMA foreign_keys=ON")
                .execute(&mut *conn)
                .await?;
        }
        tracing::info!(version = m.version, name = m.name, "migration applied");
    }
    Ok(())
}
