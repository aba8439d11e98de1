//! The notebook routes through a real server on a loopback port: the list,
//! the raw (2026) and executed (October-2025) notebook, single cells, their
//! errors, and every recorded notebook cell of the sample packages compared
//! with the reference compiler's rows.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use malloy_publisher::catalog::Catalog;
use malloy_publisher::config::{PackageConfig, PackageLocation, ProjectConfig, ServerConfig};
use malloy_publisher::sandbox::{Sandbox, SandboxLimits};
use malloy_publisher::server::{self, AppState};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

const RELATIVE_TOLERANCE: f64 = 1e-9;

const TOUR: &str = ">>>markdown
# Items tour

Each Malloy cell sees the cells above it.
>>>malloy
import \"items.malloy\"
>>>malloy
run: items -> by_price
>>>markdown
A source defined in the notebook.
>>>malloy
source: cheap is items extend { where: price < 5 }
run: cheap -> { aggregate: item_count }
>>>malloy
query: cheap_total is cheap -> { aggregate: item_count }
>>>malloy
run: cheap_total
";

const NESTED: &str = ">>>malloy
import { goods is items } from \"../items.malloy\"
run: goods -> { group_by: name; order_by: name; limit: 1 }
";

const BROKEN: &str = ">>>markdown
## Broken
>>>malloy
import \"items.malloy\"
>>>malloy
run: items -> {
  group_by: nope
}
";

const SQL_CELL: &str = ">>>markdown
A
>>>sql
select 1
";

struct TestServer {
    base: String,
    client: Client,
    _runtime: tokio::runtime::Runtime,
    _folders: Vec<tempfile::TempDir>,
}

impl TestServer {
    fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap();
        let status = response.status();
        let text = response.text().unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{path}: {status} {text:?} is not JSON: {error}"));
        (status, body)
    }
}

fn local(name: &str, folder: PathBuf) -> PackageConfig {
    PackageConfig {
        name: name.to_string(),
        location: PackageLocation::Local(folder),
    }
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../malloy-samples")
}

/// Starts one server for the whole file: project `home` with the test package
/// `tour` and the sample packages that have notebooks.
fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let tour = common::package(
            "tour",
            &[
                ("items.malloy", common::ITEMS_MODEL),
                ("tour.malloynb", TOUR),
                ("sub/nested.malloynb", NESTED),
                ("broken.malloynb", BROKEN),
                ("sql.malloynb", SQL_CELL),
            ],
        );
        let mut packages = vec![local("tour", tour.path().to_path_buf())];
        for sample in ["ecommerce", "movies"] {
            packages.push(local(sample, samples_dir().join(sample)));
        }
        let config = ServerConfig {
            projects: vec![ProjectConfig {
                name: "home".into(),
                readme: String::new(),
                connections: vec![],
                packages,
            }],
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = Sandbox::load(&common::compiler_wasm(), SandboxLimits::default()).unwrap();
        let state = AppState {
            catalog: Arc::new(Catalog::new(config, sandbox)),
            default_row_limit: 1000,
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        runtime.spawn(server::serve(
            listener,
            server::app(state),
            std::future::pending(),
        ));
        TestServer {
            base: format!("http://{address}/api/v0"),
            client: Client::builder()
                .timeout(std::time::Duration::from_secs(300))
                .build()
                .unwrap(),
            _runtime: runtime,
            _folders: vec![tour],
        }
    })
}

const TOUR_ENV: &str = "/environments/home/packages/tour/notebooks";
const TOUR_PROJECT: &str = "/projects/home/packages/tour/notebooks";

