//! Running queries: `POST .../models/{path}/query` and the April-2025
//! `GET .../queryResults/{path}`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use malloy_compiler::{QueryOutput, QueryRequest, QuerySpec};
use serde::Deserialize;
use serde_json::{json, Value};

use super::models::{compiled_model, model_def};
use super::projects::{loaded_package, package_resource};
use super::{AppError, AppState, Family};
use crate::db::{DbError, QueryRows};
use crate::result::{malloy_result, plain_rows};
use crate::telemetry::{in_current_span, QueryTimer};

/// The body of a query request. Empty strings count as absent, as they do
/// for the reference server.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryBody {
    query: Option<String>,
    source_name: Option<String>,
    query_name: Option<String>,
    version_id: Option<String>,
    #[serde(default)]
    compact_json: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryParams {
    query: Option<String>,
    source_name: Option<String>,
    query_name: Option<String>,
    version_id: Option<String>,
}

const INVALID_QUERY_REQUEST: &str =
    "Invalid query request. (Query AND !sourceName) OR (queryName AND sourceName) must be defined.";

pub async fn post_query(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path((project, package, path)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let Some(model_path) = path.strip_suffix("/query") else {
        return Err(AppError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "POST is not supported on model {path}; post queries to .../models/{path}/query"
            ),
        ));
    };
    let body: QueryBody = if body.iter().all(u8::is_ascii_whitespace) {
        QueryBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|error| AppError::bad_request(format!("Invalid JSON body: {error}")))?
    };
    check_version(body.version_id.as_deref())?;
    let spec = select_query(body.query, body.source_name, body.query_name)?;

    let started = Instant::now();
    let executed = execute(&state, &project, &package, model_path, spec).await?;
    let result = if body.compact_json {
        plain_rows(&executed.rows).to_string()
    } else {
        malloy_result(&executed.output, &executed.rows)
            .map_err(|error| internal_error("cannot build the result", error))?
            .to_string()
    };
    let row_limit_source = match executed.output.row_limit {
        Some(limit) if limit == state.default_row_limit => "server_default",
        _ => "query",
    };
    Ok(Json(json!({
        "result": result,
        "resource": format!(
            "{}/models/{model_path}/query",
            package_resource(family, &project, &package)
        ),
        "queryRowLimit": executed.output.row_limit,
        "queryRowLimitSource": row_limit_source,
        "executionTimeMs": started.elapsed().as_millis() as u64,
    })))
}

pub async fn query_results(
    State(state): State<AppState>,
    Path((project, package, path)): Path<(String, String, String)>,
    Query(params): Query<QueryParams>,
) -> Result<Json<Value>, AppError> {
    check_version(params.version_id.as_deref())?;
    let spec = select_query(params.query, params.source_name, params.query_name)?;
    let executed = execute(&state, &project, &package, &path, spec).await?;
    let mut query_result = json!({
        "result": plain_rows(&executed.rows),
        "totalRows": executed.rows.rows.len(),
        "sql": executed.output.sql,
        "connectionName": executed.output.connection_name,
    });
    if let Some(query_name) = &executed.output.query_name {
        query_result["queryName"] = json!(query_name);
    }
    if let Some(source_name) = &executed.output.source_name {
        query_result["sourceName"] = json!(source_name);
    }
    Ok(Json(json!({
        "dataStyles": "{}",
        "modelDef": executed.model_def,
        "queryResult": query_result.to_string(),
    })))
}

fn check_version(version_id: Option<&str>) -> Result<(), AppError> {
    match version_id {
        Some(version) if !version.is_empty() => Err(AppError::version_id()),
        _ => Ok(()),
    }
}

/// Applies the Publisher's rule: query text alone, or a query name with an
/// optional source name.
fn select_query(
    query: Option<String>,
    source_name: Option<String>,
    query_name: Option<String>,
) -> Result<QuerySpec, AppError> {
    let present = |value: Option<String>| value.filter(|text| !text.is_empty());
    match (present(query), present(source_name), present(query_name)) {
        (Some(text), None, None) => Ok(QuerySpec::Text(text)),
        (None, source_name, Some(query_name)) => Ok(QuerySpec::Named {
            source_name,
            query_name,
        }),
        _ => Err(AppError::bad_request(INVALID_QUERY_REQUEST)),
    }
}

struct Executed {
    output: QueryOutput,
    rows: QueryRows,
    model_def: String,
}

