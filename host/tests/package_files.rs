//! The compiler reads files inside its package only.

mod common;

use std::sync::Arc;

use malloy_compiler::Host;
use malloy_publisher::db::PackageDatabase;
use malloy_publisher::package_host::PackageHost;

fn host_for(folder: &std::path::Path) -> PackageHost {
    PackageHost::new(Arc::new(PackageDatabase::open(folder).unwrap()))
}

#[test]
fn read_file_returns_package_files() {
    let folder = common::package("shop", &[("models/items.malloy", common::ITEMS_MODEL)]);
    let host = host_for(folder.path());
    assert_eq!(
        host.read_file("models/items.malloy").unwrap(),
        common::ITEMS_MODEL
    );
    assert_eq!(
        host.read_file("./models/items.malloy").unwrap(),
        common::ITEMS_MODEL
    );
}

#[test]
fn read_file_rejects_paths_outside() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.malloy"), "secret").unwrap();
    let folder = common::package("shop", &[("items.malloy", common::ITEMS_MODEL)]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.malloy"),
        folder.path().join("link.malloy"),
    )
    .unwrap();
    let host = host_for(folder.path());

    let secret = outside.path().join("secret.malloy");
    for path in [
        "../secret.malloy",
        "models/../../secret.malloy",
        secret.to_str().unwrap(),
        "/etc/passwd",
        "link.malloy",
        "",
    ] {
        let error = host.read_file(path).unwrap_err();
        assert!(
            !error.contains(outside.path().to_str().unwrap()) || path == secret.to_str().unwrap(),
            "{error}"
        );
        assert!(!error.contains(folder.path().to_str().unwrap()), "{error}");
    }
    assert_eq!(
        host.read_file("../secret.malloy").unwrap_err(),
        "'../secret.malloy' is not a path inside the package"
    );
    assert_eq!(
        host.read_file("missing.malloy").unwrap_err(),
        "file 'missing.malloy' does not exist"
    );
}

#[test]
fn schemas_are_cached_and_connections_checked() {
    let folder = common::package("shop", &[]);
    let host = host_for(folder.path());
    let columns = host.table_schema("duckdb", "data/items.csv").unwrap();
    assert_eq!(columns.len(), 3);
    // The cache answers even after the file is gone.
    std::fs::remove_file(folder.path().join("data/items.csv")).unwrap();
    assert_eq!(
        host.table_schema("duckdb", "data/items.csv").unwrap(),
        columns
    );
    let error = host.table_schema("bigquery", "t").unwrap_err();
    assert!(error.contains("'bigquery' is not defined"), "{error}");
    assert!(host.sql_schema("duckdb", "SELECT 1 AS one").unwrap()[0].name == "one");
}
