//! A package's DuckDB database reads files inside the package folder only,
//! runs in UTC and cannot be reconfigured by SQL.

use malloy_publisher::db::PackageDatabase;

fn package_with_csv() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("data")).unwrap();
    std::fs::write(
        folder.path().join("data/items.csv"),
        "id,name\n1,apple\n2,pear\n",
    )
    .unwrap();
    folder
}

fn error_of(database: &PackageDatabase, sql: &str) -> String {
    match database.run_query(sql) {
        Ok(rows) => panic!("{sql} succeeded with {:?}", rows.rows),
        Err(error) => error.to_string(),
    }
}

#[test]
fn relative_paths_read_package_files() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let rows = database
        .run_query("SELECT count(*) AS n FROM 'data/items.csv'")
        .unwrap();
    assert_eq!(rows.columns, vec!["n"]);
    assert_eq!(rows.rows[0][0], duckdb::types::Value::BigInt(2));
}

#[test]
fn files_outside_the_package_are_rejected() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let message = error_of(&database, "SELECT * FROM '/etc/passwd'");
    assert_eq!(
        message,
        "Cannot read file \"/etc/passwd\": it does not exist or is outside the package folder"
    );
    let message = error_of(&database, "SELECT * FROM 'data/../../etc/passwd'");
    assert!(message.contains("outside the package folder"), "{message}");
    let message = error_of(&database, "SELECT * FROM read_csv('../escape.csv')");
    assert_eq!(
        message,
        "Cannot read file \"../escape.csv\": only files inside the package folder are accessible"
    );
    let message = error_of(&database, "SELECT * FROM read_text('/etc/hostname')");
    assert!(
        message.contains("only files inside the package folder"),
        "{message}"
    );
}

#[test]
fn writes_and_attachments_outside_are_rejected() {
    let folder = package_with_csv();
    let outside = tempfile::tempdir().unwrap();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let target = outside.path().join("copy.csv");
    error_of(
        &database,
        &format!("COPY (SELECT 1) TO '{}'", target.display()),
    );
    assert!(!target.exists());
    error_of(
        &database,
        &format!(
            "ATTACH '{}' AS other",
            outside.path().join("x.db").display()
        ),
    );
}

#[test]
fn configuration_is_locked() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let message = error_of(&database, "SET enable_external_access = true");
    assert!(!message.is_empty());
    let message = error_of(&database, "SET allowed_directories = ['/']");
    assert!(!message.is_empty());
    error_of(&database, "SELECT * FROM '/etc/passwd'");
}

#[test]
fn every_connection_runs_in_utc() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path()).unwrap();
    // Several connections at once, so the pool has to clone new ones.
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    database
                        .run_query("SELECT current_setting('TimeZone') AS tz, pg_sleep(0.05) AS s")
                        .unwrap()
                })
            })
            .collect();
        for handle in handles {
            let rows = handle.join().unwrap();
            assert_eq!(rows.rows[0][0], duckdb::types::Value::Text("UTC".into()));
        }
    });
}

#[test]
fn errors_do_not_reveal_the_package_path() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let message = error_of(&database, "SELECT * FROM 'data/missing.parquet'");
    let root = folder.path().canonicalize().unwrap();
    assert!(!message.contains(root.to_str().unwrap()), "{message}");
    assert!(message.contains("data/missing.parquet"), "{message}");
}

#[test]
fn tables_and_sql_are_described() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let columns = database.describe_table("data/items.csv").unwrap();
    let described: Vec<(&str, &str)> = columns
        .iter()
        .map(|column| (column.name.as_str(), column.sql_type.as_str()))
        .collect();
    assert_eq!(described, vec![("id", "BIGINT"), ("name", "VARCHAR")]);
    let columns = database
        .describe_sql("SELECT {'a': 1} AS r, [1.5] AS l -- trailing comment")
        .unwrap();
    assert_eq!(columns[0].sql_type, "STRUCT(a INTEGER)");
    assert_eq!(columns[1].sql_type, "DECIMAL(2,1)[]");
    assert!(database.describe_table("'/etc/passwd'").is_err());
    assert!(database.describe_table("/etc/passwd").is_err());
}

#[test]
fn slow_queries_are_interrupted() {
    let folder = package_with_csv();
    let database = PackageDatabase::open(folder.path())
        .unwrap()
        .with_query_timeout(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let error = database
        .run_query("SELECT count(*) FROM range(10000000000) a, range(1000) b")
        .unwrap_err();
    assert!(
        matches!(error, malloy_publisher::db::DbError::Timeout(_)),
        "{error:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The connection goes back to the pool and still works.
    let rows = database.run_query("SELECT 1 AS one").unwrap();
    assert_eq!(rows.rows.len(), 1);
}
