//! The HTTP API, through a real server on a loopback port: a temporary
//! project of small packages (one of them broken in each way a package can
//! be) plus the conformance package.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use malloy_publisher::catalog::Catalog;
use malloy_publisher::config::{PackageConfig, PackageLocation, ProjectConfig, ServerConfig};
use malloy_publisher::sandbox::{Sandbox, SandboxLimits};
use malloy_publisher::server::{self, AppState};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SHOP_MODEL: &str = "source: items is duckdb.table('data/items.csv') extend {\n  \
    measure: item_count is count()\n  \
    view: by_price is { group_by: price; aggregate: item_count; order_by: price }\n}\n\
    query: top_items is items -> { group_by: name; order_by: name; limit: 2 }\n";

const BROKEN_MODEL: &str = "source: items is duckdb.table('data/items.csv') extend {\n  \
    dimension: bad is nope + 1\n}\n";

const ESCAPE_MODEL: &str = "source: secrets is duckdb.sql(\"select * from '/etc/passwd'\")\n";

struct TestServer {
    base: String,
    client: Client,
    _runtime: tokio::runtime::Runtime,
    _folders: Vec<tempfile::TempDir>,
}

impl TestServer {
    fn start(
        config: ServerConfig,
        limits: SandboxLimits,
        folders: Vec<tempfile::TempDir>,
    ) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = Sandbox::load(&common::compiler_wasm(), limits).unwrap();
        let catalog = Arc::new(Catalog::new(config, sandbox));
        let state = AppState {
            catalog,
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
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
            _runtime: runtime,
            _folders: folders,
        }
    }

    fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap();
        read(response)
    }

    fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap();
        read(response)
    }
}

fn read(response: reqwest::blocking::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{status} {content_type}: {text}"
    );
    (status, serde_json::from_str(&text).unwrap())
}

fn local(name: &str, folder: PathBuf) -> PackageConfig {
    PackageConfig {
        name: name.to_string(),
        location: PackageLocation::Local(folder),
    }
}

/// One server for the whole file: project `shop` with packages `shop`,
/// `escape` (a model reads /etc/passwd), `unlisted` (no publisher.json),
/// and project `conformance` with the conformance package.
fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let shop = common::package(
            "shop",
            &[
                ("items.malloy", SHOP_MODEL),
                ("models/items.malloy", SHOP_MODEL),
                ("broken.malloy", BROKEN_MODEL),
                ("tour.malloynb", ">>>markdown\n# Tour\n"),
            ],
        );
        let escape = common::package("escape", &[("escape.malloy", ESCAPE_MODEL)]);
        let unlisted = tempfile::tempdir().unwrap();
        let config = ServerConfig {
            projects: vec![
                ProjectConfig {
                    name: "shop".into(),
                    readme: "# Shop\n".into(),
                    connections: vec![],
                    packages: vec![
                        local("shop", shop.path().to_path_buf()),
                        local("escape", escape.path().to_path_buf()),
                        local("unlisted", unlisted.path().to_path_buf()),
                    ],
                },
                ProjectConfig {
                    name: "conformance".into(),
                    readme: String::new(),
                    connections: vec![],
                    packages: vec![local(
                        "conformance",
                        PathBuf::from("/work/shared/conformance/package"),
                    )],
                },
            ],
        };
        TestServer::start(
            config,
            SandboxLimits::default(),
            vec![shop, escape, unlisted],
        )
    })
}

fn error_body(status: StatusCode, body: &Value) -> String {
    assert_eq!(body["code"], json!(status.as_u16()), "{body}");
    body["message"].as_str().unwrap().to_string()
}

/// Parses the `result` string of a query reply and returns its rows as
/// plain values (cells with their payload only).
fn result_rows(body: &Value) -> Vec<Vec<Value>> {
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    result["data"]["array_value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            record["record_value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|cell| {
                    let payload = cell
                        .as_object()
                        .unwrap()
                        .iter()
                        .find(|(key, _)| key.as_str() != "kind")
                        .map(|(_, value)| value.clone());
                    payload.unwrap_or(Value::Null)
                })
                .collect()
        })
        .collect()
}

#[test]
fn status_lists_projects_once_loaded() {
    let server = server();
    server.get("/projects");
    let (status, body) = server.get("/status");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["initialized"], true);
    assert_eq!(body["operationalState"], "serving");
    // The test catalog has default settings, which allow changes.
    assert_eq!(body["frozenConfig"], false);
    assert_eq!(body["theme"], json!({}));
    assert_eq!(body["projects"][0]["name"], "shop");
    assert_eq!(body["environments"][1]["name"], "conformance");
    let load_errors = body["loadErrors"].as_array().unwrap();
    assert_eq!(load_errors.len(), 1, "{body}");
    assert_eq!(load_errors[0]["packageName"], "unlisted");
}

