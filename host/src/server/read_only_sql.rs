//! The check that keeps the connection SQL routes read-only.
//!
//! The package's DuckDB database is shared by every request, model queries
//! included, so a statement such as `CREATE MACRO` or `COPY ... TO` sent to
//! `sqlQuery` would change later results or overwrite package files. The
//! routes therefore accept one SELECT statement only. DuckDB's own parser
//! decides: `json_serialize_sql` serializes SELECT statements (including
//! `FROM t`, `VALUES` and set operations) and returns `"error": true` for
//! every other statement type and for syntax errors.

use std::sync::{Mutex, OnceLock};

use duckdb::{Config, Connection};
use serde_json::Value;

/// Returns an error message unless `sql` is exactly one SELECT statement.
pub fn check_single_select(sql: &str) -> Result<(), String> {
    let serialized = serialize(sql)?;
    let parsed: Value = serde_json::from_str(&serialized)
        .map_err(|error| format!("Cannot check the SQL statement: {error}"))?;
    if parsed["error"].as_bool() == Some(true) {
        let detail = parsed["error_message"]
            .as_str()
            .unwrap_or("invalid statement");
        return Err(match parsed["error_type"].as_str() {
            Some("parser") => format!("Invalid SQL statement: {detail}"),
            _ => "Only a single SELECT statement is allowed on this route; \
                  statements that change the database or write files are rejected."
                .to_string(),
        });
    }
    let count = parsed["statements"].as_array().map_or(0, Vec::len);
    if count != 1 {
        return Err(format!(
            "Only a single SELECT statement is allowed on this route, but the request \
             contains {count} statements."
        ));
    }
    Ok(())
}

/// Runs `json_serialize_sql` on a private in-memory database that may not
/// touch files, so the check itself has no side effects.
fn serialize(sql: &str) -> Result<String, String> {
    static PARSER: OnceLock<Result<Mutex<Connection>, String>> = OnceLock::new();
    let parser = PARSER.get_or_init(|| {
        let config = Config::default()
            .enable_autoload_extension(false)
            .map_err(|error| error.to_string())?;
        let connection =
            Connection::open_in_memory_with_flags(config).map_err(|error| error.to_string())?;
        connection
            .execute_batch("SET enable_external_access = false; SET lock_configuration = true;")
            .map_err(|error| error.to_string())?;
        Ok(Mutex::new(connection))
    });
    let parser = parser.as_ref().map_err(|error| {
        tracing::error!(%error, "cannot open the DuckDB parser for SQL checks");
        "Cannot check the SQL statement: the parser is unavailable.".to_string()
    })?;
    let connection = parser.lock().unwrap_or_else(|error| error.into_inner());
    connection
        .query_row(
            "SELECT json_serialize_sql(CAST(? AS VARCHAR))",
            [sql],
            |row| row.get::<_, String>(0),
        )
        .map_err(|error| format!("Cannot check the SQL statement: {error}"))
}

#[cfg(test)]
mod tests {
    use super::check_single_select;

    #[test]
    fn selects_are_accepted() {
        for sql in [
            "SELECT 1",
            "SELECT 1;",
            "FROM range(3)",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "VALUES (1)",
            "SELECT 1 -- trailing comment",
        ] {
            assert_eq!(check_single_select(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn other_statements_are_rejected() {
        for sql in [
            "CREATE MACRO concat(a, b, c) AS 'HACKED'",
            "CREATE OR REPLACE MACRO upper(x) AS 'VIA-GET'",
            "COPY (SELECT 42 AS id) TO 'data/items.csv' (HEADER)",
            "SELECT 1; SELECT 2",
            "SELECT 1; DROP TABLE t",
            "SET threads = 1",
            "PRAGMA version",
            "ATTACH 'x.duckdb'",
            "INSERT INTO t VALUES (1)",
            "SELECT 1 /* unterminated",
            "SELEC 1",
        ] {
            assert!(check_single_select(sql).is_err(), "{sql}");
        }
    }
}
