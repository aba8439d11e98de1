//! Span and metric export over OTLP HTTP/protobuf to a collector on a
//! loopback port. The collector decodes the protobuf bodies, so the checks
//! see span names, parent links, attributes and metric data points.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One request received by the fake collector.
struct Received {
    path: String,
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
        let mut parts = request_line.split_whitespace();
        assert_eq!(parts.next(), Some("POST"), "{request_line}");
        let received = Received {
            path: parts.next().unwrap_or_default().to_string(),
            content_type,
            body,
        };
        if sender.send(received).is_err() {
            return;
        }
    }
}

/// What the collector received, decoded.
#[derive(Default)]
struct Exported {
    service_names: Vec<String>,
    spans: Vec<Span>,
    metrics: Vec<Metric>,
}

fn decode(received: Vec<Received>) -> Exported {
    let mut exported = Exported::default();
    for request in received {
        assert_eq!(request.content_type, "application/x-protobuf");
        let resources = match request.path.as_str() {
            "/v1/traces" => {
                let decoded = ExportTraceServiceRequest::decode(request.body.as_slice()).unwrap();
                let mut resources = Vec::new();
                for resource_spans in decoded.resource_spans {
                    resources.push(resource_spans.resource.unwrap_or_default());
                    for scope_spans in resource_spans.scope_spans {
                        exported.spans.extend(scope_spans.spans);
                    }
                }
                resources
            }
            "/v1/metrics" => {
                let decoded = ExportMetricsServiceRequest::decode(request.body.as_slice()).unwrap();
                let mut resources = Vec::new();
                for resource_metrics in decoded.resource_metrics {
                    resources.push(resource_metrics.resource.unwrap_or_default());
                    for scope_metrics in resource_metrics.scope_metrics {
                        exported.metrics.extend(scope_metrics.metrics);
                    }
                }
                resources
            }
            other => panic!("unexpected OTLP path {other}"),
        };
        for resource in resources {
            if let Some(name) = attribute(&resource.attributes, "service.name") {
                exported.service_names.push(name);
            }
        }
    }
    exported
}

/// Returns an attribute's value as text, whatever its type.
fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes
        .iter()
        .find(|pair| pair.key == key)?
        .value
        .as_ref()?;
    Some(match value.value.as_ref()? {
        Value::StringValue(text) => text.clone(),
        Value::IntValue(number) => number.to_string(),
        Value::BoolValue(flag) => flag.to_string(),
        Value::DoubleValue(number) => number.to_string(),
        other => format!("{other:?}"),
    })
}

fn span<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| {
            let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
            panic!("no span named {name:?}; spans: {names:?}")
        })
}

/// Returns the attribute sets of every data point of metric `name`.
fn data_points(metrics: &[Metric], name: &str) -> Vec<Vec<KeyValue>> {
    let mut points = Vec::new();
    for metric in metrics.iter().filter(|metric| metric.name == name) {
        match &metric.data {
            Some(Data::Histogram(histogram)) => points.extend(
                histogram
                    .data_points
                    .iter()
                    .filter(|point| point.count > 0)
                    .map(|point| point.attributes.clone()),
            ),
            Some(Data::Sum(sum)) => {
                points.extend(sum.data_points.iter().map(|point| point.attributes.clone()))
            }
            other => panic!("metric {name} has unexpected data {other:?}"),
        }
    }
    points
}

/// Starts the server with the collector's URL as OTLP endpoint, sends a
/// model listing and a query, stops the server and returns what arrived.
fn run_server_and_collect() -> Exported {
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
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("RUST_LOG")
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
    let package = format!("{base}/projects/home/packages/shop");
    let models = reqwest::blocking::get(format!("{package}/models")).unwrap();
    assert!(models.status().is_success());
    let query = reqwest::blocking::Client::new()
        .post(format!("{package}/models/items.malloy/query"))
        .json(&serde_json::json!({"sourceName": "items", "queryName": "by_price"}))
        .send()
        .unwrap();
    assert_eq!(query.status(), 200, "{}", query.text().unwrap());

    // SIGTERM makes the server flush its spans and metrics before it exits.
    let pid = server.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");

    let mut received = Vec::new();
    while let Ok(request) = receiver.recv_timeout(Duration::from_secs(3)) {
        received.push(request);
    }
    decode(received)
}

