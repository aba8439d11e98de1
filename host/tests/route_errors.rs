//! Error replies of the package routes for requests the server cannot
//! serve: the wrong method on the query route, a missing package folder.

mod api_common;

use api_common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[test]
fn get_on_query_route_is_405() {
    let server = TestServer::start(true);
    let (status, body) = server.call(
        Method::GET,
        "/projects/shop/packages/shop/models/shop.malloy/query",
        None,
    );
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["code"], 405, "{body}");
}

#[test]
fn missing_package_folder_is_reported() {
    let server = TestServer::start(false);
    let (status, body) = server.call(
        Method::POST,
        "/projects/shop/packages",
        Some(json!({"name": "ghost", "location": server.root.join("does-not-exist")})),
    );
    if status == StatusCode::OK {
        let (_, package) = server.call(Method::GET, "/projects/shop/packages/ghost/models", None);
        let message = package["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("folder does not exist"), "{package}");
    } else {
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("does not exist"), "{body}");
        assert!(!message.contains("publisher.json"), "{body}");
    }
}
