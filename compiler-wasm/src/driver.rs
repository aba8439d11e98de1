//! Runs the stages in order for [`crate::compile_model`] and
//! [`crate::compile_query`]: reads files through the [`Host`], parses,
//! follows imports, translates, plans and generates SQL.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::diagnostics::{Diagnostic, LineIndex, Problem, Range, Severity, Span};
use crate::semantic::ir::Literal;
use crate::semantic::model::{FieldKind, Query, SourceDef, Stage, StageKind, ViewDef};
use crate::semantic::{Environment, Model, ModelEntry, Translator};
use crate::sql::drill::tag_value;
use crate::sql::schema;
use crate::sql::{DuckDb, Generator};
use crate::syntax::{ast, parser};
use crate::{
    Column, Host, ModelOutput, QueryOutput, QueryRequest, QuerySpec, QuerySummary, SourceSummary,
    ViewSummary,
};

/// The url of problems found in the text of a query request.
const QUERY_URL: &str = "query";

/// State shared by the files of one compilation.
struct Shared<'h> {
    host: &'h dyn Host,
    /// Files being loaded, outermost first, to detect import cycles.
    loading: RefCell<Vec<String>>,
    loaded: RefCell<HashMap<String, Rc<Model>>>,
    /// Problems found in imported files.
    problems: RefCell<Vec<Problem>>,
    /// Warnings of every file loaded, reported with a successful result.
    warnings: RefCell<Vec<Problem>>,
}

/// The environment of one file: imports resolve relative to its folder.
struct FileEnvironment<'s, 'h> {
    shared: &'s Shared<'h>,
    path: String,
}

impl Environment for FileEnvironment<'_, '_> {
    fn table_schema(&self, connection: &str, table: &str) -> Result<Vec<Column>, String> {
        self.shared.host.table_schema(connection, table)
    }

    fn sql_schema(&self, connection: &str, sql: &str) -> Result<Vec<Column>, String> {
        self.shared.host.sql_schema(connection, sql)
    }

    fn import(&self, url: &str) -> Result<Rc<Model>, String> {
        let Some(path) = resolve_import(&self.path, url) else {
            return Err(format!(
                "Cannot import '{url}': the path leaves the package"
            ));
        };
        if self.shared.loading.borrow().contains(&path) {
            return Err(format!(
                "Cannot import '{url}': import cycle through '{path}'"
            ));
        }
        match load_file(self.shared, &path) {
            Ok(model) => Ok(model),
            Err(problems) => {
                let message = problems
                    .first()
                    .map(|p| format!("Cannot import '{url}': {}", p.message))
                    .unwrap_or_else(|| format!("Cannot import '{url}'"));
                self.shared.problems.borrow_mut().extend(problems);
                Err(message)
            }
        }
    }
}

/// Returns the package path of `url` imported from the file at `from`, or `None`
/// when it would leave the package.
fn resolve_import(from: &str, url: &str) -> Option<String> {
    let url = url.strip_prefix("file://").unwrap_or(url);
    let mut parts: Vec<&str> = if url.starts_with('/') {
        Vec::new()
    } else {
        let mut folder: Vec<&str> = from.split('/').collect();
        folder.pop();
        folder
    };
    for part in url.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn problems_of(diagnostics: Vec<Diagnostic>, url: &str, text: &str) -> Vec<Problem> {
    if diagnostics.is_empty() {
        return Vec::new();
    }
    let index = LineIndex::new(text);
    diagnostics
        .into_iter()
        .map(|d| d.into_problem(url, &index))
        .collect()
}

fn has_error(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}

fn file_problem(code: &str, message: String, url: &str) -> Problem {
    Problem {
        code: code.to_string(),
        message,
        severity: Severity::Error,
        url: url.to_string(),
        range: Range::default(),
    }
}

/// Reads, parses and translates one file, once per compilation.
fn load_file(shared: &Shared, path: &str) -> Result<Rc<Model>, Vec<Problem>> {
    if let Some(model) = shared.loaded.borrow().get(path) {
        return Ok(model.clone());
    }

    let text = shared.host.read_file(path).map_err(|message| {
        vec![file_problem(
            "file-not-found",
            format!("Cannot read '{path}': {message}"),
            path,
        )]
    })?;

    let (document, syntax) = parser::parse(&text);
    let syntax = problems_of(syntax, path, &text);
    if has_error(&syntax) {
        return Err(syntax);
    }

    shared.loading.borrow_mut().push(path.to_string());
    let environment = FileEnvironment {
        shared,
        path: path.to_string(),
    };
    let mut translator = Translator::new(&environment, Model::default(), false);
    translator.translate_document(&document);
    shared.loading.borrow_mut().pop();

    let problems = problems_of(std::mem::take(&mut translator.diagnostics), path, &text);
    if has_error(&problems) {
        return Err(problems);
    }
    let mut warnings = shared.warnings.borrow_mut();
    warnings.extend(syntax);
    warnings.extend(problems);
    drop(warnings);
    let model = Rc::new(translator.model);
    shared
        .loaded
        .borrow_mut()
        .insert(path.to_string(), model.clone());
    Ok(model)
}

fn shared(host: &dyn Host) -> Shared<'_> {
    Shared {
        host,
        loading: RefCell::new(Vec::new()),
        loaded: RefCell::new(HashMap::new()),
        problems: RefCell::new(Vec::new()),
        warnings: RefCell::new(Vec::new()),
    }
}

