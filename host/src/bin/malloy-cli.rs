//! Compiles and runs Malloy queries from the command line, with the compiler
//! linked natively and DuckDB rooted at the model's folder.
//!
//! `malloy-cli run MODEL QUERY` prints `{"result": <Malloy.Result>}`, or
//! `{"error": {message, code, line, column}}` and exits with status 1.
//! Lines and columns are 1-based positions in QUERY (or in the model file,
//! when the problem is there).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use malloy_compiler::{Problem, QueryRequest, QuerySpec, Severity};
use malloy_publisher::db::PackageDatabase;
use malloy_publisher::package_host::PackageHost;
use malloy_publisher::result::malloy_result;
use serde_json::{json, Value as Json};

/// Row limit for queries that set none, as the Publisher applies.
const DEFAULT_ROW_LIMIT: u64 = 1000;

#[derive(Parser)]
#[command(
    name = "malloy-cli",
    about = "Compile and run Malloy queries on DuckDB"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run QUERY against the model and print the Malloy.Result as JSON.
    Run(QueryArgs),
    /// Print the DuckDB SQL of QUERY and the result schema, without running it.
    Sql(QueryArgs),
    /// Compile the model and print its sources, views and named queries.
    Model {
        /// The .malloy file; its folder is the package root.
        model: PathBuf,
    },
}

#[derive(clap::Args)]
struct QueryArgs {
    /// The .malloy file; its folder is the package root.
    model: PathBuf,
    /// Malloy text appended to the model; its last `run:` is the query.
    query: String,
    /// Allow imports, table and SQL sources and raw SQL calls in QUERY
    /// (rejected by default, as the Publisher rejects them).
    #[arg(long)]
    unrestricted: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Run(args) => run(args),
        Command::Sql(args) => sql(args),
        Command::Model { model } => model_info(model),
    };
    match outcome {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("{}", json!({ "error": error }));
            ExitCode::FAILURE
        }
    }
}

/// Opens the package that contains `model` and returns the host and the
/// model's path relative to the package root.
fn open_package(model: &Path) -> Result<(PackageHost, String), Json> {
    let model = model
        .canonicalize()
        .map_err(|error| message(format!("cannot open {}: {error}", model.display())))?;
    let root = model.parent().unwrap_or(Path::new("/"));
    let file_name = model
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| message(format!("{} is not a model file", model.display())))?;
    // A relative path that DuckDB does not find in the package falls back
    // to the working directory, so make that the package folder too.
    std::env::set_current_dir(root)
        .map_err(|error| message(format!("cannot enter {}: {error}", root.display())))?;
    let database = PackageDatabase::open(root).map_err(|error| message(error.to_string()))?;
    Ok((PackageHost::new(Arc::new(database)), file_name.to_string()))
}

fn compile(args: &QueryArgs) -> Result<(PackageHost, malloy_compiler::QueryOutput), Json> {
    let (host, model_path) = open_package(&args.model)?;
    let request = QueryRequest {
        model_path,
        query: QuerySpec::Text(args.query.clone()),
        restricted: !args.unrestricted,
        default_row_limit: Some(DEFAULT_ROW_LIMIT),
    };
    let output = malloy_compiler::compile_query(&host, &request).map_err(|p| problem_error(&p))?;
    Ok((host, output))
}

fn run(args: &QueryArgs) -> Result<Json, Json> {
    let (host, output) = compile(args)?;
    let rows = host
        .database()
        .run_query(&output.sql)
        .map_err(|error| message(error.to_string()))?;
    let result = malloy_result(&output, &rows).map_err(|error| message(error.to_string()))?;
    Ok(json!({ "result": result }))
}

fn sql(args: &QueryArgs) -> Result<Json, Json> {
    let (_, output) = compile(args)?;
    let schema: Json = serde_json::from_str(&output.schema).unwrap_or(Json::Null);
    Ok(json!({
        "sql": output.sql,
        "schema": schema,
        "annotations": output.annotations,
        "row_limit": output.row_limit,
        "problems": output.problems,
    }))
}

fn model_info(model: &Path) -> Result<Json, Json> {
    let (host, model_path) = open_package(model)?;
    let output =
        malloy_compiler::compile_model(&host, &model_path).map_err(|p| problem_error(&p))?;
    let model_info: Json = serde_json::from_str(&output.model_info).unwrap_or(Json::Null);
    Ok(json!({
        "sources": output.sources,
        "queries": output.queries,
        "model_annotations": output.model_annotations,
        "model_info": model_info,
        "problems": output.problems,
    }))
}

fn message(text: String) -> Json {
    json!({ "message": text })
}

/// The first error (or, failing that, the first problem) with a 1-based
/// position, plus every problem as the compiler reported it.
fn problem_error(problems: &[Problem]) -> Json {
    let Some(first) = problems
        .iter()
        .find(|problem| problem.severity == Severity::Error)
        .or(problems.first())
    else {
        return message("the compiler failed without reporting a problem".into());
    };
    json!({
        "message": first.message,
        "code": first.code,
        "url": first.url,
        "line": first.range.start.line + 1,
        "column": first.range.start.character + 1,
        "problems": problems,
    })
}
