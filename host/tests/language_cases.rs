//! Runs queries beyond the conformance kit's own cases (time literals,
//! filters, functions, casts, windows, ungrouped aggregates, pipelines,
//! arrays, index queries and errors), each with the rows, schema or error
//! that the reference compiler (Malloy 0.0.431) returned:
//! `tests/fixtures/language_cases.jsonl` against the kit's package and
//! `tests/fixtures/sample_language_cases.jsonl` against the sample packages.
//! To add a case, append `{id, area, features, model, query}` (plus
//! `"expected_error": {}` for an error) and re-record every answer with the
//! kit's `update-expected --cases <file> --package <package folder>`.
//!
//! Rows match in order (or as a multiset for `"order": "free"`), numbers
//! within a relative difference of 1e-9. An error case passes when the first
//! error contains the reference's message at the same line and column.

mod compiler_kit;

use std::collections::HashMap;
use std::path::Path;

use compiler_kit::{conformance_dir, open_package};
use malloy_compiler::{QueryRequest, QuerySpec, Severity};
use malloy_publisher::result::malloy_result;
use serde_json::{json, Map, Value};

const DEFAULT_ROW_LIMIT: u64 = 1000;
const RELATIVE_TOLERANCE: f64 = 1e-9;

/// Converts a `Malloy.Cell` to plain JSON, as the recorded rows are written:
/// dates as `YYYY-MM-DD`, timestamps as ISO 8601, nests as arrays of objects.
fn plain_cell(cell: &Value, field: &Value) -> Value {
    match cell["kind"].as_str().unwrap_or_default() {
        "null_cell" => Value::Null,
        "string_cell" => cell["string_value"].clone(),
        "boolean_cell" => cell["boolean_value"].clone(),
        "number_cell" => match cell.get("string_value").and_then(Value::as_str) {
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| n.unsigned_abs() <= 1 << 53)
                .map_or_else(|| json!(text), |n| json!(n)),
            None => cell["number_value"].clone(),
        },
        "date_cell" => json!(cell["date_value"].as_str().unwrap_or_default().get(..10)),
        "timestamp_cell" => cell["timestamp_value"].clone(),
        "json_cell" => cell["json_value"]
            .as_str()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(Value::Null),
        "array_cell" => {
            let element = &field["type"]["element_type"];
            let element_field = json!({"type": element});
            let items = cell["array_value"].as_array().cloned().unwrap_or_default();
            Value::Array(
                items
                    .iter()
                    .map(|item| plain_cell(item, &element_field))
                    .collect(),
            )
        }
        "record_cell" => {
            let fields = field["type"]["fields"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let values = cell["record_value"].as_array().cloned().unwrap_or_default();
            let mut object = Map::new();
            for (value, field) in values.iter().zip(&fields) {
                let name = field["name"].as_str().unwrap_or_default().to_string();
                object.insert(name, plain_cell(value, field));
            }
            Value::Object(object)
        }
        other => panic!("unknown cell kind {other}"),
    }
}

/// Returns the `{name, type, subtype?, timeframe?, element?, fields?}`
/// digest of a `Malloy.Schema` field, as the cases record schemas.
fn field_digest(field: &Value) -> Value {
    let mut digest = Map::new();
    digest.insert("name".into(), field["name"].clone());
    digest.extend(type_digest(&field["type"]));
    Value::Object(digest)
}

fn type_digest(ty: &Value) -> Map<String, Value> {
    let mut digest = Map::new();
    let kind = ty["kind"].as_str().unwrap_or_default();
    match kind {
        "record_type" => {
            digest.insert("type".into(), json!("record"));
            digest.insert("fields".into(), fields_digest(&ty["fields"]));
        }
        "array_type" if ty["element_type"]["kind"] == json!("record_type") => {
            digest.insert("type".into(), json!("array"));
            digest.insert(
                "fields".into(),
                fields_digest(&ty["element_type"]["fields"]),
            );
        }
        "array_type" => {
            digest.insert("type".into(), json!("array"));
            digest.insert(
                "element".into(),
                Value::Object(type_digest(&ty["element_type"])),
            );
        }
        _ => {
            digest.insert("type".into(), json!(kind.trim_end_matches("_type")));
            for key in ["subtype", "timeframe"] {
                if let Some(value) = ty.get(key) {
                    digest.insert(key.into(), value.clone());
                }
            }
        }
    }
    digest
}

fn fields_digest(fields: &Value) -> Value {
    let fields = fields.as_array().cloned().unwrap_or_default();
    Value::Array(fields.iter().map(field_digest).collect())
}

/// Removes `annotations` at every level of a recorded schema.
fn without_annotations(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| key.as_str() != "annotations")
                .map(|(key, value)| (key.clone(), without_annotations(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_annotations).collect()),
        other => other.clone(),
    }
}

/// Normalizes a timestamp string so that `2023-01-15T08:30:00.000Z` and
/// `2023-01-15 08:30:00` compare equal.
fn timestamp_key(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if text.len() < 19 || bytes[4] != b'-' || bytes[10] != b'T' && bytes[10] != b' ' {
        return None;
    }
    let trimmed = text.trim_end_matches('Z');
    let trimmed = trimmed.strip_suffix(".000").unwrap_or(trimmed);
    Some(trimmed.replacen(' ', "T", 1))
}

