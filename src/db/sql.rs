//! The statement layer: one way to run a statement, whichever connection it
//! goes to.
//!
//! Storage modules used to speak sqlx directly (`sqlx::query(..).fetch_one(tx.conn())`).
//! On SQLite that put every statement of a write transaction behind a round trip
//! to sqlx's connection thread: two context switches each, on a server that is
//! often one core, and a grant is a dozen statements. The group writer's
//! connection is now a rusqlite connection that travels with the request's
//! [`super::writer::Seat`], so a request's statements run on its own thread, with
//! statements prepared once per connection and reused (see docs/architecture.md).
//!
//! This module is the seam that lets one storage module serve both: a [`Query`]
//! carries its SQL (the `$1` placeholders both backends' SQL is written with) and
//! owned arguments, and runs against a [`Conn`]: sqlx for PostgreSQL and for the
//! read pools, or the native SQLite connection of a write turn. Rows come back as
//! [`Row`], read with `try_get` by position or column name, like sqlx's.

use std::borrow::Cow;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rusqlite::types::{FromSql, ToSql, ToSqlOutput, Value, ValueRef};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AnyPool, Row as _};

/// Where a statement runs.
pub enum Conn<'a> {
    /// A sqlx connection: a PostgreSQL transaction, or one taken from a pool.
    Any(&'a mut AnyConnection),
    /// A read pool (each statement takes a connection of it).
    Pool(&'a AnyPool),
    /// SQLite's write connection during a request's turn on it. (`&mut`: a
    /// connection is `Send` but not `Sync`, and a request's future holding it
    /// must be `Send`.)
    Native(&'a mut rusqlite::Connection),
}

impl<'a> From<&'a AnyPool> for Conn<'a> {
    fn from(pool: &'a AnyPool) -> Self {
        Conn::Pool(pool)
    }
}

/// An argument, owned so that a query can outlive the values it was built from
/// and bind them on either backend. Each variant keeps its type when it is
/// `NULL` (PostgreSQL infers a parameter's type from it).
#[derive(Clone, Debug)]
pub enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

/// A value that can be bound to a statement.
pub trait Bind {
    fn into_arg(self) -> Arg;
}

macro_rules! bind_as {
    ($variant:ident: $($t:ty => $conv:expr),* $(,)?) => {
        $(
            impl Bind for $t {
                fn into_arg(self) -> Arg {
                    #[allow(clippy::redundant_closure_call)]
                    Arg::$variant(Some(($conv)(self)))
                }
            }
            impl Bind for Option<$t> {
                fn into_arg(self) -> Arg {
                    #[allow(clippy::redundant_closure_call)]
                    Arg::$variant(self.map($conv))
                }
            }
        )*
    };
}

bind_as!(Int: i64 => |v| v, i32 => i64::from, u32 => i64::from);
bind_as!(Real: f64 => |v| v);
bind_as!(Bool: bool => |v| v);
bind_as!(Text: String => |v| v, &str => str::to_string);

impl<T: Bind + Clone> Bind for &T {
    fn into_arg(self) -> Arg {
        self.clone().into_arg()
    }
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Arg::Real(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Arg::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Arg::Bool(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(i64::from(*v))),
            Arg::Int(None) | Arg::Real(None) | Arg::Text(None) | Arg::Bool(None) => {
                ToSqlOutput::Borrowed(ValueRef::Null)
            }
        })
    }
}

/// A statement with its arguments. Build it with [`query`], add arguments in
/// placeholder order with [`Query::bind`], run it with one of the `fetch`es or
/// [`Query::execute`].
#[must_use = "a query does nothing until it is run"]
pub struct Query {
    sql: Cow<'static, str>,
    args: Vec<Arg>,
}

/// A statement whose SQL is fixed text.
pub fn query(sql: &'static str) -> Query {
    Query {
        sql: Cow::Borrowed(sql),
        args: Vec::new(),
    }
}

/// A statement whose SQL was built at run time. Build it only from the
/// module's own fragments (placeholders for every value), never from input.
pub fn query_built(sql: String) -> Query {
    Query {
        sql: Cow::Owned(sql),
        args: Vec::new(),
    }
}

/// A statement whose first column of each row is the answer.
pub fn query_scalar<T: Column>(sql: &'static str) -> Scalar<T> {
    Scalar {
        query: query(sql),
        column: std::marker::PhantomData,
    }
}

