//! DuckDB for one package: an in-memory database whose relative paths
//! resolve against the package folder, that may read files inside that
//! folder only, and that runs in UTC.
//!
//! Queries and schema lookups block, so async callers run them on blocking
//! threads. Each call takes a connection from a small pool (connections made
//! with `try_clone` share the database), so concurrent queries of a package
//! do not wait behind one another. Query results are cached per database
//! (see [`cache`]), so a package reload, which opens a new database, starts
//! with an empty cache.

mod cache;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use duckdb::types::Value;
use duckdb::{Config, Connection};
use malloy_compiler::Column;

use cache::QueryCache;
pub use cache::{classify, QueryCacheSettings, StatementKind};

/// Maximum number of rows a query may return. The compiler adds a default
/// `LIMIT` of its own, so only queries that set a larger limit reach this.
pub const MAX_RESULT_ROWS: usize = 100_000;

/// Time a query may run before DuckDB interrupts it, as the reference
/// Publisher's default `PUBLISHER_QUERY_TIMEOUT_MS`.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// Connections kept open for reuse per package; more are made on demand and
/// closed after use.
const IDLE_CONNECTIONS: usize = 8;

/// Default for the maximum estimated size of a query result, 50 MB, as the
/// reference Publisher's `PUBLISHER_MAX_RESPONSE_BYTES`.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 50 * 1024 * 1024;

/// The maximum result size for databases opened from now on; `main` sets it
/// from `--max_response_bytes`.
static MAX_RESULT_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_RESULT_BYTES);

/// Sets the maximum estimated size of a query result, in bytes, for every
/// package database opened afterwards.
pub fn set_max_result_bytes(bytes: usize) {
    MAX_RESULT_BYTES.store(bytes, Ordering::Relaxed);
}

/// Returns the maximum estimated size of a query result, in bytes.
pub fn max_result_bytes() -> usize {
    MAX_RESULT_BYTES.load(Ordering::Relaxed)
}

/// Estimates the bytes a cell takes in a JSON response: the text or blob
/// length, or 24 for other values, plus the column name and punctuation.
pub fn estimated_cell_bytes(value: &Value, column: &str) -> usize {
    let data = match value {
        Value::Text(text) => text.len(),
        Value::Blob(blob) => 2 * blob.len(),
        _ => 24,
    };
    data + column.len() + 6
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    /// DuckDB rejected or failed the statement; the message has package
    /// paths made relative.
    #[error("{0}")]
    Sql(String),
    #[error("the query returned more than {MAX_RESULT_ROWS} rows; add a smaller `limit:`")]
    TooManyRows,
    /// The result is larger than the maximum result size, in bytes.
    #[error(
        "the query result is larger than the limit of {0} bytes \
         (--max_response_bytes); select fewer rows or columns"
    )]
    ResultTooLarge(usize),
    #[error("the query did not finish within {} s and was interrupted", .0.as_secs_f64())]
    Timeout(Duration),
    /// The package folder cannot be used as a database root.
    #[error("{0}")]
    Setup(String),
}

/// The rows of a query result, in the SQL's column order.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// A DuckDB database confined to one package folder.
pub struct PackageDatabase {
    root: PathBuf,
    /// The first connection: never used for queries, only cloned.
    template: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
    query_timeout: Duration,
    max_result_bytes: usize,
    cache: QueryCache,
    /// Statements that `run_query` sent to DuckDB, cache hits excluded.
    executions: AtomicU64,
}

