//! The compiler for web pages: a wasm-bindgen build for
//! `wasm32-unknown-unknown`.
//!
//! [`Host`] is synchronous, so the page hands over everything a compilation
//! may read before it compiles: the package's model files and the schemas of
//! the tables and SQL queries the models use. Inputs and outputs cross the
//! boundary as JSON text.
//!
//! Inputs, for the constructor and `addInputs`:
//!
//! ```json
//! {"files": {"flights.malloy": "source: ..."},
//!  "tables": [{"connection": "duckdb", "table": "data/flights.parquet",
//!              "columns": [{"name": "carrier", "sql_type": "VARCHAR"}]}],
//!  "sqls": [{"connection": "duckdb", "sql": "SELECT 1 AS one",
//!            "error": "the message the database returned"}]}
//! ```
//!
//! Every output is an object with `ok`, `problems` (0-based ranges in UTF-16
//! code units) and `missingSchemas`: the tables and SQL queries that the
//! compilation asked for and the inputs did not contain. A page fetches
//! those schemas, adds them with `addInputs` and compiles again.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use crate::{Column, Host, Problem, QueryRequest, QuerySpec};

thread_local! {
    /// The message of the last panic, kept for `lastPanicMessage`.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records panic messages. A panic aborts with a `RuntimeError` in
/// JavaScript and no message of its own, so the page reads it from here.
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        LAST_PANIC.with(|last| *last.borrow_mut() = Some(message));
    }));
}

/// Returns the message of the most recent panic, if any, and clears it.
///
/// After a panic the module's memory may be inconsistent, so the page
/// should load the module again before compiling more.
#[wasm_bindgen(js_name = lastPanicMessage)]
pub fn last_panic_message() -> Option<String> {
    LAST_PANIC.with(|last| last.borrow_mut().take())
}

/// The inputs of the constructor and of `addInputs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Inputs {
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    tables: Vec<TableInput>,
    #[serde(default)]
    sqls: Vec<SqlInput>,
}

/// The schema of `connection.table(table)`: its columns, or the error the
/// database returned when describing it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableInput {
    connection: String,
    table: String,
    #[serde(default)]
    columns: Option<Vec<Column>>,
    #[serde(default)]
    error: Option<String>,
}

/// The schema of `connection.sql(sql)`, like [`TableInput`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlInput {
    connection: String,
    sql: String,
    #[serde(default)]
    columns: Option<Vec<Column>>,
    #[serde(default)]
    error: Option<String>,
}

/// A query compilation request, the JSON argument of `compileQuery`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct QueryInput {
    model_path: String,
    /// Malloy text appended to the model; its last `run:` is the query.
    #[serde(default)]
    query: Option<String>,
    /// A named query, or a view of `source_name`, instead of `query`.
    #[serde(default)]
    query_name: Option<String>,
    #[serde(default)]
    source_name: Option<String>,
    /// Rejects imports, table and SQL sources and raw SQL calls in
    /// `query`, as the server's query endpoint does. Defaults to true.
    #[serde(default = "default_restricted")]
    restricted: bool,
    #[serde(default)]
    default_row_limit: Option<u64>,
}

fn default_restricted() -> bool {
    true
}

/// Schemas that a compilation asked for and the inputs did not contain.
#[derive(Debug, Default, Serialize)]
struct MissingSchemas {
    tables: BTreeSet<(String, String)>,
    sqls: BTreeSet<(String, String)>,
}

impl MissingSchemas {
    fn to_json(&self) -> Value {
        let tables: Vec<Value> = self
            .tables
            .iter()
            .map(|(connection, table)| json!({"connection": connection, "table": table}))
            .collect();
        let sqls: Vec<Value> = self
            .sqls
            .iter()
            .map(|(connection, sql)| json!({"connection": connection, "sql": sql}))
            .collect();
        json!({"tables": tables, "sqls": sqls})
    }
}

/// A [`Host`] over the inputs the page provided.
#[derive(Debug, Default)]
struct PageHost {
    files: BTreeMap<String, String>,
    tables: BTreeMap<(String, String), Result<Vec<Column>, String>>,
    sqls: BTreeMap<(String, String), Result<Vec<Column>, String>>,
    missing: RefCell<MissingSchemas>,
}

impl PageHost {
    fn add(&mut self, inputs: Inputs) -> Result<(), String> {
        self.files.extend(inputs.files);
        for table in inputs.tables {
            let schema = schema_result(table.columns, table.error)
                .map_err(|problem| format!("table '{}': {problem}", table.table))?;
            self.tables.insert((table.connection, table.table), schema);
        }
        for sql in inputs.sqls {
            let schema = schema_result(sql.columns, sql.error)
                .map_err(|problem| format!("SQL query '{}': {problem}", sql.sql))?;
            self.sqls.insert((sql.connection, sql.sql), schema);
        }
        Ok(())
    }

    fn take_missing(&self) -> MissingSchemas {
        std::mem::take(&mut *self.missing.borrow_mut())
    }
}