/// What [`Query::execute`] reports.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    rows: u64,
}

impl Done {
    /// Rows inserted, changed or deleted.
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// How many rows a run wants back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    None,
    First,
    All,
}

impl Query {
    /// Binds the next placeholder (`$1`, `$2`, ... in order).
    pub fn bind(mut self, value: impl Bind) -> Self {
        self.args.push(value.into_arg());
        self
    }

    /// Runs a statement that returns no rows (or whose rows are not wanted).
    pub async fn execute<'c>(self, conn: impl Into<Conn<'c>>) -> anyhow::Result<Done> {
        match conn.into() {
            Conn::Native(c) => {
                native(c, &self.sql, &self.args, Want::None).map(|(_, rows)| Done { rows })
            }
            Conn::Any(c) => {
                let done = self.into_sqlx().execute(c).await?;
                Ok(Done {
                    rows: done.rows_affected(),
                })
            }
            Conn::Pool(p) => {
                let done = self.into_sqlx().execute(p).await?;
                Ok(Done {
                    rows: done.rows_affected(),
                })
            }
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional<'c>(
        self,
        conn: impl Into<Conn<'c>>,
    ) -> anyhow::Result<Option<Row>> {
        match conn.into() {
            Conn::Native(c) => Ok(native(c, &self.sql, &self.args, Want::First)?
                .0
                .into_iter()
                .next()),
            Conn::Any(c) => Ok(self.into_sqlx().fetch_optional(c).await?.map(Row::Any)),
            Conn::Pool(p) => Ok(self.into_sqlx().fetch_optional(p).await?.map(Row::Any)),
        }
    }

    /// The first row; no row is an error.
    pub async fn fetch_one<'c>(self, conn: impl Into<Conn<'c>>) -> anyhow::Result<Row> {
        self.fetch_optional(conn)
            .await?
            .ok_or_else(|| anyhow!("the statement returned no row"))
    }

    /// Every row.
    pub async fn fetch_all<'c>(self, conn: impl Into<Conn<'c>>) -> anyhow::Result<Vec<Row>> {
        match conn.into() {
            Conn::Native(c) => Ok(native(c, &self.sql, &self.args, Want::All)?.0),
            Conn::Any(c) => Ok(self
                .into_sqlx()
                .fetch_all(c)
                .await?
                .into_iter()
                .map(Row::Any)
                .collect()),
            Conn::Pool(p) => Ok(self
                .into_sqlx()
                .fetch_all(p)
                .await?
                .into_iter()
                .map(Row::Any)
                .collect()),
        }
    }

    /// Runs an `INSERT` of one row, written without `RETURNING`, and answers
    /// the new row's `id`.
    ///
    /// sqlx's connections run it with ` RETURNING id` added. The native SQLite
    /// connection runs it as written and reads `last_insert_rowid()` (the `id`
    /// of every table written this way is its `INTEGER PRIMARY KEY`, so the
    /// rowid): SQLite collects a `RETURNING` statement's rows in an ephemeral
    /// table, a B-tree and page cache built and freed on every run, 8-15 µs of
    /// a grant's 83-100 µs of statements (docs/performance.md, "eighteenth
    /// part").
    pub async fn insert_id<'c>(self, conn: impl Into<Conn<'c>>) -> anyhow::Result<i64> {
        match conn.into() {
            Conn::Native(c) => {
                let (_, rows) = native(c, &self.sql, &self.args, Want::None)?;
                if rows != 1 {
                    anyhow::bail!("the insert wrote {rows} rows, not one");
                }
                Ok(c.last_insert_rowid())
            }
            conn => self.with_returning("id").fetch_one(conn).await?.try_get(0),
        }
    }

    /// Runs a statement that writes at most one row, written without
    /// `RETURNING`, and answers that row's `columns` (`None` when it wrote
    /// none, as `RETURNING` would).
    ///
    /// sqlx's connections run it with ` RETURNING {columns}` added. The native
    /// SQLite connection runs it as written and then `read_back`, a `SELECT` of
    /// the same columns given the statement's own arguments and, after them,
    /// the last inserted rowid (so a plain `INSERT`'s row is
    /// `WHERE id = $N+1`; an upsert or an `UPDATE` names its row by its key
    /// instead, since an update sets no rowid). One indexed read costs SQLite
    /// far less than `RETURNING`'s ephemeral table ([`Query::insert_id`]).
    pub async fn fetch_written<'c>(
        self,
        conn: impl Into<Conn<'c>>,
        columns: &'static str,
        read_back: &'static str,
    ) -> anyhow::Result<Option<Row>> {
        match conn.into() {
            Conn::Native(c) => {
                let (_, rows) = native(c, &self.sql, &self.args, Want::None)?;
                if rows == 0 {
                    return Ok(None);
                }
                let mut args = self.args;
                args.push(Arg::Int(Some(c.last_insert_rowid())));
                Ok(native(c, read_back, &args, Want::First)?
                    .0
                    .into_iter()
                    .next())
            }
            conn => self.with_returning(columns).fetch_optional(conn).await,
        }
    }

    /// This statement with ` RETURNING {columns}` added, for sqlx's connections.
    fn with_returning(self, columns: &str) -> Query {
        Query {
            sql: Cow::Owned(format!("{} RETURNING {columns}", self.sql)),
            args: self.args,
        }
    }

    fn into_sqlx(self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Real(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
            };
        }
        q
    }
}

