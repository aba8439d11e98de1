//! A Malloy compiler that turns Malloy models and queries into DuckDB SQL.
//!
//! The crate does no I/O. Files and table schemas come from a [`Host`], so
//! the same code runs natively in tests, as a WebAssembly component inside
//! the server (`wasm32-wasip2`, interface in `wit/malloy-compiler.wit`) and
//! in the browser (`wasm32-unknown-unknown` with wasm-bindgen).
//!
//! The pipeline, one module per stage:
//!
//! | stage | module | input | output |
//! |---|---|---|---|
//! | lexing | [`syntax::lexer`] | text | tokens with spans |
//! | parsing | [`syntax::parser`] | tokens | [`syntax::ast`] with spans and syntax problems |
//! | translation | [`semantic`] | AST and schemas | the model IR: typed sources, fields, views, queries |
//! | planning | [`plan`] | a query against the model IR | stages with resolved joins and aggregates |
//! | SQL generation | [`sql`] | planned stages | DuckDB SQL and the result schema |
//!
//! The public entry points are [`compile_model`] and [`compile_query`]; the
//! `driver` module runs the stages in order for them.

pub mod diagnostics;
mod driver;
pub mod plan;
pub mod semantic;
pub mod sql;
pub mod syntax;

mod bindings;

pub use diagnostics::{Position, Problem, Range, Severity};

/// One column of a table or of a SQL query's result, as the database
/// describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    /// The database's own type name, such as `VARCHAR` or `STRUCT(a INTEGER)`.
    pub sql_type: String,
}

/// What the compiler needs from the program that embeds it.
pub trait Host {
    /// Returns the text of a model file; `path` is relative to the package
    /// root and normalized.
    fn read_file(&self, path: &str) -> Result<String, String>;
    /// Returns the columns of `connection.table(table)`.
    fn table_schema(&self, connection: &str, table: &str) -> Result<Vec<Column>, String>;
    /// Returns the columns of `connection.sql(sql)`.
    fn sql_schema(&self, connection: &str, sql: &str) -> Result<Vec<Column>, String>;
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ViewSummary {
    pub name: String,
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceSummary {
    pub name: String,
    pub annotations: Vec<String>,
    pub views: Vec<ViewSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuerySummary {
    pub name: String,
    pub source_name: Option<String>,
    pub annotations: Vec<String>,
}

/// The result of compiling a model file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelOutput {
    /// JSON text of a `Malloy.ModelInfo`.
    pub model_info: String,
    pub sources: Vec<SourceSummary>,
    pub queries: Vec<QuerySummary>,
    pub model_annotations: Vec<String>,
    /// Warnings.
    pub problems: Vec<Problem>,
}

/// Which query to compile against a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuerySpec {
    /// Malloy text appended to the model; its last `run:` is the query.
    Text(String),
    /// A named query, or a view of a named source.
    Named {
        source_name: Option<String>,
        query_name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    pub model_path: String,
    pub query: QuerySpec,
    /// Rejects `import`, table and SQL sources and raw SQL calls in the text.
    pub restricted: bool,
    /// Row limit for the last stage when the query sets none.
    pub default_row_limit: Option<u64>,
}

/// The result of compiling a query.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryOutput {
    pub sql: String,
    pub connection_name: String,
    /// JSON text of the result's `Malloy.Schema`.
    pub schema: String,
    pub annotations: Vec<String>,
    pub model_annotations: Vec<String>,
    pub source_name: Option<String>,
    pub query_name: Option<String>,
    pub row_limit: Option<u64>,
    pub query_timezone: Option<String>,
    pub problems: Vec<Problem>,
}

/// Compiles the model file at `model_path` and everything it imports.
pub fn compile_model(host: &dyn Host, model_path: &str) -> Result<ModelOutput, Vec<Problem>> {
    driver::compile_model(host, model_path)
}

/// Compiles a query against a model.
pub fn compile_query(host: &dyn Host, request: &QueryRequest) -> Result<QueryOutput, Vec<Problem>> {
    driver::compile_query(host, request)
}
