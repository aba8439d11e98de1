//! Server settings: command-line options (each with an environment
//! variable) and the `publisher.config.json` file that lists projects and
//! their packages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value as Json;

/// The config file's name, looked up in the server root.
pub const CONFIG_FILE_NAME: &str = "publisher.config.json";

/// The project that serves the samples folder when there is no config file.
pub const DEFAULT_PROJECT: &str = "home";

/// Command-line options, with the reference Publisher's names.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "malloy-publisher",
    about = "Serve Malloy packages over the Malloy Publisher REST API"
)]
pub struct Options {
    /// TCP port to listen on.
    #[arg(long, env = "PUBLISHER_PORT", default_value_t = 4000)]
    pub port: u16,
    /// Address to listen on. Without it the server listens on both
    /// 127.0.0.1 and [::1].
    #[arg(long, env = "PUBLISHER_HOST")]
    pub host: Option<IpAddr>,
    /// Folder where publisher.config.json is looked up [default: the
    /// working directory].
    #[arg(long = "server_root", env = "SERVER_ROOT")]
    pub server_root: Option<PathBuf>,
    /// Path of the config file; overrides the lookup in the server root.
    #[arg(long, env = "PUBLISHER_CONFIG_PATH")]
    pub config: Option<PathBuf>,
    /// Folder of sample packages served as project `home` when there is no
    /// config file [default: malloy-samples in the repository or the
    /// working directory].
    #[arg(long, env = "MALLOY_SAMPLES_DIR")]
    pub samples: Option<PathBuf>,
    /// The compiler component (.wasm), built by scripts/setup.sh.
    #[arg(long = "compiler_wasm", env = "MALLOY_COMPILER_WASM")]
    pub compiler_wasm: Option<PathBuf>,
    /// Time a query may run on DuckDB before it is interrupted, in
    /// milliseconds.
    #[arg(
        long = "query_timeout_ms",
        env = "PUBLISHER_QUERY_TIMEOUT_MS",
        default_value_t = 300_000
    )]
    pub query_timeout_ms: u64,
    /// Memory for cached query results per package, in MiB (mebibytes);
    /// 0 disables the cache.
    #[arg(
        long = "query_cache_mb",
        env = "PUBLISHER_QUERY_CACHE_MB",
        default_value_t = 256
    )]
    pub query_cache_mb: u64,
    /// Time a cached query result stays valid, in seconds; 0 disables the
    /// cache.
    #[arg(
        long = "query_cache_ttl_seconds",
        env = "PUBLISHER_QUERY_CACHE_TTL_SECONDS",
        default_value_t = 600
    )]
    pub query_cache_ttl_seconds: u64,
    /// Maximum estimated size of a query result, in bytes; a larger result
    /// is rejected with 413.
    #[arg(
        long = "max_response_bytes",
        env = "PUBLISHER_MAX_RESPONSE_BYTES",
        default_value_t = 50 * 1024 * 1024
    )]
    pub max_response_bytes: u64,
    /// Row limit for queries that set none.
    #[arg(
        long = "default_row_limit",
        env = "PUBLISHER_DEFAULT_QUERY_ROW_LIMIT",
        default_value_t = 1000
    )]
    pub default_row_limit: u64,
    /// Folder of the web console to serve at `/` (the `dist` folder of
    /// @malloy-publisher/app) [default: .deps/console/dist in the
    /// repository, when scripts/fetch-console.sh has fetched it].
    #[arg(long, env = "PUBLISHER_CONSOLE_DIR")]
    pub console: Option<PathBuf>,
}

impl Options {
    /// Returns the addresses to listen on.
    pub fn listen_addresses(&self) -> Vec<SocketAddr> {
        match self.host {
            Some(host) => vec![SocketAddr::new(host, self.port)],
            None => vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port),
            ],
        }
    }
}