/// A [`query_scalar`]: each row's first column as a `T`.
#[must_use = "a query does nothing until it is run"]
pub struct Scalar<T> {
    query: Query,
    column: std::marker::PhantomData<fn() -> T>,
}

impl<T: Column> Scalar<T> {
    /// Binds the next placeholder.
    pub fn bind(mut self, value: impl Bind) -> Self {
        self.query = self.query.bind(value);
        self
    }

    pub async fn fetch_optional<'c>(self, conn: impl Into<Conn<'c>>) -> anyhow::Result<Option<T>> {
        match self.query.fetch_optional(conn).await? {
            Some(row) => Ok(Some(row.try_get(0)?)),
            None => Ok(None),
        }
    }

    pub async fn fetch_one<'c>(self, conn: impl Into<Conn<'c>>) -> anyhow::Result<T> {
        self.query.fetch_one(conn).await?.try_get(0)
    }
}

/// A column type both backends decode.
pub trait Column: FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> {}

impl<T: FromSql + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>> Column for T {}

/// A column's position (from 0) or name.
pub trait Index: sqlx::ColumnIndex<AnyRow> + std::fmt::Debug + Copy {
    /// The position in a native row with these column names.
    fn position(self, names: &[String]) -> Option<usize>;
}

impl Index for usize {
    fn position(self, names: &[String]) -> Option<usize> {
        (self < names.len()).then_some(self)
    }
}

impl Index for &str {
    fn position(self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}

/// A row from either kind of connection.
pub enum Row {
    Any(AnyRow),
    Native(NativeRow),
}

/// A row read on the native connection: its values, owned, and the statement's
/// column names (shared by the rows of one run).
pub struct NativeRow {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The column at `index` as a `T`.
    pub fn try_get<T: Column, I: Index>(&self, index: I) -> anyhow::Result<T> {
        match self {
            Row::Any(row) => row
                .try_get::<T, I>(index)
                .with_context(|| format!("reading column {index:?}")),
            Row::Native(row) => {
                let at = index
                    .position(&row.names)
                    .ok_or_else(|| anyhow!("no column {index:?}"))?;
                T::column_result(ValueRef::from(&row.values[at]))
                    .map_err(|e| anyhow!("reading column {index:?}: {e}"))
            }
        }
    }
}

/// Runs `sql` on SQLite's native connection: prepared once per connection and
/// reused; placeholders `$N` take the N-th argument, as sqlx's SQLite driver
/// binds them. Returns the rows wanted and the rows changed.
fn native(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
    want: Want,
) -> anyhow::Result<(Vec<Row>, u64)> {
    let run = || -> rusqlite::Result<(Vec<Row>, u64)> {
        let mut stmt = conn.prepare_cached(sql)?;
        for i in 1..=stmt.parameter_count() {
            let n = match stmt.parameter_name(i) {
                Some(name) => name[1..]
                    .parse::<usize>()
                    .map_err(|_| rusqlite::Error::InvalidParameterName(name.to_string()))?,
                None => i,
            };
            let arg = args
                .get(n.wrapping_sub(1))
                .ok_or(rusqlite::Error::InvalidParameterCount(n, args.len()))?;
            stmt.raw_bind_parameter(i, arg)?;
        }
        let width = stmt.column_count();
        let names: Arc<[String]> = if want == Want::None || width == 0 {
            Arc::from(Vec::new())
        } else {
            stmt.column_names()
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let mut out = Vec::new();
        {
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                if want == Want::None {
                    continue;
                }
                let values = (0..width)
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(Row::Native(NativeRow {
                    names: Arc::clone(&names),
                    values,
                }));
                if want == Want::First {
                    break;
                }
            }
        }
        Ok((out, conn.changes()))
    };
    run().map_err(anyhow::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> rusqlite::Connection {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER, ok INTEGER)",
        )
        .unwrap();
        c
    }

