//! What the compiler may see of one package: its files and the schemas of
//! the tables it reads. The native compiler (malloy-cli) uses it as its
//! `Host`, and the sandbox forwards the component's host imports to it.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use malloy_compiler::{Column, Host};

use crate::db::PackageDatabase;

/// The only connection a package has: its own DuckDB database.
pub const DUCKDB_CONNECTION: &str = "duckdb";

/// Maximum size of a model file the compiler may read.
const MAX_MODEL_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SchemaKey {
    Table(String),
    Sql(String),
}

/// The files and table schemas of one package. Schemas are cached, since
/// every model and query that uses a table asks for it again.
#[derive(Debug)]
pub struct PackageHost {
    database: Arc<PackageDatabase>,
    schemas: Mutex<HashMap<SchemaKey, Vec<Column>>>,
    /// Model texts that exist only in memory, by package-relative path,
    /// such as the cells of a notebook before the one being compiled.
    virtual_files: Mutex<HashMap<String, Arc<str>>>,
}

impl PackageHost {
    pub fn new(database: Arc<PackageDatabase>) -> PackageHost {
        PackageHost {
            database,
            schemas: Mutex::new(HashMap::new()),
            virtual_files: Mutex::new(HashMap::new()),
        }
    }

    /// Makes `text` readable as the model file `path` until
    /// [`PackageHost::remove_virtual_file`]. Fails when a real or virtual
    /// file already has that path, so a virtual file never hides one.
    pub fn add_virtual_file(&self, path: &str, text: &str) -> Result<(), String> {
        if self.root().join(path).exists() {
            return Err(format!("'{path}' already exists in the package"));
        }
        let mut files = self.lock_virtual_files();
        if files.contains_key(path) {
            return Err(format!("'{path}' is already a virtual file"));
        }
        files.insert(path.to_string(), Arc::from(text));
        Ok(())
    }

    pub fn remove_virtual_file(&self, path: &str) {
        self.lock_virtual_files().remove(path);
    }

    fn lock_virtual_files(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<str>>> {
        self.virtual_files.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn database(&self) -> &Arc<PackageDatabase> {
        &self.database
    }

    /// The package folder.
    pub fn root(&self) -> &Path {
        self.database.root()
    }

    /// Resolves a package-relative path to a file inside the package folder.
    ///
    /// Rejects absolute paths, `..` segments and symbolic links that lead
    /// outside the folder.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        let relative = Path::new(path);
        let plain = relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
        if path.is_empty() || !plain {
            return Err(format!("'{path}' is not a path inside the package"));
        }
        let full = self.root().join(relative);
        let canonical = full
            .canonicalize()
            .map_err(|_| format!("file '{path}' does not exist"))?;
        if !canonical.starts_with(self.root()) {
            return Err(format!("'{path}' is not a path inside the package"));
        }
        Ok(canonical)
    }

    fn cached_schema(
        &self,
        connection: &str,
        key: SchemaKey,
        describe: impl FnOnce(&PackageDatabase) -> Result<Vec<Column>, crate::db::DbError>,
    ) -> Result<Vec<Column>, String> {
        if connection != DUCKDB_CONNECTION {
            return Err(format!(
                "connection '{connection}' is not defined; this server provides only '{DUCKDB_CONNECTION}'"
            ));
        }
        if let Some(columns) = self.lock_schemas().get(&key) {
            return Ok(columns.clone());
        }
        let columns = describe(&self.database).map_err(|error| error.to_string())?;
        self.lock_schemas().insert(key, columns.clone());
        Ok(columns)
    }

    fn lock_schemas(&self) -> std::sync::MutexGuard<'_, HashMap<SchemaKey, Vec<Column>>> {
        self.schemas.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Host for PackageHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        if let Some(text) = self.lock_virtual_files().get(path) {
            return Ok(text.to_string());
        }
        let full = self.resolve(path)?;
        let metadata = std::fs::metadata(&full).map_err(|_| format!("cannot read '{path}'"))?;
        if !metadata.is_file() {
            return Err(format!("'{path}' is not a file"));
        }
        if metadata.len() > MAX_MODEL_FILE_BYTES {
            return Err(format!(
                "'{path}' is larger than {MAX_MODEL_FILE_BYTES} bytes"
            ));
        }
        std::fs::read_to_string(&full).map_err(|error| match error.kind() {
            std::io::ErrorKind::InvalidData => format!("'{path}' is not UTF-8 text"),
            _ => format!("cannot read '{path}'"),
        })
    }

    fn table_schema(&self, connection: &str, table: &str) -> Result<Vec<Column>, String> {
        self.cached_schema(connection, SchemaKey::Table(table.to_string()), |db| {
            db.describe_table(table)
        })
    }

    fn sql_schema(&self, connection: &str, sql: &str) -> Result<Vec<Column>, String> {
        self.cached_schema(connection, SchemaKey::Sql(sql.to_string()), |db| {
            db.describe_sql(sql)
        })
    }
}
