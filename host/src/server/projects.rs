//! Status, projects and packages.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{AppError, AppState, Family};
use crate::catalog::secrets::redact;
use crate::catalog::{LoadedPackage, PackageSlot, Project};

/// Query parameters of the GET routes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadParams {
    pub version_id: Option<String>,
    pub reload: Option<String>,
}

impl ReadParams {
    /// Rejects a non-empty `versionId`, which no Publisher implements.
    pub fn check_version(&self) -> Result<(), AppError> {
        match self.version_id.as_deref() {
            Some(version) if !version.is_empty() => Err(AppError::version_id()),
            _ => Ok(()),
        }
    }

    fn reload(&self) -> bool {
        self.reload.as_deref() == Some("true")
    }
}

pub async fn status(State(state): State<AppState>) -> Json<Value> {
    let catalog = &state.catalog;
    let initialized = catalog.initialized();
    let mut projects = Vec::new();
    for project in catalog.projects() {
        // Status does not wait for packages that are still loading.
        projects.push(project_json(
            &project,
            Family::Projects,
            &loaded_packages(&project),
        ));
    }
    let load_errors: Vec<Value> = catalog
        .load_errors()
        .into_iter()
        .map(|(project, package, message)| {
            json!({"projectName": project, "environmentName": project, "packageName": package, "message": message})
        })
        .collect();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0);
    let mut body = json!({
        "timestamp": timestamp,
        "projects": projects,
        "environments": projects,
        "initialized": initialized,
        "operationalState": if initialized { "serving" } else { "initializing" },
        "frozenConfig": catalog.settings().frozen,
        "theme": {},
    });
    if !load_errors.is_empty() {
        body["loadErrors"] = Value::Array(load_errors);
    }
    Json(body)
}

pub async fn list_projects(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
) -> Json<Value> {
    let mut projects = Vec::new();
    for project in state.catalog.projects() {
        let packages = load_packages(&state, &project, false).await;
        projects.push(project_json(&project, family, &packages));
    }
    Json(Value::Array(projects))
}

pub async fn get_project(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(project_name): Path<String>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    params.check_version()?;
    let project = find_project(&state, &project_name)?;
    let packages = load_packages(&state, &project, params.reload()).await;
    Ok(Json(project_json(&project, family, &packages)))
}

/// The April-2025 `about` route: the project's README.
pub async fn about(
    State(state): State<AppState>,
    Path(project_name): Path<String>,
) -> Result<Json<Value>, AppError> {
    let project = find_project(&state, &project_name)?;
    Ok(Json(json!({ "readme": project.readme })))
}

pub async fn list_packages(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(project_name): Path<String>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    params.check_version()?;
    let project = find_project(&state, &project_name)?;
    let packages = load_packages(&state, &project, false).await;
    Ok(Json(packages_json(&project, family, &packages)))
}

pub async fn get_package(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path((project_name, package_name)): Path<(String, String)>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    params.check_version()?;
    let project = find_project(&state, &project_name)?;
    let slot = find_package(&project, &package_name)?;
    let loaded = if params.reload() {
        slot.reload(state.catalog.sandbox()).await
    } else {
        slot.state(state.catalog.sandbox()).await
    };
    let mut body = Map::new();
    match loaded.as_ref() {
        Ok(package) => {
            let name = package.manifest_name.as_deref().unwrap_or(&slot.name);
            body.insert("name".into(), json!(name));
            if let Some(description) = slot.description.as_ref().or(package.description.as_ref()) {
                body.insert("description".into(), json!(description));
            }
        }
        // A package that fails to load still returns 200, with the reason as
        // its description.
        Err(message) => {
            body.insert("name".into(), json!(slot.name));
            body.insert("description".into(), json!(message));
        }
    }
    body.insert(
        "resource".into(),
        json!(package_resource(family, &project.name, &slot.name)),
    );
    Ok(Json(Value::Object(body)))
}

pub fn find_project(state: &AppState, name: &str) -> Result<Arc<Project>, AppError> {
    state
        .catalog
        .project(name)
        .ok_or_else(|| AppError::not_found(format!("Project \"{name}\" does not exist.")))
}

pub fn find_package(project: &Project, name: &str) -> Result<Arc<PackageSlot>, AppError> {
    project.package(name).ok_or_else(|| {
        AppError::not_found(format!(
            "Package \"{name}\" does not exist in project \"{}\".",
            project.name
        ))
    })
}

/// Finds a package and waits for it to load. A package that failed to load
/// returns 424 with the reason.
pub async fn loaded_package(
    state: &AppState,
    project_name: &str,
    package_name: &str,
) -> Result<(Arc<crate::catalog::PackageState>, String), AppError> {
    let project = find_project(state, project_name)?;
    let slot = find_package(&project, package_name)?;
    let loaded = slot.state(state.catalog.sandbox()).await;
    if let Err(message) = loaded.as_ref() {
        return Err(AppError::failed_dependency(message.clone()));
    }
    Ok((loaded, slot.name.clone()))
}

/// Loads (or reloads) every package of `project` and returns the states
/// in configuration order.
pub(super) async fn load_packages(
    state: &AppState,
    project: &Project,
    reload: bool,
) -> Vec<(String, Arc<crate::catalog::PackageState>)> {
    let sandbox = state.catalog.sandbox();
    let mut packages = Vec::new();
    for slot in &project.packages {
        let loaded = if reload {
            slot.reload(sandbox).await
        } else {
            slot.state(sandbox).await
        };
        packages.push((slot.name.clone(), loaded));
    }
    packages
}

/// Returns the packages of `project` that have finished loading.
fn loaded_packages(project: &Project) -> Vec<(String, Arc<crate::catalog::PackageState>)> {
    project
        .packages
        .iter()
        .filter_map(|slot| slot.current().map(|loaded| (slot.name.clone(), loaded)))
        .collect()
}

pub(super) fn project_json(
    project: &Project,
    family: Family,
    packages: &[(String, Arc<crate::catalog::PackageState>)],
) -> Value {
    json!({
        "resource": format!("/api/v0/{}/{}", family.segment(), project.name),
        "name": project.name,
        "readme": project.readme,
        "connections": project.connections.iter().map(redact).collect::<Vec<Value>>(),
        "packages": packages_json(project, family, packages),
    })
}

fn packages_json(
    project: &Project,
    family: Family,
    packages: &[(String, Arc<crate::catalog::PackageState>)],
) -> Value {
    packages
        .iter()
        .map(|(name, loaded)| {
            let configured = project
                .package(name)
                .and_then(|slot| slot.description.clone());
            let description = match loaded.as_ref() {
                Ok(LoadedPackage { description, .. }) => configured.or(description.clone()),
                Err(message) => Some(message.clone()),
            };
            let mut item = json!({
                "name": name,
                "resource": package_resource(family, &project.name, name),
                "projectName": project.name,
                "environmentName": project.name,
            });
            if let Some(description) = description {
                item["description"] = json!(description);
            }
            item
        })
        .collect()
}

pub fn package_resource(family: Family, project: &str, package: &str) -> String {
    format!("/api/v0/{}/{project}/packages/{package}", family.segment())
}
