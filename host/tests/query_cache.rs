//! The query result cache: on a package database directly, and through a
//! real server on a loopback port for the reload case.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use malloy_publisher::catalog::Catalog;
use malloy_publisher::config::{PackageConfig, PackageLocation, ProjectConfig, ServerConfig};
use malloy_publisher::db::{PackageDatabase, QueryCacheSettings};
use malloy_publisher::sandbox::{Sandbox, SandboxLimits};
use malloy_publisher::server::{self, AppState};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ITEMS_COUNT: &str = "SELECT count(*) AS n FROM 'data/items.csv'";

fn database(settings: QueryCacheSettings) -> (tempfile::TempDir, PackageDatabase) {
    let folder = common::package("cached", &[]);
    let database = PackageDatabase::open(folder.path())
        .unwrap()
        .with_query_cache(settings);
    (folder, database)
}

fn settings(max_bytes: usize, ttl: Duration) -> QueryCacheSettings {
    QueryCacheSettings { max_bytes, ttl }
}

#[test]
fn repeated_query_hits_cache() {
    let (_folder, database) = database(QueryCacheSettings::default());
    let first = database.run_query(ITEMS_COUNT).unwrap();
    let second = database.run_query(ITEMS_COUNT).unwrap();
    assert_eq!(first, second);
    assert_eq!(database.query_executions(), 1);
    assert_eq!(database.query_cache_usage().0, 1);
}

/// A `MakeWriter` that appends the formatted spans to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn span_records_cache_hit() {
    let (_folder, database) = database(QueryCacheSettings::default());
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        database.run_query(ITEMS_COUNT).unwrap();
        database.run_query(ITEMS_COUNT).unwrap();
    });
    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let closes: Vec<&str> = output
        .lines()
        .filter(|line| line.contains("run_query{"))
        .collect();
    assert_eq!(closes.len(), 2, "{output}");
    assert!(closes[0].contains("cache.hit=false"), "{}", closes[0]);
    assert!(closes[1].contains("cache.hit=true"), "{}", closes[1]);
}

#[test]
fn disabled_cache_runs_every_query() {
    let (_folder, database) = database(QueryCacheSettings::from_megabytes(0, 600));
    database.run_query(ITEMS_COUNT).unwrap();
    database.run_query(ITEMS_COUNT).unwrap();
    assert_eq!(database.query_executions(), 2);
    assert_eq!(database.query_cache_usage(), (0, 0));
}

#[test]
fn expired_entry_runs_again() {
    let (_folder, database) = database(settings(1 << 20, Duration::from_millis(300)));
    database.run_query(ITEMS_COUNT).unwrap();
    database.run_query(ITEMS_COUNT).unwrap();
    assert_eq!(database.query_executions(), 1);
    std::thread::sleep(Duration::from_millis(400));
    database.run_query(ITEMS_COUNT).unwrap();
    assert_eq!(database.query_executions(), 2);
}

#[test]
fn byte_bound_evicts_least_recently_used() {
    let (_folder, probe) = database(QueryCacheSettings::default());
    probe.run_query("SELECT 1 AS a").unwrap();
    let (_, one_entry) = probe.query_cache_usage();

    let (_folder, database) = database(settings(2 * one_entry + 1, Duration::from_secs(600)));
    database.run_query("SELECT 1 AS a").unwrap();
    database.run_query("SELECT 2 AS a").unwrap();
    // Reading 1 again makes 2 the least recently used entry.
    database.run_query("SELECT 1 AS a").unwrap();
    database.run_query("SELECT 3 AS a").unwrap();
    assert_eq!(database.query_executions(), 3);
    let (entries, bytes) = database.query_cache_usage();
    assert_eq!(entries, 2);
    assert!(bytes <= 2 * one_entry + 1, "{bytes} bytes cached");

    database.run_query("SELECT 1 AS a").unwrap();
    database.run_query("SELECT 3 AS a").unwrap();
    assert_eq!(database.query_executions(), 3);
    database.run_query("SELECT 2 AS a").unwrap();
    assert_eq!(database.query_executions(), 4);
}

#[test]
fn time_functions_are_not_cached() {
    let (_folder, database) = database(QueryCacheSettings::default());
    for sql in [
        "SELECT now() AS t",
        "SELECT current_timestamp AS t",
        "SELECT random() AS r",
        "SELECT gen_random_uuid() AS u",
    ] {
        let before = database.query_executions();
        database.run_query(sql).unwrap();
        database.run_query(sql).unwrap();
        assert_eq!(database.query_executions(), before + 2, "{sql}");
    }
    assert_eq!(database.query_cache_usage(), (0, 0));
}

#[test]
fn generated_row_key_is_cached() {
    // The compiler's SQL for a count over an unnested array: the random
    // keys only tell rows apart, so the count is the same on every run.
    let (_folder, database) = database(QueryCacheSettings::default());
    let sql = "SELECT count(DISTINCT base.\"__distinct_key\") AS n \
               FROM (SELECT GEN_RANDOM_UUID() AS \"__distinct_key\", keyed.* \
               FROM 'data/items.csv' AS keyed) AS base";
    let first = database.run_query(sql).unwrap();
    let second = database.run_query(sql).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.rows[0][0], duckdb::types::Value::BigInt(3));
    assert_eq!(database.query_executions(), 1);
}