impl std::fmt::Debug for PackageDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageDatabase")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl PackageDatabase {
    /// Opens an in-memory database for the package at `root`.
    ///
    /// External access is off except for `root`'s contents: DuckDB refuses to
    /// read any other file, to attach databases, to load extensions that
    /// are not built in and to reach the network. The configuration is then
    /// locked, so SQL in a model cannot turn the restrictions off.
    pub fn open(root: &Path) -> Result<PackageDatabase, DbError> {
        let root = root
            .canonicalize()
            .map_err(|error| DbError::Setup(format!("cannot open the package folder: {error}")))?;
        let root_text = root
            .to_str()
            .ok_or_else(|| DbError::Setup("the package folder's path is not UTF-8".into()))?;
        let config = Config::default()
            .enable_autoload_extension(false)
            .and_then(|config| config.with("autoinstall_known_extensions", "false"))
            .map_err(|error| DbError::Setup(format!("invalid DuckDB configuration: {error}")))?;
        let connection = Connection::open_in_memory_with_flags(config)
            .map_err(|error| DbError::Setup(format!("cannot open DuckDB: {error}")))?;

        let (directories, files) = allowed_entries(&root, root_text)?;
        let setup = format!(
            "SET GLOBAL TimeZone = 'UTC';\n\
             SET GLOBAL file_search_path = {search};\n\
             SET allowed_directories = [{directories}];\n\
             SET allowed_paths = [{files}];\n\
             SET enable_external_access = false;\n\
             SET lock_configuration = true;",
            search = sql_string(root_text),
        );
        connection
            .execute_batch(&setup)
            .map_err(|error| DbError::Setup(format!("cannot configure DuckDB: {error}")))?;

        Ok(PackageDatabase {
            root,
            template: Mutex::new(connection),
            idle: Mutex::new(Vec::new()),
            query_timeout: DEFAULT_QUERY_TIMEOUT,
            max_result_bytes: max_result_bytes(),
            cache: QueryCache::new(QueryCacheSettings::default()),
            executions: AtomicU64::new(0),
        })
    }

    /// Sets the time a query may run before DuckDB interrupts it.
    pub fn with_query_timeout(mut self, timeout: Duration) -> PackageDatabase {
        self.query_timeout = timeout;
        self
    }

    /// Sets the maximum estimated size of a query result, in bytes.
    pub fn with_max_result_bytes(mut self, bytes: usize) -> PackageDatabase {
        self.max_result_bytes = bytes;
        self
    }

    /// Sets the size and lifetime of the query result cache.
    pub fn with_query_cache(mut self, settings: QueryCacheSettings) -> PackageDatabase {
        self.cache = QueryCache::new(settings);
        self
    }

    /// Returns the number of statements `run_query` has sent to DuckDB.
    /// Results served from the cache do not count.
    pub fn query_executions(&self) -> u64 {
        self.executions.load(Ordering::Relaxed)
    }

    /// Returns the number of cached results and their approximate size in
    /// bytes.
    pub fn query_cache_usage(&self) -> (usize, usize) {
        self.cache.usage()
    }

    /// The package folder, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs a query and reads every row, interrupting it after the query
    /// timeout. Rows of a read-only query without time, random or sequence
    /// functions come from the cache when it holds them; a statement that
    /// may change the database clears the cache.
    pub fn run_query(&self, sql: &str) -> Result<QueryRows, DbError> {
        self.run_query_cancellable(sql, &Arc::new(AtomicBool::new(false)))
    }

    /// Runs a query like `run_query`, and interrupts it soon after another
    /// thread sets `cancel`, such as a request handler whose client left.
    #[tracing::instrument(
        name = "run_query",
        level = "debug",
        skip_all,
        fields(
            db.system = "duckdb",
            db.statement = %crate::telemetry::statement_summary(sql),
            db.response.returned_rows = tracing::field::Empty,
            cache.hit = tracing::field::Empty,
        )
    )]
    pub fn run_query_cancellable(
        &self,
        sql: &str,
        cancel: &Arc<AtomicBool>,
    ) -> Result<QueryRows, DbError> {
        let outcome = self.cache.run_cancellable(
            sql,
            || self.execute_query(sql, cancel),
            || cancel.load(Ordering::Relaxed),
        );
        let span = tracing::Span::current();
        span.record("cache.hit", outcome.hit);
        if let Ok(rows) = &outcome.result {
            span.record("db.response.returned_rows", rows.rows.len());
        }
        outcome.result
    }

    fn execute_query(&self, sql: &str, cancel: &Arc<AtomicBool>) -> Result<QueryRows, DbError> {
        self.executions.fetch_add(1, Ordering::Relaxed);
        self.with_connection(|connection| {
            let interrupt = connection.interrupt_handle();
            let timeout = self.query_timeout;
            let cancel = Arc::clone(cancel);
            let (finished, finished_signal) = mpsc::channel::<()>();
            // The watchdog wakes every 100 ms to check `cancel`, and
            // interrupts the query when it is set or the timeout passes.
            let watchdog = std::thread::spawn(move || {
                let deadline = std::time::Instant::now() + timeout;
                loop {
                    let now = std::time::Instant::now();
                    if now >= deadline {
                        interrupt.interrupt();
                        return true;
                    }
                    let wait = (deadline - now).min(Duration::from_millis(100));
                    match finished_signal.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) if cancel.load(Ordering::Relaxed) => {
                            interrupt.interrupt();
                            return false;
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return false,
                    }
                }
            });
            let outcome = self.read_rows(connection, sql);
            drop(finished);
            let timed_out = watchdog.join().unwrap_or(false);
            match outcome {
                Err(_) if timed_out => Err(DbError::Timeout(timeout)),
                outcome => outcome,
            }
        })
    }

    fn read_rows(&self, connection: &Connection, sql: &str) -> Result<QueryRows, DbError> {
        let mut statement = connection.prepare(sql).map_err(|e| self.sql_error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.sql_error(e))?;
        let columns: Vec<String> = rows
            .as_ref()
            .map(|statement| statement.column_names())
            .unwrap_or_default();
        let mut values = Vec::new();
        let mut size = 0;
        while let Some(row) = rows.next().map_err(|e| self.sql_error(e))? {
            if values.len() == MAX_RESULT_ROWS {
                return Err(DbError::TooManyRows);
            }
            let mut cells = Vec::with_capacity(columns.len());
            for (index, column) in columns.iter().enumerate() {
                let cell = row.get::<_, Value>(index).map_err(|e| self.sql_error(e))?;
                size += estimated_cell_bytes(&cell, column);
                if size > self.max_result_bytes {
                    return Err(DbError::ResultTooLarge(self.max_result_bytes));
                }
                cells.push(cell);
            }
            values.push(cells);
        }
        Ok(QueryRows {
            columns,
            rows: values,
        })
    }

    /// Describes `table`: a table name, or a file path relative to the
    /// package folder such as `data/flights.parquet`.
    pub fn describe_table(&self, table: &str) -> Result<Vec<Column>, DbError> {
        self.describe(&format!("SELECT * FROM {}", table_reference(table)))
    }

    /// Describes the columns that `sql` produces, without running it.
    pub fn describe_sql(&self, sql: &str) -> Result<Vec<Column>, DbError> {
        let sql = sql.trim().trim_end_matches(';');
        // The newlines end a trailing `--` comment before the parenthesis.
        self.describe(&format!("SELECT * FROM (\n{sql}\n) AS sql_source"))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(db.system = "duckdb"))]
    fn describe(&self, select: &str) -> Result<Vec<Column>, DbError> {
        self.with_connection(|connection| {
            let mut statement = connection
                .prepare(&format!("DESCRIBE {select}"))
                .map_err(|e| self.sql_error(e))?;
            let columns = statement
                .query_map([], |row| {
                    Ok(Column {
                        name: row.get(0)?,
                        sql_type: row.get(1)?,
                    })
                })
                .map_err(|e| self.sql_error(e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.sql_error(e))?;
            Ok(columns)
        })
    }

    /// Runs `work` on a pooled connection and returns the connection to the
    /// pool afterwards.
    fn with_connection<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let connection = match pooled {
            Some(connection) => connection,
            None => self
                .template
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .try_clone()
                .map_err(|e| self.sql_error(e))?,
        };
        let outcome = work(&connection);
        // A failed statement can leave a transaction open; roll it back so
        // the next user of the connection starts clean.
        if outcome.is_err() && !connection.is_autocommit() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(connection);
        }
        outcome
    }

    /// Turns a DuckDB error into a message without the package's absolute
    /// path, which would reveal the server's file layout.
    fn sql_error(&self, error: duckdb::Error) -> DbError {
        DbError::Sql(self.relative_message(&error.to_string()))
    }

    fn relative_message(&self, message: &str) -> String {
        let root = self.root.to_string_lossy();
        let message = explain_denied_file(message).unwrap_or_else(|| message.to_string());
        message
            .replace(&format!("{root}/"), "")
            .replace(root.as_ref(), ".")
    }
}

