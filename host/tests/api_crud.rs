//! Projects, packages and connections changed through the API on a real
//! server: round trips on both URL families, changes under query load,
//! secret redaction, frozen configs and `.zip` uploads.

mod api_common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_common::{TestServer, SECRET, SHOP_MODEL};
use malloy_publisher::catalog::secrets::REDACTED;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn crud_round_trip_on_both_families() {
    let server = TestServer::start(false);
    for family in ["projects", "environments"] {
        let project = format!("crud-{family}");
        let (status, body) = server.call(
            Method::POST,
            &format!("/{family}"),
            Some(json!({"name": project, "readme": "first"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["resource"], format!("/api/v0/{family}/{project}"));

        let (_, list) = server.call(Method::GET, &format!("/{family}"), None);
        assert!(names(&list).contains(&project), "{list}");

        let (status, body) = server.call(
            Method::PATCH,
            &format!("/{family}/{project}"),
            Some(json!({"name": project, "readme": "second"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, body) = server.call(Method::GET, &format!("/{family}/{project}"), None);
        assert_eq!(body["readme"], "second");

        let packages = format!("/{family}/{project}/packages");
        let (status, body) = server.call(
            Method::POST,
            &packages,
            Some(json!({"name": "copy", "location": "./shop", "description": "A copy"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["location"], "./shop");
        let (status, body) = server.call(
            Method::POST,
            &packages,
            Some(json!({"name": "copy", "location": "./shop"})),
        );
        assert_eq!(status, StatusCode::CONFLICT, "{body}");

        // The new package loads without a request for it.
        let loaded = (0..120).any(|_| {
            let (_, status) = server.call(Method::GET, "/status", None);
            let initialized = status["initialized"] == true;
            if !initialized {
                std::thread::sleep(Duration::from_millis(250));
            }
            initialized
        });
        assert!(loaded, "the added package did not load within 30 s");

        let (_, list) = server.call(Method::GET, &packages, None);
        let item = &list[0];
        assert_eq!(item["name"], "copy");
        assert_eq!(item["description"], "A copy");
        assert_eq!(item["projectName"], project.as_str());
        assert_eq!(item["environmentName"], project.as_str());

        let (status, body) = server.call(
            Method::POST,
            &format!("{packages}/copy/models/shop.malloy/query"),
            Some(json!({"sourceName": "items", "queryName": "by_price"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");

        let (status, body) = server.call(
            Method::PATCH,
            &format!("{packages}/copy"),
            Some(json!({"description": "Renamed copy"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, body) = server.call(Method::GET, &format!("{packages}/copy"), None);
        assert_eq!(body["description"], "Renamed copy");

        let (status, _) = server.call(Method::DELETE, &format!("{packages}/copy"), None);
        assert_eq!(status, StatusCode::OK);
        let (status, _) = server.call(Method::GET, &format!("{packages}/copy"), None);
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, body) = server.call(Method::DELETE, &format!("/{family}/{project}"), None);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["name"], project.as_str());
        let (status, _) = server.call(Method::GET, &format!("/{family}/{project}"), None);
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = server.call(Method::DELETE, &format!("/{family}/{project}"), None);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            Value::Null,
            "deleting a missing project returns an empty body"
        );
    }
}

#[test]
fn package_changes_lose_no_query() {
    let server = Arc::new(TestServer::start(false));
    let stop = Arc::new(AtomicBool::new(false));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut clients = Vec::new();
    for client in 0..4 {
        let server = Arc::clone(&server);
        let stop = Arc::clone(&stop);
        let succeeded = Arc::clone(&succeeded);
        clients.push(std::thread::spawn(move || {
            let mut failures = Vec::new();
            // Bounded: at most 100 requests per client, and 60 s in all.
            for request in 0..100 {
                if (stop.load(Ordering::Relaxed) && request >= 10) || Instant::now() > deadline {
                    break;
                }
                let (status, body) = server.call(
                    Method::POST,
                    "/projects/shop/packages/shop/models/shop.malloy/query",
                    Some(json!({"sourceName": "items", "queryName": "by_price"})),
                );
                if status == StatusCode::OK {
                    succeeded.fetch_add(1, Ordering::Relaxed);
                } else {
                    failures.push(format!(
                        "client {client} request {request}: {status} {body}"
                    ));
                }
            }
            failures
        }));
    }

    for round in 0..3 {
        let name = format!("extra{round}");
        let (status, body) = server.call(
            Method::POST,
            "/environments/shop/packages",
            Some(json!({"name": name, "location": "./shop"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = server.call(
            Method::GET,
            &format!("/environments/shop/packages/{name}?reload=true"),
            None,
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = server.call(
            Method::GET,
            "/projects/shop/packages/shop?reload=true",
            None,
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = server.call(
            Method::PATCH,
            &format!("/environments/shop/packages/{name}"),
            Some(json!({"location": "./shop", "description": "moved"})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = server.call(
            Method::DELETE,
            &format!("/environments/shop/packages/{name}"),
            None,
        );
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    stop.store(true, Ordering::Relaxed);

    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|client| client.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed requests: {failures:#?}",
        failures.len()
    );
    assert!(
        succeeded.load(Ordering::Relaxed) >= 40,
        "too few queries ran"
    );
}

#[test]
fn connection_secrets_are_redacted() {
    let server = TestServer::start(false);
    for path in [
        "/projects/shop/connections",
        "/environments/shop/connections/secretpg",
        "/projects/shop",
        "/environments",
        "/status",
        "/projects/shop/packages/shop/connections",
    ] {
        let (status, body) = server.call(Method::GET, path, None);
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            !body.to_string().contains(SECRET),
            "{path} shows the password: {body}"
        );
    }
    let (_, connection) = server.call(Method::GET, "/projects/shop/connections/secretpg", None);
    assert_eq!(connection["postgresConnection"]["password"], REDACTED);
    assert_eq!(connection["postgresConnection"]["host"], "127.0.0.1");

    // The console's edit flow sends back what GET returned.
    let mut edited = connection.clone();
    edited["postgresConnection"]["host"] = json!("127.0.0.2");
    let (status, body) = server.call(
        Method::PATCH,
        "/projects/shop/connections/secretpg",
        Some(edited),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, project) = server.call(Method::GET, "/environments/shop", None);
    let (status, body) = server.call(
        Method::PATCH,
        "/environments/shop",
        Some(json!({"name": "shop", "connections": project["connections"]})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");

    let stored = server.state.catalog.project("shop").unwrap();
    let secretpg = stored
        .connections
        .iter()
        .find(|connection| connection["name"] == "secretpg")
        .unwrap();
    assert_eq!(secretpg["postgresConnection"]["password"], SECRET);
    assert_eq!(secretpg["postgresConnection"]["host"], "127.0.0.2");
}

#[test]
fn frozen_config_rejects_changes() {
    let frozen = TestServer::start(true);
    let (_, status) = frozen.call(Method::GET, "/status", None);
    assert_eq!(status["frozenConfig"], true);
    let attempts = [
        (Method::POST, "/projects", json!({"name": "new"})),
        (
            Method::PATCH,
            "/environments/shop",
            json!({"name": "shop", "readme": "x"}),
        ),
        (
            Method::POST,
            "/projects/shop/packages",
            json!({"name": "x", "location": "./shop"}),
        ),
        (
            Method::DELETE,
            "/environments/shop/packages/shop",
            Value::Null,
        ),
        (
            Method::POST,
            "/projects/shop/connections/mem",
            json!({"type": "duckdb", "duckdbConnection": {}}),
        ),
        (Method::DELETE, "/projects/shop", Value::Null),
    ];
    for (method, path, body) in attempts {
        let body = (!body.is_null()).then_some(body);
        let (status, reply) = frozen.call(method.clone(), path, body);
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {reply}");
        assert_eq!(reply["code"], 403);
    }
    let (status, _) = frozen.call(Method::GET, "/projects/shop/packages/shop", None);
    assert_eq!(status, StatusCode::OK, "reads still work");

    let open = TestServer::start(false);
    let (_, status) = open.call(Method::GET, "/status", None);
    assert_eq!(status["frozenConfig"], false);
}

fn write_zip(path: &std::path::Path, entries: &[(&str, &str)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, content) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn zip_package_upload_and_delete() {
    let server = TestServer::start(false);
    let archive = server.root.join("uploads/shop.zip");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    write_zip(
        &archive,
        &[
            ("shop/publisher.json", r#"{"description": "Zipped shop"}"#),
            ("shop/shop.malloy", SHOP_MODEL),
            ("shop/data/items.csv", "id,name,price\n1,apple,3\n"),
        ],
    );
    let (status, body) = server.call(
        Method::POST,
        "/environments/shop/packages",
        Some(json!({"name": "zipped", "location": "uploads/shop.zip"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.call(
        Method::POST,
        "/environments/shop/packages/zipped/models/shop.malloy/query",
        Some(json!({"query": "run: items -> { aggregate: item_count }"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let storage = server.root.join("publisher_data/shop");
    assert_eq!(std::fs::read_dir(&storage).unwrap().count(), 1);

    // PATCH with the same location unpacks the archive again.
    write_zip(
        &archive,
        &[
            ("shop/publisher.json", r#"{"description": "Zipped shop"}"#),
            ("shop/shop.malloy", SHOP_MODEL),
            (
                "shop/data/items.csv",
                "id,name,price\n1,apple,3\n2,pear,5\n",
            ),
        ],
    );
    let (status, body) = server.call(
        Method::PATCH,
        "/environments/shop/packages/zipped",
        Some(json!({"location": "uploads/shop.zip"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.call(
        Method::POST,
        "/environments/shop/packages/zipped/models/shop.malloy/query",
        Some(json!({"query": "run: items -> { aggregate: item_count }", "compactJson": true})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows: Value = serde_json::from_str(body["result"].as_str().unwrap()).unwrap();
    assert_eq!(rows, json!([{"item_count": 2}]));

    let (status, _) = server.call(Method::DELETE, "/environments/shop/packages/zipped", None);
    assert_eq!(status, StatusCode::OK);
    // A background load may hold the last version for a moment.
    let removed = (0..50).any(|_| {
        let empty = std::fs::read_dir(&storage).unwrap().count() == 0;
        if !empty {
            std::thread::sleep(Duration::from_millis(100));
        }
        empty
    });
    assert!(removed, "deleting the package removes its unpacked files");

    let evil = server.root.join("uploads/evil.zip");
    write_zip(
        &evil,
        &[("publisher.json", "{}"), ("../../escaped.txt", "x")],
    );
    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages",
        Some(json!({"name": "evil", "location": evil.to_str().unwrap()})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("outside the package"),
        "{body}"
    );
    assert!(!server.root.join("escaped.txt").exists());
    assert!(!server.root.join("publisher_data/escaped.txt").exists());
    let message = body["message"].as_str().unwrap();
    assert!(
        !message.contains(server.root.to_str().unwrap()),
        "{message}"
    );

    // A folder outside the server root would let DuckDB read it.
    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages",
        Some(json!({"name": "outside", "location": "/etc"})),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[test]
fn connection_sql_endpoints_return_rows() {
    let server = TestServer::start(false);
    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/connections/warehouse/sqlQuery",
        Some(json!({"sqlStatement": "SELECT id, status FROM orders ORDER BY id"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let data: Value = serde_json::from_str(body["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["totalRows"], 2);
    assert_eq!(data["rows"][1]["status"], "shipped");

    let (status, body) = server.call(
        Method::GET,
        "/environments/shop/packages/shop/connections/duckdb/queryData?sqlStatement=SELECT%20count(*)%20AS%20n%20FROM%20'data/items.csv'",
        None,
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let data: Value = serde_json::from_str(body["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["rows"][0]["n"], 3);

    let (status, body) = server.call(
        Method::GET,
        "/projects/shop/connections/warehouse/schemas/main/tables",
        None,
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["resource"], "main.orders");
    assert_eq!(
        body[0]["columns"][1],
        json!({"name": "amount", "type": "number"})
    );

    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages/shop/connections/duckdb/queryData",
        Some(json!({"sqlStatement": "SELECT * FROM read_csv('/etc/passwd')"})),
    );
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        !message.contains(server.root.to_str().unwrap()),
        "{message}"
    );

    let (status, body) = server.call(
        Method::POST,
        "/connections/test",
        Some(json!({"name": "x", "type": "duckdb", "duckdbConnection": {"databasePath": "corrupt.duckdb"}})),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "failed", "{body}");
    assert!(!body["errorMessage"]
        .as_str()
        .unwrap()
        .contains(server.root.to_str().unwrap()));
}

#[test]
fn compile_reports_positions_in_appended_text() {
    let server = TestServer::start(false);
    let path = "/projects/shop/packages/shop/models/shop.malloy/compile";
    let (status, body) = server.call(
        Method::POST,
        path,
        Some(json!({"source": "run: items -> {\n  group_by: nope\n}"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    let problem = &body["problems"][0];
    assert_eq!(problem["severity"], "error");
    assert!(
        problem["at"]["url"]
            .as_str()
            .unwrap()
            .ends_with("__compile_check.malloy"),
        "{problem}"
    );
    // The model has this many lines, and the source starts on the next one;
    // `nope` is on the source's second line, at character 12.
    let model_lines = SHOP_MODEL.matches('\n').count() as u64;
    assert_eq!(
        problem["at"]["range"]["start"]["line"],
        model_lines + 2,
        "{problem}"
    );
    assert_eq!(
        problem["at"]["range"]["start"]["character"], 12,
        "{problem}"
    );

    let (status, body) = server.call(
        Method::POST,
        path,
        Some(json!({"source": "run: items -> by_price", "includeSql": true})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success", "{body}");
    assert!(body["sql"].as_str().unwrap().contains("SELECT"), "{body}");

    let (status, body) = server.call(
        Method::POST,
        path,
        Some(json!({"source": "source: cheap is items extend { where: price < 4 }"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["status"], "success",
        "a source without a query compiles: {body}"
    );
    assert!(body.get("sql").is_none());

    let (status, _) = server.call(
        Method::POST,
        "/projects/shop/packages/shop/models/broken.malloy/compile",
        Some(json!({"source": "run: items -> { aggregate: c is count() }"})),
    );
    assert_eq!(status, StatusCode::FAILED_DEPENDENCY);
}

#[test]
fn error_model_and_databases() {
    let server = TestServer::start(false);
    let (status, body) = server.call(Method::GET, "/projects/shop?versionId=v2", None);
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(
        body,
        json!({"code": 501, "message": "Version IDs not implemented."})
    );

    let (status, body) = server.call(Method::GET, "/no/such/route", None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], 404);

    let (status, body) = server.call(Method::PUT, "/projects/shop", None);
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], 405, "{body}");

    let (status, body) = server.call(Method::GET, "/projects/shop/packages/shop/databases", None);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["path"], "data/items.csv");
    let size = std::fs::metadata(server.root.join("shop/data/items.csv"))
        .unwrap()
        .len();
    assert_eq!(body[0]["size"], size);
    assert_eq!(body[0]["info"]["rowCount"], 3);

    // Last, because the server closes the connection after a 413.
    let huge = Value::String(format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)));
    let (status, body) = server.call(Method::POST, "/projects/shop/packages", Some(huge));
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], 413, "{body}");
}
