//! Parquet files tagged with the generator's data version.
//!
//! Each file carries its package's data version in its Parquet key-value
//! metadata, so a run can tell current files from stale ones without
//! regenerating the rows.

use std::path::Path;

use anyhow::{Context, Result};
use duckdb::Connection;

const VERSION_KEY: &str = "malloy_samples_data_version";

/// Quotes a string as a SQL literal.
pub fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Reads a Parquet file's row count and data version, or returns `None`
/// when the file is missing or unreadable.
fn stored_version(conn: &Connection, path: &Path) -> Option<(u64, String)> {
    if !path.is_file() {
        return None;
    }
    let file = sql_string(path.to_str()?);
    let sql = format!(
        "SELECT (SELECT sum(num_rows) FROM parquet_file_metadata({file}))::UBIGINT, \
                (SELECT decode(value) FROM parquet_kv_metadata({file}) \
                 WHERE decode(key) = {key})",
        key = sql_string(VERSION_KEY)
    );
    conn.query_row(&sql, [], |row| {
        Ok((row.get::<_, u64>(0)?, row.get::<_, Option<String>>(1)?))
    })
    .ok()
    .and_then(|(rows, version)| Some((rows, version?)))
}

/// Checks that every `<table>.parquet` in `data_dir` has the given row count
/// and data version.
pub fn tables_are_current(
    conn: &Connection,
    data_dir: &Path,
    tables: &[(&str, u64)],
    version: &str,
) -> bool {
    tables.iter().all(|(table, rows)| {
        let path = data_dir.join(format!("{table}.parquet"));
        stored_version(conn, &path) == Some((*rows, version.to_string()))
    })
}

/// Writes `select` to `path` as Parquet through a temporary file, so an
/// interrupted run never leaves a half-written table behind.
pub fn write_parquet(conn: &Connection, select: &str, path: &Path, version: &str) -> Result<()> {
    let temporary = path.with_extension("parquet.tmp");
    let target = temporary
        .to_str()
        .with_context(|| format!("{} is not valid UTF-8", temporary.display()))?;
    let sql = format!(
        "COPY ({select}) TO {file} (FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{key}: {version}}})",
        file = sql_string(target),
        key = VERSION_KEY,
        version = sql_string(version),
    );
    conn.execute_batch(&sql)
        .with_context(|| format!("writing {} failed", path.display()))?;
    std::fs::rename(&temporary, path).with_context(|| {
        format!(
            "renaming {} to {} failed",
            temporary.display(),
            path.display()
        )
    })?;
    Ok(())
}
