//! Changes through the API: projects (environments) and packages added,
//! updated and deleted. Every route rejects the request with 403 when the config file sets
//! `frozenConfig: true`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::projects::{load_packages, package_resource, project_json};
use super::{AppError, AppState, Family};
use crate::catalog::{EditError, PackageRequest, PackageSlot};

impl From<EditError> for AppError {
    fn from(error: EditError) -> AppError {
        let status = match &error {
            EditError::Frozen => StatusCode::FORBIDDEN,
            EditError::NotFound(_) => StatusCode::NOT_FOUND,
            EditError::Conflict(_) => StatusCode::CONFLICT,
            EditError::Invalid(_) => StatusCode::BAD_REQUEST,
            EditError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        };
        AppError::new(status, error.to_string())
    }
}

/// Parses a JSON request body, or returns a 400 with the reason when it
/// is not valid.
pub fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request(
            "The request body is empty; send a JSON object.",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|error| AppError::bad_request(format!("Invalid JSON body: {error}")))
}

#[derive(Debug, Deserialize)]
struct ProjectBody {
    name: Option<String>,
    readme: Option<String>,
    connections: Option<Vec<Value>>,
    #[serde(default)]
    packages: Vec<PackageBody>,
}

#[derive(Debug, Deserialize)]
struct PackageBody {
    name: Option<String>,
    location: Option<String>,
    description: Option<String>,
}

impl PackageBody {
    fn into_request(self) -> Result<PackageRequest, AppError> {
        let name = self
            .name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| AppError::bad_request("The package has no \"name\"."))?;
        Ok(PackageRequest {
            name,
            location: self.location,
            description: self.description,
        })
    }
}

/// `POST /projects`: adds a project, or updates one that exists.
pub async fn create_project(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    check_writable(&state)?;
    let body: ProjectBody = parse_body(&body)?;
    let name = body
        .name
        .filter(|name| !name.is_empty())
        .ok_or_else(|| AppError::bad_request("The project has no \"name\"."))?;
    let packages = body
        .packages
        .into_iter()
        .map(PackageBody::into_request)
        .collect::<Result<Vec<_>, _>>()?;
    let project = state
        .catalog
        .create_project(&name, body.readme, body.connections, packages)
        .await?;
    let packages = load_packages(&state, &project, false).await;
    Ok(Json(project_json(&project, family, &packages)))
}

/// `PATCH /projects/{name}`: replaces the readme and the whole connection
/// list. As in the reference server, the body's `name` picks the project.
pub async fn update_project(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(path_name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    check_writable(&state)?;
    let body: ProjectBody = parse_body(&body)?;
    let name = body
        .name
        .filter(|name| !name.is_empty())
        .unwrap_or(path_name);
    let project = state
        .catalog
        .update_project(&name, body.readme, body.connections)
        .await?;
    let packages = load_packages(&state, &project, false).await;
    Ok(Json(project_json(&project, family, &packages)))
}

/// `DELETE /projects/{name}`: the deleted project, or an empty body when
/// there was none.
pub async fn delete_project(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    check_writable(&state)?;
    match state.catalog.delete_project(&name).await? {
        Some(project) => Ok(Json(project_json(&project, family, &[])).into_response()),
        None => Ok(StatusCode::OK.into_response()),
    }
}

fn package_json(family: Family, project: &str, slot: &PackageSlot) -> Value {
    let mut item = json!({
        "name": slot.name,
        "resource": package_resource(family, project, &slot.name),
        "projectName": project,
        "environmentName": project,
    });
    if let Some(description) = &slot.description {
        item["description"] = json!(description);
    }
    if let Some(location) = &slot.location_text {
        item["location"] = json!(location);
    }
    item
}

/// `POST /projects/{p}/packages`: adds a package from a folder or a `.zip`
/// archive.
pub async fn create_package(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(project): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    check_writable(&state)?;
    let request = parse_body::<PackageBody>(&body)?.into_request()?;
    let slot = state.catalog.add_package(&project, request).await?;
    load_in_background(&state, &slot);
    Ok(Json(package_json(family, &project, &slot)))
}

/// `PATCH /projects/{p}/packages/{pkg}`: a new description and, when given,
/// a new location.
pub async fn update_package(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path((project, package)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    check_writable(&state)?;
    let body: PackageBody = parse_body(&body)?;
    if let Some(name) = body.name.as_deref().filter(|name| !name.is_empty()) {
        if name != package {
            return Err(AppError::bad_request(format!(
                "Renaming packages is not supported: the body's name \"{name}\" differs from \"{package}\"."
            )));
        }
    }
    let slot = state
        .catalog
        .update_package(&project, &package, body.description, body.location)
        .await?;
    load_in_background(&state, &slot);
    Ok(Json(package_json(family, &project, &slot)))
}

/// `DELETE /projects/{p}/packages/{pkg}`: the deleted package.
pub async fn delete_package(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path((project, package)): Path<(String, String)>,
) -> Result<Json<Value>, AppError> {
    check_writable(&state)?;
    let slot = state.catalog.delete_package(&project, &package).await?;
    Ok(Json(package_json(family, &project, &slot)))
}

/// Starts loading a new or changed package, so `/status` reports it as
/// loaded (or failed) without waiting for its first request.
fn load_in_background(state: &AppState, slot: &Arc<PackageSlot>) {
    let slot = Arc::clone(slot);
    let sandbox = Arc::clone(state.catalog.sandbox());
    tokio::spawn(async move {
        slot.state(&sandbox).await;
    });
}

/// Rejects a mutation before its body is read when the config is frozen.
fn check_writable(state: &AppState) -> Result<(), AppError> {
    if state.catalog.settings().frozen {
        Err(EditError::Frozen.into())
    } else {
        Ok(())
    }
}
