//! The HTTP API: the Publisher's `/api/v0` routes over the catalog.
//!
//! Every project route exists twice, under `/api/v0/projects/...` (the
//! 2025 API) and `/api/v0/environments/...` (the 2026 name), with the same
//! payloads.

mod compile;
mod connections;
pub mod console;
mod databases;
mod error;
mod json_errors;
mod models;
mod mutations;
mod notebooks;
mod openapi;
pub mod playground;
mod projects;
mod query;
mod read_only_sql;
mod request_guard;
mod schedules;
mod sql_connections;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::cors::{AllowHeaders, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::catalog::Catalog;
pub use error::AppError;

/// Maximum request body size, in bytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The origin of the Publisher's web console in development, the only
/// origin the reference server allows.
const CONSOLE_ORIGIN: &str = "http://localhost:5173";

/// State shared by every request.
#[derive(Debug, Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    /// Row limit for queries that set none.
    pub default_row_limit: u64,
}

/// The URL family a request came through, used in the `resource` paths of
/// replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Projects,
    Environments,
}

impl Family {
    pub fn segment(self) -> &'static str {
        match self {
            Family::Projects => "projects",
            Family::Environments => "environments",
        }
    }
}

/// Builds the router with every route, CORS and request tracing, and the
/// browser playground at `/` and `/playground`.
pub fn app(state: AppState) -> Router {
    app_with_console(state, console::Console::default())
}

/// Builds the router with every route, CORS and request tracing. The
/// browser playground is served at `/playground` from
/// [`playground::default_web_dir`]. `/` serves the web console when
/// `console` has a folder, and the playground otherwise.
pub fn app_with_console(state: AppState, console: console::Console) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_static(CONSOLE_ORIGIN))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::PATCH,
            Method::POST,
            Method::DELETE,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .max_age(Duration::from_secs(600));
    // Span fields use OpenTelemetry's HTTP semantic-convention names, so
    // exported spans read like those of other HTTP servers.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("unmatched");
            tracing::info_span!(
                "request",
                otel.name = format!("{} {route}", request.method()),
                otel.kind = "server",
                http.request.method = %request.method(),
                url.path = %request.uri().path(),
                http.route = route,
                http.response.status_code = tracing::field::Empty,
            )
        })
        .on_response(
            |response: &Response, latency: Duration, span: &tracing::Span| {
                let status = response.status().as_u16();
                span.record("http.response.status_code", status);
                tracing::debug!(status, latency_ms = latency.as_millis() as u64, "response");
            },
        );

    Router::new()
        .route("/api/v0/status", get(projects::status))
        .route(
            "/api/v0/connections/test",
            axum::routing::post(connections::test_connection),
        )
        .route("/api-doc.yaml", get(openapi::api_doc))
        .merge(family_routes(Family::Projects))
        .merge(family_routes(Family::Environments))
        .merge(playground::router(
            playground::default_web_dir(),
            console.dir.is_none(),
        ))
        .merge(console::router(&console))
        .fallback_service(console::fallback(console.dir.clone()))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(request_guard::require_json_body))
        .layer(axum::middleware::from_fn(json_errors::json_errors))
        .layer(axum::middleware::from_fn(
            crate::telemetry::record_http_metrics,
        ))
        .layer(trace)
        .layer(cors)
        .with_state(state)
}

fn family_routes(family: Family) -> Router<AppState> {
    let base = format!("/api/v0/{}", family.segment());
    let package = format!("{base}/{{project}}/packages/{{package}}");
    Router::new()
        .route(
            &base,
            get(projects::list_projects).post(mutations::create_project),
        )
        .route(
            &format!("{base}/{{project}}"),
            get(projects::get_project)
                .patch(mutations::update_project)
                .delete(mutations::delete_project),
        )
        .route(&format!("{base}/{{project}}/about"), get(projects::about))
        .merge(connections::routes(&format!("{base}/{{project}}"), true))
        .merge(connections::routes(&package, false))
        .route(
            &format!("{base}/{{project}}/packages"),
            get(projects::list_packages).post(mutations::create_package),
        )
        .route(
            &package,
            get(projects::get_package)
                .patch(mutations::update_package)
                .delete(mutations::delete_package),
        )
        .route(&format!("{package}/models"), get(models::list_models))
        .route(
            &format!("{package}/models/{{*path}}"),
            get(models::get_model).post(compile::post_model),
        )
        .route(
            &format!("{package}/notebooks"),
            get(notebooks::list_notebooks),
        )
        .route(
            &format!("{package}/notebooks/{{*path}}"),
            get(notebooks::get_notebook),
        )
        .route(
            &format!("{package}/schedules"),
            get(schedules::list_schedules),
        )
        .route(
            &format!("{package}/databases"),
            get(databases::list_databases),
        )
        .route(
            &format!("{package}/queryResults/{{*path}}"),
            get(query::query_results),
        )
        .layer(Extension(family))
}

async fn unknown_route(request: Request) -> AppError {
    AppError::not_found(format!(
        "Unknown API endpoint: {} {}.",
        request.method(),
        request.uri().path()
    ))
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let app = if address.ip().is_loopback() {
        app.layer(axum::middleware::from_fn_with_state(
            address,
            request_guard::require_loopback_host,
        ))
    } else {
        app
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
