//! Changes to the catalog made through the API: projects, packages and
//! connections added, updated and removed while the server runs.
//!
//! Each change builds a new `Project` value and swaps it into the catalog
//! under the write lock. Requests that already hold the old project, slot
//! or package state finish on it; the next lookup sees the new one.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value as Json;

use super::secrets::restore_secrets;
use super::{Catalog, PackageSlot, Project};
use crate::config::{resolve_location, PackageConfig, PackageLocation};

/// Maximum total uncompressed size of an uploaded package archive.
pub const MAX_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;

/// Maximum number of entries in an uploaded package archive.
const MAX_ARCHIVE_ENTRIES: usize = 100_000;

/// The reason a change to the catalog was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("The configuration is frozen; projects, packages and connections cannot be changed.")]
    Frozen,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// The archive is larger than the server accepts.
    #[error("{0}")]
    TooLarge(String),
}

/// A package or connection change, as the API body gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackageRequest {
    pub name: String,
    pub location: Option<String>,
    pub description: Option<String>,
}

/// A folder under the storage folder that contains one unpacked archive. It
/// is removed when the last package version that uses it is dropped.
#[derive(Debug)]
pub struct UnpackedFolder {
    path: PathBuf,
}

impl UnpackedFolder {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for UnpackedFolder {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path) {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(%error, "cannot remove an unpacked package folder");
            }
        }
    }
}

impl Catalog {
    fn check_not_frozen(&self) -> Result<(), EditError> {
        if self.settings.frozen {
            Err(EditError::Frozen)
        } else {
            Ok(())
        }
    }

    /// Replaces the project called `name` with the result of `change`, or
    /// returns `NotFound` when there is none.
    fn replace_project<T>(
        &self,
        name: &str,
        change: impl FnOnce(&mut Project) -> Result<T, EditError>,
    ) -> Result<(Arc<Project>, T), EditError> {
        let mut projects = self.projects.write().unwrap_or_else(|e| e.into_inner());
        let index = projects
            .iter()
            .position(|project| project.name == name)
            .ok_or_else(|| project_not_found(name))?;
        let mut project = Project::clone(&projects[index]);
        let outcome = change(&mut project)?;
        let project = Arc::new(project);
        projects[index] = Arc::clone(&project);
        Ok((project, outcome))
    }