#[test]
fn write_statement_clears_cache() {
    let (_folder, database) = database(QueryCacheSettings::default());
    database
        .run_query("CREATE TABLE notes (n INTEGER)")
        .unwrap();
    let count = "SELECT count(*) AS n FROM notes";
    let before = database.run_query(count).unwrap();
    database.run_query("INSERT INTO notes VALUES (1)").unwrap();
    let after = database.run_query(count).unwrap();
    assert_ne!(before, after);
    assert_eq!(after.rows[0][0], duckdb::types::Value::BigInt(1));
}

#[test]
fn failed_query_is_not_cached() {
    let (_folder, database) = database(QueryCacheSettings::default());
    assert!(database.run_query("SELECT * FROM missing_table").is_err());
    assert!(database.run_query("SELECT * FROM missing_table").is_err());
    assert_eq!(database.query_executions(), 2);
}

#[test]
fn concurrent_identical_queries_run_once() {
    let (_folder, database) = database(QueryCacheSettings::default());
    let database = Arc::new(database);
    // Tens of millions of joined rows keep the first execution running
    // while the other threads arrive.
    let slow = "SELECT sum(a.i * b.j) AS s FROM range(6000) a(i), range(6000) b(j)";
    let threads = 6;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let database = Arc::clone(&database);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                database.run_query(slow).unwrap()
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    assert!(results.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(database.query_executions(), 1);
}

struct CacheServer {
    base: String,
    client: Client,
    catalog: Arc<Catalog>,
    folder: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl CacheServer {
    fn start(settings: QueryCacheSettings) -> CacheServer {
        let folder = common::package("shop", &[("items.malloy", common::ITEMS_MODEL)]);
        let config = ServerConfig {
            projects: vec![ProjectConfig {
                name: "shop".into(),
                readme: String::new(),
                connections: Vec::new(),
                packages: vec![PackageConfig {
                    name: "shop".into(),
                    location: PackageLocation::Local(folder.path().canonicalize().unwrap()),
                }],
            }],
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = Sandbox::load(&common::compiler_wasm(), SandboxLimits::default()).unwrap();
        let catalog = Arc::new(Catalog::new(config, sandbox).with_query_cache(settings));
        let state = AppState {
            catalog: Arc::clone(&catalog),
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
        CacheServer {
            base: format!("http://{address}/api/v0"),
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            catalog,
            folder,
            _runtime: runtime,
        }
    }

    /// Runs the `by_price` view and returns its rows as `[price, count]`.
    fn by_price(&self) -> Vec<Value> {
        let response = self
            .client
            .post(format!(
                "{}/projects/shop/packages/shop/models/items.malloy/query",
                self.base
            ))
            .json(&json!({"sourceName": "items", "queryName": "by_price"}))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().unwrap();
        let result: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
        let rows = result["data"]["array_value"].as_array().unwrap();
        rows.iter()
            .map(|row| {
                let cells = row["record_value"].as_array().unwrap();
                json!([cells[0]["number_value"], cells[1]["number_value"]])
            })
            .collect()
    }

    fn reload(&self) {
        let response = self
            .client
            .get(format!(
                "{}/projects/shop/packages/shop?reload=true",
                self.base
            ))
            .send()
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Returns the number of DuckDB executions of the loaded package's
    /// current database.
    fn executions(&self) -> u64 {
        let slot = self
            .catalog
            .project("shop")
            .unwrap()
            .package("shop")
            .unwrap();
        let state = slot.current().expect("the package is loaded");
        let package = state.as_ref().as_ref().expect("the package loads");
        package.compiler.host().database().query_executions()
    }
}

#[test]
fn reload_empties_cache() {
    let server = CacheServer::start(QueryCacheSettings::default());
    let before = server.by_price();
    assert_eq!(before, vec![json!([3, 1]), json!([5, 2])]);
    assert_eq!(server.by_price(), before);
    assert_eq!(server.executions(), 1);

    std::fs::write(
        server.folder.path().join("data/items.csv"),
        "id,name,price\n1,apple,3\n2,pear,5\n3,plum,5\n4,fig,7\n",
    )
    .unwrap();
    // Without a reload the cached rows are still served.
    assert_eq!(server.by_price(), before);
    server.reload();
    assert_eq!(
        server.by_price(),
        vec![json!([3, 1]), json!([5, 2]), json!([7, 1])]
    );
    assert_eq!(server.executions(), 1);
}

#[test]
fn server_without_cache_runs_every_query() {
    let server = CacheServer::start(QueryCacheSettings::from_megabytes(0, 600));
    server.by_price();
    server.by_price();
    assert_eq!(server.executions(), 2);
}
