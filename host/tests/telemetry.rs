//! Span export over OTLP HTTP/protobuf to a collector on a loopback port.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One request received by the fake collector.
struct Received {
    request_line: String,
    content_type: String,
    body: Vec<u8>,
}

/// Accepts OTLP requests on `listener` and responds to each with 200.
fn collect(listener: TcpListener, sender: mpsc::Sender<Received>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            continue;
        }
        let mut content_length = 0;
        let mut content_type = String::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((&header, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.trim().parse().unwrap_or(0),
                "content-type" => content_type = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        let received = Received {
            request_line: request_line.trim().to_string(),
            content_type,
            body,
        };
        if sender.send(received).is_err() {
            return;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn request_spans_reach_the_collector() {
    let collector = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || collect(collector, sender));

    let samples = tempfile::tempdir().unwrap();
    common::write_package(
        &samples.path().join("shop"),
        "shop",
        &[("items.malloy", common::ITEMS_MODEL)],
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_malloy-publisher"))
        .current_dir(samples.path())
        .env("MALLOY_COMPILER_WASM", common::compiler_wasm())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--samples", samples.path().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let base = format!("http://127.0.0.1:{port}/api/v0");
    let started = Instant::now();
    while reqwest::blocking::get(format!("{base}/status")).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let models =
        reqwest::blocking::get(format!("{base}/projects/home/packages/shop/models")).unwrap();
    assert!(models.status().is_success());

    // SIGTERM makes the server flush its spans before it exits.
    let pid = server.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");

    let mut bodies = Vec::new();
    while let Ok(received) = receiver.recv_timeout(Duration::from_secs(3)) {
        assert_eq!(received.request_line, "POST /v1/traces HTTP/1.1");
        assert_eq!(received.content_type, "application/x-protobuf");
        bodies.extend(received.body);
    }
    assert!(!bodies.is_empty(), "the collector received no spans");
    assert!(contains(&bodies, b"publisher"), "no service name");
    assert!(contains(&bodies, b"http.route"), "no route attribute");
    assert!(
        contains(
            &bodies,
            b"/api/v0/projects/{project}/packages/{package}/models"
        ),
        "no span for the models request"
    );
    assert!(contains(&bodies, b"compile_model"), "no compile span");
}
