//! The browser playground: its static files at `/playground` (and
//! optionally at `/`), and the routes the page needs to compile Malloy in
//! the browser with the compiler's wasm-bindgen build.
//!
//! The page compiles on every keystroke with no server round trip, so it
//! loads a package's inputs once. `GET {package}/compile-inputs` returns
//! the text of every model and notebook. `POST
//! {package}/compile-inputs/schemas` describes the tables and SQL queries
//! that the in-page compiler reports missing. The server describes only
//! tables and SQL text that occur in the package's own model files, so the
//! route cannot be used to probe arbitrary files through DuckDB.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use malloy_compiler::Host;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_http::services::{ServeDir, ServeFile};

use super::projects::loaded_package;
use super::{AppError, AppState};
use crate::catalog::LoadedPackage;
use crate::package_host::PackageHost;

/// Environment variable that overrides where the built page is.
pub const WEB_DIR_ENV: &str = "MALLOY_PLAYGROUND_DIR";

/// Maximum number of schemas one request may ask for.
const MAX_SCHEMAS_PER_REQUEST: usize = 256;

/// Finds the folder of the built page: `$MALLOY_PLAYGROUND_DIR`, or
/// `web/dist` in the repository that contains the binary. The server
/// changes its working directory at start-up, so that is no candidate.
/// The folder need not exist yet: a later `scripts/build-web.sh` needs no
/// restart.
pub fn default_web_dir() -> PathBuf {
    if let Some(folder) = std::env::var_os(WEB_DIR_ENV) {
        return PathBuf::from(folder);
    }
    std::env::current_exe()
        .ok()
        .and_then(|executable| {
            // The binary is <repository>/target/<profile>/malloy-publisher.
            executable
                .ancestors()
                .nth(3)
                .map(|repository| repository.join("web").join("dist"))
        })
        .unwrap_or_else(|| PathBuf::from("web/dist"))
}

/// Builds the playground's routes: the page at `/playground` (and at `/`
/// when `serve_at_root` is set) from `web_dir`, and the compile-input
/// routes under both `/api/v0/projects` and `/api/v0/environments`.
pub fn router(web_dir: PathBuf, serve_at_root: bool) -> Router<AppState> {
    let missing_page = {
        let web_dir = web_dir.clone();
        move || missing_page(web_dir.clone())
    };
    let files = ServeDir::new(&web_dir)
        .append_index_html_on_directories(true)
        .fallback(get(missing_page));
    let mut router = Router::new().nest_service("/playground", files);
    if serve_at_root {
        let index = ServeFile::new(web_dir.join("index.html"));
        router = router.route_service("/", index);
    }
    for family in ["projects", "environments"] {
        let package = format!("/api/v0/{family}/{{project}}/packages/{{package}}");
        router = router
            .route(&format!("{package}/compile-inputs"), get(compile_inputs))
            .route(
                &format!("{package}/compile-inputs/schemas"),
                post(describe_schemas),
            );
    }
    router
}

/// Returns the 404 for a path under `/playground` that has no file. When
/// the page is not built at all, the message explains how to build it.
async fn missing_page(web_dir: PathBuf) -> AppError {
    if web_dir.join("index.html").is_file() {
        AppError::not_found("No such file in the playground.")
    } else {
        tracing::warn!(web_dir = %web_dir.display(), "the playground page is not built");
        AppError::not_found(format!(
            "The playground is not built: run scripts/build-web.sh (expected {}).",
            web_dir.join("index.html").display()
        ))
    }
}