/// Lists what DuckDB may read, as SQL list items: the package folder, and
/// each of its top-level entries by relative path.
///
/// DuckDB checks a path against `allowed_directories` and `allowed_paths`
/// as written in the SQL, before `file_search_path` resolves it, so a model's
/// `'data/flights.parquet'` needs the relative entry `data/`. DuckDB rejects
/// `..` segments that climb above an allowed prefix. A relative path that
/// does not exist in the package falls back to the process's working
/// directory, which is why the server runs in an empty one.
///
/// NOTE: the checks compare path text, so a symbolic link inside the
/// package that points outside it is followed.
fn allowed_entries(root: &Path, root_text: &str) -> Result<(String, String), DbError> {
    let mut directories = vec![sql_string(&format!("{root_text}/"))];
    let mut files = Vec::new();
    let entries = std::fs::read_dir(root)
        .map_err(|error| DbError::Setup(format!("cannot list the package folder: {error}")))?;
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if entry.path().is_dir() {
            directories.push(sql_string(&format!("{name}/")));
            directories.push(sql_string(&format!("./{name}/")));
        } else {
            files.push(sql_string(&name));
            files.push(sql_string(&format!("./{name}")));
        }
    }
    Ok((directories.join(", "), files.join(", ")))
}

/// Rewrites DuckDB's messages for a file it may not read.
///
/// `FROM '/etc/passwd'` cannot check that the file exists, so DuckDB
/// reports a missing table and suggests a catalog table; `read_csv` and
/// friends report that file system operations are disabled.
fn explain_denied_file(message: &str) -> Option<String> {
    const DENIED: &str = "Permission Error: Cannot access file \"";
    const MISSING_TABLE: &str = "Catalog Error: Table with name ";
    if let Some(rest) = message.strip_prefix(DENIED) {
        let path = rest.split('"').next().unwrap_or_default();
        return Some(format!(
            "Cannot read file \"{path}\": only files inside the package folder are accessible"
        ));
    }
    let name = message
        .strip_prefix(MISSING_TABLE)?
        .split(" does not exist!")
        .next()?;
    name.contains('/').then(|| {
        format!("Cannot read file \"{name}\": it does not exist or is outside the package folder")
    })
}

