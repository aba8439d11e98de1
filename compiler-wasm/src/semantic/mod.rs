//! Translation: from the syntax tree and table schemas to the model IR.
//!
//! A [`Translator`] walks a document's statements in order and keeps the
//! model's namespace: the sources and named queries defined so far,
//! including the ones imported from other files. Every problem it finds is
//! recorded as a [`Diagnostic`] with the span of the text it concerns.

pub mod calls;
pub mod expr;
pub mod filter;
pub mod functions;
pub mod ir;
pub mod model;
pub mod query;
pub mod source;
pub mod sql_type;
pub mod time_literal;
pub mod types;

use std::collections::HashMap;
use std::rc::Rc;

use crate::diagnostics::{Diagnostic, Span};
use crate::syntax::ast;
use crate::Column;
use model::{Query, SourceDef};

/// A named query of a model.
#[derive(Debug, Clone)]
pub struct NamedQuery {
    pub name: String,
    /// The source the query starts from and its stages as written, so that
    /// refinements and longer pipelines can translate it again without
    /// looking names up in the namespace of the file that uses it.
    pub root: Rc<SourceDef>,
    pub stages: Vec<Vec<ast::ViewExpr>>,
    /// Annotations of the views the query runs.
    pub stage_annotations: Vec<String>,
    pub query: Rc<Query>,
    /// The source the query starts from, when it names one.
    pub source_name: Option<String>,
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum ModelEntry {
    Source(Rc<SourceDef>),
    Query(Rc<NamedQuery>),
}

/// A `run:` statement of a document.
#[derive(Debug, Clone)]
pub struct RunStatement {
    pub query: Rc<Query>,
    pub source_name: Option<String>,
    /// The named query it runs, for `run: name` and `run: name + {...}`.
    pub query_name: Option<String>,
    /// The view it runs, for `run: source -> view`.
    pub view_name: Option<String>,
    /// The arguments given to the source, `run: source(name is value)`,
    /// by parameter name and in the order written, when they are literals.
    pub source_arguments: Vec<(String, ir::Literal)>,
    pub span: Span,
}

/// The translated content of one document and its imports.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Definitions in the order they were made; later ones win.
    pub entries: Vec<(String, ModelEntry)>,
    /// Names defined in this document (not imported), in order.
    pub exported: Vec<String>,
    /// `##` tags: those of imported files (transitively, in import order,
    /// each line once), then the document's own.
    pub annotations: Vec<String>,
    /// How many of `annotations` come from imported files.
    pub imported_annotations: usize,
    pub runs: Vec<RunStatement>,
}

impl Model {
    pub fn lookup(&self, name: &str) -> Option<&ModelEntry> {
        self.entries
            .iter()
            .rev()
            .find(|(entry_name, _)| entry_name == name)
            .map(|(_, entry)| entry)
    }

    pub fn define(&mut self, name: &str, entry: ModelEntry) {
        self.entries.retain(|(existing, _)| existing != name);
        self.entries.push((name.to_string(), entry));
    }
}

/// The inputs of translation from outside: table schemas and imported models.
pub trait Environment {
    fn table_schema(&self, connection: &str, table: &str) -> Result<Vec<Column>, String>;
    fn sql_schema(&self, connection: &str, sql: &str) -> Result<Vec<Column>, String>;
    /// Compiles the file at `url`, relative to the current file.
    fn import(&self, url: &str) -> Result<Rc<Model>, String>;
}

pub struct Translator<'e> {
    pub model: Model,
    pub diagnostics: Vec<Diagnostic>,
    env: &'e dyn Environment,
    /// Rejects imports, table and SQL sources and raw SQL calls.
    restricted: bool,
    /// Schemas already fetched, by connection and table or SQL text.
    schema_cache: HashMap<(bool, String, String), Rc<Vec<Column>>>,
    /// Names given to `all()` and `exclude()` while translating the current
    /// stage, with the function and the span, to check against its output.
    pending_ungroup_checks: Vec<(String, String, Span)>,
    /// Parameter values of the sources being translated, innermost last.
    parameters: Vec<HashMap<String, ir::Expr>>,
    /// Names of query fields whose definitions failed with a reported
    /// error. An `order_by:` naming one of them is not reported again.
    failed_output_names: std::collections::HashSet<String>,
}