/// Imported files' problems first, so the root cause leads.
fn with_import_problems(shared: &Shared, mut problems: Vec<Problem>) -> Vec<Problem> {
    let mut all = shared.problems.borrow_mut().split_off(0);
    all.append(&mut problems);
    all
}

pub fn compile_model(host: &dyn Host, model_path: &str) -> Result<ModelOutput, Vec<Problem>> {
    let shared = shared(host);
    let model = load_file(&shared, model_path).map_err(|p| with_import_problems(&shared, p))?;
    let environment = FileEnvironment {
        shared: &shared,
        path: model_path.to_string(),
    };
    let mut translator = Translator::new(&environment, (*model).clone(), false);

    let mut entries = Vec::new();
    let mut sources = Vec::new();
    let mut queries = Vec::new();
    // Joined sources are usually the model's own sources, shared by
    // reference, so each view is translated once however often it appears.
    let mut translated_views: HashMap<(*const SourceDef, String), Option<Stage>> = HashMap::new();
    for name in &model.exported {
        match model.lookup(name) {
            Some(ModelEntry::Source(source)) => {
                let mut view_stages: Vec<(String, Option<Stage>)> = Vec::new();
                let mut view_stage = |of: &Rc<SourceDef>, view_name: &str, view: &ViewDef| {
                    let key = (Rc::as_ptr(of), view_name.to_string());
                    let stage = match translated_views.get(&key) {
                        Some(stage) => stage.clone(),
                        None => {
                            let stage = translator.view_stage(of.clone(), &view.view);
                            translated_views.insert(key, stage.clone());
                            stage
                        }
                    };
                    if Rc::ptr_eq(of, source) {
                        view_stages.push((view_name.to_string(), stage.clone()));
                    }
                    stage
                };
                entries.push(schema::source_info(name, source, &mut view_stage));
                let mut views = Vec::new();
                for field in source.fields.iter().filter(|f| !f.hidden) {
                    if !matches!(field.kind, FieldKind::View(_)) {
                        continue;
                    }
                    let is_reduce = view_stages
                        .iter()
                        .find(|(view_name, _)| *view_name == field.name)
                        .and_then(|(_, stage)| stage.as_ref())
                        .map(|stage| stage.kind == StageKind::Reduce)
                        .unwrap_or(false);
                    if is_reduce {
                        views.push(ViewSummary {
                            name: field.name.clone(),
                            annotations: source.view_annotations(&field.name),
                        });
                    }
                }
                sources.push(SourceSummary {
                    name: name.clone(),
                    annotations: source.annotations.clone(),
                    views,
                });
            }
            Some(ModelEntry::Query(named)) => {
                let mut entry = serde_json::json!({
                    "kind": "source",
                    "name": name,
                    "schema": schema::result_schema(named.query.last_stage()),
                });
                if !named.annotations.is_empty() {
                    entry["annotations"] = serde_json::Value::Array(
                        named
                            .annotations
                            .iter()
                            .map(|a| serde_json::json!({"value": a}))
                            .collect(),
                    );
                }
                entries.push(entry);
                queries.push(QuerySummary {
                    name: name.clone(),
                    source_name: named.source_name.clone(),
                    annotations: named.annotations.clone(),
                });
            }
            None => {}
        }
    }
    let anonymous: Vec<serde_json::Value> = model
        .runs
        .iter()
        .map(|run| {
            let mut value =
                serde_json::json!({"schema": schema::result_schema(run.query.last_stage())});
            if !run.query.annotations.is_empty() {
                value["annotations"] = serde_json::Value::Array(
                    run.query
                        .annotations
                        .iter()
                        .map(|a| serde_json::json!({"value": a}))
                        .collect(),
                );
            }
            value
        })
        .collect();
    let model_info = serde_json::json!({"entries": entries, "anonymous_queries": anonymous});
    let mut warnings = shared.warnings.borrow_mut().split_off(0);
    warnings.extend(problems_of(
        std::mem::take(&mut translator.diagnostics),
        model_path,
        "",
    ));
    Ok(ModelOutput {
        model_info: model_info.to_string(),
        sources,
        queries,
        model_annotations: model.annotations.clone(),
        problems: warnings
            .into_iter()
            .filter(|p| p.severity != Severity::Error)
            .collect(),
    })
}