/// Quotes `text` as a SQL string literal.
pub fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Returns what goes after `FROM` for `connection.table(table)`: a quoted
/// path for files and globs, the text itself for a (dotted) table name.
fn table_reference(table: &str) -> String {
    let is_identifier = |part: &str| {
        let mut chars = part.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let looks_like_file = table.contains(['/', '\\', '*', ':'])
        || [
            ".parquet", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".gz", ".zst",
        ]
        .iter()
        .any(|extension| table.to_ascii_lowercase().ends_with(extension));
    if !looks_like_file && table.split('.').all(is_identifier) {
        table.to_string()
    } else {
        sql_string(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_reference_quotes_files() {
        assert_eq!(table_reference("data/a.parquet"), "'data/a.parquet'");
        assert_eq!(table_reference("a.csv"), "'a.csv'");
        assert_eq!(table_reference("it's.parquet"), "'it''s.parquet'");
        assert_eq!(table_reference("main.flights"), "main.flights");
        assert_eq!(table_reference("flights"), "flights");
        assert_eq!(table_reference("1bad name"), "'1bad name'");
    }

    #[test]
    fn cancelled_query_is_interrupted() {
        let folder = tempfile::tempdir().unwrap();
        let database = PackageDatabase::open(folder.path())
            .unwrap()
            .with_query_timeout(Duration::from_secs(60));
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::Relaxed);
        });

        let started = std::time::Instant::now();
        let outcome = database.run_query_cancellable(
            "SELECT count(*) FROM range(1000000000000) AS a(x) WHERE x % 7 = 3",
            &cancel,
        );
        canceller.join().unwrap();
        assert!(outcome.is_err(), "{outcome:?}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the query ran {:?} after the cancel",
            started.elapsed()
        );
    }

    #[test]
    fn result_over_size_limit_is_rejected() {
        let folder = tempfile::tempdir().unwrap();
        let database = PackageDatabase::open(folder.path())
            .unwrap()
            .with_max_result_bytes(10_000);

        let small = database.run_query("SELECT repeat('x', 100) AS s FROM range(10)");
        assert!(small.is_ok(), "{small:?}");

        let large = database.run_query("SELECT repeat('x', 1000) AS s FROM range(100)");
        assert!(
            matches!(large, Err(DbError::ResultTooLarge(10_000))),
            "{large:?}"
        );

        let wide = database.run_query("SELECT repeat('x', 100000) AS s");
        assert!(
            matches!(wide, Err(DbError::ResultTooLarge(10_000))),
            "{wide:?}"
        );
    }
}
