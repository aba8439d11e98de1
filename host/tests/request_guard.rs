//! Cross-site request checks on a real loopback server: request bodies
//! must be JSON, and the `Host` header must name a loopback host.

mod api_common;

use api_common::{read, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn package_names(server: &TestServer) -> Vec<String> {
    let (status, body) = server.call(Method::GET, "/projects/shop/packages", None);
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|package| package["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn non_json_bodies_are_rejected() {
    let server = TestServer::start(false);
    let body = json!({"name": "planted", "location": server.root.join("shop")}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = server
            .client
            .post(format!("{}/api/v0/projects/shop/packages", server.base))
            .header("Origin", "http://evil.example")
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, reply) = read(request.send().unwrap());
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {reply}"
        );
        assert_eq!(reply["code"], 415, "{reply}");
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{reply}"
        );
    }
    assert!(!package_names(&server).contains(&"planted".to_string()));

    let (status, reply) = read(
        server
            .client
            .post(format!("{}/api/v0/projects/shop/packages", server.base))
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(package_names(&server).contains(&"planted".to_string()));
}

#[test]
fn foreign_host_is_rejected() {
    let server = TestServer::start(true);
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let get = |host: &str| {
        read(
            server
                .client
                .get(format!("{}/api/v0/projects", server.base))
                .header("Host", host)
                .send()
                .unwrap(),
        )
    };

    let (status, reply) = get(&format!("attacker.example:{port}"));
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{reply}");
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("attacker.example"),
        "{reply}"
    );

    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "LOCALHOST".to_string(),
    ] {
        let (status, reply) = get(&host);
        assert_eq!(status, StatusCode::OK, "{host}: {reply}");
    }
}
