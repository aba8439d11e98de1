//! Notebook routes: the list, one notebook, and one executed cell.
//!
//! `GET .../notebooks/{path}` differs by URL family. Under `/environments`
//! it returns the 2026 `RawNotebook`: cell texts and new sources, nothing
//! executed, because the 2026 web console then runs each code cell through
//! `GET .../notebooks/{path}/cells/{i}`. Under `/projects` it returns the
//! October-2025 `CompiledNotebook`, which also carries every cell's result.
//! Both carry the fields of the other shape that cost nothing extra.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use malloy_compiler::{ModelOutput, QueryOutput};
use serde::Deserialize;
use serde_json::{json, Value};

use super::models::compiled_model_json;
use super::projects::loaded_package;
use super::{AppError, AppState, Family};
use crate::catalog::PackageState;
use crate::db::DbError;
use crate::notebook::{self, AnalyzedCell, CellKind, NotebookAnalysis, NotebookError};
use crate::result::malloy_result;

/// Query parameters of the notebook routes. `givens` and `filter_params`
/// are checked for valid JSON and otherwise unused.
#[derive(Debug, Default, Deserialize)]
pub struct NotebookParams {
    #[serde(rename = "versionId")]
    version_id: Option<String>,
    givens: Option<String>,
    filter_params: Option<String>,
}

impl NotebookParams {
    fn check(&self) -> Result<(), Response> {
        if matches!(self.version_id.as_deref(), Some(version) if !version.is_empty()) {
            return Err(AppError::version_id().into_response());
        }
        let invalid = |value: &Option<String>| {
            value
                .as_deref()
                .is_some_and(|text| serde_json::from_str::<Value>(text).is_err())
        };
        if invalid(&self.givens) || invalid(&self.filter_params) {
            // The reference replies with this body, not the usual
            // {code, message}.
            return Err(bare_error("Invalid givens: must be valid JSON"));
        }
        Ok(())
    }
}

fn bare_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

pub async fn list_notebooks(
    State(state): State<AppState>,
    Path((project, package)): Path<(String, String)>,
    Query(params): Query<NotebookParams>,
) -> Result<Json<Value>, Response> {
    params.check()?;
    let (loaded, package_name) = loaded_package(&state, &project, &package)
        .await
        .map_err(IntoResponse::into_response)?;
    let paths = match loaded.as_ref() {
        Ok(package) => package.notebooks.clone(),
        Err(_) => unreachable!("loaded_package returns loaded packages only"),
    };
    let mut notebooks = Vec::new();
    for path in paths {
        let mut item = json!({
            "projectName": project,
            "environmentName": project,
            "packageName": package_name,
            "path": path,
        });
        match notebook::analysis(&loaded, &path, state.default_row_limit).await {
            Ok(analysis) => {
                if let Some(title) = analysis.title() {
                    item["title"] = json!(title);
                }
                if let Err(message) = &analysis.outcome {
                    item["error"] = json!(message);
                }
            }
            Err(error) => item["error"] = json!(notebook_error(&path, error).message),
        }
        notebooks.push(item);
    }
    Ok(Json(Value::Array(notebooks)))
}

/// `GET .../notebooks/{path}` and `GET .../notebooks/{path}/cells/{i}`.
pub async fn get_notebook(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path((project, package, path)): Path<(String, String, String)>,
    Query(params): Query<NotebookParams>,
) -> Result<Json<Value>, Response> {
    params.check()?;
    if let Some((notebook_path, index)) = path.rsplit_once("/cells/") {
        return get_cell(&state, &project, &package, notebook_path, index).await;
    }
    let (loaded, package_name) = loaded_package(&state, &project, &package)
        .await
        .map_err(IntoResponse::into_response)?;
    let analysis = compiled(&state, &loaded, &path).await?;
    let model = match &analysis.outcome {
        Ok(model) => model.clone().unwrap_or_else(empty_model),
        Err(_) => unreachable!("compiled returns notebooks that compile"),
    };

    let mut cells = Vec::new();
    for cell in &analysis.cells {
        let mut item = raw_cell(cell);
        if family == Family::Projects {
            if let Some(output) = &cell.query {
                add_query_name(&mut item, output);
                // The October-2025 server leaves out the result of a cell
                // whose query fails, and still replies with 200.
                match run_cell(&loaded, output).await {
                    Ok(result) => item["result"] = json!(result),
                    Err(error) => tracing::info!(
                        notebook = path,
                        message = %error.message,
                        "a notebook cell failed to run"
                    ),
                }
            }
        }
        cells.push(item);
    }

    let mut body = compiled_model_json(&package_name, &path, &model);
    body["type"] = json!("notebook");
    body["annotations"] = json!(model.model_annotations);
    body["autorun"] = json!(true);
    body["notebookCells"] = Value::Array(cells);
    Ok(Json(body))
}