    #[tokio::test]
    async fn native_binds_dollar_placeholders_by_number_and_reads_by_name_or_position() {
        let mut c = conn();
        let done = query("INSERT INTO t (name, n, ok) VALUES ($2, $1, $3), ($2, $1 + 1, $3)")
            .bind(5)
            .bind("a")
            .bind(true)
            .execute(Conn::Native(&mut c))
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 2);
        let rows = query("SELECT id, name, n, ok FROM t WHERE name = $1 ORDER BY id")
            .bind("a")
            .fetch_all(Conn::Native(&mut c))
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].try_get::<i64, _>("n").unwrap(), 6);
        assert_eq!(rows[0].try_get::<String, _>(1).unwrap(), "a");
        assert!(rows[0].try_get::<bool, _>("ok").unwrap());
        assert!(rows[0].try_get::<i64, _>("missing").is_err());
        let none: Option<i64> = query_scalar("SELECT n FROM t WHERE name = $1")
            .bind(None::<&str>)
            .fetch_optional(Conn::Native(&mut c))
            .await
            .unwrap();
        assert_eq!(none, None);
    }

    /// One database file made with `schema`, opened both by sqlx (a pool of
    /// one) and natively, to compare their answers.
    async fn both(schema: &'static str) -> (tempfile::TempDir, AnyPool, rusqlite::Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        query(schema).execute(&pool).await.unwrap();
        let native = rusqlite::Connection::open(&path).unwrap();
        (dir, pool, native)
    }

    /// One SQL text, the same answer from sqlx's SQLite driver and from the
    /// native connection: placeholders out of order and used twice, NULLs,
    /// booleans, and the count of changed rows.
    #[tokio::test]
    async fn the_native_connection_answers_as_sqlx_does() {
        let (_dir, pool, mut native) =
            both("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER, ok INTEGER)").await;
        let insert = |name: Option<&str>, n: i64| {
            query("INSERT INTO t (name, n, ok) VALUES ($2, $1, $1 > 1)")
                .bind(n)
                .bind(name.map(str::to_string))
        };
        let a = insert(Some("a"), 1).execute(&pool).await.unwrap();
        let b = insert(None, 2)
            .execute(Conn::Native(&mut native))
            .await
            .unwrap();
        assert_eq!((a.rows_affected(), b.rows_affected()), (1, 1));
        let changed = query("UPDATE t SET n = n + $1 WHERE n >= $2")
            .bind(10)
            .bind(0);
        assert_eq!(
            changed
                .execute(Conn::Native(&mut native))
                .await
                .unwrap()
                .rows_affected(),
            2
        );
        let read = || query("SELECT name, n, ok FROM t ORDER BY id");
        let by_sqlx = read().fetch_all(&pool).await.unwrap();
        let by_native = read().fetch_all(Conn::Native(&mut native)).await.unwrap();
        let seen = |rows: &[Row]| {
            rows.iter()
                .map(|r| {
                    (
                        r.try_get::<Option<String>, _>("name").unwrap(),
                        r.try_get::<i64, _>(1).unwrap(),
                        // sqlx's SQLite driver reads an INTEGER column as
                        // i64 only (not bool), so storage reads i64.
                        r.try_get::<i64, _>("ok").unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seen(&by_sqlx),
            vec![(Some("a".into()), 11, 0), (None, 12, 1)]
        );
        assert_eq!(seen(&by_sqlx), seen(&by_native));
    }

    /// `insert_id` and `fetch_written` answer the same on sqlx's connection
    /// (`RETURNING` added) and on the native one (`last_insert_rowid()` and a
    /// read back): a plain insert, an upsert's update (which sets no rowid), and
    /// writes that write nothing.
    #[tokio::test]
    async fn written_rows_read_the_same_with_and_without_returning() {
        let (_dir, pool, mut native) = both(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, n INTEGER)",
        )
        .await;
        let insert = |name: &str, n: i64| {
            query("INSERT INTO t (name, n) VALUES ($1, $2)")
                .bind(name.to_string())
                .bind(n)
        };
        assert_eq!(insert("a", 1).insert_id(&pool).await.unwrap(), 1);
        assert_eq!(
            insert("b", 2)
                .insert_id(Conn::Native(&mut native))
                .await
                .unwrap(),
            2
        );
        // An insert that writes no row has no id.
        let nothing = || query("INSERT INTO t (name, n) VALUES ('a', 0) ON CONFLICT DO NOTHING");
        assert!(nothing().insert_id(&pool).await.is_err());
        assert!(
            nothing()
                .insert_id(Conn::Native(&mut native))
                .await
                .is_err()
        );

        // The row an insert wrote, read by its rowid ($3 after the two arguments).
        const BY_ID: &str = "SELECT id, name, n FROM t WHERE id = $3";
        let seen = |row: Option<Row>| {
            row.map(|r| {
                (
                    r.try_get::<i64, _>("id").unwrap(),
                    r.try_get::<String, _>(1).unwrap(),
                    r.try_get::<i64, _>("n").unwrap(),
                )
            })
        };
        let by_sqlx = insert("c", 3)
            .fetch_written(&pool, "id, name, n", BY_ID)
            .await
            .unwrap();
        let by_native = insert("d", 4)
            .fetch_written(Conn::Native(&mut native), "id, name, n", BY_ID)
            .await
            .unwrap();
        // (The refused inserts above took ids 3 and 4: AUTOINCREMENT counts them.)
        assert_eq!(seen(by_sqlx), Some((5, "c".into(), 3)));
        assert_eq!(seen(by_native), Some((6, "d".into(), 4)));

        // An upsert that updates (no rowid set), read back by its key; with the
        // update's `WHERE` false it writes nothing and reads nothing.
        let bump = |name: &str, by: i64, below: i64| {
            query(
                "INSERT INTO t (name, n) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE
                 SET n = t.n + excluded.n WHERE t.n + excluded.n < $3",
            )
            .bind(name.to_string())
            .bind(by)
            .bind(below)
        };
        const BY_NAME: &str = "SELECT n FROM t WHERE name = $1";
        let n = |row: Option<Row>| row.map(|r| r.try_get::<i64, _>(0).unwrap());
        let sqlx_bumped = bump("a", 10, 100).fetch_written(&pool, "n", BY_NAME);
        assert_eq!(n(sqlx_bumped.await.unwrap()), Some(11));
        let native_bumped =
            bump("a", 10, 100).fetch_written(Conn::Native(&mut native), "n", BY_NAME);
        assert_eq!(n(native_bumped.await.unwrap()), Some(21));
        let sqlx_capped = bump("a", 100, 100).fetch_written(&pool, "n", BY_NAME);
        assert_eq!(n(sqlx_capped.await.unwrap()), None);
        let native_capped =
            bump("a", 100, 100).fetch_written(Conn::Native(&mut native), "n", BY_NAME);
        assert_eq!(n(native_capped.await.unwrap()), None);
        // An update of no row reads nothing either.
        let none = query("UPDATE t SET n = n WHERE name = $1").bind("zz");
        assert!(
            none.fetch_written(Conn::Native(&mut native), "n", BY_NAME)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn native_returning_gives_the_row_and_counts_the_change() {
        let mut c = conn();
        let id: i64 = query_scalar("INSERT INTO t (name) VALUES ($1) RETURNING id")
            .bind("x")
            .fetch_one(Conn::Native(&mut c))
            .await
            .unwrap();
        assert_eq!(id, 1);
        let n: Option<String> = query_scalar("SELECT name FROM t WHERE id = $1")
            .bind(id)
            .fetch_one(Conn::Native(&mut c))
            .await
            .unwrap();
        assert_eq!(n.as_deref(), Some("x"));
        // A missing argument is an error, not a NULL.
        assert!(
            query("SELECT $2")
                .bind(1)
                .fetch_one(Conn::Native(&mut c))
                .await
                .is_err()
        );
    }
}
