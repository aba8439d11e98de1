//! The compiler as a WebAssembly component for `wasm32-wasip2`: exports the
//! `compiler` interface of `wit/malloy-compiler.wit` and reads files and
//! table schemas through the `host` interface that the embedding server
//! imports into it.

wit_bindgen::generate!({
    world: "malloy-compiler",
    path: "../wit",
});

use exports::malloy::compiler::compiler as wit;
use malloy::compiler::{host, types};

struct Component;

export!(Component);

/// The compiler's [`crate::Host`], implemented with the component's imports.
struct ImportedHost;

impl crate::Host for ImportedHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        host::read_file(path)
    }

    fn table_schema(&self, connection: &str, table: &str) -> Result<Vec<crate::Column>, String> {
        host::table_schema(connection, table)
            .map(|columns| columns.into_iter().map(column).collect())
    }

    fn sql_schema(&self, connection: &str, sql: &str) -> Result<Vec<crate::Column>, String> {
        host::sql_schema(connection, sql).map(|columns| columns.into_iter().map(column).collect())
    }
}

impl wit::Guest for Component {
    fn compile_model(model_path: String) -> Result<wit::ModelOutput, Vec<types::Problem>> {
        let output = crate::compile_model(&ImportedHost, &model_path).map_err(problems)?;
        Ok(wit::ModelOutput {
            model_info: output.model_info,
            sources: output.sources.into_iter().map(source_summary).collect(),
            queries: output.queries.into_iter().map(query_summary).collect(),
            model_annotations: output.model_annotations,
            problems: problems(output.problems),
        })
    }

    fn compile_query(request: wit::QueryRequest) -> Result<wit::QueryOutput, Vec<types::Problem>> {
        let query = match request.query {
            wit::QuerySpec::Text(text) => crate::QuerySpec::Text(text),
            wit::QuerySpec::Named(named) => crate::QuerySpec::Named {
                source_name: named.source_name,
                query_name: named.query_name,
            },
        };
        let request = crate::QueryRequest {
            model_path: request.model_path,
            query,
            restricted: request.restricted,
            default_row_limit: request.default_row_limit,
        };
        let output = crate::compile_query(&ImportedHost, &request).map_err(problems)?;
        Ok(wit::QueryOutput {
            sql: output.sql,
            connection_name: output.connection_name,
            schema: output.schema,
            annotations: output.annotations,
            model_annotations: output.model_annotations,
            source_name: output.source_name,
            query_name: output.query_name,
            row_limit: output.row_limit,
            query_timezone: output.query_timezone,
            problems: problems(output.problems),
        })
    }
}

fn column(column: types::Column) -> crate::Column {
    crate::Column {
        name: column.name,
        sql_type: column.sql_type,
    }
}

fn source_summary(source: crate::SourceSummary) -> wit::SourceSummary {
    wit::SourceSummary {
        name: source.name,
        annotations: source.annotations,
        views: source
            .views
            .into_iter()
            .map(|view| wit::ViewSummary {
                name: view.name,
                annotations: view.annotations,
            })
            .collect(),
    }
}

fn query_summary(query: crate::QuerySummary) -> wit::QuerySummary {
    wit::QuerySummary {
        name: query.name,
        source_name: query.source_name,
        annotations: query.annotations,
    }
}

fn problems(problems: Vec<crate::Problem>) -> Vec<types::Problem> {
    problems.into_iter().map(problem).collect()
}

fn problem(problem: crate::Problem) -> types::Problem {
    let position = |position: crate::Position| types::Position {
        line: position.line,
        character: position.character,
    };
    types::Problem {
        code: problem.code,
        message: problem.message,
        severity: match problem.severity {
            crate::Severity::Error => types::Severity::Error,
            crate::Severity::Warn => types::Severity::Warn,
            crate::Severity::Debug => types::Severity::Debug,
        },
        url: problem.url,
        range: types::Range {
            start: position(problem.range.start),
            end: position(problem.range.end),
        },
    }
}