#[test]
fn spans_and_metrics_reach_the_collector() {
    let exported = run_server_and_collect();
    assert!(
        !exported.spans.is_empty(),
        "the collector received no spans"
    );
    assert!(
        !exported.metrics.is_empty(),
        "the collector received no metrics"
    );
    assert!(
        exported
            .service_names
            .iter()
            .all(|name| name == "publisher"),
        "{:?}",
        exported.service_names
    );
    let spans = &exported.spans;

    // The request span names the route template, not the raw path.
    let request = span(
        spans,
        "POST /api/v0/projects/{project}/packages/{package}/models/{*path}",
    );
    assert_eq!(
        attribute(&request.attributes, "http.route").as_deref(),
        Some("/api/v0/projects/{project}/packages/{package}/models/{*path}")
    );
    assert_eq!(
        attribute(&request.attributes, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        attribute(&request.attributes, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(
        request.parent_span_id.is_empty(),
        "the request span is a root"
    );
    let listing = span(
        spans,
        "GET /api/v0/projects/{project}/packages/{package}/models",
    );
    assert_eq!(
        attribute(&listing.attributes, "http.response.status_code").as_deref(),
        Some("200")
    );

    // The blocking-thread spans hang under the request that caused them.
    let compile_query = span(spans, "compile_query");
    assert_eq!(compile_query.trace_id, request.trace_id);
    assert_eq!(compile_query.parent_span_id, request.span_id);
    let run_query = span(spans, "run_query");
    assert_eq!(run_query.trace_id, request.trace_id);
    assert_eq!(run_query.parent_span_id, request.span_id);
    assert_eq!(
        attribute(&run_query.attributes, "db.system").as_deref(),
        Some("duckdb")
    );
    let statement = attribute(&run_query.attributes, "db.statement").unwrap_or_default();
    assert!(statement.starts_with("SELECT"), "{statement}");
    assert!(statement.contains("items.csv"), "{statement}");
    assert_eq!(
        attribute(&run_query.attributes, "db.response.returned_rows").as_deref(),
        Some("2")
    );

    // The models are compiled while the package loads.
    let load = span(spans, "load_package");
    assert_eq!(
        attribute(&load.attributes, "package").as_deref(),
        Some("shop")
    );
    let compile_model = span(spans, "compile_model");
    assert_eq!(compile_model.parent_span_id, load.span_id);
    assert_eq!(compile_model.trace_id, load.trace_id);

    let metrics = &exported.metrics;
    let loads = data_points(metrics, "malloy_package_load_duration");
    assert!(
        loads.iter().any(|point| {
            attribute(point, "malloy_package_name").as_deref() == Some("shop")
                && attribute(point, "status").as_deref() == Some("success")
        }),
        "no successful load of shop"
    );
    let queries = data_points(metrics, "malloy_model_query_duration");
    assert!(
        queries.iter().any(|point| {
            attribute(point, "malloy.model.path").as_deref() == Some("items.malloy")
                && attribute(point, "malloy.model.query.status").as_deref() == Some("success")
        }),
        "no successful query of items.malloy"
    );
    assert!(
        !data_points(metrics, "malloy_model_queries_active").is_empty(),
        "no active-query counter"
    );
    let requests = data_points(metrics, "http_server_requests_total");
    assert!(
        requests.iter().any(|point| {
            attribute(point, "http_method").as_deref() == Some("POST")
                && attribute(point, "http_route").as_deref()
                    == Some("/api/v0/projects/{project}/packages/{package}/models/{*path}")
                && attribute(point, "http_status_code").as_deref() == Some("200")
        }),
        "no count of the query request"
    );
    let durations = data_points(metrics, "http_server_request_duration_ms");
    assert!(
        durations
            .iter()
            .any(|point| attribute(point, "http_method").as_deref() == Some("GET")),
        "no duration of the models request"
    );
}
