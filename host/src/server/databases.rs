//! `GET .../databases`: the package's data files with their row counts and
//! columns.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::projects::{loaded_package, ReadParams};
use super::{AppError, AppState};
use crate::db::{sql_string, PackageDatabase};

pub async fn list_databases(
    State(state): State<AppState>,
    Path((project, package)): Path<(String, String)>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    params.check_version()?;
    let (loaded, _) = loaded_package(&state, &project, &package).await?;
    let Ok(loaded_package) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    let database = loaded_package.compiler.host().database().clone();
    let paths = loaded_package.databases.clone();
    let databases = tokio::task::spawn_blocking(move || {
        paths
            .iter()
            .map(|path| {
                let mut item = database_json(&database, path);
                // The April-2025 clients read the file size in bytes.
                let size = std::fs::metadata(database.root().join(path))
                    .map(|metadata| metadata.len())
                    .unwrap_or(0);
                item["size"] = json!(size);
                item
            })
            .collect::<Vec<Value>>()
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "the databases task failed");
        AppError::internal("Internal error: cannot list the databases.")
    })?;
    Ok(Json(Value::Array(databases)))
}

/// Describes one data file. A file DuckDB cannot read is listed with no
/// columns and a row count of 0, and the reason is logged.
fn database_json(database: &PackageDatabase, path: &str) -> Value {
    let columns = database.describe_table(path).unwrap_or_else(|error| {
        tracing::info!(path, %error, "cannot describe a data file");
        Vec::new()
    });
    let row_count = database
        .run_query(&format!("SELECT count(*) FROM {}", sql_string(path)))
        .ok()
        .and_then(|rows| match rows.rows.first().and_then(|row| row.first()) {
            Some(duckdb::types::Value::BigInt(count)) => Some(*count),
            _ => None,
        })
        .unwrap_or(0);
    let columns: Vec<Value> = columns
        .iter()
        .map(|column| json!({"name": column.name, "type": malloy_type_name(&column.sql_type)}))
        .collect();
    json!({
        "path": path,
        "info": {"name": path, "rowCount": row_count, "columns": columns},
        "type": "embedded",
    })
}

/// Names the Malloy type of a DuckDB column type, as the Publisher's
/// database list does.
pub(super) fn malloy_type_name(sql_type: &str) -> &'static str {
    let upper = sql_type.to_ascii_uppercase();
    if upper.ends_with("[]") || upper.starts_with("STRUCT") || upper.starts_with("MAP") {
        return "sql native";
    }
    let base = upper.split('(').next().unwrap_or("").trim();
    match base {
        "VARCHAR" | "TEXT" | "STRING" | "CHAR" | "BPCHAR" | "UUID" => "string",
        "TINYINT" | "SMALLINT" | "INTEGER" | "INT" | "BIGINT" | "HUGEINT" | "UTINYINT"
        | "USMALLINT" | "UINTEGER" | "UBIGINT" | "UHUGEINT" | "FLOAT" | "REAL" | "DOUBLE"
        | "DECIMAL" | "NUMERIC" => "number",
        "BOOLEAN" | "BOOL" => "boolean",
        "DATE" => "date",
        "TIMESTAMP"
        | "TIMESTAMP WITH TIME ZONE"
        | "TIMESTAMPTZ"
        | "DATETIME"
        | "TIMESTAMP_S"
        | "TIMESTAMP_MS"
        | "TIMESTAMP_NS" => "timestamp",
        "JSON" => "json",
        _ => "sql native",
    }
}

#[cfg(test)]
mod tests {
    use super::malloy_type_name;

    #[test]
    fn duckdb_types_map_to_malloy_names() {
        assert_eq!(malloy_type_name("VARCHAR"), "string");
        assert_eq!(malloy_type_name("DECIMAL(9,2)"), "number");
        assert_eq!(malloy_type_name("TIMESTAMP WITH TIME ZONE"), "timestamp");
        assert_eq!(malloy_type_name("DATE"), "date");
        assert_eq!(malloy_type_name("INTEGER[]"), "sql native");
        assert_eq!(malloy_type_name("STRUCT(a INTEGER)"), "sql native");
        assert_eq!(malloy_type_name("BLOB"), "sql native");
    }
}
