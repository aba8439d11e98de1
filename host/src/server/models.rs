//! Model and notebook lists, and compiled models.

use axum::extract::{Path, Query, State};
use axum::Json;
use malloy_compiler::ModelOutput;
use serde_json::{json, Value};

use super::projects::{loaded_package, ReadParams};
use super::{AppError, AppState};
use crate::catalog::LoadedPackage;

/// The Malloy release whose behaviour this server follows, reported as
/// `malloyVersion`.
pub const MALLOY_VERSION: &str = "0.0.431";

pub async fn list_models(
    State(state): State<AppState>,
    Path((project, package)): Path<(String, String)>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    params.check_version()?;
    let (loaded, package_name) = loaded_package(&state, &project, &package).await?;
    let Ok(loaded) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    let models: Vec<Value> = loaded
        .models
        .iter()
        .map(|(path, compiled)| {
            let mut item = json!({
                "projectName": project,
                "environmentName": project,
                "packageName": package_name,
                "path": path,
                "type": "source",
            });
            if let Err(error) = compiled {
                item["error"] = json!(error.message);
            }
            item
        })
        .collect();
    Ok(Json(Value::Array(models)))
}

pub async fn get_model(
    State(state): State<AppState>,
    Path((project, package, path)): Path<(String, String, String)>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    if let Some(model) = path.strip_suffix("/query") {
        if model.ends_with(".malloy") {
            return Err(AppError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                format!("GET is not supported on {path}; send queries with POST."),
            ));
        }
    }
    params.check_version()?;
    let (loaded, package_name) = loaded_package(&state, &project, &package).await?;
    let Ok(loaded) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    let output = compiled_model(loaded, &path)?;
    Ok(Json(compiled_model_json(&package_name, &path, output)))
}

/// Returns the compiled model at `path`: 404 when there is none, 424 when
/// it does not compile.
pub fn compiled_model<'a>(
    package: &'a LoadedPackage,
    path: &str,
) -> Result<&'a ModelOutput, AppError> {
    match package.models.get(path) {
        Some(Ok(output)) => Ok(output),
        Some(Err(error)) => Err(AppError::failed_dependency(error.message.clone())),
        None if package.notebooks.iter().any(|notebook| notebook == path) => {
            Err(AppError::not_found(format!("{path} is a notebook")))
        }
        None => Err(AppError::not_found(format!("{path} does not exist"))),
    }
}

/// Builds the `CompiledModel` payload, in the shape the Publisher sends (not the
/// shape its API document declares): `type`, `modelPath`, `sources`,
/// `modelDef` and `dataStyles` besides the declared fields.
pub(super) fn compiled_model_json(package_name: &str, path: &str, output: &ModelOutput) -> Value {
    let model_info: Value = serde_json::from_str(&output.model_info).unwrap_or_else(|error| {
        tracing::error!(%error, model = path, "the compiler's model info is not valid JSON");
        json!({"entries": [], "anonymous_queries": []})
    });
    let source_infos: Vec<String> = model_info
        .get("entries")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter(|entry| entry.get("kind").and_then(Value::as_str) == Some("source"))
                .map(Value::to_string)
                .collect()
        })
        .unwrap_or_default();
    let sources: Vec<Value> = output
        .sources
        .iter()
        .map(|source| {
            let views: Vec<Value> = source
                .views
                .iter()
                .map(|view| with_annotations(json!({"name": view.name}), &view.annotations))
                .collect();
            with_annotations(
                json!({"name": source.name, "views": views}),
                &source.annotations,
            )
        })
        .collect();
    let queries: Vec<Value> = output
        .queries
        .iter()
        .map(|query| {
            let mut item = json!({"name": query.name});
            if let Some(source_name) = &query.source_name {
                item["sourceName"] = json!(source_name);
            }
            with_annotations(item, &query.annotations)
        })
        .collect();
    json!({
        "type": "source",
        "packageName": package_name,
        "modelPath": path,
        "malloyVersion": MALLOY_VERSION,
        "dataStyles": "{}",
        "modelDef": model_def(output),
        "modelInfo": model_info.to_string(),
        "sourceInfos": source_infos,
        "sources": sources,
        "queries": queries,
    })
}

/// Returns a small stand-in for Malloy's internal `ModelDef`: clients read only its
/// `imports`, and the exported names help a reader.
pub fn model_def(output: &ModelOutput) -> String {
    let exports: Vec<&str> = output
        .sources
        .iter()
        .map(|source| source.name.as_str())
        .chain(output.queries.iter().map(|query| query.name.as_str()))
        .collect();
    json!({"name": "", "exports": exports, "imports": []}).to_string()
}

fn with_annotations(mut item: Value, annotations: &[String]) -> Value {
    if !annotations.is_empty() {
        item["annotations"] = json!(annotations);
    }
    item
}
