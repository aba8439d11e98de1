//! The maximum result size on a real server: a model query or SQL query
//! whose rows exceed it gets 413 with a `{code, message}` body.

mod api_common;

use api_common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[test]
fn large_results_are_rejected() {
    // Set before the server opens any package database.
    malloy_publisher::db::set_max_result_bytes(100_000);
    let server = TestServer::start(true);

    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages/shop/models/shop.malloy/query",
        Some(json!({"query": "run: items -> { select: id, s is repeat('x', 1000000) }"})),
    );
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], 413, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("100000 bytes"),
        "{body}"
    );

    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages/shop/connections/duckdb/sqlQuery",
        Some(json!({"sqlStatement": "SELECT repeat('x', 1000000) AS s"})),
    );
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages/shop/models/shop.malloy/query",
        Some(json!({"query": "run: items -> { select: id, s is repeat('x', 10) }"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
}
