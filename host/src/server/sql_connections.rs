//! The databases behind the connection endpoints: a package's own `duckdb`
//! connection, or a DuckDB connection from the project's configuration.
//!
//! A configured DuckDB connection is `{"name", "type": "duckdb",
//! "duckdbConnection": {"databasePath"?: "<file>"}}`. Without
//! `databasePath` it is an in-memory database. A database file must lie
//! inside SERVER_ROOT and is opened read-only. Either way DuckDB may not
//! read other files, load extensions or reach the network.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use duckdb::types::Value;
use duckdb::{AccessMode, Config, Connection};
use malloy_compiler::Column;
use serde_json::Value as Json;

use crate::catalog::CatalogSettings;
use crate::db::{PackageDatabase, QueryRows, MAX_RESULT_ROWS};

/// The database a connection request runs on.
#[derive(Debug, Clone)]
pub enum Target {
    /// A package's built-in `duckdb` connection.
    Package(Arc<PackageDatabase>),
    /// A connection from the project's configuration.
    Configured {
        config: Json,
        settings: CatalogSettings,
        timeout: Duration,
    },
}

/// The reason a connection could not run a statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The connection's type has no driver in this server.
    #[error("{0}")]
    Unsupported(String),
    /// The configuration is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The database rejected or failed the statement.
    #[error("{0}")]
    Driver(String),
    /// The statement returned more rows than the server sends.
    #[error("{0}")]
    TooLarge(String),
    /// The statement ran longer than the query timeout and was interrupted.
    #[error("{0}")]
    Timeout(String),
}

impl From<crate::db::DbError> for SqlError {
    fn from(error: crate::db::DbError) -> SqlError {
        use crate::db::DbError;
        match error {
            DbError::TooManyRows | DbError::ResultTooLarge(_) => {
                SqlError::TooLarge(error.to_string())
            }
            DbError::Timeout(_) => SqlError::Timeout(error.to_string()),
            DbError::Sql(_) | DbError::Setup(_) => SqlError::Driver(error.to_string()),
        }
    }
}

/// The statements the connection endpoints need.
pub trait SqlRunner {
    fn query(&self, sql: &str) -> Result<QueryRows, SqlError>;
    fn describe(&self, sql: &str) -> Result<Vec<Column>, SqlError>;
}

impl SqlRunner for PackageDatabase {
    fn query(&self, sql: &str) -> Result<QueryRows, SqlError> {
        Ok(self.run_query(sql)?)
    }

    fn describe(&self, sql: &str) -> Result<Vec<Column>, SqlError> {
        Ok(self.describe_sql(sql)?)
    }
}

/// A configured DuckDB connection, opened for one request.
pub struct ConfiguredDuckdb {
    connection: Connection,
    /// Folders whose absolute paths are removed from error messages.
    hidden_paths: Vec<String>,
    timeout: Duration,
}

impl ConfiguredDuckdb {
    /// Opens the DuckDB database a connection configuration names.
    pub fn open(
        config: &Json,
        settings: &CatalogSettings,
        timeout: Duration,
    ) -> Result<ConfiguredDuckdb, SqlError> {
        let kind = config.get("type").and_then(Json::as_str).unwrap_or("");
        if kind != "duckdb" {
            return Err(SqlError::Unsupported(format!(
                "Connection type \"{kind}\" is not supported by this server; use \"duckdb\"."
            )));
        }
        let options = config
            .get("duckdbConnection")
            .cloned()
            .unwrap_or(Json::Null);
        let database_path = options
            .get("databasePath")
            .and_then(Json::as_str)
            .filter(|path| !path.is_empty() && *path != ":memory:");
        let mut hidden_paths = Vec::new();
        for folder in [&settings.server_root, &settings.config_dir]
            .into_iter()
            .flatten()
        {
            hidden_paths.push(folder.to_string_lossy().into_owned());
        }
        let flags = || {
            Config::default()
                .enable_autoload_extension(false)
                .and_then(|config| config.with("autoinstall_known_extensions", "false"))
                .map_err(|error| SqlError::Driver(format!("Invalid DuckDB configuration: {error}")))
        };
        let connection = match database_path {
            Some(path) => {
                let file = database_file(path, settings)?;
                let config = flags()?
                    .access_mode(AccessMode::ReadOnly)
                    .map_err(|error| SqlError::Driver(error.to_string()))?;
                Connection::open_with_flags(&file, config).map_err(|error| {
                    SqlError::Driver(format!(
                        "Cannot open the DuckDB database \"{path}\": {}",
                        hide_paths(&error.to_string(), &hidden_paths)
                    ))
                })?
            }
            None => Connection::open_in_memory_with_flags(flags()?)
                .map_err(|error| SqlError::Driver(format!("Cannot open DuckDB: {error}")))?,
        };
        connection
            .execute_batch(
                "SET GLOBAL TimeZone = 'UTC';\n\
                 SET enable_external_access = false;\n\
                 SET lock_configuration = true;",
            )
            .map_err(|error| SqlError::Driver(format!("Cannot configure DuckDB: {error}")))?;
        Ok(ConfiguredDuckdb {
            connection,
            hidden_paths,
            timeout,
        })
    }

