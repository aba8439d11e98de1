//! Logs to stderr and, when an OTLP endpoint is configured, exports spans
//! to it over OTLP HTTP/protobuf.
//!
//! The exporter reads the standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (a base URL, `/v1/traces` is appended) or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is), plus
//! `OTEL_SERVICE_NAME`, headers and timeouts. Without either endpoint
//! variable nothing is exported.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Log levels when `RUST_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "malloy_publisher=info,tower_http=info";

/// Spans exported over OTLP: the request spans and the compile and DuckDB
/// spans inside them.
const EXPORT_FILTER: &str = "malloy_publisher=debug,tower_http=info";

/// The service name the reference Publisher reports.
const SERVICE_NAME: &str = "publisher";

/// The installed exporter, flushed by [`Telemetry::shutdown`].
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

/// Installs the global subscriber. Call it before starting an async
/// runtime: the OTLP exporter uses a blocking HTTP client of its own.
pub fn init() -> Telemetry {
    let log_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let log_layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(log_filter);

    let (provider, exporter_error) = if otlp_endpoint_configured() {
        match build_provider() {
            Ok(provider) => (Some(provider), None),
            Err(error) => (None, Some(error)),
        }
    } else {
        (None, None)
    };
    let export_layer = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("malloy-publisher"))
            .with_filter(EnvFilter::new(EXPORT_FILTER))
    });

    tracing_subscriber::registry()
        .with(log_layer)
        .with(export_layer)
        .init();
    if let Some(error) = exporter_error {
        tracing::error!(%error, "cannot set up the OTLP exporter; spans are not exported");
    } else if provider.is_some() {
        tracing::info!("exporting spans over OTLP");
    }
    Telemetry { provider }
}

impl Telemetry {
    /// Sends the spans still buffered. Call it outside the async runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "cannot flush the OTLP exporter");
            }
        }
    }
}

fn otlp_endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()))
}

fn build_provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(SERVICE_NAME);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}
