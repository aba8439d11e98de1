//! Runs every view and named query of the sample packages through a started
//! `malloy-publisher` and compares the rows with the reference compiler's,
//! recorded in `malloy-samples/<package>/expected/` by
//! `scripts/record-sample-expectations.sh`.
//!
//! Rows are compared in order. Numbers match within a relative difference of
//! 1e-9, and everything else must be equal.

mod common;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

const PROJECT: &str = "home";
const RELATIVE_TOLERANCE: f64 = 1e-9;
/// Loading compiles every sample model in the sandbox; a debug build of the
/// server needs a while for that on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(180);

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../malloy-samples")
}

/// A server process that is killed when the test ends.
struct Server {
    child: Child,
    base_url: String,
    log_path: PathBuf,
    _root: tempfile::TempDir,
}

impl Server {
    /// Starts the server on a free loopback port with the samples as project
    /// `home`, and waits until every package has loaded.
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("no free loopback port")
            .port();
        // An empty server root, so no publisher.config.json is found and the
        // server falls back to the samples folder.
        let root = tempfile::tempdir().unwrap();
        let log_path = root.path().join("server.log");
        let log = File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_malloy-publisher"))
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(port.to_string())
            .arg("--server_root")
            .arg(root.path())
            .arg("--samples")
            .arg(samples_dir())
            .arg("--compiler_wasm")
            .arg(common::compiler_wasm())
            .env_remove("PUBLISHER_CONFIG_PATH")
            .stdout(Stdio::null())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("failed to start malloy-publisher");
        let server = Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log_path,
            _root: root,
        };
        server.wait_until_initialized();
        server
    }

    fn wait_until_initialized(&self) {
        let client = reqwest::blocking::Client::new();
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            let status = client
                .get(format!("{}/api/v0/status", self.base_url))
                .send()
                .and_then(|response| response.json::<Value>());
            if let Ok(status) = status {
                if status["initialized"] == json!(true) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "the server did not finish loading the samples within {START_TIMEOUT:?}; its log:\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn package_url(&self, package: &str) -> String {
        format!(
            "{}/api/v0/projects/{PROJECT}/packages/{package}",
            self.base_url
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One recorded expectation: a view of a source, or a named query.
struct Case {
    package: String,
    model: String,
    source: Option<String>,
    query: String,
    expected_path: PathBuf,
}

impl Case {
    fn label(&self) -> String {
        match &self.source {
            Some(source) => format!(
                "{}/{}: {source} -> {}",
                self.package, self.model, self.query
            ),
            None => format!("{}/{}: {}", self.package, self.model, self.query),
        }
    }
}

/// Reads the cases from the file names: `<model>.<source>.<view>.json` or
/// `<model>.<query>.json`. Malloy names contain no dots, so the number of
/// parts separates the two kinds. Notebook cell recordings,
/// `<notebook>.cell<N>.json`, are skipped.
// TODO: check the notebook cells too once the server runs them
// (GET .../notebooks/{path}/cells/{index}).
fn recorded_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut packages: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .expect("malloy-samples/ is missing")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("publisher.json").is_file())
        .collect();
    packages.sort();
    for package_dir in packages {
        let package = package_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Ok(entries) = std::fs::read_dir(package_dir.join("expected")) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let Some(stem) = path
                .file_name()
                .unwrap()
                .to_str()
                .and_then(|name| name.strip_suffix(".json"))
            else {
                continue;
            };
            let parts: Vec<&str> = stem.split('.').collect();
            if is_notebook_cell(&package_dir, &parts) {
                continue;
            }
            let (model, source, query) = match parts.as_slice() {
                [model, source, view] => (model, Some(source.to_string()), view),
                [model, query] => (model, None, query),
                _ => panic!(
                    "{}: expected <model>.<source>.<view>.json or <model>.<query>.json",
                    path.display()
                ),
            };
            cases.push(Case {
                package: package.clone(),
                model: format!("{model}.malloy"),
                source,
                query: query.to_string(),
                expected_path: path.clone(),
            });
        }
    }
    cases
}

/// Tells whether the parts of a recording's file name, split at dots, name
/// a cell of a notebook in the package: `<notebook>.cell<N>`.
fn is_notebook_cell(package_dir: &Path, parts: &[&str]) -> bool {
    let [notebook, cell] = parts else {
        return false;
    };
    let is_cell = cell
        .strip_prefix("cell")
        .is_some_and(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()));
    is_cell && package_dir.join(format!("{notebook}.malloynb")).is_file()
}