impl<'e> Translator<'e> {
    pub fn new(env: &'e dyn Environment, model: Model, restricted: bool) -> Translator<'e> {
        Translator {
            model,
            diagnostics: Vec::new(),
            env,
            restricted,
            schema_cache: HashMap::new(),
            pending_ungroup_checks: Vec::new(),
            parameters: Vec::new(),
            failed_output_names: std::collections::HashSet::new(),
        }
    }

    pub fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span) {
        self.diagnostics
            .push(Diagnostic::error(code, message, span));
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error)
    }

    /// Translates every statement of `document` in order.
    pub fn translate_document(&mut self, document: &ast::Document) {
        for statement in &document.statements {
            self.translate_statement(statement);
        }
    }

    fn translate_statement(&mut self, statement: &ast::Statement) {
        match &statement.kind {
            ast::StatementKind::ModelAnnotation(annotation) => {
                self.model.annotations.push(annotation.text.clone());
            }
            ast::StatementKind::Import(import) => self.translate_import(import, statement.span),
            ast::StatementKind::Sources {
                annotations,
                definitions,
            } => {
                for definition in definitions {
                    let mut notes = annotation_texts(annotations);
                    notes.extend(annotation_texts(&definition.annotations));
                    let translated = if definition.parameters.is_empty() {
                        self.translate_source_expr(&definition.source)
                    } else {
                        self.translate_parameterized(definition)
                    };
                    if let Some(source) = translated {
                        let mut source = (*source).clone();
                        source.name = definition.name.name.clone();
                        let mut all = source.annotations.clone();
                        all.extend(notes);
                        source.annotations = all;
                        self.define(&definition.name.name, ModelEntry::Source(Rc::new(source)));
                    }
                }
            }
            ast::StatementKind::Queries {
                annotations,
                definitions,
            } => {
                for definition in definitions {
                    let mut notes = annotation_texts(annotations);
                    notes.extend(annotation_texts(&definition.annotations));
                    let Some((root, stages, stage_annotations)) =
                        self.flatten_query(&definition.query)
                    else {
                        continue;
                    };
                    let mut all_notes = stage_annotations.clone();
                    all_notes.extend(notes.iter().cloned());
                    let Some(query) = self.translate_pipeline(root.clone(), &stages, all_notes)
                    else {
                        continue;
                    };
                    let named = NamedQuery {
                        name: definition.name.name.clone(),
                        root,
                        stages,
                        stage_annotations,
                        source_name: self.query_source_name(&definition.query),
                        query,
                        annotations: notes,
                    };
                    self.define(&definition.name.name, ModelEntry::Query(Rc::new(named)));
                }
            }
            ast::StatementKind::Run { annotations, query } => {
                let notes = annotation_texts(annotations);
                if let Some(translated) = self.translate_query(query, &notes) {
                    let source_arguments = self.source_arguments(query);
                    self.model.runs.push(RunStatement {
                        query: translated,
                        source_name: self.query_source_name(query),
                        query_name: run_query_name(query),
                        view_name: run_view_name(query),
                        source_arguments,
                        span: statement.span,
                    });
                }
            }
        }
    }

    fn define(&mut self, name: &str, entry: ModelEntry) {
        self.model.define(name, entry);
        if !self.model.exported.iter().any(|n| n == name) {
            self.model.exported.push(name.to_string());
        }
    }

    fn translate_import(&mut self, import: &ast::Import, span: Span) {
        if self.restricted {
            self.error(
                "restricted-construct-forbidden",
                format!(
                    "`import \"{}\"` cannot be used in a restricted query — file imports are not permitted.",
                    import.url.value
                ),
                span,
            );
            return;
        }
        let imported = match self.env.import(&import.url.value) {
            Ok(model) => model,
            Err(message) => {
                self.error("import-error", message, import.url.span);
                return;
            }
        };
        for line in &imported.annotations {
            let inherited = &self.model.annotations[..self.model.imported_annotations];
            if !inherited.contains(line) {
                let at = self.model.imported_annotations;
                self.model.annotations.insert(at, line.clone());
                self.model.imported_annotations += 1;
            }
        }
        if import.names.is_empty() {
            for name in &imported.exported {
                if let Some(entry) = imported.lookup(name) {
                    self.model.define(name, entry.clone());
                }
            }
            return;
        }
        for item in &import.names {
            let Some(entry) = imported.lookup(&item.name.name) else {
                self.error(
                    "import-not-found",
                    format!("Cannot find '{}', not imported", item.name.name),
                    item.name.span,
                );
                continue;
            };
            let alias = item.alias.as_ref().unwrap_or(&item.name);
            let entry = match entry {
                ModelEntry::Source(source) => {
                    let mut renamed = (**source).clone();
                    renamed.name = alias.name.clone();
                    ModelEntry::Source(Rc::new(renamed))
                }
                other => other.clone(),
            };
            self.model.define(&alias.name, entry);
        }
    }

    /// Returns the literal arguments of the parameterized source that a
    /// query starts from, named by parameter.
    fn source_arguments(&mut self, query: &ast::QueryExpr) -> Vec<(String, ir::Literal)> {
        let ast::QueryExprKind::Pipeline { source, .. } = &query.kind else {
            return Vec::new();
        };
        let ast::SourceExprKind::Named { name, arguments } = &source.kind else {
            return Vec::new();
        };
        let Some(ModelEntry::Source(definition)) = self.model.lookup(&name.name).cloned() else {
            return Vec::new();
        };
        let Some(template) = &definition.template else {
            return Vec::new();
        };
        let mut values = Vec::new();
        for (position, argument) in arguments.iter().enumerate() {
            let parameter = match &argument.name {
                Some(argument_name) => Some(argument_name.name.clone()),
                None => template
                    .parameters
                    .get(position)
                    .map(|p| p.name.name.clone()),
            };
            let value = self.translate_constant(&argument.value);
            if let (Some(parameter), ir::ExprKind::Literal(literal)) = (parameter, value.kind) {
                values.push((parameter, literal));
            }
        }
        values
    }

    /// Returns the name of the source or query a query starts from, if it names one.
    fn query_source_name(&self, query: &ast::QueryExpr) -> Option<String> {
        match &query.kind {
            ast::QueryExprKind::Pipeline { source, .. } => {
                let name = source_expr_name(source)?;
                match self.model.lookup(&name) {
                    // `query_name -> {...}` continues the query's source.
                    Some(ModelEntry::Query(named)) => named.source_name.clone(),
                    _ => Some(name),
                }
            }
            ast::QueryExprKind::Named(name) => match self.model.lookup(&name.name) {
                Some(ModelEntry::Query(named)) => named.source_name.clone(),
                _ => None,
            },
            ast::QueryExprKind::Refine { base, .. } | ast::QueryExprKind::Chain { base, .. } => {
                self.query_source_name(base)
            }
        }
    }

    /// Returns the columns of a table or SQL source, fetching each once.
    fn schema(
        &mut self,
        is_sql: bool,
        connection: &str,
        text: &str,
    ) -> Result<Rc<Vec<Column>>, String> {
        let key = (is_sql, connection.to_string(), text.to_string());
        if let Some(columns) = self.schema_cache.get(&key) {
            return Ok(columns.clone());
        }
        let columns = if is_sql {
            self.env.sql_schema(connection, text)?
        } else {
            self.env.table_schema(connection, text)?
        };
        let columns = Rc::new(columns);
        self.schema_cache.insert(key, columns.clone());
        Ok(columns)
    }
}

