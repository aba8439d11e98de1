//! The host side of `wit/malloy-compiler.wit`: the generated bindings, the
//! package's implementation of the component's `host` imports, and conversions
//! between the WIT types and the compiler crate's own types.

use malloy_compiler as compiler;
use wasmtime::component::bindgen;

bindgen!({
    world: "malloy-compiler",
    path: "../wit",
});

pub use exports::malloy::compiler::compiler as exported;
use malloy::compiler::types;

use super::GuestState;

impl malloy::compiler::types::Host for GuestState {}

impl malloy::compiler::host::Host for GuestState {
    fn read_file(&mut self, path: String) -> Result<String, String> {
        compiler::Host::read_file(self.host.as_ref(), &path)
    }

    fn table_schema(
        &mut self,
        connection: String,
        table: String,
    ) -> Result<Vec<types::Column>, String> {
        compiler::Host::table_schema(self.host.as_ref(), &connection, &table)
            .map(|columns| columns.into_iter().map(wit_column).collect())
    }

    fn sql_schema(
        &mut self,
        connection: String,
        sql: String,
    ) -> Result<Vec<types::Column>, String> {
        compiler::Host::sql_schema(self.host.as_ref(), &connection, &sql)
            .map(|columns| columns.into_iter().map(wit_column).collect())
    }
}

fn wit_column(column: compiler::Column) -> types::Column {
    types::Column {
        name: column.name,
        sql_type: column.sql_type,
    }
}

pub fn query_request(request: &compiler::QueryRequest) -> exported::QueryRequest {
    let query = match &request.query {
        compiler::QuerySpec::Text(text) => exported::QuerySpec::Text(text.clone()),
        compiler::QuerySpec::Named {
            source_name,
            query_name,
        } => exported::QuerySpec::Named(exported::NamedQuery {
            source_name: source_name.clone(),
            query_name: query_name.clone(),
        }),
    };
    exported::QueryRequest {
        model_path: request.model_path.clone(),
        query,
        restricted: request.restricted,
        default_row_limit: request.default_row_limit,
    }
}

pub fn model_output(output: exported::ModelOutput) -> compiler::ModelOutput {
    compiler::ModelOutput {
        model_info: output.model_info,
        sources: output
            .sources
            .into_iter()
            .map(|source| compiler::SourceSummary {
                name: source.name,
                annotations: source.annotations,
                views: source
                    .views
                    .into_iter()
                    .map(|view| compiler::ViewSummary {
                        name: view.name,
                        annotations: view.annotations,
                    })
                    .collect(),
            })
            .collect(),
        queries: output
            .queries
            .into_iter()
            .map(|query| compiler::QuerySummary {
                name: query.name,
                source_name: query.source_name,
                annotations: query.annotations,
            })
            .collect(),
        model_annotations: output.model_annotations,
        problems: problems(output.problems),
    }
}

pub fn query_output(output: exported::QueryOutput) -> compiler::QueryOutput {
    compiler::QueryOutput {
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
    }
}

pub fn problems(problems: Vec<types::Problem>) -> Vec<compiler::Problem> {
    problems.into_iter().map(problem).collect()
}

fn problem(problem: types::Problem) -> compiler::Problem {
    let position = |position: types::Position| compiler::Position {
        line: position.line,
        character: position.character,
    };
    compiler::Problem {
        code: problem.code,
        message: problem.message,
        severity: match problem.severity {
            types::Severity::Error => compiler::Severity::Error,
            types::Severity::Warn => compiler::Severity::Warn,
            types::Severity::Debug => compiler::Severity::Debug,
        },
        url: problem.url,
        range: compiler::Range {
            start: position(problem.range.start),
            end: position(problem.range.end),
        },
    }
}