/// Converts a `Malloy.Result` to plain rows, as the reference prints them:
/// nested views become arrays of objects and dates `YYYY-MM-DD`.
fn plain_rows(result: &Value) -> Result<Vec<Value>, String> {
    let fields = result["schema"]["fields"]
        .as_array()
        .ok_or("the result has no schema.fields")?;
    let records = result["data"]["array_value"]
        .as_array()
        .ok_or("the result has no data.array_value")?;
    records
        .iter()
        .map(|record| plain_record(fields, record))
        .collect()
}

fn plain_record(fields: &[Value], cell: &Value) -> Result<Value, String> {
    let values = cell["record_value"]
        .as_array()
        .ok_or_else(|| format!("expected a record_cell, found {cell}"))?;
    if values.len() != fields.len() {
        return Err(format!(
            "a record has {} cells for {} fields",
            values.len(),
            fields.len()
        ));
    }
    let mut row = Map::new();
    for (field, value) in fields.iter().zip(values) {
        let name = field["name"].as_str().ok_or("a field has no name")?;
        row.insert(name.to_string(), plain_cell(&field["type"], value)?);
    }
    Ok(Value::Object(row))
}

fn plain_cell(field_type: &Value, cell: &Value) -> Result<Value, String> {
    let kind = cell["kind"].as_str().unwrap_or_default();
    Ok(match kind {
        "null_cell" => Value::Null,
        "string_cell" => cell["string_value"].clone(),
        // A bigint carries its exact digits in string_value.
        "number_cell" if cell.get("string_value").is_some() => cell["string_value"].clone(),
        "number_cell" => cell["number_value"].clone(),
        "boolean_cell" => cell["boolean_value"].clone(),
        "date_cell" => {
            let instant = cell["date_value"]
                .as_str()
                .ok_or("a date_cell has no date_value")?;
            Value::String(instant.get(..10).unwrap_or(instant).to_string())
        }
        "timestamp_cell" => cell["timestamp_value"].clone(),
        "json_cell" => {
            let text = cell["json_value"]
                .as_str()
                .ok_or("a json_cell has no json_value")?;
            serde_json::from_str(text)
                .map_err(|error| format!("invalid json_value {text:?}: {error}"))?
        }
        "array_cell" => {
            let element_type = &field_type["element_type"];
            let items = cell["array_value"]
                .as_array()
                .ok_or("an array_cell has no array_value")?;
            let converted: Result<Vec<Value>, String> = items
                .iter()
                .map(|item| match element_type["kind"].as_str() {
                    Some("record_type") => plain_record(
                        element_type["fields"].as_array().unwrap_or(&Vec::new()),
                        item,
                    ),
                    _ => plain_cell(element_type, item),
                })
                .collect();
            Value::Array(converted?)
        }
        "record_cell" => {
            plain_record(field_type["fields"].as_array().unwrap_or(&Vec::new()), cell)?
        }
        other => return Err(format!("unknown cell kind {other:?}")),
    })
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Returns the first difference between `expected` and `actual`, with its
/// path inside the rows.
fn first_difference(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            let (Some(want), Some(got)) = (as_number(expected), as_number(actual)) else {
                return Some(format!("{path}: expected {expected}, got {actual}"));
            };
            let scale = want.abs().max(got.abs());
            if want == got || (want - got).abs() <= RELATIVE_TOLERANCE * scale {
                None
            } else {
                Some(format!("{path}: expected {want}, got {got}"))
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Some(format!(
                    "{path}: expected {} rows, got {}",
                    want.len(),
                    got.len()
                ));
            }
            want.iter()
                .zip(got)
                .enumerate()
                .find_map(|(index, (want, got))| {
                    first_difference(want, got, &format!("{path}[{index}]"))
                })
        }
        (Value::Object(want), Value::Object(got)) => {
            let want_keys: Vec<&String> = want.keys().collect();
            let got_keys: Vec<&String> = got.keys().collect();
            if want_keys != got_keys {
                return Some(format!(
                    "{path}: expected columns {want_keys:?}, got {got_keys:?}"
                ));
            }
            want.iter().find_map(|(key, value)| {
                first_difference(value, &got[key], &format!("{path}.{key}"))
            })
        }
        // A Malloy.Result carries NaN and infinities as null.
        (Value::String(text), Value::Null)
            if ["NaN", "Infinity", "-Infinity"].contains(&text.as_str()) =>
        {
            None
        }
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// Runs one case and returns why it failed, if it did.
fn check_case(client: &reqwest::blocking::Client, server: &Server, case: &Case) -> Option<String> {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&case.expected_path).unwrap())
            .unwrap_or_else(|error| {
                panic!(
                    "{} is not valid JSON: {error}",
                    case.expected_path.display()
                )
            });

    let body = match &case.source {
        Some(source) => json!({"sourceName": source, "queryName": case.query}),
        None => json!({"queryName": case.query}),
    };
    let url = format!(
        "{}/models/{}/query",
        server.package_url(&case.package),
        case.model
    );
    let response = match client.post(&url).json(&body).send() {
        Ok(response) => response,
        Err(error) => return Some(format!("the request failed: {error}")),
    };
    let status = response.status();
    let text = response.text().unwrap_or_default();
    if !status.is_success() {
        return Some(format!("status {status}: {text}"));
    }

    let envelope: Value = match serde_json::from_str(&text) {
        Ok(envelope) => envelope,
        Err(error) => return Some(format!("the response is not JSON ({error}): {text}")),
    };
    let Some(result_text) = envelope["result"].as_str() else {
        return Some(format!("the response has no result string: {text}"));
    };
    let rows = match serde_json::from_str::<Value>(result_text)
        .map_err(|error| format!("result is not JSON: {error}"))
        .and_then(|result| plain_rows(&result))
    {
        Ok(rows) => rows,
        Err(message) => return Some(message),
    };
    first_difference(&expected, &Value::Array(rows), "rows")
}

