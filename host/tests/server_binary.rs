//! The `malloy-publisher` binary: configuration, start-up errors, the
//! empty working directory and shutdown on SIGTERM.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A server process, killed if the test ends without stopping it.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_malloy-publisher"));
    command
        .current_dir(cwd)
        .env("MALLOY_COMPILER_WASM", common::compiler_wasm())
        .env_remove("SERVER_ROOT")
        .env_remove("PUBLISHER_CONFIG_PATH")
        .env_remove("PUBLISHER_PORT")
        .env_remove("PUBLISHER_HOST")
        .env_remove("MALLOY_SAMPLES_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Starts the server with `arguments` and waits until it answers.
fn start(cwd: &Path, arguments: &[&str]) -> Server {
    let port = free_port().to_string();
    let child = command(cwd)
        .args(["--host", "127.0.0.1", "--port", &port])
        .args(arguments)
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        base: format!("http://127.0.0.1:{port}/api/v0"),
    };
    let started = Instant::now();
    loop {
        if let Ok(response) = reqwest::blocking::get(format!("{}/status", server.base)) {
            assert!(response.status().is_success());
            return server;
        }
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("the server exited with {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = reqwest::blocking::get(format!("{}{path}", server.base)).unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn config_file_packages_are_served() {
    let root = tempfile::tempdir().unwrap();
    common::write_package(
        &root.path().join("shop"),
        "shop",
        &[("items.malloy", common::ITEMS_MODEL)],
    );
    std::fs::write(
        root.path().join("publisher.config.json"),
        r#"{"frozenConfig": true, "environments": [{"name": "store", "packages": [{"name": "shop", "location": "./shop"}]}]}"#,
    )
    .unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let server = start(
        cwd.path(),
        &["--server_root", root.path().to_str().unwrap()],
    );

    let (status, body) = get(&server, "/environments");
    assert_eq!(status, 200);
    assert_eq!(body[0]["name"], "store");
    assert_eq!(body[0]["packages"][0]["name"], "shop");
    let response = reqwest::blocking::Client::new()
        .post(format!(
            "{}/environments/store/packages/shop/models/items.malloy/query",
            server.base
        ))
        .json(&json!({"sourceName": "items", "queryName": "by_price"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn missing_files_do_not_fall_back_to_the_working_directory() {
    // The server is started from a folder that has data/secret.csv; the
    // package has a data/ folder without it.
    let cwd = tempfile::tempdir().unwrap();
    std::fs::create_dir(cwd.path().join("data")).unwrap();
    std::fs::write(cwd.path().join("data/secret.csv"), "secret\nhunter2\n").unwrap();
    let root = tempfile::tempdir().unwrap();
    common::write_package(
        &root.path().join("shop"),
        "shop",
        &[(
            "secret.malloy",
            "source: secret is duckdb.table('data/secret.csv')\n",
        )],
    );
    std::fs::write(
        root.path().join("publisher.config.json"),
        r#"{"projects": [{"name": "p", "packages": [{"name": "shop", "location": "shop"}]}]}"#,
    )
    .unwrap();
    let server = start(
        cwd.path(),
        &[
            "--config",
            root.path().join("publisher.config.json").to_str().unwrap(),
        ],
    );

    let (status, body) = get(&server, "/projects/p/packages/shop/models/secret.malloy");
    assert_eq!(status, 424, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("data/secret.csv"), "{message}");
    assert!(!message.contains(cwd.path().to_str().unwrap()), "{message}");
}

#[test]
fn samples_folder_is_project_home_without_config() {
    let samples = tempfile::tempdir().unwrap();
    common::write_package(
        &samples.path().join("shop"),
        "shop",
        &[("items.malloy", common::ITEMS_MODEL)],
    );
    std::fs::create_dir(samples.path().join("not-a-package")).unwrap();
    std::fs::write(samples.path().join("README.md"), "# Samples\n").unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let server = start(
        cwd.path(),
        &[
            "--server_root",
            cwd.path().to_str().unwrap(),
            "--samples",
            samples.path().to_str().unwrap(),
        ],
    );

    let (status, body) = get(&server, "/projects");
    assert_eq!(status, 200);
    assert_eq!(body[0]["name"], "home");
    assert_eq!(body[0]["readme"], "# Samples\n");
    let packages = body[0]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{body}");
    assert_eq!(packages[0]["name"], "shop");
}

#[test]
fn sigterm_stops_the_server() {
    let samples = tempfile::tempdir().unwrap();
    common::write_package(&samples.path().join("shop"), "shop", &[]);
    let cwd = tempfile::tempdir().unwrap();
    let mut server = start(cwd.path(), &["--samples", samples.path().to_str().unwrap()]);
    let pid = server.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn missing_component_is_a_clear_start_up_error() {
    let cwd = tempfile::tempdir().unwrap();
    let samples = tempfile::tempdir().unwrap();
    let output = command(cwd.path())
        .env("MALLOY_COMPILER_WASM", cwd.path().join("missing.wasm"))
        .args(["--samples", samples.path().to_str().unwrap(), "--port", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.wasm does not exist"), "{stderr}");
    assert!(stderr.contains("scripts/setup.sh"), "{stderr}");
}

#[test]
fn invalid_config_is_a_clear_start_up_error() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("publisher.config.json"),
        "{\"projects\": 3}",
    )
    .unwrap();
    let output = command(root.path()).args(["--port", "0"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a valid Publisher config"),
        "{stderr}"
    );
}
