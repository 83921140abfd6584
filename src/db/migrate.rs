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
}

/// Every migration, in order. Append; never edit one that has shipped.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "loyalty",
        sqlite: include_str!("../../migrations/sqlite/0002_loyalty.sql"),
        postgres: include_str!("../../migrations/postgres/0002_loyalty.sql"),
    },
    Migration {
        version: 3,
        name: "shop",
        sqlite: include_str!("../../migrations/sqlite/0003_shop.sql"),
        postgres: include_str!("../../migrations/postgres/0003_shop.sql"),
    },
    Migration {
        version: 4,
        name: "support",
        sqlite: include_str!("../../migrations/sqlite/0004_support.sql"),
        postgres: include_str!("../../migrations/postgres/0004_support.sql"),
    },
    Migration {
        version: 5,
        name: "jobs",
        sqlite: include_str!("../../migrations/sqlite/0005_jobs.sql"),
        postgres: include_str!("../../migrations/postgres/0005_jobs.sql"),
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
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("migration {} ({})", m.version, m.name))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
    }
    Ok(())
}
