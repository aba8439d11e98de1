//! Connections: listing, editing and testing them, browsing their schemas
//! and tables, and running SQL through them.
//!
//! Every route exists for a project (`.../{project}/connections/...`, the
//! configured connections) and for a package
//! (`.../{project}/packages/{package}/connections/...`, which adds the
//! package's own `duckdb` connection). GET replies never contain secrets.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use malloy_compiler::Column;
use serde::Deserialize;
use serde_json::{json, Value};

use super::databases::malloy_type_name;
use super::mutations::parse_body;
use super::projects::{find_package, find_project, loaded_package};
use super::read_only_sql::check_single_select;
use super::sql_connections::{
    run_on, schemas, tables, ConfiguredDuckdb, SqlError, SqlRunner, Target,
};
use super::{AppError, AppState, Family};
use crate::catalog::secrets::redact;
use crate::package_host::DUCKDB_CONNECTION;
use crate::result::plain_rows;

/// Path parameters of the connection routes; `package` is absent on the
/// project-level routes.
type Params = HashMap<String, String>;

fn param<'a>(params: &'a Params, key: &str) -> &'a str {
    params.get(key).map(String::as_str).unwrap_or_default()
}

/// Query parameters of the SQL routes' GET forms.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlParams {
    sql_statement: Option<String>,
    /// A JSON string of run options; `rowLimit` is read.
    options: Option<String>,
    table_key: Option<String>,
    table_path: Option<String>,
}

/// The body of the SQL routes' POST forms.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqlBody {
    sql_statement: Option<String>,
    options: Option<Value>,
}

impl From<SqlError> for AppError {
    fn from(error: SqlError) -> AppError {
        match error {
            SqlError::Unsupported(message) => AppError::new(StatusCode::NOT_IMPLEMENTED, message),
            SqlError::Invalid(message) => AppError::bad_request(message),
            SqlError::Driver(message) => AppError::new(StatusCode::BAD_GATEWAY, message),
            SqlError::TooLarge(message) => AppError::new(StatusCode::PAYLOAD_TOO_LARGE, message),
            SqlError::Timeout(message) => AppError::new(StatusCode::GATEWAY_TIMEOUT, message),
        }
    }
}

/// Builds the reply for one connection: the configuration with secrets
/// redacted, its `resource` and computed `attributes`.
pub fn connection_json(family: Family, params: &Params, config: &Value) -> Value {
    let mut item = redact(config);
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let project = param(params, "project");
    let resource = match params.get("package") {
        Some(package) => format!(
            "/api/v0/{}/{project}/packages/{package}/connections/{name}",
            family.segment()
        ),
        None => format!("/api/v0/{}/{project}/connections/{name}", family.segment()),
    };
    let dialect = config
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("duckdb");
    if let Value::Object(fields) = &mut item {
        fields.insert("resource".into(), json!(resource));
        fields.insert(
            "attributes".into(),
            json!({"dialectName": dialect, "isPool": false, "canPersist": true, "canStream": false}),
        );
    }
    item
}

fn builtin_duckdb() -> Value {
    json!({"name": DUCKDB_CONNECTION, "type": "duckdb", "duckdbConnection": {}})
}

/// Returns the connections in scope: the project's configured ones, and
/// for a package its `duckdb` connection first (which hides a configured
/// connection of the same name, as in the reference server).
async fn connections_in_scope(state: &AppState, params: &Params) -> Result<Vec<Value>, AppError> {
    let project = find_project(state, param(params, "project"))?;
    let mut connections = Vec::new();
    if let Some(package) = params.get("package") {
        find_package(&project, package)?;
        connections.push(builtin_duckdb());
    }
    for config in &project.connections {
        let name = config.get("name").and_then(Value::as_str);
        if params.contains_key("package") && name == Some(DUCKDB_CONNECTION) {
            continue;
        }
        connections.push(config.clone());
    }
    Ok(connections)
}

fn connection_not_found(name: &str) -> AppError {
    AppError::not_found(format!("Connection {name} not found"))
}

/// Finds where a connection's statements run.
async fn target(state: &AppState, params: &Params) -> Result<Target, AppError> {
    let name = param(params, "connection");
    if let Some(package) = params.get("package") {
        if name == DUCKDB_CONNECTION {
            let (loaded, _) = loaded_package(state, param(params, "project"), package).await?;
            let Ok(loaded) = loaded.as_ref() else {
                unreachable!("loaded_package returns loaded packages only");
            };
            return Ok(Target::Package(loaded.compiler.host().database().clone()));
        }
    }
    let config = connections_in_scope(state, params)
        .await?
        .into_iter()
        .find(|config| config.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| connection_not_found(name))?;
    Ok(Target::Configured {
        config,
        settings: state.catalog.settings().clone(),
        timeout: state.catalog.query_timeout(),
    })
}

