//! The connection SQL routes on a real server: they accept a single SELECT
//! only, so they cannot change what model queries return or write package
//! files, and the tables `temporaryTable` creates are visible to every
//! later request.

mod api_common;

use api_common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SQL_ROUTES: &str = "/projects/shop/packages/shop/connections/duckdb";

fn model_query(server: &TestServer, query: &str) -> Value {
    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages/shop/models/shop.malloy/query",
        Some(json!({"compactJson": true, "query": query})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(body["result"].as_str().unwrap()).unwrap()
}

fn encode(sql: &str) -> String {
    sql.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[test]
fn modifying_statements_are_rejected() {
    let server = TestServer::start(true);
    let before = model_query(
        &server,
        "run: items -> { group_by: r is concat(name, '-', 'x'), u is upper(name); order_by: r; limit: 1 }",
    );
    assert_eq!(before, json!([{"r": "apple-x", "u": "APPLE"}]));
    let csv = server.root.join("shop/data/items.csv");
    let model = server.root.join("shop/shop.malloy");
    let csv_before = std::fs::read_to_string(&csv).unwrap();
    let model_before = std::fs::read_to_string(&model).unwrap();

    let attacks = [
        "CREATE MACRO concat(a, b, c) AS 'HACKED'".to_string(),
        "CREATE OR REPLACE MACRO upper(x) AS 'VIA-GET'".to_string(),
        format!(
            "COPY (SELECT 42 AS id, 'pwned' AS name, 999 AS price) TO '{}' (HEADER)",
            csv.display()
        ),
        format!(
            "COPY (SELECT 'pwned') TO '{}' (FORMAT csv, HEADER false, QUOTE '')",
            model.display()
        ),
        "SELECT 1; CREATE MACRO concat(a, b, c) AS 'HACKED'".to_string(),
        "SET threads = 1".to_string(),
    ];
    for sql in &attacks {
        for route in [
            "sqlQuery",
            "queryData",
            "temporaryTable",
            "sqlTemporaryTable",
            "sqlSource",
        ] {
            let (status, body) = server.call(
                Method::POST,
                &format!("{SQL_ROUTES}/{route}"),
                Some(json!({"sqlStatement": sql})),
            );
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "POST {route} {sql}: {body}"
            );
            assert!(
                body["message"].as_str().unwrap().contains("SELECT"),
                "POST {route} {sql}: {body}"
            );
        }
        for route in ["queryData", "temporaryTable", "sqlSource"] {
            let (status, body) = server.call(
                Method::GET,
                &format!("{SQL_ROUTES}/{route}?sqlStatement={}", encode(sql)),
                None,
            );
            assert_eq!(status, StatusCode::BAD_REQUEST, "GET {route} {sql}: {body}");
        }
    }

    let after = model_query(
        &server,
        "run: items -> { group_by: r is concat(name, '-', 'x'), u is upper(name); order_by: r; limit: 1 }",
    );
    assert_eq!(after, before);
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), csv_before);
    assert_eq!(std::fs::read_to_string(&model).unwrap(), model_before);
}

#[test]
fn select_statements_still_run() {
    let server = TestServer::start(true);
    let (status, body) = server.call(
        Method::POST,
        &format!("{SQL_ROUTES}/sqlQuery"),
        Some(json!({"sqlStatement": "FROM 'data/items.csv' SELECT count(*) AS n;"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let data: Value = serde_json::from_str(body["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["rows"][0]["n"], 3);
}

#[test]
fn temporary_table_is_visible_to_concurrent_reads() {
    let server = TestServer::start(true);
    let (status, body) = server.call(
        Method::POST,
        &format!("{SQL_ROUTES}/sqlTemporaryTable"),
        Some(json!({"sqlStatement": "SELECT 42 AS answer"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let table: String = serde_json::from_str(body["table"].as_str().unwrap()).unwrap();

    // The same statement returns the same table without failing.
    let (status, again) = server.call(
        Method::POST,
        &format!("{SQL_ROUTES}/temporaryTable"),
        Some(json!({"sqlStatement": "SELECT 42 AS answer"})),
    );
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["table"], body["table"]);

    let sql = format!("SELECT answer FROM {table}");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..30)
            .map(|_| {
                let sql = sql.clone();
                let server = &server;
                scope.spawn(move || {
                    server.call(
                        Method::POST,
                        &format!("{SQL_ROUTES}/sqlQuery"),
                        Some(json!({"sqlStatement": sql})),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .filter_map(|(status, body)| {
                let data: Option<Value> = body["data"]
                    .as_str()
                    .and_then(|text| serde_json::from_str(text).ok());
                let answer = data.as_ref().map(|data| data["rows"][0]["answer"].clone());
                (status != StatusCode::OK || answer != Some(json!(42)))
                    .then(|| format!("{status}: {body}"))
            })
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 30 reads failed: {failures:?}",
        failures.len()
    );
}
