//! Projects and their packages, loaded from disk.
//!
//! Loading a package opens its DuckDB database, starts its sandboxed
//! compiler, lists its models and notebooks and compiles every model once.
//! A package that fails to load, or a model that fails to compile, is
//! recorded with its error while the rest keep serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use malloy_compiler::{ModelOutput, Problem, Severity};
use serde_json::Value as Json;

use crate::config::{PackageConfig, PackageLocation, ServerConfig};
use crate::db::{PackageDatabase, QueryCacheSettings};
use crate::package_host::PackageHost;
use crate::sandbox::{CompileError, PackageCompiler, Sandbox};

mod edit;
pub mod secrets;
pub use edit::{EditError, PackageRequest};

/// Every project the server serves.
///
/// Projects and their package lists are immutable values behind `Arc`s. A
/// mutation builds a new value and swaps it in under the write lock, so a
/// request that already holds a project, package slot or package state
/// finishes on the version it started with.
#[derive(Debug)]
pub struct Catalog {
    projects: RwLock<Vec<Arc<Project>>>,
    sandbox: Arc<Sandbox>,
    query_timeout: Duration,
    query_cache: QueryCacheSettings,
    settings: CatalogSettings,
    /// Serializes mutations, so two of them never build on the same old
    /// value.
    edits: tokio::sync::Mutex<()>,
}

/// Settings from the config file beyond the projects: whether mutations
/// are allowed and where new packages may come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogSettings {
    /// `frozenConfig` from the config file: every mutation is rejected.
    pub frozen: bool,
    /// The folder relative package locations resolve against: the config
    /// file's folder. Without it, relative locations are rejected.
    pub config_dir: Option<PathBuf>,
    /// A server-owned folder where uploaded `.zip` packages are unpacked.
    /// Without it, `.zip` locations are rejected.
    pub storage_dir: Option<PathBuf>,
    /// SERVER_ROOT. Database files of configured DuckDB connections must be
    /// inside it, and packages added through the API inside it or the
    /// config folder. Without it, only in-memory DuckDB connections work.
    pub server_root: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub readme: String,
    pub connections: Vec<Json>,
    pub packages: Vec<Arc<PackageSlot>>,
}

/// A configured package and its state, loaded on first use or at start-up.
#[derive(Debug)]
pub struct PackageSlot {
    pub name: String,
    /// The description given when the package was added through the API;
    /// it replaces the manifest's.
    pub description: Option<String>,
    /// The location as the client sent it, for replies.
    pub location_text: Option<String>,
    location: PackageLocation,
    /// The server-owned folder an uploaded archive was unpacked into.
    unpacked: Option<Arc<edit::UnpackedFolder>>,
    query_timeout: Duration,
    /// Cache settings for the database each load opens.
    pub(crate) query_cache: QueryCacheSettings,
    state: RwLock<Option<Arc<PackageState>>>,
    loading: tokio::sync::Mutex<()>,
}

/// A loaded package, or why it could not be loaded.
pub type PackageState = Result<LoadedPackage, String>;

#[derive(Debug)]
pub struct LoadedPackage {
    /// `name` from `publisher.json`, if it has one.
    pub manifest_name: Option<String>,
    pub description: Option<String>,
    pub compiler: Arc<PackageCompiler>,
    /// Every `.malloy` file by package-relative path, compiled.
    pub models: BTreeMap<String, Result<ModelOutput, ModelError>>,
    /// Every `.malloynb` file by package-relative path.
    pub notebooks: Vec<String>,
    /// Every `.parquet` and `.csv` file by package-relative path.
    pub databases: Vec<String>,
    /// The unpacked upload this package is served from, kept until the
    /// last request that uses this version ends.
    pub unpacked: Option<Arc<edit::UnpackedFolder>>,
}

/// A model that does not compile.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    /// The problems in Malloy's text form: `line <n>: <message>` with the
    /// source line and a caret under the position.
    pub message: String,
}

impl Catalog {
    pub fn new(config: ServerConfig, sandbox: Arc<Sandbox>) -> Catalog {
        let query_timeout = crate::db::DEFAULT_QUERY_TIMEOUT;
        let projects = config
            .projects
            .into_iter()
            .map(|project| {
                Arc::new(Project {
                    name: project.name,
                    readme: project.readme,
                    connections: project.connections,
                    packages: project
                        .packages
                        .into_iter()
                        .map(|package| Arc::new(PackageSlot::new(package, query_timeout)))
                        .collect(),
                })
            })
            .collect();
        Catalog {
            projects: RwLock::new(projects),
            sandbox,
            query_timeout,
            query_cache: QueryCacheSettings::default(),
            settings: CatalogSettings::default(),
            edits: tokio::sync::Mutex::new(()),
        }
    }