/// Returns the text of every model and notebook of a package:
/// `{files: {path: text}, notebooks: {path: text}, brokenModels: {path:
/// message}}`.
async fn compile_inputs(
    State(state): State<AppState>,
    Path((project, package)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (loaded, _) = loaded_package(&state, &project, &package).await?;
    let read = tokio::task::spawn_blocking(move || {
        let Ok(package) = loaded.as_ref() else {
            unreachable!("loaded_package returns loaded packages only");
        };
        package_texts(package)
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, %project, %package, "reading the package files stopped");
        AppError::internal("Reading the package files failed.")
    })?;
    let body = read?;
    // The page caches nothing across reloads of the package.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

fn package_texts(package: &LoadedPackage) -> Result<Value, AppError> {
    let host = package.compiler.host();
    let mut files = BTreeMap::new();
    let mut broken = BTreeMap::new();
    for (path, compiled) in &package.models {
        files.insert(path.clone(), read_text(host, path)?);
        if let Err(error) = compiled {
            broken.insert(path.clone(), error.message.clone());
        }
    }
    let mut notebooks = BTreeMap::new();
    for path in &package.notebooks {
        notebooks.insert(path.clone(), read_text(host, path)?);
    }
    Ok(json!({"files": files, "notebooks": notebooks, "brokenModels": broken}))
}

fn read_text(host: &PackageHost, path: &str) -> Result<String, AppError> {
    host.read_file(path).map_err(|error| {
        tracing::warn!(%error, path, root = %host.root().display(), "cannot read a package file");
        AppError::internal(format!("Cannot read {path}: {error}"))
    })
}

/// The body of `POST .../compile-inputs/schemas`, in the shape the
/// compiler's browser binding reports as `missingSchemas`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaRequest {
    #[serde(default)]
    tables: Vec<TableRef>,
    #[serde(default)]
    sqls: Vec<SqlRef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableRef {
    connection: String,
    table: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRef {
    connection: String,
    sql: String,
}

/// Describes tables and SQL queries that the package's models use. Returns
/// `{tables: [{connection, table, columns | error}], sqls: [{connection,
/// sql, columns | error}]}`, the inputs format of the browser compiler.
async fn describe_schemas(
    State(state): State<AppState>,
    Path((project, package)): Path<(String, String)>,
    body: Result<Json<SchemaRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, AppError> {
    let Json(request) = body.map_err(|rejection| {
        AppError::bad_request(format!(
            "Invalid schema request: {}. Send {{\"tables\": [{{\"connection\", \"table\"}}], \"sqls\": [{{\"connection\", \"sql\"}}]}}.",
            rejection.body_text()
        ))
    })?;
    let requested = request.tables.len() + request.sqls.len();
    if requested > MAX_SCHEMAS_PER_REQUEST {
        return Err(AppError::bad_request(format!(
            "Too many schemas requested: {requested}; the maximum is {MAX_SCHEMAS_PER_REQUEST} per request."
        )));
    }
    let (loaded, _) = loaded_package(&state, &project, &package).await?;
    let described = tokio::task::spawn_blocking(move || {
        let Ok(package) = loaded.as_ref() else {
            unreachable!("loaded_package returns loaded packages only");
        };
        describe_all(package, &request)
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, %project, %package, "describing schemas stopped");
        AppError::internal("Describing the schemas failed.")
    })?;
    Ok(Json(described?))
}

fn describe_all(package: &LoadedPackage, request: &SchemaRequest) -> Result<Value, AppError> {
    let host = Arc::clone(package.compiler.host());
    let model_texts: Vec<String> = package
        .models
        .keys()
        .map(|path| read_text(&host, path))
        .collect::<Result<_, _>>()?;
    let occurs = |text: &str| model_texts.iter().any(|model| model.contains(text));
    // A table name must occur as a whole string literal, so that a short
    // name cannot match inside other text.
    let table_used = |table: &str| {
        !table.is_empty()
            && ['\'', '"', '`']
                .iter()
                .any(|quote| occurs(&format!("{quote}{table}{quote}")))
    };
    let sql_used = |sql: &str| !sql.trim().is_empty() && occurs(sql);

    let mut tables = Vec::new();
    for table in &request.tables {
        if !table_used(&table.table) {
            return Err(AppError::bad_request(format!(
                "Table '{}' does not occur in any model of this package.",
                table.table
            )));
        }
        let schema = host.table_schema(&table.connection, &table.table);
        tables.push(with_schema(
            json!({"connection": table.connection, "table": table.table}),
            schema,
        ));
    }
    let mut sqls = Vec::new();
    for sql in &request.sqls {
        // NOTE: the text is compared with the model files as the compiler
        // passes it, so SQL written with escape sequences in a Malloy string
        // is not found and gets a 400.
        if !sql_used(&sql.sql) {
            return Err(AppError::bad_request(
                "A requested SQL query does not occur in any model of this package.",
            ));
        }
        let schema = host.sql_schema(&sql.connection, &sql.sql);
        sqls.push(with_schema(
            json!({"connection": sql.connection, "sql": sql.sql}),
            schema,
        ));
    }
    Ok(json!({"tables": tables, "sqls": sqls}))
}

fn with_schema(mut item: Value, schema: Result<Vec<malloy_compiler::Column>, String>) -> Value {
    match schema {
        Ok(columns) => item["columns"] = json!(columns),
        Err(error) => item["error"] = json!(error),
    }
    item
}