/// Returns the named query that `run:` runs, alone or refined.
fn run_query_name(query: &ast::QueryExpr) -> Option<String> {
    match &query.kind {
        ast::QueryExprKind::Named(name) => Some(name.name.clone()),
        ast::QueryExprKind::Refine { base, .. } => run_query_name(base),
        _ => None,
    }
}

/// Returns the view of `run: source -> view`, a single named view.
fn run_view_name(query: &ast::QueryExpr) -> Option<String> {
    let ast::QueryExprKind::Pipeline { stages, .. } = &query.kind else {
        return None;
    };
    match stages.as_slice() {
        [ast::ViewExpr {
            kind: ast::ViewExprKind::Named(name),
            ..
        }] => Some(name.name.clone()),
        _ => None,
    }
}

fn source_expr_name(source: &ast::SourceExpr) -> Option<String> {
    match &source.kind {
        ast::SourceExprKind::Named { name, .. } => Some(name.name.clone()),
        ast::SourceExprKind::Extend { base, .. } | ast::SourceExprKind::Include { base, .. } => {
            source_expr_name(base)
        }
        _ => None,
    }
}

pub fn annotation_texts(annotations: &[ast::Annotation]) -> Vec<String> {
    annotations
        .iter()
        .map(|a| normalize_annotation(&a.text))
        .collect()
}

/// Rewrites a block annotation (`#| ... |#`) as the reference reports it: the
/// continuation lines without their indentation and without the closing
/// marker. Other annotations are kept as written.
fn normalize_annotation(text: &str) -> String {
    if !text.starts_with("#|") {
        return text.to_string();
    }
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.len() > 1 && lines.last().map(|l| l.trim() == "|#").unwrap_or(false) {
        lines.pop();
    }
    let mut out = String::new();
    for (index, line) in lines.iter().enumerate() {
        let line = if index == 0 {
            line.trim_end()
        } else {
            line.trim()
        };
        let line = line.strip_suffix("|#").map(str::trim_end).unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    out
}
