//! The metric instruments, recorded only when a meter provider is
//! installed. Names and attributes follow the reference Publisher's, so
//! dashboards built for it read ours.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _, UpDownCounter};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::SERVICE_NAME;

/// The instruments, set once by [`install`].
static METRICS: OnceLock<Metrics> = OnceLock::new();

struct Metrics {
    package_load_duration: Histogram<f64>,
    model_query_duration: Histogram<f64>,
    active_queries: UpDownCounter<i64>,
    http_request_duration: Histogram<f64>,
    http_requests: Counter<u64>,
}

/// Creates the instruments on `provider`'s meter `publisher`. Only the first
/// call has an effect.
pub(super) fn install(provider: &SdkMeterProvider) {
    let meter = provider.meter(SERVICE_NAME);
    let metrics = Metrics {
        package_load_duration: meter
            .f64_histogram("malloy_package_load_duration")
            .with_unit("ms")
            .with_description("Time to load a package: read it and compile its models")
            .build(),
        model_query_duration: meter
            .f64_histogram("malloy_model_query_duration")
            .with_unit("ms")
            .with_description("Time to compile and run a model query in DuckDB")
            .build(),
        active_queries: meter
            .i64_up_down_counter("malloy_model_queries_active")
            .with_description("Model queries in progress, including those waiting for a query slot")
            .build(),
        http_request_duration: meter
            .f64_histogram("http_server_request_duration_ms")
            .with_unit("ms")
            .with_description("Time from receiving an HTTP request to sending its response headers")
            .build(),
        http_requests: meter
            .u64_counter("http_server_requests_total")
            .with_description("HTTP requests by method, route and status")
            .build(),
    };
    let _ = METRICS.set(metrics);
}

fn metrics() -> Option<&'static Metrics> {
    METRICS.get()
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Records the load of package `package` that took `elapsed`.
pub fn record_package_load(package: &str, elapsed: Duration, succeeded: bool) {
    let Some(metrics) = metrics() else { return };
    metrics.package_load_duration.record(
        milliseconds(elapsed),
        &[
            KeyValue::new("malloy_package_name", package.to_string()),
            KeyValue::new("status", status(succeeded)),
        ],
    );
}

fn status(succeeded: bool) -> &'static str {
    if succeeded {
        "success"
    } else {
        "error"
    }
}

/// Times one model query, compile and execution together, and counts it as
/// active until dropped. A timer dropped without [`QueryTimer::succeeded`]
/// records status `error`, which covers failed and cancelled queries.
pub struct QueryTimer {
    started: Instant,
    /// The attributes, `None` when metrics are off.
    attributes: Option<Vec<KeyValue>>,
    succeeded: bool,
}

impl QueryTimer {
    pub fn start(project: &str, package: &str, model_path: &str) -> QueryTimer {
        let attributes = metrics().map(|metrics| {
            let attributes = vec![
                KeyValue::new("environment", project.to_string()),
                KeyValue::new("package", package.to_string()),
                KeyValue::new("malloy.model.path", model_path.to_string()),
            ];
            metrics.active_queries.add(1, &attributes);
            attributes
        });
        QueryTimer {
            started: Instant::now(),
            attributes,
            succeeded: false,
        }
    }

    /// Marks the query as successful; the duration is recorded on drop.
    pub fn succeeded(mut self) {
        self.succeeded = true;
    }
}

impl Drop for QueryTimer {
    fn drop(&mut self) {
        let (Some(metrics), Some(attributes)) = (metrics(), self.attributes.take()) else {
            return;
        };
        metrics.active_queries.add(-1, &attributes);
        let mut attributes = attributes;
        attributes.push(KeyValue::new(
            "malloy.model.query.status",
            status(self.succeeded),
        ));
        metrics
            .model_query_duration
            .record(milliseconds(self.started.elapsed()), &attributes);
    }
}

/// Middleware that records the duration and count of each HTTP request by
/// method, route template and status code.
pub async fn record_http_metrics(request: Request, next: Next) -> Response {
    if metrics().is_none() {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    if let Some(metrics) = metrics() {
        let attributes = [
            KeyValue::new("http_method", method),
            KeyValue::new("http_route", route),
            KeyValue::new("http_status_code", i64::from(response.status().as_u16())),
        ];
        metrics
            .http_request_duration
            .record(milliseconds(started.elapsed()), &attributes);
        metrics.http_requests.add(1, &attributes);
    }
    response
}