#[test]
fn sample_views_match_reference() {
    let generator = Command::new(env!("CARGO_BIN_EXE_generate-samples"))
        .arg("--root")
        .arg(samples_dir())
        .status()
        .expect("failed to run generate-samples");
    assert!(generator.success(), "generate-samples failed");

    let cases = recorded_cases();
    assert!(
        !cases.is_empty(),
        "no expected/*.json files under {}",
        samples_dir().display()
    );

    let server = Server::start();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    // Every view and named query that the server lists needs a recording,
    // or a new view would go untested.
    let mut unrecorded = Vec::new();
    let mut models: Vec<(&str, &str)> = cases
        .iter()
        .map(|case| (case.package.as_str(), case.model.as_str()))
        .collect();
    models.dedup();
    for (package, model) in &models {
        let url = format!("{}/models/{model}", server.package_url(package));
        let response = client.get(&url).send().expect("GET model failed");
        let status = response.status();
        let listing: Value = response.json().unwrap_or(Value::Null);
        if !status.is_success() {
            unrecorded.push(format!(
                "{package}/{model}: GET model returned {status}: {listing}"
            ));
            continue;
        }
        let recorded = |source: Option<&str>, query: &str| {
            cases.iter().any(|case| {
                case.package == *package
                    && case.model == *model
                    && case.source.as_deref() == source
                    && case.query == query
            })
        };
        for source in listing["sources"].as_array().into_iter().flatten() {
            let source_name = source["name"].as_str().unwrap_or_default();
            for view in source["views"].as_array().into_iter().flatten() {
                let view_name = view["name"].as_str().unwrap_or_default();
                if !recorded(Some(source_name), view_name) {
                    unrecorded.push(format!("{package}/{model}: {source_name} -> {view_name}"));
                }
            }
        }
        for query in listing["queries"].as_array().into_iter().flatten() {
            let query_name = query["name"].as_str().unwrap_or_default();
            if !recorded(None, query_name) {
                unrecorded.push(format!("{package}/{model}: query {query_name}"));
            }
        }
    }

    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            check_case(&client, &server, case)
                .map(|reason| format!("{}\n    {reason}", case.label()))
        })
        .collect();

    // Print both lists, because the first failed assert hides the second.
    for line in unrecorded.iter().chain(&failures) {
        eprintln!("{line}");
    }
    assert!(
        unrecorded.is_empty(),
        "the server lists views without a recording (run scripts/record-sample-expectations.sh):\n  {}",
        unrecorded.join("\n  ")
    );
    assert!(
        failures.is_empty(),
        "{} of {} sample views differ from the reference:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[test]
fn difference_finds_numbers_and_columns() {
    let rows = json!([{"name": "a", "n": 1.0, "nest": [{"x": "2024-01-01"}]}]);
    assert_eq!(first_difference(&rows, &rows, "rows"), None);

    let close = json!([{"name": "a", "n": 1.0 + 1e-12, "nest": [{"x": "2024-01-01"}]}]);
    assert_eq!(first_difference(&rows, &close, "rows"), None);

    let far = json!([{"name": "a", "n": 1.001, "nest": [{"x": "2024-01-01"}]}]);
    assert_eq!(
        first_difference(&rows, &far, "rows").as_deref(),
        Some("rows[0].n: expected 1, got 1.001")
    );

    let nested = json!([{"name": "a", "n": 1.0, "nest": [{"x": "2024-01-02"}]}]);
    assert_eq!(
        first_difference(&rows, &nested, "rows").as_deref(),
        Some("rows[0].nest[0].x: expected \"2024-01-01\", got \"2024-01-02\"")
    );

    let renamed = json!([{"label": "a", "n": 1.0, "nest": [{"x": "2024-01-01"}]}]);
    assert!(first_difference(&rows, &renamed, "rows")
        .unwrap()
        .contains("expected columns"));

    assert!(first_difference(&json!([1]), &json!([null]), "rows").is_some());
    assert!(first_difference(&json!([1]), &json!([1, 2]), "rows").is_some());
}

#[test]
fn plain_rows_convert_cells() {
    let result = json!({
        "schema": {"fields": [
            {"kind": "dimension", "name": "day", "type": {"kind": "date_type"}},
            {"kind": "dimension", "name": "at", "type": {"kind": "timestamp_type"}},
            {"kind": "dimension", "name": "n", "type": {"kind": "number_type"}},
            {"kind": "dimension", "name": "missing", "type": {"kind": "string_type"}},
            {"kind": "dimension", "name": "nest", "type": {"kind": "array_type", "element_type": {
                "kind": "record_type", "fields": [{"name": "ok", "type": {"kind": "boolean_type"}}]}}}
        ]},
        "data": {"kind": "array_cell", "array_value": [
            {"kind": "record_cell", "record_value": [
                {"kind": "date_cell", "date_value": "2024-08-05T00:00:00.000Z"},
                {"kind": "timestamp_cell", "timestamp_value": "2019-01-01T00:00:00.000Z"},
                {"kind": "number_cell", "number_value": 12345678901234568i64, "string_value": "12345678901234567"},
                {"kind": "null_cell"},
                {"kind": "array_cell", "array_value": [
                    {"kind": "record_cell", "record_value": [{"kind": "boolean_cell", "boolean_value": true}]}
                ]}
            ]}
        ]}
    });
    let rows = plain_rows(&result).unwrap();
    assert_eq!(rows[0]["day"], json!("2024-08-05"));
    assert_eq!(rows[0]["at"], json!("2019-01-01T00:00:00.000Z"));
    assert_eq!(rows[0]["n"], json!("12345678901234567"));
    assert_eq!(rows[0]["missing"], Value::Null);
    assert_eq!(rows[0]["nest"], json!([{"ok": true}]));
}

#[test]
fn notebook_cells_are_told_apart() {
    let package = tempfile::tempdir().unwrap();
    std::fs::write(package.path().join("tour.malloynb"), ">>>malloy\n").unwrap();
    assert!(is_notebook_cell(package.path(), &["tour", "cell3"]));
    assert!(!is_notebook_cell(package.path(), &["tour", "cell"]));
    assert!(!is_notebook_cell(package.path(), &["tour", "cellar"]));
    assert!(!is_notebook_cell(package.path(), &["other", "cell3"]));
    assert!(!is_notebook_cell(package.path(), &["tour", "src", "cell3"]));
}

#[test]
fn recorded_cases_cover_every_package() {
    let cases = recorded_cases();
    for package in ["faa", "ecommerce", "movies"] {
        assert!(
            cases.iter().any(|case| case.package == package),
            "no recorded views for the {package} package"
        );
    }
    assert!(
        cases.iter().all(|case| !case.query.starts_with("cell")),
        "a notebook cell recording was read as a view"
    );
}
