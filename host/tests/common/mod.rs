//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};

/// The compiler component that `scripts/setup.sh` builds.
pub fn compiler_wasm() -> PathBuf {
    let path = std::env::var_os("MALLOY_COMPILER_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/wasm32-wasip2/release/malloy_compiler.wasm")
        });
    assert!(
        path.is_file(),
        "the compiler component {} is missing: run `source scripts/env.sh && \
         cargo build -p malloy-compiler --target wasm32-wasip2 --release` first",
        path.display()
    );
    path
}

/// Creates a package folder with `publisher.json`, a CSV table under
/// `data/` and the given model files.
pub fn package(name: &str, models: &[(&str, &str)]) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    write_package(folder.path(), name, models);
    folder
}

pub fn write_package(folder: &Path, name: &str, models: &[(&str, &str)]) {
    std::fs::create_dir_all(folder.join("data")).unwrap();
    std::fs::write(
        folder.join("publisher.json"),
        format!(r#"{{"name": "{name}", "description": "The {name} test package"}}"#),
    )
    .unwrap();
    std::fs::write(
        folder.join("data/items.csv"),
        "id,name,price\n1,apple,3\n2,pear,5\n3,plum,5\n",
    )
    .unwrap();
    for (path, text) in models {
        let full = folder.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
}

/// A small valid model over `data/items.csv`.
pub const ITEMS_MODEL: &str = "source: items is duckdb.table('data/items.csv') extend {\n  \
     measure: item_count is count()\n  \
     view: by_price is { group_by: price; aggregate: item_count; order_by: price }\n}\n";