fn schema_result(
    columns: Option<Vec<Column>>,
    error: Option<String>,
) -> Result<Result<Vec<Column>, String>, &'static str> {
    match (columns, error) {
        (Some(columns), None) => Ok(Ok(columns)),
        (None, Some(error)) => Ok(Err(error)),
        _ => Err("give exactly one of columns and error"),
    }
}

impl Host for PageHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| format!("file '{path}' does not exist"))
    }

    fn table_schema(&self, connection: &str, table: &str) -> Result<Vec<Column>, String> {
        let key = (connection.to_string(), table.to_string());
        match self.tables.get(&key) {
            Some(schema) => schema.clone(),
            None => {
                self.missing.borrow_mut().tables.insert(key);
                Err(format!("the schema of table '{table}' is not loaded yet"))
            }
        }
    }

    fn sql_schema(&self, connection: &str, sql: &str) -> Result<Vec<Column>, String> {
        let key = (connection.to_string(), sql.to_string());
        match self.sqls.get(&key) {
            Some(schema) => schema.clone(),
            None => {
                self.missing.borrow_mut().sqls.insert(key);
                Err("the schema of this SQL query is not loaded yet".to_string())
            }
        }
    }
}

/// A compiler over one package's files and schemas.
#[wasm_bindgen(js_name = Compiler)]
pub struct BrowserCompiler {
    host: PageHost,
}

#[wasm_bindgen(js_class = Compiler)]
impl BrowserCompiler {
    /// Creates a compiler from inputs JSON (see the module documentation).
    #[wasm_bindgen(constructor)]
    pub fn new(inputs_json: &str) -> Result<BrowserCompiler, JsError> {
        let mut compiler = BrowserCompiler {
            host: PageHost::default(),
        };
        compiler.add_inputs(inputs_json)?;
        Ok(compiler)
    }

    /// Adds files and schemas, replacing those with the same key.
    #[wasm_bindgen(js_name = addInputs)]
    pub fn add_inputs(&mut self, inputs_json: &str) -> Result<(), JsError> {
        let inputs: Inputs = serde_json::from_str(inputs_json)
            .map_err(|error| JsError::new(&format!("invalid compiler inputs: {error}")))?;
        self.host
            .add(inputs)
            .map_err(|error| JsError::new(&format!("invalid compiler inputs: {error}")))
    }

    /// Compiles a model file and returns JSON:
    /// `{ok, modelInfo, sources, queries, modelAnnotations, problems,
    /// missingSchemas}`, or `{ok: false, problems, missingSchemas}`.
    #[wasm_bindgen(js_name = compileModel)]
    pub fn compile_model(&self, model_path: &str) -> String {
        self.host.take_missing();
        let output = crate::compile_model(&self.host, model_path).map(|output| {
            let model_info: Value = serde_json::from_str(&output.model_info).unwrap_or(Value::Null);
            json!({
                "ok": true,
                "modelInfo": model_info,
                "sources": output.sources,
                "queries": output.queries,
                "modelAnnotations": output.model_annotations,
                "problems": output.problems,
            })
        });
        self.finish(output)
    }

    /// Compiles a query (`{modelPath, query | queryName, sourceName?,
    /// restricted?, defaultRowLimit?}`) and returns JSON: `{ok, sql,
    /// connectionName, schema, annotations, modelAnnotations, sourceName,
    /// queryName, rowLimit, queryTimezone, problems, missingSchemas}`, or
    /// `{ok: false, problems, missingSchemas}`.
    #[wasm_bindgen(js_name = compileQuery)]
    pub fn compile_query(&self, request_json: &str) -> Result<String, JsError> {
        let input: QueryInput = serde_json::from_str(request_json)
            .map_err(|error| JsError::new(&format!("invalid query request: {error}")))?;
        let query = match (input.query, input.query_name) {
            (Some(text), None) => QuerySpec::Text(text),
            (None, Some(query_name)) => QuerySpec::Named {
                source_name: input.source_name,
                query_name,
            },
            _ => {
                return Err(JsError::new(
                    "invalid query request: give exactly one of query and queryName",
                ))
            }
        };
        let request = QueryRequest {
            model_path: input.model_path,
            query,
            restricted: input.restricted,
            default_row_limit: input.default_row_limit,
        };
        self.host.take_missing();
        let output = crate::compile_query(&self.host, &request).map(|output| {
            let schema: Value = serde_json::from_str(&output.schema).unwrap_or(Value::Null);
            json!({
                "ok": true,
                "sql": output.sql,
                "connectionName": output.connection_name,
                "schema": schema,
                "annotations": output.annotations,
                "modelAnnotations": output.model_annotations,
                "sourceName": output.source_name,
                "queryName": output.query_name,
                "rowLimit": output.row_limit,
                "queryTimezone": output.query_timezone,
                "problems": output.problems,
            })
        });
        Ok(self.finish(output))
    }

    fn finish(&self, output: Result<Value, Vec<Problem>>) -> String {
        let missing = self.host.take_missing().to_json();
        let mut value =
            output.unwrap_or_else(|problems| json!({"ok": false, "problems": problems}));
        value["missingSchemas"] = missing;
        value.to_string()
    }
}