/// The projects to serve. The file's `frozenConfig` is read by
/// [`load_settings`].
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub projects: Vec<ProjectConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectConfig {
    pub name: String,
    /// The project's README.md text, or empty.
    pub readme: String,
    /// Connections exactly as configured; listed, not used.
    pub connections: Vec<Json>,
    pub packages: Vec<PackageConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PackageConfig {
    pub name: String,
    /// The package folder, absolute.
    pub location: PackageLocation,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PackageLocation {
    Local(PathBuf),
    /// A location this server cannot fetch, such as a GitHub or cloud
    /// storage URL; the package fails to load with an explanation.
    Unsupported(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a valid Publisher config: {error}")]
    Invalid {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error("{0}")]
    Samples(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    /// The 2026 key; `projects` is the older name of the same list.
    #[serde(default)]
    environments: Option<Vec<ProjectEntry>>,
    #[serde(default)]
    projects: Option<Vec<ProjectEntry>>,
    /// Rejects every change made through the API.
    #[serde(default)]
    frozen_config: bool,
}

#[derive(Debug, Deserialize)]
struct ProjectEntry {
    name: String,
    #[serde(default)]
    packages: Vec<PackageEntry>,
    #[serde(default)]
    connections: Vec<Json>,
}

#[derive(Debug, Deserialize)]
struct PackageEntry {
    name: String,
    location: String,
}

/// Finds and reads the config file, or falls back to the samples folder
/// when there is none.
pub fn load(options: &Options) -> Result<ServerConfig, ConfigError> {
    let explicit = options.config.clone();
    let root = match &options.server_root {
        Some(root) => root.clone(),
        None => std::env::current_dir().map_err(|error| ConfigError::Read {
            path: PathBuf::from("."),
            error,
        })?,
    };
    let path = explicit.unwrap_or_else(|| root.join(CONFIG_FILE_NAME));
    if path.is_file() || options.config.is_some() {
        return read_config_file(&path);
    }
    let samples = samples_folder(options)?;
    samples_config(&samples)
}

/// Finds the settings the catalog needs besides the projects: the config
/// file's `frozenConfig` and folder, and the storage folder for uploaded
/// packages (`publisher_data` in the server root).
pub fn load_settings(options: &Options) -> Result<crate::catalog::CatalogSettings, ConfigError> {
    let root = match &options.server_root {
        Some(root) => absolute(root),
        None => std::env::current_dir().map_err(|error| ConfigError::Read {
            path: PathBuf::from("."),
            error,
        })?,
    };
    let path = options
        .config
        .clone()
        .unwrap_or_else(|| root.join(CONFIG_FILE_NAME));
    let mut settings = crate::catalog::CatalogSettings {
        frozen: false,
        config_dir: Some(root.clone()),
        storage_dir: Some(root.join("publisher_data")),
        server_root: Some(root.clone()),
    };
    if path.is_file() {
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read {
            path: path.clone(),
            error,
        })?;
        let file: ConfigFile =
            serde_json::from_str(&text).map_err(|error| ConfigError::Invalid {
                path: path.clone(),
                error,
            })?;
        settings.frozen = file.frozen_config;
        settings.config_dir = Some(absolute(path.parent().unwrap_or(Path::new("."))));
    }
    Ok(settings)
}

/// Reads a config file. Relative package locations resolve against the
/// file's folder.
pub fn read_config_file(path: &Path) -> Result<ServerConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let file: ConfigFile = serde_json::from_str(&text).map_err(|error| ConfigError::Invalid {
        path: path.to_path_buf(),
        error,
    })?;
    let base = absolute(path.parent().unwrap_or(Path::new(".")));
    let entries = file.environments.or(file.projects).unwrap_or_default();
    let projects = entries
        .into_iter()
        .map(|project| ProjectConfig {
            name: project.name,
            readme: String::new(),
            connections: project.connections,
            packages: project
                .packages
                .into_iter()
                .map(|package| PackageConfig {
                    name: package.name,
                    location: resolve_location(&base, &package.location),
                })
                .collect(),
        })
        .collect();
    Ok(ServerConfig { projects })
}

/// Resolves a package location: a remote URL stays unsupported, `~/` is
/// the home folder, and a relative path resolves against `base`.
pub fn resolve_location(base: &Path, location: &str) -> PackageLocation {
    let remote = ["https://", "http://", "git@", "gs://", "s3://"];
    if remote.iter().any(|prefix| location.starts_with(prefix)) {
        return PackageLocation::Unsupported(location.to_string());
    }
    let path = match location.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(rest))
            .unwrap_or_else(|| base.join(location)),
        None => base.join(location),
    };
    PackageLocation::Local(absolute(&path))
}

fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Finds the samples folder: the option, or `malloy-samples` in the
/// repository that contains the binary, or in the working directory.
fn samples_folder(options: &Options) -> Result<PathBuf, ConfigError> {
    if let Some(folder) = &options.samples {
        return if folder.is_dir() {
            Ok(absolute(folder))
        } else {
            Err(ConfigError::Samples(format!(
                "the samples folder {} does not exist",
                folder.display()
            )))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(executable) = std::env::current_exe() {
        // The binary is <repository>/target/<profile>/malloy-publisher.
        if let Some(repository) = executable.ancestors().nth(3) {
            candidates.push(repository.join("malloy-samples"));
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join("malloy-samples"));
    }
    candidates
        .into_iter()
        .find(|candidate| candidate.is_dir())
        .map(|folder| absolute(&folder))
        .ok_or_else(|| {
            ConfigError::Samples(format!(
                "no {CONFIG_FILE_NAME} and no malloy-samples folder found; pass --config, \
                 --server_root or --samples"
            ))
        })
}

/// Serves every subfolder of `folder` that has a `publisher.json` as a
/// package of project `home`.
pub fn samples_config(folder: &Path) -> Result<ServerConfig, ConfigError> {
    let entries = std::fs::read_dir(folder).map_err(|error| ConfigError::Read {
        path: folder.to_path_buf(),
        error,
    })?;
    let mut packages: Vec<PackageConfig> = entries
        .flatten()
        .filter(|entry| entry.path().join("publisher.json").is_file())
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            Some(PackageConfig {
                name,
                location: PackageLocation::Local(absolute(&entry.path())),
            })
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let readme = std::fs::read_to_string(folder.join("README.md")).unwrap_or_default();
    Ok(ServerConfig {
        projects: vec![ProjectConfig {
            name: DEFAULT_PROJECT.to_string(),
            readme,
            connections: Vec::new(),
            packages,
        }],
    })
}