#[test]
fn both_url_families_list_projects() {
    let server = server();
    for family in ["projects", "environments"] {
        let (status, body) = server.get(&format!("/{family}"));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body[0]["name"], "shop");
        assert_eq!(body[0]["readme"], "# Shop\n");
        assert_eq!(body[0]["resource"], format!("/api/v0/{family}/shop"));
        let package = &body[0]["packages"][0];
        assert_eq!(package["name"], "shop");
        assert_eq!(package["projectName"], "shop");
        assert_eq!(package["environmentName"], "shop");
        assert_eq!(package["description"], "The shop test package");
    }
    let (status, body) = server.get("/environments/shop");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "shop");
    assert_eq!(body["packages"].as_array().unwrap().len(), 3);
}

#[test]
fn packages_list_and_get() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages");
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|package| package["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop", "escape", "unlisted"]);

    let (status, body) = server.get("/environments/shop/packages/shop");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "shop");
    assert_eq!(body["description"], "The shop test package");
    assert_eq!(body["resource"], "/api/v0/environments/shop/packages/shop");

    // A package that fails to load still answers, with the reason.
    let (status, body) = server.get("/projects/shop/packages/unlisted");
    assert_eq!(status, StatusCode::OK);
    let description = body["description"].as_str().unwrap();
    assert!(
        description.starts_with("Unable to load package"),
        "{description}"
    );
    let (status, body) = server.get("/projects/shop/packages/unlisted/models");
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    error_body(status, &body);
}

#[test]
fn unknown_names_are_404() {
    let server = server();
    for path in [
        "/projects/nope",
        "/projects/nope/packages",
        "/projects/shop/packages/nope",
        "/environments/shop/packages/nope/models",
        "/projects/shop/packages/shop/models/nope.malloy",
    ] {
        let (status, body) = server.get(path);
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let message = error_body(status, &body);
        assert!(!message.contains("/tmp"), "{path}: {message}");
    }
    let (status, body) = server.get("/projects/shop/packages/shop/models/nope.malloy");
    assert_eq!(error_body(status, &body), "nope.malloy does not exist");
    let (status, body) = server.get("/projects/shop/packages/shop/models/tour.malloynb");
    assert_eq!(error_body(status, &body), "tour.malloynb is a notebook");
    let (status, body) = server.get("/no/such/route");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error_body(status, &body),
        "Unknown API endpoint: GET /api/v0/no/such/route."
    );
}

#[test]
fn models_list_marks_broken_models() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages/shop/models");
    assert_eq!(status, StatusCode::OK);
    let models = body.as_array().unwrap();
    let paths: Vec<&str> = models
        .iter()
        .map(|model| model["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["broken.malloy", "items.malloy", "models/items.malloy"]
    );
    let broken = &models[0];
    assert_eq!(broken["packageName"], "shop");
    assert_eq!(broken["projectName"], "shop");
    let error = broken["error"].as_str().unwrap();
    assert!(error.starts_with("Error(s) compiling model:"), "{error}");
    assert!(error.contains("line 2: "), "{error}");
    assert!(error.contains("nope"), "{error}");
    assert!(models[1].get("error").is_none());

    let (status, body) = server.get("/projects/shop/packages/shop/notebooks");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["path"], "tour.malloynb");
}

#[test]
fn compiled_model_has_the_wire_shape() {
    let server = server();
    let (status, body) = server.get("/environments/shop/packages/shop/models/items.malloy");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "source");
    assert_eq!(body["packageName"], "shop");
    assert_eq!(body["modelPath"], "items.malloy");
    assert!(body["malloyVersion"].is_string());
    assert_eq!(body["dataStyles"], "{}");
    let model_def: Value = serde_json::from_str(body["modelDef"].as_str().unwrap()).unwrap();
    assert_eq!(model_def["imports"], json!([]));
    let model_info: Value = serde_json::from_str(body["modelInfo"].as_str().unwrap()).unwrap();
    assert!(model_info["entries"].is_array());
    let source_infos = body["sourceInfos"].as_array().unwrap();
    let first: Value = serde_json::from_str(source_infos[0].as_str().unwrap()).unwrap();
    assert_eq!(first["kind"], "source");
    assert_eq!(first["name"], "items");
    assert_eq!(body["sources"][0]["name"], "items");
    assert_eq!(body["sources"][0]["views"], json!([{"name": "by_price"}]));
    assert_eq!(body["queries"][0]["name"], "top_items");
}