/// Compiles a query in the package's sandbox and runs it on the package's
/// database, both on blocking threads.
async fn execute(
    state: &AppState,
    project: &str,
    package: &str,
    model_path: &str,
    spec: QuerySpec,
) -> Result<Executed, AppError> {
    let timer = QueryTimer::start(project, package, model_path);
    let (loaded, _) = loaded_package(state, project, package).await?;
    let Ok(loaded_package) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    let model_def = model_def(compiled_model(loaded_package, model_path)?);

    let compiler = loaded_package.compiler.clone();
    let request = QueryRequest {
        model_path: model_path.to_string(),
        restricted: matches!(spec, QuerySpec::Text(_)),
        query: spec,
        default_row_limit: Some(state.default_row_limit),
    };
    let compile = in_current_span(move || compiler.compile_query(&request));
    let output = tokio::task::spawn_blocking(compile)
        .await
        .map_err(|error| internal_error("the compile task failed", error))?
        .map_err(|error| {
            let error = AppError::from_query_compile(error);
            if error.status.is_server_error() {
                tracing::warn!(model = model_path, message = %error.message, "query compilation failed");
            }
            error
        })?;

    let database = loaded_package.compiler.host().database().clone();
    let sql = output.sql.clone();
    let slots = acquire_query_slots(project, package).await?;
    let cancel = Arc::new(AtomicBool::new(false));
    let mut abandoned = AbandonedQuery {
        project: project.to_string(),
        package: package.to_string(),
        model: model_path.to_string(),
        cancel: Arc::clone(&cancel),
        finished: false,
    };
    // The blocking task owns the slots, so an interrupted query counts
    // against the limits until DuckDB has stopped it.
    let run = in_current_span(move || {
        let rows = database.run_query_cancellable(&sql, &cancel);
        drop(slots);
        rows
    });
    let outcome = tokio::task::spawn_blocking(run).await;
    abandoned.finished = true;
    let rows = outcome
        .map_err(|error| internal_error("the query task failed", error))?
        .map_err(|error| {
            tracing::info!(model = model_path, %error, "query failed in DuckDB");
            match error {
                DbError::TooManyRows | DbError::ResultTooLarge(_) => {
                    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
                }
                DbError::Timeout(_) => {
                    AppError::new(StatusCode::GATEWAY_TIMEOUT, error.to_string())
                }
                DbError::Sql(message) | DbError::Setup(message) => AppError::internal(message),
            }
        })?;
    timer.succeeded();
    Ok(Executed {
        output,
        rows,
        model_def,
    })
}

/// Interrupts the query and logs one line when the request is dropped
/// before its query finished, usually because the client disconnected.
struct AbandonedQuery {
    project: String,
    package: String,
    model: String,
    cancel: Arc<AtomicBool>,
    finished: bool,
}

impl Drop for AbandonedQuery {
    fn drop(&mut self) {
        if !self.finished {
            self.cancel.store(true, Ordering::Relaxed);
            tracing::warn!(
                project = %self.project,
                package = %self.package,
                model = %self.model,
                "the client disconnected before its query finished; interrupting the query"
            );
        }
    }
}

/// The admission slots one model query holds while it runs in DuckDB.
struct QuerySlots {
    _package: tokio::sync::OwnedSemaphorePermit,
    _global: tokio::sync::OwnedSemaphorePermit,
}

/// Waits for a slot of the package and then a slot of the whole server.
///
/// Each package may run two queries per CPU core at once. DuckDB spreads
/// each query over the cores, so running more only shares the CPU among
/// them. The limit is per package so that runaway queries in one package
/// do not stop the others, and the server-wide cap of eight per core
/// bounds the blocking threads. The semaphores are fair, so queued
/// requests start in arrival order.
async fn acquire_query_slots(project: &str, package: &str) -> Result<QuerySlots, AppError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use tokio::sync::Semaphore;

    static PACKAGES: OnceLock<Mutex<HashMap<(String, String), Arc<Semaphore>>>> = OnceLock::new();
    static GLOBAL: OnceLock<Arc<Semaphore>> = OnceLock::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let package_slots = {
        let mut packages = PACKAGES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|error| error.into_inner());
        packages
            .entry((project.to_string(), package.to_string()))
            .or_insert_with(|| Arc::new(Semaphore::new(2 * cores)))
            .clone()
    };
    let global_slots = GLOBAL
        .get_or_init(|| Arc::new(Semaphore::new(8 * cores)))
        .clone();
    let closed = |error| internal_error("the query slots are closed", error);
    let package_permit = package_slots.acquire_owned().await.map_err(closed)?;
    let global_permit = global_slots.acquire_owned().await.map_err(closed)?;
    Ok(QuerySlots {
        _package: package_permit,
        _global: global_permit,
    })
}

/// Logs an unexpected failure and returns a generic 500.
fn internal_error(context: &str, error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "{context}");
    AppError::internal(format!("Internal error: {context}."))
}

#[cfg(test)]
mod tests {
    use super::acquire_query_slots;
    use std::time::Duration;

    #[tokio::test]
    async fn busy_package_does_not_block_others() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut held = Vec::new();
        for _ in 0..2 * cores {
            held.push(acquire_query_slots("slots", "busy").await.unwrap());
        }

        let busy = tokio::time::timeout(
            Duration::from_millis(200),
            acquire_query_slots("slots", "busy"),
        )
        .await;
        assert!(busy.is_err(), "a full package admitted another query");

        let other = tokio::time::timeout(
            Duration::from_millis(200),
            acquire_query_slots("slots", "other"),
        )
        .await;
        assert!(other.is_ok(), "a full package blocked another package");

        drop(held);
        let freed = tokio::time::timeout(
            Duration::from_millis(200),
            acquire_query_slots("slots", "busy"),
        )
        .await;
        assert!(freed.is_ok(), "released slots were not reused");
    }
}
