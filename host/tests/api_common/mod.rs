//! A server for the API tests: a server root with a config-like layout, a
//! DuckDB database file, and a project whose packages and connections
//! cover the success and error cases of every route.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use malloy_publisher::catalog::{Catalog, CatalogSettings};
use malloy_publisher::config::{PackageConfig, PackageLocation, ProjectConfig, ServerConfig};
use malloy_publisher::sandbox::{Sandbox, SandboxLimits};
use malloy_publisher::server::{self, AppState};
use reqwest::blocking::{Client, Response};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[path = "../common/mod.rs"]
pub mod common;

pub const SHOP_MODEL: &str = "source: items is duckdb.table('data/items.csv') extend {\n  \
    measure: item_count is count()\n  \
    view: by_price is { group_by: price; aggregate: item_count; order_by: price }\n}\n\
    query: top_items is items -> { group_by: name; order_by: name; limit: 2 }\n";

pub const BROKEN_MODEL: &str = "source: items is duckdb.table('data/items.csv') extend {\n  \
    dimension: bad is nope + 1\n}\n";

pub const TOUR_NOTEBOOK: &str =
    ">>>markdown\n# Tour\n>>>malloy\nimport 'shop.malloy'\nrun: items -> by_price\n";

/// The password of the `secretpg` connection; no reply may contain it.
pub const SECRET: &str = "hunter2-secret";

pub struct TestServer {
    pub base: String,
    pub root: PathBuf,
    pub client: Client,
    pub state: AppState,
    _runtime: tokio::runtime::Runtime,
    _root: tempfile::TempDir,
}

/// Writes the server root: package `shop` (a good and a broken model), a
/// folder `broken` without `publisher.json`, `warehouse.duckdb` with table
/// `main.orders`, and `corrupt.duckdb`, which is not a database.
pub fn write_root(root: &Path) {
    common::write_package(
        &root.join("shop"),
        "shop",
        &[
            ("shop.malloy", SHOP_MODEL),
            ("broken.malloy", BROKEN_MODEL),
            ("tour.malloynb", TOUR_NOTEBOOK),
        ],
    );
    std::fs::create_dir_all(root.join("broken")).unwrap();
    std::fs::write(root.join("corrupt.duckdb"), "this is not a database\n").unwrap();
    let warehouse = duckdb::Connection::open(root.join("warehouse.duckdb")).unwrap();
    warehouse
        .execute_batch(
            "CREATE TABLE orders (id INTEGER, amount DOUBLE, status VARCHAR);\n\
             INSERT INTO orders VALUES (1, 9.5, 'new'), (2, 20.0, 'shipped');",
        )
        .unwrap();
}

pub fn connections() -> Vec<Value> {
    vec![
        json!({"name": "warehouse", "type": "duckdb", "duckdbConnection": {"databasePath": "warehouse.duckdb"}}),
        json!({"name": "corrupt", "type": "duckdb", "duckdbConnection": {"databasePath": "corrupt.duckdb"}}),
        json!({"name": "secretpg", "type": "postgres", "postgresConnection": {
            "host": "127.0.0.1", "port": 5432, "userName": "reader", "password": SECRET
        }}),
    ]
}

impl TestServer {
    pub fn start(frozen: bool) -> TestServer {
        let root = tempfile::tempdir().unwrap();
        write_root(root.path());
        let root_path = root.path().canonicalize().unwrap();
        let local = |name: &str| PackageConfig {
            name: name.to_string(),
            location: PackageLocation::Local(root_path.join(name)),
        };
        let config = ServerConfig {
            projects: vec![ProjectConfig {
                name: "shop".into(),
                readme: "# Shop\n".into(),
                connections: connections(),
                packages: vec![local("shop"), local("broken")],
            }],
        };
        let settings = CatalogSettings {
            frozen,
            config_dir: Some(root_path.clone()),
            storage_dir: Some(root_path.join("publisher_data")),
            server_root: Some(root_path.clone()),
        };
        TestServer::start_with(config, settings, root)
    }

    pub fn start_with(
        config: ServerConfig,
        settings: CatalogSettings,
        root: tempfile::TempDir,
    ) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = Sandbox::load(&common::compiler_wasm(), SandboxLimits::default()).unwrap();
        let catalog = Arc::new(Catalog::new(config, sandbox).with_settings(settings));
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
            server::app(state.clone()),
            std::future::pending(),
        ));
        TestServer {
            base: format!("http://{address}"),
            root: root.path().canonicalize().unwrap(),
            client: Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
            state,
            _runtime: runtime,
            _root: root,
        }
    }

    /// Sends a request; `path` starts after the host, and `body` is sent as
    /// raw text when it is a JSON string, as JSON otherwise.
    pub fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        match body {
            Some(Value::String(raw)) => {
                request = request
                    .header("content-type", "application/json")
                    .body(raw.clone())
            }
            Some(body) => request = request.json(body),
            None => {}
        }
        request.send().unwrap()
    }

    /// Sends a request under `/api/v0` and returns the status and the JSON
    /// body (`null` for an empty one).
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        read(self.send(method, &format!("/api/v0{path}"), body.as_ref()))
    }
}

/// Returns the status and the JSON body: `null` when empty, and the text as
/// a JSON string when the content type is not JSON.
pub fn read(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let json = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let text = response.text().unwrap();
    if text.is_empty() {
        return (status, Value::Null);
    }
    if !json {
        return (status, Value::String(text));
    }
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{status}: the body is not JSON ({error}): {text}"));
    (status, body)
}