#[test]
fn model_paths_may_be_encoded_or_raw() {
    let server = server();
    for path in [
        "models%2Fitems.malloy",
        "models/items.malloy",
        "models%2Fitems%2Emalloy",
    ] {
        let (status, body) = server.get(&format!("/projects/shop/packages/shop/models/{path}"));
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["modelPath"], "models/items.malloy");
        let (status, body) = server.post(
            &format!("/projects/shop/packages/shop/models/{path}/query"),
            json!({"sourceName": "items", "queryName": "by_price"}),
        );
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(
            body["resource"],
            "/api/v0/projects/shop/packages/shop/models/models/items.malloy/query"
        );
    }
}

#[test]
fn query_by_view_name() {
    let server = server();
    let (status, body) = server.post(
        "/environments/shop/packages/shop/models/items.malloy/query",
        json!({"sourceName": "items", "queryName": "by_price"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        result_rows(&body),
        vec![vec![json!(3), json!(1)], vec![json!(5), json!(2)]]
    );
    let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    assert_eq!(result["connection_name"], "duckdb");
    assert!(result["sql"].as_str().unwrap().contains("items.csv"));
    assert_eq!(result["schema"]["fields"][0]["name"], "price");
}

#[test]
fn query_by_named_query() {
    let server = server();
    let (status, body) = server.post(
        "/projects/shop/packages/shop/models/items.malloy/query",
        json!({"queryName": "top_items"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        result_rows(&body),
        vec![vec![json!("apple")], vec![json!("pear")]]
    );
}

#[test]
fn query_by_text() {
    let server = server();
    let (status, body) = server.post(
        "/projects/shop/packages/shop/models/items.malloy/query",
        json!({"query": "run: items -> { group_by: name; order_by: name desc }"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        result_rows(&body),
        vec![
            vec![json!("plum")],
            vec![json!("pear")],
            vec![json!("apple")]
        ]
    );
    assert_eq!(body["queryRowLimit"], 1000);

    let (status, body) = server.post(
        "/projects/shop/packages/shop/models/items.malloy/query",
        json!({"query": "run: items -> { group_by: name; order_by: name }", "compactJson": true}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        rows,
        json!([{"name": "apple"}, {"name": "pear"}, {"name": "plum"}])
    );
}

#[test]
fn query_errors_are_400() {
    let server = server();
    let path = "/projects/shop/packages/shop/models/items.malloy/query";
    let (status, body) = server.post(path, json!({"query": "run: items -> { group_by: nope }"}));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = error_body(status, &body);
    assert!(message.contains("nope"), "{message}");

    // Query text is compiled in restricted mode: no raw SQL.
    let (status, body) = server.post(
        path,
        json!({"query": "run: duckdb.sql(\"select * from '/etc/passwd'\") -> { select: * }"}),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    error_body(status, &body);

    for request in [
        json!({}),
        json!({"query": "run: items -> by_price", "sourceName": "items"}),
    ] {
        let (status, body) = server.post(path, request);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error_body(status, &body).starts_with("Invalid query request."));
    }
    let response = server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    let (status, body) = read(response);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_body(status, &body).starts_with("Invalid JSON body"));
}

#[test]
fn broken_model_is_424() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages/shop/models/broken.malloy");
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    let message = error_body(status, &body);
    assert!(message.contains("line 2: "), "{message}");
    assert!(message.contains("  | "), "{message}");
    let (status, body) = server.post(
        "/projects/shop/packages/shop/models/broken.malloy/query",
        json!({"query": "run: items -> { group_by: name }"}),
    );
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    error_body(status, &body);
}

#[test]
fn version_ids_are_501() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages/shop/models?versionId=v1");
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(error_body(status, &body), "Version IDs not implemented.");
    let (status, body) = server.post(
        "/projects/shop/packages/shop/models/items.malloy/query",
        json!({"queryName": "top_items", "versionId": "v1"}),
    );
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(error_body(status, &body), "Version IDs not implemented.");
}

#[test]
fn reading_etc_passwd_fails_and_others_serve() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages/escape/models/escape.malloy");
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    let message = error_body(status, &body);
    assert!(message.contains("/etc/passwd"), "{message}");
    assert!(message.contains("outside the package folder"), "{message}");
    assert!(!message.contains("root:"), "{message}");

    // The other packages keep serving.
    let (status, body) = server.post(
        "/projects/shop/packages/shop/models/items.malloy/query",
        json!({"queryName": "top_items"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[test]
fn query_results_has_the_april_2025_shape() {
    let server = server();
    let (status, body) = server.get(
        "/projects/shop/packages/shop/queryResults/items.malloy?sourceName=items&queryName=by_price",
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dataStyles"], "{}");
    assert!(body["modelDef"].is_string());
    let query_result: Value = serde_json::from_str(body["queryResult"].as_str().unwrap()).unwrap();
    assert_eq!(
        query_result["result"],
        json!([{"price": 3, "item_count": 1}, {"price": 5, "item_count": 2}])
    );
    assert_eq!(query_result["totalRows"], 2);

    let query = "run: items -> { aggregate: item_count }";
    let url = format!(
        "{}/projects/shop/packages/shop/queryResults/items.malloy",
        server.base
    );
    let (status, body) = read(
        server
            .client
            .get(url)
            .query(&[("query", query)])
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let query_result: Value = serde_json::from_str(body["queryResult"].as_str().unwrap()).unwrap();
    assert_eq!(query_result["result"], json!([{"item_count": 3}]));
}

#[test]
fn cors_allows_the_console_origin() {
    let server = server();
    let response = server
        .client
        .get(format!("{}/status", server.base))
        .header("Origin", "http://localhost:5173")
        .send()
        .unwrap();
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
}

#[test]
fn conformance_package_serves_queries() {
    let server = server();
    let (status, body) = server.get("/projects/conformance/packages/conformance/models");
    assert_eq!(status, StatusCode::OK);
    let paths: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|model| model["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"faa.malloy"), "{paths:?}");
    let (status, body) = server.post(
        "/projects/conformance/packages/conformance/models/faa.malloy/query",
        json!({"query": "run: flights -> { aggregate: flight_count is count() }"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = result_rows(&body);
    assert!(rows[0][0].as_i64().unwrap() > 0, "{rows:?}");
}

#[test]
fn sandbox_limits_fail_one_model_only() {
    let mut big = String::from("source: items is duckdb.table('data/items.csv')\n");
    while big.len() < 12_000_000 {
        big.push_str("// padding that the compiler has to read and lex\n");
    }
    let folder = common::package(
        "limits",
        &[("big.malloy", big.as_str()), ("items.malloy", SHOP_MODEL)],
    );
    let config = ServerConfig {
        projects: vec![ProjectConfig {
            name: "limits".into(),
            readme: String::new(),
            connections: vec![],
            packages: vec![local("limits", folder.path().to_path_buf())],
        }],
    };
    let limits = SandboxLimits {
        memory_bytes: 8 * 1024 * 1024,
        deadline: std::time::Duration::from_secs(30),
    };
    let server = TestServer::start(config, limits, vec![folder]);

    let (status, body) = server.get("/projects/limits/packages/limits/models/big.malloy");
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
    assert_eq!(
        error_body(status, &body),
        "the compiler ran out of memory (limit 8 MiB)"
    );
    let (status, body) = server.post(
        "/projects/limits/packages/limits/models/items.malloy/query",
        json!({"queryName": "top_items"}),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(result_rows(&body).len(), 2);
}

#[test]
fn databases_and_about() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages/shop/databases");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!([{
            "path": "data/items.csv",
            "type": "embedded",
            "size": 42,
            "info": {"name": "data/items.csv", "rowCount": 3, "columns": [
                {"name": "id", "type": "number"},
                {"name": "name", "type": "string"},
                {"name": "price", "type": "number"}
            ]}
        }])
    );
    let (status, body) = server.get("/projects/shop/about");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"readme": "# Shop\n"}));
}

#[test]
fn playground_routes_are_mounted() {
    let server = server();
    let (status, body) = server.get("/projects/shop/packages/shop/compile-inputs");
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["files"]["items.malloy"], SHOP_MODEL);
    assert!(body["brokenModels"]["broken.malloy"].is_string(), "{body}");

    let page = server
        .client
        .get(server.base.replace("/api/v0", "/playground/"))
        .send()
        .unwrap();
    // Either the built page or the 404 that says how to build it.
    assert!(
        page.status() == StatusCode::OK || page.status() == StatusCode::NOT_FOUND,
        "{}",
        page.status()
    );
}
