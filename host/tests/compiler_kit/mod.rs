//! Helpers shared by the tests that run the compiler natively against
//! packages on disk, with DuckDB describing their tables.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use malloy_publisher::db::PackageDatabase;
use malloy_publisher::package_host::PackageHost;

/// Returns the conformance kit's folder: `$MALLOY_CONFORMANCE_DIR`, or
/// `shared/conformance` next to the repository. Panics with the fix when
/// neither holds the kit.
pub fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os("MALLOY_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    };
    assert!(
        dir.join("cases.jsonl").is_file() && dir.join("package").is_dir(),
        "the conformance kit is missing: no cases.jsonl and package/ in {}; \
         set MALLOY_CONFORMANCE_DIR to the kit's folder",
        dir.display()
    );
    dir
}

/// Opens the package at `root` with its own DuckDB database, as the server
/// and `malloy-cli` do.
pub fn open_package(root: &Path) -> PackageHost {
    let database = PackageDatabase::open(root)
        .unwrap_or_else(|error| panic!("cannot open the package {}: {error}", root.display()));
    PackageHost::new(Arc::new(database))
}
