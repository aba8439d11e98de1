//! The compiler component runs under a memory cap and a deadline, and a
//! trap costs only the call that caused it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use malloy_publisher::db::PackageDatabase;
use malloy_publisher::package_host::PackageHost;
use malloy_publisher::sandbox::{CompileError, PackageCompiler, Sandbox, SandboxLimits};

/// About 12 MB of model text: far more than the small memory cap below,
/// and more than the compiler can get through within the short deadline.
fn large_model() -> String {
    let mut text = String::from("// #spin #hog\n");
    let line = "source: items is duckdb.table('data/items.csv') extend { dimension: twice is price * 2 }\n";
    while text.len() < 12_000_000 {
        text.push_str(line);
    }
    text
}

fn compiler_for(folder: &std::path::Path, limits: SandboxLimits) -> PackageCompiler {
    let sandbox = Sandbox::load(&common::compiler_wasm(), limits).unwrap();
    let database = Arc::new(PackageDatabase::open(folder).unwrap());
    PackageCompiler::new(sandbox, Arc::new(PackageHost::new(database)))
}

#[test]
fn sandbox_compiles_a_model() {
    let folder = common::package("shop", &[("items.malloy", common::ITEMS_MODEL)]);
    let compiler = compiler_for(folder.path(), SandboxLimits::default());
    let output = compiler.compile_model("items.malloy").unwrap();
    assert_eq!(output.sources[0].name, "items");
}

#[test]
fn memory_cap_stops_a_large_model() {
    let big = large_model();
    let folder = common::package(
        "shop",
        &[
            ("big.malloy", big.as_str()),
            ("items.malloy", common::ITEMS_MODEL),
        ],
    );
    let limits = SandboxLimits {
        memory_bytes: 8 * 1024 * 1024,
        deadline: Duration::from_secs(30),
    };
    let compiler = compiler_for(folder.path(), limits);

    let error = compiler.compile_model("big.malloy").unwrap_err();
    assert!(
        matches!(error, CompileError::OutOfMemory { limit_mib: 8 }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the compiler ran out of memory (limit 8 MiB)"
    );

    // The next call gets a fresh instance.
    let output = compiler.compile_model("items.malloy").unwrap();
    assert_eq!(output.sources[0].name, "items");
}

#[test]
fn deadline_stops_a_slow_compile() {
    let big = large_model();
    let folder = common::package(
        "shop",
        &[
            ("big.malloy", big.as_str()),
            ("items.malloy", common::ITEMS_MODEL),
        ],
    );
    // Compiling the large model natively takes about 2 s; a small one
    // takes milliseconds.
    let limits = SandboxLimits {
        memory_bytes: 1024 * 1024 * 1024,
        deadline: Duration::from_millis(200),
    };
    let compiler = compiler_for(folder.path(), limits);

    let started = std::time::Instant::now();
    let error = compiler.compile_model("big.malloy").unwrap_err();
    assert!(
        matches!(error, CompileError::DeadlineExceeded { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the compiler did not finish within 0.2 s"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A small model fits in the deadline on a fresh instance. A retry
    // covers a first call slowed down by a busy machine.
    let mut result = compiler.compile_model("items.malloy");
    for _ in 0..3 {
        if !matches!(result, Err(CompileError::DeadlineExceeded { .. })) {
            break;
        }
        result = compiler.compile_model("items.malloy");
    }
    assert_eq!(result.unwrap().sources[0].name, "items");
}

#[test]
fn missing_model_is_a_problem_not_a_trap() {
    let folder = common::package("shop", &[("items.malloy", common::ITEMS_MODEL)]);
    let compiler = compiler_for(folder.path(), SandboxLimits::default());
    let error = compiler.compile_model("nope.malloy").unwrap_err();
    let CompileError::Problems(problems) = error else {
        panic!("expected problems, got {error:?}");
    };
    let root = folder.path().canonicalize().unwrap();
    for problem in &problems {
        assert!(
            !problem.message.contains(root.to_str().unwrap()),
            "{}",
            problem.message
        );
    }
    assert!(!problems.is_empty());
}