async fn get_cell(
    state: &AppState,
    project: &str,
    package: &str,
    path: &str,
    index_text: &str,
) -> Result<Json<Value>, Response> {
    let Ok(index) = index_text.parse::<i64>() else {
        return Err(bare_error("Invalid cell index"));
    };
    let (loaded, _) = loaded_package(state, project, package)
        .await
        .map_err(IntoResponse::into_response)?;
    let analysis = compiled(state, &loaded, path).await?;
    let count = analysis.cells.len();
    let Some(cell) = usize::try_from(index)
        .ok()
        .and_then(|index| analysis.cells.get(index))
    else {
        return Err(AppError::bad_request(format!(
            "Cell index {index} out of range (0-{})",
            count as i64 - 1
        ))
        .into_response());
    };
    if cell.kind == CellKind::Markdown {
        return Ok(Json(json!({"type": "markdown", "text": cell.text})));
    }
    let mut body = json!({
        "type": "code",
        "text": cell.text,
        "newSources": cell.new_sources,
    });
    if let Some(output) = &cell.query {
        add_query_name(&mut body, output);
        let result = run_cell(&loaded, output)
            .await
            .map_err(IntoResponse::into_response)?;
        body["result"] = json!(result);
    }
    Ok(Json(body))
}

/// Returns the analysis of a notebook that compiles: 404 when there is no
/// such notebook, 424 when a cell does not compile.
async fn compiled(
    state: &AppState,
    loaded: &Arc<PackageState>,
    path: &str,
) -> Result<Arc<NotebookAnalysis>, Response> {
    let analysis = notebook::analysis(loaded, path, state.default_row_limit)
        .await
        .map_err(|error| notebook_error(path, error).into_response())?;
    if let Err(message) = &analysis.outcome {
        return Err(AppError::failed_dependency(message.clone()).into_response());
    }
    Ok(analysis)
}

fn notebook_error(path: &str, error: NotebookError) -> AppError {
    match error {
        NotebookError::NotFound(message) => AppError::not_found(message),
        NotebookError::Internal(message) => {
            tracing::error!(notebook = path, %message, "cannot compile a notebook");
            AppError::internal(format!("Internal error: cannot compile {path}."))
        }
    }
}

/// Builds a cell as the 2026 `RawNotebook` lists it.
fn raw_cell(cell: &AnalyzedCell) -> Value {
    match cell.kind {
        CellKind::Markdown => json!({"type": "markdown", "text": cell.text}),
        CellKind::Malloy => json!({
            "type": "code",
            "text": cell.text,
            "newSources": cell.new_sources,
        }),
    }
}

/// Adds `queryName`: the named query or view the cell's `run:` ends with,
/// taken from the result's `query_name` tag. An ad-hoc query has none: the
/// compiler names it `__stageN` after its last SQL stage.
fn add_query_name(item: &mut Value, output: &QueryOutput) {
    let tagged = output.annotations.iter().find_map(|line| {
        line.strip_prefix("#(malloy) query_name = ")
            .map(|name| name.trim().to_string())
    });
    let name = output
        .query_name
        .clone()
        .or(tagged)
        .filter(|name| !name.starts_with("__stage"));
    if let Some(name) = name {
        item["queryName"] = json!(name);
    }
}

/// Runs a compiled cell on the package's database and returns the
/// `Malloy.Result` JSON text.
async fn run_cell(loaded: &Arc<PackageState>, output: &QueryOutput) -> Result<String, AppError> {
    let Ok(package) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    let database = Arc::clone(package.compiler.host().database());
    let output = output.clone();
    tokio::task::spawn_blocking(move || {
        let rows = database
            .run_query(&output.sql)
            .map_err(|error| match error {
                DbError::TooManyRows | DbError::ResultTooLarge(_) => {
                    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
                }
                DbError::Timeout(_) => {
                    AppError::new(StatusCode::GATEWAY_TIMEOUT, error.to_string())
                }
                DbError::Sql(message) | DbError::Setup(message) => AppError::internal(message),
            })?;
        malloy_result(&output, &rows)
            .map(|result| result.to_string())
            .map_err(|error| {
                tracing::error!(%error, "cannot build a notebook cell's result");
                AppError::internal("Internal error: cannot build the result.")
            })
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "a notebook cell's query task failed");
        AppError::internal("Internal error: the query task failed.")
    })?
}

/// Returns the model of a notebook without Malloy cells.
fn empty_model() -> ModelOutput {
    ModelOutput {
        model_info: json!({"entries": [], "anonymous_queries": []}).to_string(),
        sources: Vec::new(),
        queries: Vec::new(),
        model_annotations: Vec::new(),
        problems: Vec::new(),
    }
}
