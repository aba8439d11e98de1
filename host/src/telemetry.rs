//! Logs to stderr and, when an OTLP endpoint is configured, exports spans
//! and metrics to it over OTLP HTTP/protobuf.
//!
//! The exporters read the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (a base URL, `/v1/traces` and `/v1/metrics` are appended), or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and
//! `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is), plus
//! `OTEL_SERVICE_NAME`, headers, timeouts and `OTEL_METRIC_EXPORT_INTERVAL`
//! (milliseconds, 60000 by default). Without an endpoint variable for a
//! signal nothing is exported for it. The `debug` spans (package load,
//! compile, DuckDB) are then not created unless `RUST_LOG` enables them,
//! and the metric recorders return at once.

mod metrics;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use metrics::{record_http_metrics, record_package_load, QueryTimer};

/// Log levels when `RUST_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "malloy_publisher=info,tower_http=info";

/// Spans exported over OTLP: the request spans and the package load,
/// compile and DuckDB spans inside them.
const EXPORT_FILTER: &str = "malloy_publisher=debug,tower_http=info";

/// The service name the reference Publisher reports, also the meter name.
const SERVICE_NAME: &str = "publisher";

/// The installed exporters, flushed by [`Telemetry::shutdown`].
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
    meter_provider: Option<SdkMeterProvider>,
}

/// Installs the global subscriber and, with an endpoint configured, the
/// metric instruments. Call it before starting an async runtime: the OTLP
/// exporters use a blocking HTTP client on threads of their own.
pub fn init() -> Telemetry {
    let log_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let log_layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(log_filter);

    let mut errors = Vec::new();
    let tracer_provider = if endpoint_configured("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        build_tracer_provider()
            .map_err(|error| errors.push(format!("cannot set up the OTLP span exporter: {error}")))
            .ok()
    } else {
        None
    };
    let meter_provider = if endpoint_configured("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
        build_meter_provider()
            .map_err(|error| {
                errors.push(format!("cannot set up the OTLP metric exporter: {error}"))
            })
            .ok()
    } else {
        None
    };
    let export_layer = tracer_provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("malloy-publisher"))
            .with_filter(EnvFilter::new(EXPORT_FILTER))
    });

    tracing_subscriber::registry()
        .with(log_layer)
        .with(export_layer)
        .init();
    for error in errors {
        tracing::error!("{error}; nothing is exported for that signal");
    }
    if tracer_provider.is_some() {
        tracing::info!("exporting spans over OTLP");
    }
    if let Some(provider) = &meter_provider {
        metrics::install(provider);
        tracing::info!("exporting metrics over OTLP");
    }
    Telemetry {
        tracer_provider,
        meter_provider,
    }
}

impl Telemetry {
    /// Sends the spans and metrics still buffered. Call it outside the
    /// async runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "cannot flush the OTLP span exporter");
            }
        }
        if let Some(provider) = self.meter_provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "cannot flush the OTLP metric exporter");
            }
        }
    }
}

/// Wraps `work` so that it runs inside the caller's current span. Blocking
/// threads do not inherit the span of the task that spawns them, so pass
/// closures for `tokio::task::spawn_blocking` through this to keep their
/// spans children of the request span.
pub fn in_current_span<T>(work: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let span = tracing::Span::current();
    move || span.in_scope(work)
}

/// Returns the statement recorded as `db.statement`: the SQL text with its
/// whitespace runs collapsed, cut after [`MAX_STATEMENT_CHARS`] characters.
pub fn statement_summary(sql: &str) -> String {
    let mut summary = String::new();
    for (index, word) in sql.split_whitespace().enumerate() {
        if index > 0 {
            summary.push(' ');
        }
        summary.push_str(word);
        if summary.chars().count() > MAX_STATEMENT_CHARS {
            let cut: String = summary.chars().take(MAX_STATEMENT_CHARS).collect();
            return cut + "…";
        }
    }
    summary
}

/// Characters of SQL kept in `db.statement`; generated queries can run to
/// many kilobytes.
pub const MAX_STATEMENT_CHARS: usize = 500;

/// Returns whether the base endpoint or the signal's own endpoint variable
/// is set.
fn endpoint_configured(signal_variable: &str) -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", signal_variable]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

fn resource() -> Resource {
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    resource.build()
}

fn build_tracer_provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build())
}

fn build_meter_provider() -> Result<SdkMeterProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .build()?;
    // The reader's interval comes from OTEL_METRIC_EXPORT_INTERVAL.
    let reader = PeriodicReader::builder(exporter).build();
    Ok(SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource())
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_summary_collapses_whitespace() {
        assert_eq!(statement_summary("SELECT 1\n  FROM\tt "), "SELECT 1 FROM t");
    }

    #[test]
    fn statement_summary_cuts_long_sql() {
        let sql = "SELECT ".repeat(200);
        let summary = statement_summary(&sql);
        assert_eq!(summary.chars().count(), MAX_STATEMENT_CHARS + 1);
        assert!(summary.ends_with('…'));
    }
}
