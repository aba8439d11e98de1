//! `POST .../models/{path}/compile`: checks Malloy text against a model
//! without running it, and returns the problems with their positions.
//!
//! With `scope: "append"` (the default and only scope) the text is
//! appended to the model on a new line. Problem positions then refer to
//! that combined text, and their `url` is `__compile_check.malloy` in the
//! model's folder.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use malloy_compiler::{Problem, QueryRequest, QuerySpec, Severity};
use serde::Deserialize;
use serde_json::{json, Value};

use super::models::compiled_model;
use super::mutations::parse_body;
use super::projects::loaded_package;
use super::{AppError, AppState, Family};
use crate::sandbox::CompileError;

/// The file name compile-check problems are reported in.
pub const COMPILE_CHECK_FILE: &str = "__compile_check.malloy";

/// The problem the compiler reports for text without a `run:` statement;
/// a compile check accepts such text.
const NO_RUNNABLE_QUERY: &str = "no-runnable-query";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompileBody {
    source: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    include_sql: bool,
    version_id: Option<String>,
}

/// Sends `POST .../models/{path}/compile` to the compile check and every
/// other POST under a model path to the query route.
pub async fn post_model(
    state: State<AppState>,
    family: Extension<Family>,
    Path((project, package, path)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    match path.strip_suffix("/compile") {
        Some(model_path) => compile(state, &project, &package, model_path, body).await,
        None => super::query::post_query(state, family, Path((project, package, path)), body).await,
    }
}

async fn compile(
    State(state): State<AppState>,
    project: &str,
    package: &str,
    model_path: &str,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let body: CompileBody = parse_body(&body)?;
    if body
        .version_id
        .as_deref()
        .is_some_and(|version| !version.is_empty())
    {
        return Err(AppError::version_id());
    }
    match body.scope.as_deref() {
        None | Some("append") => {}
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "Unsupported compile scope \"{other}\"; use \"append\"."
            )))
        }
    }
    let source = body
        .source
        .ok_or_else(|| AppError::bad_request("\"source\" is missing."))?;

    let (loaded, _) = loaded_package(&state, project, package).await?;
    let Ok(loaded) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    compiled_model(loaded, model_path)?;
    let model_text = malloy_compiler::Host::read_file(loaded.compiler.host().as_ref(), model_path)
        .map_err(AppError::not_found)?;
    // The appended text starts on the line after the model's last line.
    let line_offset = model_text.matches('\n').count() as u32 + 1;
    let check_url = match model_path.rsplit_once('/') {
        Some((folder, _)) => format!("{folder}/{COMPILE_CHECK_FILE}"),
        None => COMPILE_CHECK_FILE.to_string(),
    };

    let compiler = loaded.compiler.clone();
    let request = QueryRequest {
        model_path: model_path.to_string(),
        query: QuerySpec::Text(source),
        restricted: true,
        default_row_limit: Some(state.default_row_limit),
    };
    let outcome = tokio::task::spawn_blocking(move || compiler.compile_query(&request))
        .await
        .map_err(|error| {
            tracing::error!(%error, "the compile task failed");
            AppError::internal("Internal error: the compile task failed.")
        })?;
    let (problems, sql) = match outcome {
        Ok(output) => (output.problems, Some(output.sql)),
        Err(CompileError::Problems(problems)) => (problems, None),
        Err(other) => return Err(AppError::from_query_compile(other)),
    };
    let problems: Vec<&Problem> = problems
        .iter()
        .filter(|problem| problem.code != NO_RUNNABLE_QUERY)
        .collect();
    let failed = problems
        .iter()
        .any(|problem| problem.severity == Severity::Error);
    let problems: Vec<Value> = problems
        .into_iter()
        .map(|problem| problem_json(problem, &check_url, line_offset))
        .collect();
    let mut reply = json!({
        "status": if failed { "error" } else { "success" },
        "problems": problems,
    });
    if body.include_sql && !failed {
        if let Some(sql) = sql {
            reply["sql"] = json!(sql);
        }
    }
    Ok(Json(reply))
}

/// Builds a problem in Malloy's shape. Problems in the checked text move
/// to the combined text's positions.
fn problem_json(problem: &Problem, check_url: &str, line_offset: u32) -> Value {
    let in_check = problem.url == "query";
    let shift = if in_check { line_offset } else { 0 };
    let position = |position: malloy_compiler::Position| json!({"line": position.line + shift, "character": position.character});
    json!({
        "code": problem.code,
        "message": problem.message,
        "severity": problem.severity,
        "at": {
            "url": if in_check { check_url } else { problem.url.as_str() },
            "range": {"start": position(problem.range.start), "end": position(problem.range.end)},
        },
    })
}