    fn driver_error(&self, error: duckdb::Error) -> SqlError {
        SqlError::Driver(hide_paths(&error.to_string(), &self.hidden_paths))
    }
}

impl SqlRunner for ConfiguredDuckdb {
    /// Runs a statement, interrupting it after the query timeout.
    fn query(&self, sql: &str) -> Result<QueryRows, SqlError> {
        let interrupt = self.connection.interrupt_handle();
        let timeout = self.timeout;
        let (finished, finished_signal) = mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            let timed_out = finished_signal.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout);
            if timed_out {
                interrupt.interrupt();
            }
            timed_out
        });
        let outcome = self.read_rows(sql);
        drop(finished);
        let timed_out = watchdog.join().unwrap_or(false);
        match outcome {
            Err(_) if timed_out => Err(SqlError::Timeout(format!(
                "The statement did not finish within {} s and was interrupted.",
                timeout.as_secs_f64()
            ))),
            outcome => outcome,
        }
    }

    fn describe(&self, sql: &str) -> Result<Vec<Column>, SqlError> {
        let sql = sql.trim().trim_end_matches(';');
        let rows = self.query(&format!("DESCRIBE SELECT * FROM (\n{sql}\n) AS sql_source"))?;
        Ok(rows
            .rows
            .iter()
            .map(|row| Column {
                name: text(row.first()),
                sql_type: text(row.get(1)),
            })
            .collect())
    }
}