pub async fn list_connections(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(params): Path<Params>,
) -> Result<Json<Value>, AppError> {
    let connections = connections_in_scope(&state, &params).await?;
    let items: Vec<Value> = connections
        .iter()
        .map(|config| connection_json(family, &params, config))
        .collect();
    Ok(Json(Value::Array(items)))
}

pub async fn get_connection(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(params): Path<Params>,
) -> Result<Json<Value>, AppError> {
    let name = param(&params, "connection");
    let config = connections_in_scope(&state, &params)
        .await?
        .into_iter()
        .find(|config| config.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| connection_not_found(name))?;
    Ok(Json(connection_json(family, &params, &config)))
}

/// Checks a connection body and sets its `name` to the path's.
fn connection_body(body: &Bytes, name: &str) -> Result<Value, AppError> {
    let mut config: Value = parse_body(body)?;
    let Value::Object(fields) = &mut config else {
        return Err(AppError::bad_request(
            "The connection must be a JSON object.",
        ));
    };
    if let Some(body_name) = fields.get("name").and_then(Value::as_str) {
        if body_name != name {
            return Err(AppError::bad_request(format!(
                "The connection's name \"{body_name}\" does not match the path's \"{name}\"."
            )));
        }
    }
    fields.insert("name".into(), json!(name));
    if !fields.get("type").is_some_and(Value::is_string) {
        return Err(AppError::bad_request("The connection has no \"type\"."));
    }
    Ok(config)
}

pub async fn create_connection(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(params): Path<Params>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    put_connection(&state, family, &params, &body, true).await
}

pub async fn update_connection(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(params): Path<Params>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    put_connection(&state, family, &params, &body, false).await
}

/// Stores the connection in the request body under the path's name, as a new
/// connection when `create` is set, and returns it as stored (redacted).
async fn put_connection(
    state: &AppState,
    family: Family,
    params: &Params,
    body: &Bytes,
    create: bool,
) -> Result<Json<Value>, AppError> {
    let name = param(params, "connection");
    let config = connection_body(body, name)?;
    let project = state
        .catalog
        .put_connection(param(params, "project"), config.clone(), create)
        .await?;
    let stored = project
        .connections
        .iter()
        .find(|item| item.get("name").and_then(Value::as_str) == Some(name))
        .unwrap_or(&config);
    Ok(Json(connection_json(family, params, stored)))
}

pub async fn delete_connection(
    State(state): State<AppState>,
    Extension(family): Extension<Family>,
    Path(params): Path<Params>,
) -> Result<Json<Value>, AppError> {
    let removed = state
        .catalog
        .delete_connection(param(&params, "project"), param(&params, "connection"))
        .await?;
    Ok(Json(connection_json(family, &params, &removed)))
}

/// `POST /connections/test`: opens the connection and runs `SELECT 1`. A
/// connection that does not work is a 200 with `status: "failed"`.
pub async fn test_connection(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request(
            "The request body is empty; send a connection.",
        ));
    }
    let config: Value = parse_body(&body)?;
    if !config.get("type").is_some_and(Value::is_string) {
        return Err(AppError::bad_request("The connection has no \"type\"."));
    }
    let settings = state.catalog.settings().clone();
    let timeout = state.catalog.query_timeout();
    let outcome = tokio::task::spawn_blocking(move || {
        let database = ConfiguredDuckdb::open(&config, &settings, timeout)?;
        database.query("SELECT 1").map(|_| ())
    })
    .await
    .unwrap_or_else(|_| Err(SqlError::Driver("The test stopped unexpectedly.".into())));
    Ok(Json(match outcome {
        Ok(()) => json!({"status": "ok"}),
        Err(error) => json!({"status": "failed", "errorMessage": error.to_string()}),
    }))
}