    /// Sets the time a query may run before DuckDB interrupts it. Call it
    /// before any package loads.
    pub fn with_query_timeout(mut self, timeout: Duration) -> Catalog {
        self.query_timeout = timeout;
        let projects = self.projects.get_mut().unwrap_or_else(|e| e.into_inner());
        for project in projects.iter_mut() {
            let project = Arc::make_mut(project);
            project.packages = project
                .packages
                .iter()
                .map(|slot| Arc::new(slot.with_location(slot.location.clone(), timeout)))
                .collect();
        }
        self
    }

    /// Sets the size and lifetime of each package's query result cache.
    /// Call it before any package loads.
    pub fn with_query_cache(mut self, settings: QueryCacheSettings) -> Catalog {
        self.query_cache = settings;
        let projects = self.projects.get_mut().unwrap_or_else(|e| e.into_inner());
        for project in projects.iter_mut() {
            let project = Arc::make_mut(project);
            project.packages = project
                .packages
                .iter()
                .map(|slot| {
                    let mut slot = slot.with_location(slot.location.clone(), slot.query_timeout);
                    slot.query_cache = settings;
                    Arc::new(slot)
                })
                .collect();
        }
        self
    }

    /// Sets whether mutations are allowed and where new packages come from.
    pub fn with_settings(mut self, settings: CatalogSettings) -> Catalog {
        self.settings = settings;
        self
    }

    pub fn settings(&self) -> &CatalogSettings {
        &self.settings
    }

    /// Returns the time a query may run before DuckDB interrupts it.
    pub fn query_timeout(&self) -> Duration {
        self.query_timeout
    }

    /// Returns a snapshot of the projects, in configuration order.
    pub fn projects(&self) -> Vec<Arc<Project>> {
        self.projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn project(&self, name: &str) -> Option<Arc<Project>> {
        self.projects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|project| project.name == name)
            .cloned()
    }

    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Loads every package that is not loaded yet, one at a time.
    pub async fn load_all(&self) {
        for project in self.projects() {
            for package in &project.packages {
                package.state(&self.sandbox).await;
            }
        }
    }

    /// Returns whether every package has been loaded (successfully or not).
    pub fn initialized(&self) -> bool {
        self.projects()
            .iter()
            .flat_map(|project| &project.packages)
            .all(|package| package.current().is_some())
    }

    /// Returns the load errors of packages that failed, as `(project, package,
    /// message)`.
    pub fn load_errors(&self) -> Vec<(String, String, String)> {
        let mut errors = Vec::new();
        for project in self.projects() {
            for package in &project.packages {
                if let Some(state) = package.current() {
                    if let Err(message) = state.as_ref() {
                        errors.push((project.name.clone(), package.name.clone(), message.clone()));
                    }
                }
            }
        }
        errors
    }
}

impl Project {
    pub fn package(&self, name: &str) -> Option<Arc<PackageSlot>> {
        self.packages
            .iter()
            .find(|package| package.name == name)
            .cloned()
    }
}