fn values_match(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a == b || (a - b).abs() <= RELATIVE_TOLERANCE * a.abs().max(b.abs())
        }
        // JSON cannot carry NaN and infinities; the recorded rows name them.
        (Value::String(text), Value::Null) => {
            matches!(text.as_str(), "NaN" | "Infinity" | "-Infinity")
        }
        (Value::String(a), Value::String(b)) => {
            a == b || matches!((timestamp_key(a), timestamp_key(b)), (Some(x), Some(y)) if x == y)
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_match(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| values_match(x, y)))
        }
        (a, b) => a == b,
    }
}

/// Returns whether the rows match, in order or as a multiset.
fn rows_match(expected: &[Value], actual: &[Value], order_free: bool) -> bool {
    if expected.len() != actual.len() {
        return false;
    }
    if !order_free {
        return expected.iter().zip(actual).all(|(x, y)| values_match(x, y));
    }
    let mut unused: Vec<&Value> = actual.iter().collect();
    expected
        .iter()
        .all(|x| match unused.iter().position(|y| values_match(x, y)) {
            Some(index) => {
                unused.swap_remove(index);
                true
            }
            None => false,
        })
}

/// Runs one case against the model at `model_path` in the package of
/// `host`, and returns the difference from the recorded answer.
fn check_case(
    host: &malloy_publisher::package_host::PackageHost,
    model_path: &str,
    case: &Value,
) -> Option<String> {
    let request = QueryRequest {
        model_path: model_path.to_string(),
        query: QuerySpec::Text(
            case["query"]
                .as_str()
                .expect("case has a query")
                .to_string(),
        ),
        restricted: true,
        default_row_limit: Some(DEFAULT_ROW_LIMIT),
    };
    let compiled = malloy_compiler::compile_query(host, &request);
    if let Some(expected) = case.get("expected_error") {
        let want = expected["message"].as_str().unwrap_or_default();
        let problems = match compiled {
            Ok(output) => match host.database().run_query(&output.sql) {
                Ok(rows) => {
                    return Some(format!(
                        "expected the error {want:?}, got {} rows",
                        rows.rows.len()
                    ))
                }
                Err(error) => {
                    let got = error.to_string();
                    return (!got.contains(want))
                        .then(|| format!("expected {want:?}, got {got:?}"));
                }
            },
            Err(problems) => problems,
        };
        let first = problems
            .iter()
            .find(|p| p.severity == Severity::Error)
            .expect("a failed compilation reports an error");
        if !first.message.contains(want) {
            return Some(format!("expected {want:?}, got {:?}", first.message));
        }
        let position = (first.range.start.line + 1, first.range.start.character + 1);
        let want_position = (expected["line"].as_u64(), expected["column"].as_u64());
        if let (Some(line), Some(column)) = want_position {
            if position != (line as u32, column as u32) {
                return Some(format!(
                    "error at {position:?}, expected ({line}, {column})"
                ));
            }
        }
        return None;
    }

    let output = match compiled {
        Ok(output) => output,
        Err(problems) => return Some(format!("does not compile: {:?}", problems[0].message)),
    };
    let rows = match host.database().run_query(&output.sql) {
        Ok(rows) => rows,
        Err(error) => return Some(format!("DuckDB failed: {error}")),
    };
    let result = malloy_result(&output, &rows).expect("the result converts");
    let fields = result["schema"]["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let schema = Value::Array(fields.iter().map(field_digest).collect());
    let expected_schema = without_annotations(&case["expected"]["schema"]);
    if schema != expected_schema {
        return Some(format!("schema {schema}, expected {expected_schema}"));
    }
    let record = json!({"type": {"fields": fields}});
    let actual: Vec<Value> = result["data"]["array_value"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|row| plain_cell(row, &record))
        .collect();
    let expected = case["expected"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let order_free = case["order"] == json!("free");
    (!rows_match(&expected, &actual, order_free))
        .then(|| format!("rows {}, expected {}", json!(actual), json!(expected)))
}

/// Reads the cases of a fixture file.
fn read_cases(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("readable cases file");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("each case is JSON"))
        .collect()
}

#[test]
fn language_cases_match_reference() {
    let host = open_package(&conformance_dir().join("package"));
    let cases = read_cases("language_cases.jsonl");
    let mut failures = Vec::new();
    for case in &cases {
        let model = case["model"].as_str().expect("case has a model");
        if let Some(difference) = check_case(&host, model, case) {
            failures.push(format!(
                "{}: {difference}",
                case["id"].as_str().unwrap_or("?")
            ));
        }
    }
    let checked = cases.len();
    assert!(checked >= 60, "only {checked} language cases found");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The cases of `sample_language_cases.jsonl` name their model as
/// `<package>/<model>.malloy` under `malloy-samples/`; they were recorded
/// with `update-expected --package malloy-samples`.
#[test]
fn sample_cases_match_reference() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../malloy-samples");
    let cases = read_cases("sample_language_cases.jsonl");
    let mut hosts: HashMap<String, malloy_publisher::package_host::PackageHost> = HashMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let model = case["model"].as_str().expect("case has a model");
        let (package, model_path) = model.split_once('/').expect("model is <package>/<file>");
        let host = hosts
            .entry(package.to_string())
            .or_insert_with(|| open_package(&samples.join(package)));
        if let Some(difference) = check_case(host, model_path, case) {
            failures.push(format!(
                "{}: {difference}",
                case["id"].as_str().unwrap_or("?")
            ));
        }
    }
    let checked = cases.len();
    assert!(checked >= 20, "only {checked} sample cases found");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