impl ConfiguredDuckdb {
    fn read_rows(&self, sql: &str) -> Result<QueryRows, SqlError> {
        let mut statement = self
            .connection
            .prepare(sql)
            .map_err(|e| self.driver_error(e))?;
        let mut rows = statement.query([]).map_err(|e| self.driver_error(e))?;
        let columns: Vec<String> = rows
            .as_ref()
            .map(|statement| statement.column_names())
            .unwrap_or_default();
        let mut values = Vec::new();
        let max_bytes = crate::db::max_result_bytes();
        let mut size = 0;
        while let Some(row) = rows.next().map_err(|e| self.driver_error(e))? {
            if values.len() == MAX_RESULT_ROWS {
                return Err(SqlError::TooLarge(format!(
                    "The statement returned more than {MAX_RESULT_ROWS} rows; add a LIMIT."
                )));
            }
            let mut cells = Vec::with_capacity(columns.len());
            for (index, column) in columns.iter().enumerate() {
                let cell = row
                    .get::<_, Value>(index)
                    .map_err(|e| self.driver_error(e))?;
                size += crate::db::estimated_cell_bytes(&cell, column);
                if size > max_bytes {
                    return Err(crate::db::DbError::ResultTooLarge(max_bytes).into());
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
}

/// Resolves a configured database file: relative to the config file's
/// folder, and inside SERVER_ROOT.
fn database_file(path: &str, settings: &CatalogSettings) -> Result<PathBuf, SqlError> {
    let Some(root) = settings
        .server_root
        .as_ref()
        .and_then(|root| root.canonicalize().ok())
    else {
        return Err(SqlError::Invalid(
            "This server has no SERVER_ROOT, so DuckDB connections can only be in memory.".into(),
        ));
    };
    let base = settings.config_dir.clone().unwrap_or_else(|| root.clone());
    let file = base.join(Path::new(path));
    let outside = || {
        SqlError::Invalid(format!(
            "The DuckDB database \"{path}\" does not exist inside the server root."
        ))
    };
    let file = file.canonicalize().map_err(|_| outside())?;
    if !file.starts_with(&root) || !file.is_file() {
        return Err(outside());
    }
    Ok(file)
}

fn hide_paths(message: &str, folders: &[String]) -> String {
    let mut message = message.to_string();
    for folder in folders {
        message = message
            .replace(&format!("{folder}/"), "")
            .replace(folder, ".");
    }
    message
}

/// Returns a cell as text; NULL is empty.
pub fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::Text(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(Value::Boolean(flag)) => flag.to_string(),
        Some(other) => format!("{other:?}"),
    }
}

/// Runs `work` on the target's database on a blocking thread.
pub async fn run_on<T: Send + 'static>(
    target: Target,
    work: impl FnOnce(&dyn SqlRunner) -> Result<T, SqlError> + Send + 'static,
) -> Result<T, SqlError> {
    let connection = match &target {
        Target::Package(_) => crate::package_host::DUCKDB_CONNECTION.to_string(),
        Target::Configured { config, .. } => config
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
    };
    let outcome = tokio::task::spawn_blocking(move || match target {
        Target::Package(database) => work(database.as_ref()),
        Target::Configured {
            config,
            settings,
            timeout,
        } => {
            let database = ConfiguredDuckdb::open(&config, &settings, timeout)?;
            work(&database)
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(SqlError::Driver(
            "The statement stopped unexpectedly.".into(),
        ))
    });
    if let Err(error) = &outcome {
        tracing::info!(connection, %error, "a connection statement failed");
    }
    outcome
}

/// Lists the schemas of the current database as `(name, is_default,
/// is_hidden)`.
pub fn schemas(database: &dyn SqlRunner) -> Result<Vec<(String, bool, bool)>, SqlError> {
    let rows = database.query(
        "SELECT schema_name, schema_name = current_schema(), internal \
         FROM duckdb_schemas() WHERE database_name = current_database() ORDER BY schema_name",
    )?;
    Ok(rows
        .rows
        .iter()
        .map(|row| {
            let flag = |index: usize| matches!(row.get(index), Some(Value::Boolean(true)));
            (text(row.first()), flag(1), flag(2))
        })
        .collect())
}

/// Lists the tables and views of `schema` with their columns, in name order.
pub fn tables(
    database: &dyn SqlRunner,
    schema: &str,
) -> Result<Vec<(String, Vec<Column>)>, SqlError> {
    let rows = database.query(&format!(
        "SELECT table_name, column_name, data_type FROM information_schema.columns \
         WHERE table_catalog = current_database() AND table_schema = {} \
         ORDER BY table_name, ordinal_position",
        crate::db::sql_string(schema)
    ))?;
    let mut tables: Vec<(String, Vec<Column>)> = Vec::new();
    for row in &rows.rows {
        let table = text(row.first());
        let column = Column {
            name: text(row.get(1)),
            sql_type: text(row.get(2)),
        };
        match tables.last_mut() {
            Some((name, columns)) if *name == table => columns.push(column),
            _ => tables.push((table, vec![column])),
        }
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configured_database_outside_root_is_rejected() {
        let root = tempfile::tempdir().unwrap();
        let settings = CatalogSettings {
            server_root: Some(root.path().to_path_buf()),
            config_dir: Some(root.path().to_path_buf()),
            ..CatalogSettings::default()
        };
        let config = json!({"name": "x", "type": "duckdb", "duckdbConnection": {"databasePath": "/etc/passwd"}});
        let error = ConfiguredDuckdb::open(&config, &settings, Duration::from_secs(5))
            .err()
            .unwrap();
        assert!(matches!(error, SqlError::Invalid(_)), "{error:?}");
    }

    #[test]
    fn configured_memory_database_lists_main_schema() {
        let config = json!({"name": "mem", "type": "duckdb", "duckdbConnection": {}});
        let database =
            ConfiguredDuckdb::open(&config, &CatalogSettings::default(), Duration::from_secs(5))
                .unwrap();
        let schemas = schemas(&database).unwrap();
        assert!(
            schemas
                .iter()
                .any(|(name, default, _)| name == "main" && *default),
            "{schemas:?}"
        );
    }

    #[test]
    fn configured_database_cannot_read_files() {
        let config = json!({"name": "mem", "type": "duckdb"});
        let database =
            ConfiguredDuckdb::open(&config, &CatalogSettings::default(), Duration::from_secs(5))
                .unwrap();
        assert!(database
            .query("SELECT * FROM read_csv('/etc/passwd')")
            .is_err());
    }

    #[test]
    fn configured_query_times_out() {
        let config = json!({"name": "mem", "type": "duckdb"});
        let timeout = Duration::from_millis(200);
        let database =
            ConfiguredDuckdb::open(&config, &CatalogSettings::default(), timeout).unwrap();
        let started = std::time::Instant::now();
        let error = database
            .query("SELECT count(*) FROM range(1000000000000) AS a(x) WHERE x % 7 = 3")
            .unwrap_err();
        assert!(matches!(error, SqlError::Timeout(_)), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
