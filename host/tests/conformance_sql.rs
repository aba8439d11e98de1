//! Compiles every query of the conformance kit that is expected to succeed
//! and runs its SQL on DuckDB: each statement must run without error and
//! return as many rows as the reference's result has.
//!
//! The kit is `$MALLOY_CONFORMANCE_DIR`, or `shared/conformance` next to
//! the repository; the test fails when it is missing.

mod compiler_kit;

use compiler_kit::{conformance_dir, open_package};
use malloy_compiler::{QueryRequest, QuerySpec};
use serde_json::Value;

/// Row limit for queries that set none, as the Publisher and the kit apply.
const DEFAULT_ROW_LIMIT: u64 = 1000;

#[test]
fn conformance_sql_runs_on_duckdb() {
    let kit = conformance_dir();
    let cases = std::fs::read_to_string(kit.join("cases.jsonl")).expect("readable cases.jsonl");
    let host = open_package(&kit.join("package"));
    let mut ran = 0;
    let mut failures = Vec::new();
    for line in cases.lines().filter(|line| !line.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("each case is JSON");
        let Some(expected_rows) = case["expected"]["rows"].as_array() else {
            continue;
        };
        let id = case["id"].as_str().unwrap_or("?");
        let request = QueryRequest {
            model_path: case["model"]
                .as_str()
                .expect("case has a model")
                .to_string(),
            query: QuerySpec::Text(
                case["query"]
                    .as_str()
                    .expect("case has a query")
                    .to_string(),
            ),
            restricted: true,
            default_row_limit: Some(DEFAULT_ROW_LIMIT),
        };
        let output = match malloy_compiler::compile_query(&host, &request) {
            Ok(output) => output,
            Err(problems) => {
                failures.push(format!("{id}: does not compile: {problems:?}"));
                continue;
            }
        };
        ran += 1;
        match host.database().run_query(&output.sql) {
            Ok(rows) if rows.rows.len() == expected_rows.len() => {}
            Ok(rows) => failures.push(format!(
                "{id}: {} rows, expected {}\n{}",
                rows.rows.len(),
                expected_rows.len(),
                output.sql
            )),
            Err(error) => failures.push(format!("{id}: DuckDB failed: {error}\n{}", output.sql)),
        }
    }
    assert!(ran >= 250, "only {ran} conformance queries ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