    /// Adds a project, or updates the readme and connections of an existing
    /// one as the reference server does. New packages in `packages` are
    /// added; existing ones are kept.
    pub async fn create_project(
        &self,
        name: &str,
        readme: Option<String>,
        connections: Option<Vec<Json>>,
        packages: Vec<PackageRequest>,
    ) -> Result<Arc<Project>, EditError> {
        self.check_not_frozen()?;
        check_name("project", name)?;
        let _edit = self.edits.lock().await;
        let mut slots = Vec::new();
        for package in packages {
            if self
                .project(name)
                .is_some_and(|project| project.package(&package.name).is_some())
            {
                continue;
            }
            slots.push(Arc::new(self.new_slot(name, package).await?));
        }
        if self.project(name).is_some() {
            let (project, ()) = self.replace_project(name, |project| {
                if let Some(readme) = readme {
                    project.readme = readme;
                }
                if let Some(connections) = connections {
                    project.connections = connections;
                }
                project.packages.extend(slots);
                Ok(())
            })?;
            return Ok(project);
        }
        let project = Arc::new(Project {
            name: name.to_string(),
            readme: readme.unwrap_or_default(),
            connections: connections.unwrap_or_default(),
            packages: slots,
        });
        self.projects
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&project));
        tracing::info!(project = name, "project added");
        Ok(project)
    }

    /// Replaces a project's readme and, when given, its whole connection
    /// list.
    /// Connections sent back with redacted secrets keep the stored secrets
    /// of the connection with the same name.
    pub async fn update_project(
        &self,
        name: &str,
        readme: Option<String>,
        connections: Option<Vec<Json>>,
    ) -> Result<Arc<Project>, EditError> {
        self.check_not_frozen()?;
        let _edit = self.edits.lock().await;
        let (project, ()) = self.replace_project(name, |project| {
            if let Some(readme) = readme {
                project.readme = readme;
            }
            if let Some(connections) = connections {
                project.connections = connections
                    .into_iter()
                    .map(|connection| {
                        let name = connection.get("name").and_then(Json::as_str);
                        let stored = project.connections.iter().find(|item| {
                            name.is_some() && item.get("name").and_then(Json::as_str) == name
                        });
                        match stored {
                            Some(stored) => restore_secrets(stored, connection),
                            None => connection,
                        }
                    })
                    .collect();
            }
            Ok(())
        })?;
        tracing::info!(project = name, "project updated");
        Ok(project)
    }

    /// Removes a project and returns it, or `None` when it did not exist.
    pub async fn delete_project(&self, name: &str) -> Result<Option<Arc<Project>>, EditError> {
        self.check_not_frozen()?;
        let _edit = self.edits.lock().await;
        let mut projects = self.projects.write().unwrap_or_else(|e| e.into_inner());
        let index = projects.iter().position(|project| project.name == name);
        let removed = index.map(|index| projects.remove(index));
        if removed.is_some() {
            tracing::info!(project = name, "project deleted");
        }
        Ok(removed)
    }

    /// Adds a package to a project. The package loads on first use.
    pub async fn add_package(
        &self,
        project_name: &str,
        request: PackageRequest,
    ) -> Result<Arc<PackageSlot>, EditError> {
        self.check_not_frozen()?;
        check_name("package", &request.name)?;
        let _edit = self.edits.lock().await;
        let project = self
            .project(project_name)
            .ok_or_else(|| project_not_found(project_name))?;
        if project.package(&request.name).is_some() {
            return Err(EditError::Conflict(format!(
                "Package \"{}\" already exists in project \"{project_name}\".",
                request.name
            )));
        }
        let slot = Arc::new(self.new_slot(project_name, request).await?);
        let (_, ()) = self.replace_project(project_name, |project| {
            project.packages.push(Arc::clone(&slot));
            Ok(())
        })?;
        tracing::info!(project = project_name, package = %slot.name, "package added");
        Ok(slot)
    }

    /// Updates a package's description and, when given, its location.
    /// Either way a fresh, unloaded slot replaces the old one, and requests
    /// running on the old version finish on it.
    pub async fn update_package(
        &self,
        project_name: &str,
        package_name: &str,
        description: Option<String>,
        location: Option<String>,
    ) -> Result<Arc<PackageSlot>, EditError> {
        self.check_not_frozen()?;
        let _edit = self.edits.lock().await;
        let project = self
            .project(project_name)
            .ok_or_else(|| project_not_found(project_name))?;
        let old = project
            .package(package_name)
            .ok_or_else(|| package_not_found(project_name, package_name))?;
        let description = description.or_else(|| old.description.clone());
        // A location in the request is fetched again even when it is the
        // same text, so a changed folder or archive is picked up.
        let slot = match location.filter(|location| !location.is_empty()) {
            Some(location) => {
                let request = PackageRequest {
                    name: package_name.to_string(),
                    location: Some(location),
                    description,
                };
                self.new_slot(project_name, request).await?
            }
            None => {
                let mut slot = old.with_location(old.location.clone(), self.query_timeout);
                slot.description = description;
                slot
            }
        };
        let slot = Arc::new(slot);
        let (_, ()) = self.replace_project(project_name, |project| {
            for existing in project.packages.iter_mut() {
                if existing.name == package_name {
                    *existing = Arc::clone(&slot);
                }
            }
            Ok(())
        })?;
        tracing::info!(
            project = project_name,
            package = package_name,
            "package updated"
        );
        Ok(slot)
    }

    /// Removes a package from a project and returns it.
    pub async fn delete_package(
        &self,
        project_name: &str,
        package_name: &str,
    ) -> Result<Arc<PackageSlot>, EditError> {
        self.check_not_frozen()?;
        let _edit = self.edits.lock().await;
        let (_, removed) = self.replace_project(project_name, |project| {
            let index = project
                .packages
                .iter()
                .position(|package| package.name == package_name)
                .ok_or_else(|| package_not_found(project_name, package_name))?;
            Ok(project.packages.remove(index))
        })?;
        tracing::info!(
            project = project_name,
            package = package_name,
            "package deleted"
        );
        Ok(removed)
    }

    /// Adds (`create`) or replaces a connection of a project. Secret fields
    /// sent back as the redaction placeholder keep their stored values.
    pub async fn put_connection(
        &self,
        project_name: &str,
        connection: Json,
        create: bool,
    ) -> Result<Arc<Project>, EditError> {
        self.check_not_frozen()?;
        let _edit = self.edits.lock().await;
        let name = connection
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| EditError::Invalid("The connection has no \"name\".".into()))?
            .to_string();
        check_name("connection", &name)?;
        let (project, ()) = self.replace_project(project_name, |project| {
            let existing = project
                .connections
                .iter()
                .position(|item| item.get("name").and_then(Json::as_str) == Some(&name));
            match (existing, create) {
                (Some(_), true) => Err(EditError::Conflict(format!(
                    "Connection \"{name}\" already exists in project \"{project_name}\"."
                ))),
                (None, false) => Err(EditError::NotFound(format!(
                    "Connection \"{name}\" does not exist in project \"{project_name}\"."
                ))),
                (Some(index), false) => {
                    let merged = restore_secrets(&project.connections[index], connection);
                    project.connections[index] = merged;
                    Ok(())
                }
                (None, true) => {
                    project.connections.push(connection);
                    Ok(())
                }
            }
        })?;
        tracing::info!(project = project_name, connection = %name, "connection saved");
        Ok(project)
    }

    /// Removes a connection from a project and returns it.
    pub async fn delete_connection(
        &self,
        project_name: &str,
        connection_name: &str,
    ) -> Result<Json, EditError> {
        self.check_not_frozen()?;
        let _edit = self.edits.lock().await;
        let (_, removed) = self.replace_project(project_name, |project| {
            let index = project
                .connections
                .iter()
                .position(|item| item.get("name").and_then(Json::as_str) == Some(connection_name))
                .ok_or_else(|| {
                    EditError::NotFound(format!(
                        "Connection \"{connection_name}\" does not exist in project \"{project_name}\"."
                    ))
                })?;
            Ok(project.connections.remove(index))
        })?;
        tracing::info!(
            project = project_name,
            connection = connection_name,
            "connection deleted"
        );
        Ok(removed)
    }

    /// Builds an unloaded slot for a new package: resolves a folder
    /// location, or unpacks a `.zip` archive into the storage folder.
    async fn new_slot(
        &self,
        project_name: &str,
        request: PackageRequest,
    ) -> Result<PackageSlot, EditError> {
        let Some(location_text) = request.location.clone().filter(|text| !text.is_empty()) else {
            return Err(EditError::Invalid(format!(
                "Package \"{}\" has no \"location\"; give a folder or a .zip archive.",
                request.name
            )));
        };
        let location = self.resolve_package_location(&location_text)?;
        let mut unpacked = None;
        let location = match location {
            PackageLocation::Local(path) if is_zip(&path) => {
                let storage = self.settings.storage_dir.clone().ok_or_else(|| {
                    EditError::Invalid(
                        "This server has no storage folder, so it cannot unpack .zip packages."
                            .into(),
                    )
                })?;
                let target = unpack_target(&storage, project_name, &request.name);
                let archive = path.clone();
                let folder = tokio::task::spawn_blocking(move || unpack_zip(&archive, &target))
                    .await
                    .map_err(|_| EditError::Invalid("Unpacking the archive stopped.".into()))??;
                let root = package_root(folder.path());
                unpacked = Some(Arc::new(folder));
                PackageLocation::Local(root)
            }
            PackageLocation::Local(path) if !path.is_dir() => {
                return Err(EditError::Invalid(format!(
                    "The package location \"{location_text}\" is not a folder or a .zip archive."
                )));
            }
            other => other,
        };
        let mut slot = PackageSlot::new(
            PackageConfig {
                name: request.name,
                location,
            },
            self.query_timeout,
        );
        slot.query_cache = self.query_cache;
        slot.description = request.description;
        slot.location_text = Some(location_text);
        slot.unpacked = unpacked;
        Ok(slot)
    }

    /// Resolves a package location sent through the API. A local folder or
    /// archive must lie inside SERVER_ROOT or the config file's folder, so
    /// a client cannot serve (and let DuckDB read) any other folder.
    fn resolve_package_location(&self, text: &str) -> Result<PackageLocation, EditError> {
        let relative = !Path::new(text).is_absolute() && !text.contains("://");
        let location = match &self.settings.config_dir {
            Some(base) => resolve_location(base, text),
            None if relative => {
                return Err(EditError::Invalid(format!(
                    "The package location \"{text}\" is relative, and this server has no \
                     config folder to resolve it against; give an absolute path."
                )))
            }
            None => resolve_location(Path::new("/"), text),
        };
        let PackageLocation::Local(path) = &location else {
            return Ok(location);
        };
        let allowed: Vec<PathBuf> = [&self.settings.server_root, &self.settings.config_dir]
            .into_iter()
            .flatten()
            .filter_map(|root| root.canonicalize().ok())
            .collect();
        let inside = path
            .canonicalize()
            .is_ok_and(|path| allowed.iter().any(|root| path.starts_with(root)));
        if inside {
            Ok(location)
        } else {
            Err(EditError::Invalid(format!(
                "The package location \"{text}\" does not exist inside the server root or the \
                 config file's folder."
            )))
        }
    }
}