/// A translated query with the names it is known by, and the warnings
/// found while translating it.
struct TranslatedQuery {
    query: Rc<Query>,
    source_name: Option<String>,
    query_name: Option<String>,
    /// The view run by `source -> view`, which names the result when no
    /// named query does.
    view_name: Option<String>,
    source_arguments: Vec<(String, Literal)>,
    warnings: Vec<Problem>,
}

pub fn compile_query(host: &dyn Host, request: &QueryRequest) -> Result<QueryOutput, Vec<Problem>> {
    let shared = shared(host);
    let model =
        load_file(&shared, &request.model_path).map_err(|p| with_import_problems(&shared, p))?;
    let environment = FileEnvironment {
        shared: &shared,
        path: request.model_path.clone(),
    };
    let mut translator = Translator::new(&environment, (*model).clone(), request.restricted);
    let translated = match &request.query {
        QuerySpec::Text(text) => query_from_text(&mut translator, text)
            .map_err(|problems| with_import_problems(&shared, problems))?,
        QuerySpec::Named {
            source_name,
            query_name,
        } => query_by_name(
            &mut translator,
            &request.model_path,
            source_name.as_deref(),
            query_name,
        )?,
    };

    let last: &Stage = translated.query.last_stage();
    // Drill paths start at the view that `source -> view` runs.
    let drill_view = match (&translated.view_name, &request.query) {
        (Some(view), _) => Some(view.as_str()),
        (
            None,
            QuerySpec::Named {
                source_name: Some(_),
                query_name,
            },
        ) => Some(query_name.as_str()),
        _ => None,
    };
    let row_limit = last.limit.or(request.default_row_limit);
    let generator = Generator { dialect: &DuckDb };
    let sql = generator.query_sql(&translated.query, request.default_row_limit);
    let mut annotations = translated.query.annotations.clone();
    if let Some(tag) = schema::result_metadata_tag(last, last.limit) {
        annotations.push(tag);
    }
    // The reference names the source and the query in separate metadata
    // lines. A result that no named query or view names is called after
    // the last stage of its SQL, `__stage0` for the first.
    if let Some(source) = &translated.source_name {
        annotations.push(source_metadata_line(source, &translated.source_arguments));
    }
    let shown_query_name = translated
        .query_name
        .clone()
        .or_else(|| translated.view_name.clone())
        .unwrap_or_else(|| {
            let sql_stages: usize = translated
                .query
                .stages
                .iter()
                .map(Stage::reference_sql_stage_count)
                .sum();
            format!("__stage{}", sql_stages.saturating_sub(1))
        });
    annotations.push(format!("#(malloy) query_name = {shown_query_name}\n"));
    Ok(QueryOutput {
        sql,
        connection_name: last.source.connection.clone(),
        schema: schema::query_result_schema(last, drill_view).to_string(),
        annotations,
        model_annotations: translator.model.annotations.clone(),
        source_name: translated.source_name,
        query_name: translated.query_name,
        row_limit,
        query_timezone: last.timezone.clone(),
        problems: {
            let mut warnings = shared.warnings.borrow_mut().split_off(0);
            warnings.extend(translated.warnings);
            warnings
        },
    })
}

