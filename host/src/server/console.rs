//! The official Malloy Publisher web console (`@malloy-publisher/app`, a
//! prebuilt single-page app) served at `/`, and `GET /api/v0/theme`.
//!
//! The console's `index.html` loads `/assets/...` by absolute path and
//! calls the API at `<page origin>/api/v0`, so it must be served from the
//! root of this server. Its client-side routes (`/{environment}`,
//! `/{environment}/{package}/{model path}`, `/settings/theme`, ...) have
//! no file, and get `index.html` so that reloading such a page works.
//! Paths under `/api/` never get the page: they get a JSON 404.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use super::{AppError, AppState};
use crate::config::{Options, CONFIG_FILE_NAME};

/// The console's folder, relative to the repository, where
/// `scripts/fetch-console.sh` unpacks it.
const DEFAULT_CONSOLE_DIR: &str = ".deps/console/dist";

/// The content served at `/` and at `/api/v0/theme`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Console {
    /// The console's `dist` folder; without it, `/` serves the playground.
    pub dir: Option<PathBuf>,
    /// The config file's top-level `theme` object, or `{}`.
    pub theme: Value,
}

impl Console {
    /// Finds the console folder (`--console`, else `.deps/console/dist` in
    /// the repository that contains the binary, when it has an
    /// `index.html`) and the theme in the config file.
    pub fn from_options(options: &Options) -> Console {
        let dir = options.console.clone().or_else(|| {
            repository_dir()
                .map(|repository| repository.join(DEFAULT_CONSOLE_DIR))
                .filter(|dir| dir.join("index.html").is_file())
        });
        if let Some(dir) = &dir {
            if !dir.join("index.html").is_file() {
                tracing::warn!(
                    console_dir = %dir.display(),
                    "the console folder has no index.html; run scripts/fetch-console.sh"
                );
            }
        }
        Console {
            dir,
            theme: configured_theme(options),
        }
    }
}

/// Returns the repository folder, for a binary at
/// `<repository>/target/<profile>/malloy-publisher`.
fn repository_dir() -> Option<PathBuf> {
    let executable = std::env::current_exe().ok()?;
    executable.ancestors().nth(3).map(Path::to_path_buf)
}

/// Reads the top-level `theme` of the config file, if there is one. A
/// config file that cannot be read is reported when the projects load, so
/// it is not reported again here.
fn configured_theme(options: &Options) -> Value {
    let path = options.config.clone().or_else(|| {
        let root = options
            .server_root
            .clone()
            .or_else(|| std::env::current_dir().ok())?;
        Some(root.join(CONFIG_FILE_NAME))
    });
    path.and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|config| config.get("theme").cloned())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// Builds `GET /api/v0/theme`, and the environment-wide materialization
/// list that the console's environment page polls.
pub fn router(console: &Console) -> Router<AppState> {
    let theme = Arc::new(if console.theme.is_object() {
        console.theme.clone()
    } else {
        json!({})
    });
    Router::new()
        .route(
            "/api/v0/theme",
            get(move || {
                let theme = Arc::clone(&theme);
                async move { Json((*theme).clone()) }
            }),
        )
        .route(
            "/api/v0/environments/{environment}/packages/materializations",
            get(list_materializations),
        )
}

/// Returns the materializations of an environment's packages: none,
/// because this server does not build materialized tables.
async fn list_materializations(
    State(state): State<AppState>,
    UrlPath(environment): UrlPath<String>,
) -> Result<Json<Value>, AppError> {
    if state.catalog.project(&environment).is_none() {
        return Err(AppError::not_found(format!(
            "Environment \"{environment}\" could not be resolved to a path."
        )));
    }
    Ok(Json(json!([])))
}

/// Builds the handler for every path no route matches: the console's files
/// and `index.html` for its client routes, or a JSON 404 for API paths,
/// other methods, and every path when no console is configured.
pub fn fallback(console_dir: Option<PathBuf>) -> MethodRouter<()> {
    let console_dir = console_dir.map(Arc::new);
    any(move |request: Request| {
        let console_dir = console_dir.clone();
        async move {
            let path = request.uri().path();
            let page_request = matches!(*request.method(), Method::GET | Method::HEAD)
                && path != "/api"
                && !path.starts_with("/api/");
            match console_dir {
                Some(dir) if page_request => serve_file(&dir, request).await,
                _ => super::unknown_route(request).await.into_response(),
            }
        }
    })
}

async fn serve_file(dir: &Path, request: Request) -> Response {
    // A missing asset is a 404; any other missing path is a client route.
    let outcome = if request.uri().path().starts_with("/assets/") {
        ServeDir::new(dir).oneshot(request).await
    } else {
        ServeDir::new(dir)
            .fallback(ServeFile::new(dir.join("index.html")))
            .oneshot(request)
            .await
    };
    match outcome {
        Ok(response) => response.into_response(),
        Err(error) => {
            tracing::error!(%error, console_dir = %dir.display(), "cannot serve a console file");
            AppError::internal("Cannot read the console's files.").into_response()
        }
    }
}