fn project_not_found(name: &str) -> EditError {
    EditError::NotFound(format!("Project \"{name}\" does not exist."))
}

fn package_not_found(project: &str, package: &str) -> EditError {
    EditError::NotFound(format!(
        "Package \"{package}\" does not exist in project \"{project}\"."
    ))
}

/// Accepts the names the Publisher's API document allows: letters, digits,
/// `_` and `-`.
fn check_name(kind: &str, name: &str) -> Result<(), EditError> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(EditError::Invalid(format!(
            "Invalid {kind} name \"{name}\": use 1 to 128 letters, digits, '_' or '-'."
        )))
    }
}

fn is_zip(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| extension.eq_ignore_ascii_case("zip"))
}

/// Returns a new folder path for one upload. Each upload gets its own, so
/// the previous version's files stay in place for requests still using it.
fn unpack_target(storage: &Path, project: &str, package: &str) -> PathBuf {
    static UPLOADS: AtomicU64 = AtomicU64::new(0);
    let number = UPLOADS.fetch_add(1, Ordering::Relaxed);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or(0);
    storage
        .join(project)
        .join(format!("{package}-{stamp}-{number}"))
}

/// Returns the folder that contains `publisher.json`: the unpacked folder, or
/// its only subfolder when the archive wraps the package in one.
fn package_root(folder: &Path) -> PathBuf {
    if folder.join("publisher.json").is_file() {
        return folder.to_path_buf();
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    match entries.as_slice() {
        [only] if only.is_dir() && only.join("publisher.json").is_file() => only.clone(),
        _ => folder.to_path_buf(),
    }
}

/// Unpacks a `.zip` archive into `target`. Rejects the whole archive when
/// an entry is a symbolic link or its path is absolute or climbs out with
/// `..`, and when it exceeds the size or entry limits.
fn unpack_zip(archive: &Path, target: &Path) -> Result<UnpackedFolder, EditError> {
    let file = std::fs::File::open(archive).map_err(|_| {
        EditError::Invalid("The package archive does not exist or cannot be read.".into())
    })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|error| {
        EditError::Invalid(format!("The package archive is not a valid .zip: {error}"))
    })?;
    if zip.len() > MAX_ARCHIVE_ENTRIES {
        return Err(EditError::TooLarge(format!(
            "The package archive has more than {MAX_ARCHIVE_ENTRIES} entries."
        )));
    }
    std::fs::create_dir_all(target)
        .map_err(|_| EditError::Invalid("Cannot create the package's storage folder.".into()))?;
    // From here on, dropping `folder` removes what was unpacked so far.
    let folder = UnpackedFolder {
        path: target.to_path_buf(),
    };
    let mut written: u64 = 0;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|error| {
            EditError::Invalid(format!("The package archive is damaged: {error}"))
        })?;
        let raw_name = entry.name().to_string();
        let escapes = Path::new(&raw_name)
            .components()
            .any(|component| !matches!(component, Component::Normal(_) | Component::CurDir));
        let Some(relative) = entry.enclosed_name().filter(|_| !escapes) else {
            return Err(EditError::Invalid(format!(
                "The package archive's entry \"{raw_name}\" points outside the package."
            )));
        };
        if entry.is_symlink() {
            return Err(EditError::Invalid(format!(
                "The package archive's entry \"{raw_name}\" is a symbolic link, which is not allowed."
            )));
        }
        let destination = target.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&destination)
                .map_err(|_| EditError::Invalid(format!("Cannot unpack \"{raw_name}\".")))?;
            continue;
        }
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|_| EditError::Invalid(format!("Cannot unpack \"{raw_name}\".")))?;
        }
        let mut output = std::fs::File::create(&destination)
            .map_err(|_| EditError::Invalid(format!("Cannot unpack \"{raw_name}\".")))?;
        let budget = MAX_UNPACKED_BYTES - written;
        // Reads one byte past the budget, so an oversized entry is detected
        // even when its header understates its size.
        let copied =
            std::io::copy(&mut (&mut entry).take(budget + 1), &mut output).map_err(|error| {
                EditError::Invalid(format!("Cannot unpack \"{raw_name}\": {error}"))
            })?;
        if copied > budget {
            return Err(EditError::TooLarge(format!(
                "The package archive unpacks to more than {MAX_UNPACKED_BYTES} bytes."
            )));
        }
        written += copied;
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_zip(path: &Path, entries: &[(&str, &str)]) {
        let file = std::fs::File::create(path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        for (name, content) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn unpack_zip_finds_wrapped_package() {
        let temp = tempfile::tempdir().unwrap();
        let archive = temp.path().join("shop.zip");
        write_zip(
            &archive,
            &[("shop/publisher.json", "{}"), ("shop/a.malloy", "")],
        );
        let folder = unpack_zip(&archive, &temp.path().join("out")).unwrap();
        assert_eq!(package_root(folder.path()), folder.path().join("shop"));
        assert!(folder.path().join("shop/a.malloy").is_file());
    }

    #[test]
    fn unpack_zip_rejects_escaping_entry() {
        let temp = tempfile::tempdir().unwrap();
        let archive = temp.path().join("evil.zip");
        write_zip(&archive, &[("publisher.json", "{}"), ("../evil.txt", "x")]);
        let target = temp.path().join("out");
        let error = unpack_zip(&archive, &target).unwrap_err();
        assert!(matches!(error, EditError::Invalid(_)), "{error:?}");
        assert!(!temp.path().join("evil.txt").exists());
        assert!(!target.exists(), "a rejected archive leaves nothing behind");
    }

    #[test]
    fn check_name_rejects_slashes() {
        assert!(check_name("package", "a-b_1").is_ok());
        assert!(check_name("package", "a/b").is_err());
        assert!(check_name("package", "").is_err());
    }
}