/// Returns the result's `#(malloy)` line naming its source, with the
/// arguments given to a parameterized source as the reference lists them.
fn source_metadata_line(source: &str, arguments: &[(String, Literal)]) -> String {
    if arguments.is_empty() {
        return format!("#(malloy) source.name = {source}\n");
    }
    let parameters: Vec<String> = arguments
        .iter()
        .filter_map(|(name, literal)| {
            let value = match literal {
                Literal::Number(digits) => {
                    format!("kind = number_literal number_value = {digits}")
                }
                Literal::String(text) => {
                    format!("kind = string_literal string_value = {}", tag_value(text))
                }
                Literal::Boolean(flag) => {
                    format!("kind = boolean_literal boolean_value = {flag}")
                }
                Literal::Date(day) => {
                    format!("kind = date_literal date_value = {}", tag_value(day))
                }
                Literal::Timestamp(moment) => format!(
                    "kind = timestamp_literal timestamp_value = {}",
                    tag_value(moment)
                ),
                Literal::ZonedTimestamp { value, zone } => format!(
                    "kind = timestamp_literal timestamp_value = {} timezone = {}",
                    tag_value(value),
                    tag_value(zone)
                ),
                Literal::Null => "kind = null_literal".to_string(),
                Literal::Regex(_) => return None,
            };
            Some(format!(
                "{{ value {{ {value} }} name = {} }}",
                tag_value(name)
            ))
        })
        .collect();
    format!(
        "#(malloy) source {{ name = {} parameters = [{}] }}\n",
        tag_value(source),
        parameters.join(", ")
    )
}

/// Translates query text in the model's namespace; its last `run:` is the
/// query. Problems point into the text, under the url `query`.
fn query_from_text(
    translator: &mut Translator,
    text: &str,
) -> Result<TranslatedQuery, Vec<Problem>> {
    let runs_before = translator.model.runs.len();
    let (document, syntax) = parser::parse(text);
    let syntax = problems_of(syntax, QUERY_URL, text);
    if has_error(&syntax) {
        return Err(syntax);
    }
    translator.translate_document(&document);
    let problems = problems_of(std::mem::take(&mut translator.diagnostics), QUERY_URL, text);
    if has_error(&problems) {
        return Err(problems);
    }
    let Some(run) = translator.model.runs[runs_before..].last().cloned() else {
        return Err(vec![file_problem(
            "no-runnable-query",
            "The query text has no `run:` statement".to_string(),
            QUERY_URL,
        )]);
    };
    let mut warnings = syntax;
    warnings.extend(problems);
    Ok(TranslatedQuery {
        query: run.query,
        source_name: run.source_name,
        query_name: run.query_name,
        view_name: run.view_name,
        source_arguments: run.source_arguments,
        warnings,
    })
}

/// Translates `run: source -> view`, or `run: query` without a source.
fn query_by_name(
    translator: &mut Translator,
    model_path: &str,
    source_name: Option<&str>,
    query_name: &str,
) -> Result<TranslatedQuery, Vec<Problem>> {
    let name = |text: &str| ast::Ident {
        name: text.to_string(),
        span: Span::default(),
    };
    let kind = match source_name {
        Some(source) => ast::QueryExprKind::Pipeline {
            source: ast::SourceExpr {
                kind: ast::SourceExprKind::Named {
                    name: name(source),
                    arguments: Vec::new(),
                },
                span: Span::default(),
            },
            stages: vec![ast::ViewExpr {
                kind: ast::ViewExprKind::Named(name(query_name)),
                span: Span::default(),
            }],
        },
        None => ast::QueryExprKind::Named(name(query_name)),
    };
    let query_expr = ast::QueryExpr {
        kind,
        span: Span::default(),
    };
    let translated = translator.translate_query(&query_expr, &[]);
    // The names come from the request, not from text, so problems have no
    // position; they refer to the model.
    let problems = problems_of(std::mem::take(&mut translator.diagnostics), model_path, "");
    let Some(query) = translated.filter(|_| !has_error(&problems)) else {
        return Err(problems);
    };
    let source_name =
        source_name
            .map(str::to_string)
            .or_else(|| match translator.model.lookup(query_name) {
                Some(ModelEntry::Query(named)) => named.source_name.clone(),
                _ => None,
            });
    Ok(TranslatedQuery {
        query,
        source_name,
        query_name: Some(query_name.to_string()),
        view_name: None,
        source_arguments: Vec::new(),
        warnings: problems,
    })
}

#[cfg(test)]
mod tests {
    use super::resolve_import;

    #[test]
    fn import_paths_resolve_relative_to_the_importer() {
        assert_eq!(
            resolve_import("models/a.malloy", "b.malloy").as_deref(),
            Some("models/b.malloy")
        );
        assert_eq!(
            resolve_import("models/a.malloy", "../b.malloy").as_deref(),
            Some("b.malloy")
        );
        assert_eq!(
            resolve_import("a.malloy", "./sub/b.malloy").as_deref(),
            Some("sub/b.malloy")
        );
        assert_eq!(resolve_import("a.malloy", "../b.malloy"), None);
    }
}