impl PackageSlot {
    pub fn new(config: PackageConfig, query_timeout: Duration) -> PackageSlot {
        PackageSlot {
            name: config.name,
            description: None,
            location_text: None,
            location: config.location,
            unpacked: None,
            query_timeout,
            query_cache: QueryCacheSettings::default(),
            state: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// Returns an unloaded slot with this slot's name and description at
    /// `location`.
    fn with_location(&self, location: PackageLocation, query_timeout: Duration) -> PackageSlot {
        PackageSlot {
            name: self.name.clone(),
            description: self.description.clone(),
            location_text: self.location_text.clone(),
            location,
            unpacked: self.unpacked.clone(),
            query_timeout,
            query_cache: self.query_cache,
            state: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn location(&self) -> &PackageLocation {
        &self.location
    }

    /// Returns the loaded state, if loading has finished.
    pub fn current(&self) -> Option<Arc<PackageState>> {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Returns the package's state, loading it first if needed. Concurrent callers
    /// wait for one load.
    pub async fn state(&self, sandbox: &Arc<Sandbox>) -> Arc<PackageState> {
        if let Some(state) = self.current() {
            return state;
        }
        let _loading = self.loading.lock().await;
        if let Some(state) = self.current() {
            return state;
        }
        self.load(sandbox).await
    }

    /// Loads the package again from disk.
    pub async fn reload(&self, sandbox: &Arc<Sandbox>) -> Arc<PackageState> {
        let _loading = self.loading.lock().await;
        self.load(sandbox).await
    }

    #[tracing::instrument(level = "debug", name = "load_package", skip_all, fields(package = %self.name))]
    async fn load(&self, sandbox: &Arc<Sandbox>) -> Arc<PackageState> {
        let location = self.location.clone();
        let query_timeout = self.query_timeout;
        let query_cache = self.query_cache;
        let sandbox = Arc::clone(sandbox);
        let name = self.name.clone();
        let unpacked = self.unpacked.clone();
        let started = std::time::Instant::now();
        let state = tokio::task::spawn_blocking(crate::telemetry::in_current_span(move || {
            load_package(&location, sandbox, query_timeout, query_cache).map(|mut package| {
                package.unpacked = unpacked;
                package
            })
        }))
        .await
        .unwrap_or_else(|error| Err(format!("loading stopped unexpectedly: {error}")));
        crate::telemetry::record_package_load(&name, started.elapsed(), state.is_ok());
        match &state {
            Ok(package) => tracing::info!(
                package = %name,
                models = package.models.len(),
                broken_models = package.models.values().filter(|model| model.is_err()).count(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "package loaded"
            ),
            Err(error) => tracing::warn!(package = %name, %error, "package failed to load"),
        }
        let state = Arc::new(state);
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&state));
        state
    }
}

fn load_package(
    location: &PackageLocation,
    sandbox: Arc<Sandbox>,
    query_timeout: Duration,
    query_cache: QueryCacheSettings,
) -> PackageState {
    let root = match location {
        PackageLocation::Local(root) => root,
        PackageLocation::Unsupported(url) => {
            // TODO: fetch GitHub, gs:// and s3:// packages; only local
            // folders are served so far.
            return Err(format!(
                "Unable to load package: the location {url} is not supported; use a local folder"
            ));
        }
    };
    if !root.is_dir() {
        return Err(
            "Unable to load package: its location folder does not exist; check the package's \
             \"location\""
                .to_string(),
        );
    }
    let manifest_text = std::fs::read_to_string(root.join("publisher.json"))
        .map_err(|_| "Unable to load package: publisher.json does not exist".to_string())?;
    let manifest: Json = serde_json::from_str(&manifest_text).map_err(|error| {
        format!("Unable to load package: publisher.json is not valid JSON: {error}")
    })?;
    let text_field = |key: &str| manifest.get(key).and_then(Json::as_str).map(str::to_string);

    let database = PackageDatabase::open(root)
        .map_err(|error| format!("Unable to load package: {error}"))?
        .with_query_timeout(query_timeout)
        .with_query_cache(query_cache);
    let host = Arc::new(PackageHost::new(Arc::new(database)));
    let compiler = Arc::new(PackageCompiler::new(sandbox, Arc::clone(&host)));

    let mut files = PackageFiles::default();
    collect_files(root, root, &mut files);
    let PackageFiles {
        models: mut model_paths,
        mut notebooks,
        mut databases,
    } = files;
    model_paths.sort();
    notebooks.sort();
    databases.sort();

    let models = model_paths
        .into_iter()
        .map(|path| {
            let compiled = compiler
                .compile_model(&path)
                .map_err(|error| model_error(&host, error));
            (path, compiled)
        })
        .collect();
    Ok(LoadedPackage {
        manifest_name: text_field("name"),
        description: text_field("description"),
        compiler,
        models,
        notebooks,
        databases,
        unpacked: None,
    })
}

/// Package-relative paths of the files a package serves.
#[derive(Debug, Default)]
struct PackageFiles {
    models: Vec<String>,
    notebooks: Vec<String>,
    databases: Vec<String>,
}

/// Adds the package-relative paths of models, notebooks and data files
/// under `folder`, skipping hidden entries and `node_modules`.
fn collect_files(root: &Path, folder: &Path, files: &mut PackageFiles) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            if name != "node_modules" {
                collect_files(root, &path, files);
            }
            continue;
        }
        let Some(relative) = path
            .strip_prefix(root)
            .ok()
            .and_then(|relative| relative.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if name.ends_with(".malloy") {
            files.models.push(relative);
        } else if name.ends_with(".malloynb") {
            files.notebooks.push(relative);
        } else if name.ends_with(".parquet") || name.ends_with(".csv") {
            files.databases.push(relative);
        }
    }
}

/// Formats a model's compile failure as Malloy does:
/// `Error(s) compiling model:`, then per error the file, `line <n>:
/// <message>`, the source line and a caret.
pub fn model_error(host: &PackageHost, error: CompileError) -> ModelError {
    let problems = match error {
        CompileError::Problems(problems) => problems,
        other => {
            return ModelError {
                message: other.to_string(),
            }
        }
    };
    let mut message = String::from("Error(s) compiling model:");
    for problem in errors_first(&problems) {
        message.push('\n');
        message.push_str(&problem_text(host, problem));
    }
    ModelError { message }
}

/// Returns the problems that are errors, or all of them if none is.
fn errors_first(problems: &[Problem]) -> Vec<&Problem> {
    let errors: Vec<&Problem> = problems
        .iter()
        .filter(|problem| problem.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        problems.iter().collect()
    } else {
        errors
    }
}

fn problem_text(host: &PackageHost, problem: &Problem) -> String {
    let line = problem.range.start.line as usize;
    let mut text = format!(
        "FILE: {}\nline {}: {}",
        problem.url,
        line + 1,
        problem.message
    );
    let source = malloy_compiler::Host::read_file(host, &problem.url).ok();
    if let Some(source_line) = source
        .as_deref()
        .and_then(|source| source.lines().nth(line))
    {
        let column = problem.range.start.character as usize;
        let indent: String = source_line
            .chars()
            .take(column)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        text.push_str(&format!("\n  | {source_line}\n  | {indent}^"));
    }
    text
}