pub async fn list_schemas(
    State(state): State<AppState>,
    Path(params): Path<Params>,
) -> Result<Json<Value>, AppError> {
    let target = target(&state, &params).await?;
    let schemas = run_on(target, |database| schemas(database)).await?;
    let items: Vec<Value> = schemas
        .into_iter()
        .map(|(name, is_default, is_hidden)| {
            json!({"name": name, "isDefault": is_default, "isHidden": is_hidden})
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

fn columns_json(columns: &[Column]) -> Vec<Value> {
    columns
        .iter()
        .map(|column| json!({"name": column.name, "type": malloy_type_name(&column.sql_type)}))
        .collect()
}

pub async fn list_tables(
    State(state): State<AppState>,
    Path(params): Path<Params>,
) -> Result<Json<Value>, AppError> {
    let target = target(&state, &params).await?;
    let schema = param(&params, "schema").to_string();
    let prefix = schema.clone();
    let tables = run_on(target, move |database| tables(database, &schema)).await?;
    let items: Vec<Value> = tables
        .iter()
        .map(|(table, columns)| {
            json!({"resource": format!("{prefix}.{table}"), "columns": columns_json(columns)})
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

/// `GET .../schemas/{s}/tables/{t}`: one table's columns, or 404.
pub async fn get_table(
    State(state): State<AppState>,
    Path(params): Path<Params>,
) -> Result<Json<Value>, AppError> {
    let target = target(&state, &params).await?;
    let schema = param(&params, "schema").to_string();
    let table = param(&params, "table").to_string();
    let requested = table.clone();
    let tables = run_on(target, move |database| tables(database, &schema)).await?;
    let (_, columns) = tables
        .iter()
        .find(|(name, _)| *name == requested)
        .ok_or_else(|| {
            AppError::not_found(format!(
                "Table {}.{requested} not found",
                param(&params, "schema")
            ))
        })?;
    Ok(Json(json!({
        "resource": format!("{}.{table}", param(&params, "schema")),
        "columns": columns_json(columns),
    })))
}

fn sql_from(
    params: &SqlParams,
    body: Option<SqlBody>,
) -> Result<(String, Option<Value>), AppError> {
    let (sql, options) = match body {
        Some(body) => (body.sql_statement, body.options),
        None => (
            params.sql_statement.clone(),
            params
                .options
                .as_deref()
                .map(|text| {
                    serde_json::from_str::<Value>(text).map_err(|_| {
                        AppError::bad_request("The \"options\" parameter is not valid JSON.")
                    })
                })
                .transpose()?,
        ),
    };
    let sql = sql
        .filter(|sql| !sql.trim().is_empty())
        .ok_or_else(|| AppError::bad_request("\"sqlStatement\" is missing."))?;
    check_single_select(&sql).map_err(AppError::bad_request)?;
    Ok((sql, options))
}

fn post_body(body: &Bytes) -> Result<Option<SqlBody>, AppError> {
    Ok(Some(parse_body(body)?))
}

/// Builds the JSON text of a SQL source definition: the statement, its
/// connection and the Malloy types of its columns.
fn sql_source_text(connection: &str, sql: &str, columns: &[Column]) -> String {
    json!({
        "type": "sql_select",
        "name": sql,
        "connection": connection,
        "dialect": "duckdb",
        "selectStr": sql,
        "fields": columns_json(columns),
    })
    .to_string()
}

async fn sql_source(state: AppState, params: Params, sql: String) -> Result<Json<Value>, AppError> {
    let target = target(&state, &params).await?;
    let statement = sql.clone();
    let columns = run_on(target, move |database| database.describe(&statement)).await?;
    Ok(Json(json!({
        "source": sql_source_text(param(&params, "connection"), &sql, &columns),
    })))
}

pub async fn get_sql_source(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    Query(query): Query<SqlParams>,
) -> Result<Json<Value>, AppError> {
    let (sql, _) = sql_from(&query, None)?;
    sql_source(state, params, sql).await
}

pub async fn post_sql_source(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let (sql, _) = sql_from(&SqlParams::default(), post_body(&body)?)?;
    sql_source(state, params, sql).await
}

/// `GET .../tableSource` (deprecated): a table's source definition.
pub async fn get_table_source(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    Query(query): Query<SqlParams>,
) -> Result<Json<Value>, AppError> {
    let table_path = query
        .table_path
        .clone()
        .or(query.table_key.clone())
        .filter(|path| !path.is_empty())
        .ok_or_else(|| AppError::bad_request("\"tablePath\" is missing."))?;
    let target = target(&state, &params).await?;
    let reference = table_path.clone();
    let columns = run_on(target, move |database| {
        database.describe(&format!("SELECT * FROM {}", table_reference(&reference)))
    })
    .await?;
    let source = json!({
        "type": "table",
        "name": table_path,
        "tablePath": table_path,
        "connection": param(&params, "connection"),
        "dialect": "duckdb",
        "fields": columns_json(&columns),
    });
    Ok(Json(json!({
        "source": source.to_string(),
        "resource": table_path,
        "columns": columns_json(&columns),
    })))
}

/// Quotes a table path as DuckDB identifiers, part by part.
fn table_reference(path: &str) -> String {
    path.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

async fn query_data(
    state: AppState,
    params: Params,
    sql: String,
    options: Option<Value>,
) -> Result<Json<Value>, AppError> {
    let row_limit = options
        .as_ref()
        .and_then(|options| options.get("rowLimit"))
        .and_then(Value::as_u64)
        .map(|limit| limit as usize);
    let target = target(&state, &params).await?;
    let mut rows = run_on(target, move |database| database.query(&sql)).await?;
    let total_rows = rows.rows.len();
    if let Some(limit) = row_limit {
        rows.rows.truncate(limit);
    }
    let data = json!({"rows": plain_rows(&rows), "totalRows": total_rows});
    Ok(Json(json!({"data": data.to_string()})))
}

pub async fn get_query_data(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    Query(query): Query<SqlParams>,
) -> Result<Json<Value>, AppError> {
    let (sql, options) = sql_from(&query, None)?;
    query_data(state, params, sql, options).await
}

/// `POST .../queryData` and its 2026 name `POST .../sqlQuery`.
pub async fn post_query_data(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let (sql, options) = sql_from(&SqlParams::default(), post_body(&body)?)?;
    query_data(state, params, sql, options).await
}

/// Schema of the tables that `temporaryTable` creates.
const TEMPORARY_SCHEMA: &str = "publisher_temp";

/// Creates a table from the statement's rows, named after a hash of the
/// statement, and returns its name. The same statement always gets the
/// same name, and its table is created once.
///
/// On a package's database the table is a regular table in schema
/// `publisher_temp`, not a DuckDB temporary table: a temporary table is
/// private to the pooled connection that made it, so later requests on
/// other connections would not find it. A configured connection opens its
/// database for one request only, and may open it read-only, so there the
/// table stays a temporary table.
async fn temporary_table(
    state: AppState,
    params: Params,
    sql: String,
) -> Result<Json<Value>, AppError> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    sql.hash(&mut hasher);
    let target = target(&state, &params).await?;
    let shared = matches!(target, Target::Package(_));
    let name = if shared {
        format!("{TEMPORARY_SCHEMA}.tt{:016x}", hasher.finish())
    } else {
        format!("tt{:016x}", hasher.finish())
    };
    let table = name.clone();
    run_on(target, move |database| {
        let sql = sql.trim().trim_end_matches(';');
        if shared {
            database.query(&format!("CREATE SCHEMA IF NOT EXISTS {TEMPORARY_SCHEMA}"))?;
            database.query(&format!(
                "CREATE TABLE IF NOT EXISTS {table} AS (\n{sql}\n)"
            ))
        } else {
            database.query(&format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {table} AS (\n{sql}\n)"
            ))
        }
    })
    .await?;
    Ok(Json(json!({"table": Value::String(name).to_string()})))
}

pub async fn get_temporary_table(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    Query(query): Query<SqlParams>,
) -> Result<Json<Value>, AppError> {
    let (sql, _) = sql_from(&query, None)?;
    temporary_table(state, params, sql).await
}

/// `POST .../temporaryTable` and its 2026 name `POST .../sqlTemporaryTable`.
pub async fn post_temporary_table(
    State(state): State<AppState>,
    Path(params): Path<Params>,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let (sql, _) = sql_from(&SqlParams::default(), post_body(&body)?)?;
    temporary_table(state, params, sql).await
}

/// Builds the connection routes under `scope`, a project or package path.
pub fn routes(scope: &str, project_level: bool) -> axum::Router<AppState> {
    use axum::routing::get;
    let base = format!("{scope}/connections");
    let one = format!("{base}/{{connection}}");
    let mut router = axum::Router::new().route(&base, get(list_connections));
    router = if project_level {
        router.route(
            &one,
            get(get_connection)
                .post(create_connection)
                .patch(update_connection)
                .delete(delete_connection),
        )
    } else {
        router.route(&one, get(get_connection))
    };
    router
        .route(&format!("{one}/schemas"), get(list_schemas))
        .route(
            &format!("{one}/schemas/{{schema}}/tables"),
            get(list_tables),
        )
        .route(
            &format!("{one}/schemas/{{schema}}/tables/{{table}}"),
            get(get_table),
        )
        .route(
            &format!("{one}/sqlSource"),
            get(get_sql_source).post(post_sql_source),
        )
        .route(&format!("{one}/tableSource"), get(get_table_source))
        .route(
            &format!("{one}/queryData"),
            get(get_query_data).post(post_query_data),
        )
        .route(
            &format!("{one}/sqlQuery"),
            axum::routing::post(post_query_data),
        )
        .route(
            &format!("{one}/temporaryTable"),
            get(get_temporary_table).post(post_temporary_table),
        )
        .route(
            &format!("{one}/sqlTemporaryTable"),
            axum::routing::post(post_temporary_table),
        )
}