fn source_names(sources: &Value) -> Vec<String> {
    sources
        .as_array()
        .unwrap_or_else(|| panic!("newSources is not an array: {sources}"))
        .iter()
        .map(|text| {
            let info: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
            assert_eq!(info["kind"], "source", "{info}");
            info["name"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Converts a `Malloy.Result` JSON string to plain rows: objects by field
/// name, dates as `YYYY-MM-DD`, nested results as arrays of objects.
fn plain_rows(result_text: &str) -> Vec<Value> {
    let result: Value = serde_json::from_str(result_text).unwrap();
    let fields = result["schema"]["fields"].as_array().unwrap();
    result["data"]["array_value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| plain_record(fields, record))
        .collect()
}

fn plain_record(fields: &[Value], record: &Value) -> Value {
    let cells = record["record_value"].as_array().unwrap();
    assert_eq!(cells.len(), fields.len(), "{record}");
    let mut row = Map::new();
    for (field, cell) in fields.iter().zip(cells) {
        row.insert(
            field["name"].as_str().unwrap().to_string(),
            plain_cell(&field["type"], cell),
        );
    }
    Value::Object(row)
}

fn plain_cell(field_type: &Value, cell: &Value) -> Value {
    match cell["kind"].as_str().unwrap() {
        "null_cell" => Value::Null,
        "string_cell" => cell["string_value"].clone(),
        "number_cell" if cell.get("string_value").is_some() => cell["string_value"].clone(),
        "number_cell" => cell["number_value"].clone(),
        "boolean_cell" => cell["boolean_value"].clone(),
        "date_cell" => json!(&cell["date_value"].as_str().unwrap()[..10]),
        "timestamp_cell" => cell["timestamp_value"].clone(),
        "json_cell" => serde_json::from_str(cell["json_value"].as_str().unwrap()).unwrap(),
        "record_cell" => plain_record(field_type["fields"].as_array().unwrap(), cell),
        "array_cell" => {
            let element = &field_type["element_type"];
            Value::Array(
                cell["array_value"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|item| plain_cell(element, item))
                    .collect(),
            )
        }
        other => panic!("unexpected cell kind {other}: {cell}"),
    }
}

/// Returns where `actual` differs from `expected`, comparing numbers with a
/// relative tolerance.
fn first_difference(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Number(want), Value::Number(got)) => {
            let (want, got) = (want.as_f64().unwrap(), got.as_f64().unwrap());
            let scale = want.abs().max(got.abs()).max(1.0);
            ((want - got).abs() > RELATIVE_TOLERANCE * scale)
                .then(|| format!("{at}: expected {want}, got {got}"))
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                return Some(format!(
                    "{at}: expected {} items, got {}",
                    want.len(),
                    got.len()
                ));
            }
            want.iter()
                .zip(got)
                .enumerate()
                .find_map(|(index, (w, g))| first_difference(w, g, &format!("{at}[{index}]")))
        }
        (Value::Object(want), Value::Object(got)) => {
            if want.keys().ne(got.keys()) {
                return Some(format!(
                    "{at}: expected columns {:?}, got {:?}",
                    want.keys().collect::<Vec<_>>(),
                    got.keys().collect::<Vec<_>>()
                ));
            }
            want.iter()
                .find_map(|(key, w)| first_difference(w, &got[key], &format!("{at}.{key}")))
        }
        _ => (expected != actual).then(|| format!("{at}: expected {expected}, got {actual}")),
    }
}

#[test]
fn list_reports_titles_and_errors() {
    let (status, body) = server().get(TOUR_ENV);
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body.as_array().unwrap();
    let by_path = |path: &str| {
        items
            .iter()
            .find(|item| item["path"] == path)
            .unwrap_or_else(|| panic!("{path} is not listed: {body}"))
    };
    let tour = by_path("tour.malloynb");
    assert_eq!(tour["title"], "Items tour");
    assert_eq!(tour["environmentName"], "home");
    assert_eq!(tour["packageName"], "tour");
    assert!(tour.get("error").is_none(), "{tour}");
    assert!(by_path("sub/nested.malloynb").get("error").is_none());

    let broken = by_path("broken.malloynb")["error"].as_str().unwrap();
    assert!(
        broken.starts_with("Error(s) compiling notebook cell 2:\nline 2: "),
        "{broken}"
    );
    assert!(broken.contains("nope"), "{broken}");
    assert!(
        broken.contains("\n  |   group_by: nope\n  |             ^"),
        "{broken}"
    );

    let sql = by_path("sql.malloynb")["error"].as_str().unwrap();
    assert!(
        sql.contains("unsupported notebook cell type '>>>sql'"),
        "{sql}"
    );
}

#[test]
fn raw_notebook_executes_nothing() {
    let (status, body) = server().get(&format!("{TOUR_ENV}/tour.malloynb"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "notebook");
    assert_eq!(body["packageName"], "tour");
    assert_eq!(body["modelPath"], "tour.malloynb");
    assert_eq!(body["autorun"], true);
    let cells = body["notebookCells"].as_array().unwrap();
    let types: Vec<&str> = cells
        .iter()
        .map(|cell| cell["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["markdown", "code", "code", "markdown", "code", "code", "code"]
    );
    assert_eq!(cells[1]["text"], "import \"items.malloy\"");
    assert_eq!(source_names(&cells[1]["newSources"]), ["items"]);
    assert_eq!(source_names(&cells[2]["newSources"]), Vec::<String>::new());
    assert_eq!(source_names(&cells[4]["newSources"]), ["cheap"]);
    assert_eq!(source_names(&cells[5]["newSources"]), ["cheap_total"]);
    assert!(cells.iter().all(|cell| cell.get("result").is_none()));

    // The notebook's model contains the sources it defines itself.
    let model_info: Value = serde_json::from_str(body["modelInfo"].as_str().unwrap()).unwrap();
    let names: Vec<&str> = model_info["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cheap", "cheap_total"]);
    assert_eq!(body["queries"][0]["name"], "cheap_total");
}

#[test]
fn executed_notebook_has_results() {
    let (status, body) = server().get(&format!("{TOUR_PROJECT}/tour.malloynb"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let cells = body["notebookCells"].as_array().unwrap();
    assert!(cells[1].get("result").is_none(), "{}", cells[1]);
    let by_price = plain_rows(cells[2]["result"].as_str().unwrap());
    assert_eq!(
        by_price,
        [
            json!({"price": 3, "item_count": 1}),
            json!({"price": 5, "item_count": 2})
        ]
    );
    let cheap = plain_rows(cells[4]["result"].as_str().unwrap());
    assert_eq!(cheap, [json!({"item_count": 1})]);
    assert!(cells[5].get("result").is_none(), "{}", cells[5]);
    assert_eq!(cells[6]["queryName"], "cheap_total");
    assert_eq!(
        plain_rows(cells[6]["result"].as_str().unwrap()),
        [json!({"item_count": 1})]
    );
}

#[test]
fn cell_route_runs_one_cell() {
    let server = server();
    let (status, body) = server.get(&format!("{TOUR_ENV}/tour.malloynb/cells/2"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "code");
    assert_eq!(body["text"], "run: items -> by_price");
    assert_eq!(body["newSources"], json!([]));
    let rows = plain_rows(body["result"].as_str().unwrap());
    assert_eq!(rows.len(), 2);
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    assert!(
        result["sql"].as_str().unwrap().contains("items.csv"),
        "{result}"
    );

    let (status, body) = server.get(&format!("{TOUR_PROJECT}/tour.malloynb/cells/0"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"type": "markdown", "text": "# Items tour\n\nEach Malloy cell sees the cells above it."})
    );

    // A cell that only imports has new sources and no result.
    let (_, body) = server.get(&format!("{TOUR_ENV}/tour.malloynb/cells/1"));
    assert_eq!(source_names(&body["newSources"]), ["items"]);
    assert!(body.get("result").is_none(), "{body}");
}

#[test]
fn nested_notebook_resolves_imports_from_its_folder() {
    let (status, body) = server().get(&format!("{TOUR_ENV}/sub%2Fnested.malloynb/cells/0"));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(source_names(&body["newSources"]), ["goods"]);
    assert_eq!(
        plain_rows(body["result"].as_str().unwrap()),
        [json!({"name": "apple"})]
    );
}

#[test]
fn cell_index_errors() {
    let server = server();
    let (status, body) = server.get(&format!("{TOUR_ENV}/tour.malloynb/cells/9"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": 400, "message": "Cell index 9 out of range (0-6)"})
    );
    let (status, body) = server.get(&format!("{TOUR_ENV}/tour.malloynb/cells/-1"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Cell index -1 out of range (0-6)");
    let (status, body) = server.get(&format!("{TOUR_ENV}/tour.malloynb/cells/two"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "Invalid cell index"}));
    let (status, body) = server.get(&format!(
        "{TOUR_ENV}/tour.malloynb/cells/2?givens=%7Bnot%20json"
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"error": "Invalid givens: must be valid JSON"}));
    let (status, _) = server.get(&format!("{TOUR_ENV}/tour.malloynb/cells/2?givens=%7B%7D"));
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn missing_and_broken_notebooks() {
    let server = server();
    let (status, body) = server.get(&format!("{TOUR_ENV}/nope.malloynb"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "nope.malloynb does not exist");

    for path in ["broken.malloynb", "broken.malloynb/cells/1"] {
        let (status, body) = server.get(&format!("{TOUR_ENV}/{path}"));
        assert_eq!(status, StatusCode::FAILED_DEPENDENCY, "{path}: {body}");
        assert_eq!(body["code"], 424);
        assert!(
            body["message"].as_str().unwrap().contains("cell 2"),
            "{body}"
        );
    }

    let (status, body) = server.get(&format!("{TOUR_ENV}/tour.malloynb?versionId=v1"));
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
}

/// Every `<notebook>.cell<N>.json` recorded from the reference compiler in
/// the sample packages matches the cell's rows.
#[test]
fn sample_notebook_cells_match_reference() {
    let server = server();
    let mut checked = 0;
    let mut failures = Vec::new();
    for package in ["ecommerce", "movies"] {
        let expected_dir = samples_dir().join(package).join("expected");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&expected_dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_str().unwrap();
            let Some((notebook, index)) = name
                .strip_suffix(".json")
                .and_then(|stem| stem.rsplit_once(".cell"))
            else {
                continue;
            };
            if !samples_dir()
                .join(package)
                .join(format!("{notebook}.malloynb"))
                .is_file()
            {
                continue;
            }
            let expected: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let url = format!(
                "/environments/home/packages/{package}/notebooks/{notebook}.malloynb/cells/{index}"
            );
            let (status, body) = server.get(&url);
            checked += 1;
            if status != StatusCode::OK {
                failures.push(format!("{url}: {status} {body}"));
                continue;
            }
            let Some(result) = body["result"].as_str() else {
                failures.push(format!("{url}: no result in {body}"));
                continue;
            };
            let actual = Value::Array(plain_rows(result));
            if let Some(difference) = first_difference(&expected, &actual, "rows") {
                failures.push(format!("{url}: {difference}"));
            }
        }
    }
    assert!(checked >= 8, "only {checked} recorded notebook cells found");
    assert!(
        failures.is_empty(),
        "{} of {checked} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sample_notebooks_list_without_errors() {
    for package in ["ecommerce", "movies"] {
        let (status, body) = server().get(&format!("/projects/home/packages/{package}/notebooks"));
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body.as_array().unwrap();
        assert!(!items.is_empty(), "{package} lists no notebook");
        for item in items {
            assert!(item.get("error").is_none(), "{item}");
            assert!(item["title"].is_string(), "{item}");
        }
    }
}
