//! Source translation: tables, SQL, named sources, queries as sources, and
//! the statements of `extend { ... }`.

use std::collections::HashMap;
use std::rc::Rc;

use super::expr::Scope;
use super::ir::{BinaryOp, Eval, Expr, ExprKind, Literal};
use super::model::{
    Field, FieldKind, JoinDef, JoinKind, ParameterInfo, Query, Relation, SourceDef, SourceTemplate,
    ViewDef,
};
use super::types::{self, DataType};
use super::{annotation_texts, ModelEntry, Translator};
use crate::syntax::ast;

impl Translator<'_> {
    pub fn translate_source_expr(&mut self, source: &ast::SourceExpr) -> Option<Rc<SourceDef>> {
        match &source.kind {
            ast::SourceExprKind::Table { connection, table } => {
                if self.restricted {
                    self.error(
                        "restricted-construct-forbidden",
                        format!(
                            "`{}.table(...)` cannot be used in a restricted query — direct table access is not permitted.",
                            connection.name
                        ),
                        source.span,
                    );
                    return None;
                }
                self.table_source(&connection.name, &table.value, false, source.span)
            }
            ast::SourceExprKind::Sql { connection, sql } => {
                if self.restricted {
                    self.error(
                        "restricted-construct-forbidden",
                        format!(
                            "`{}.sql(...)` cannot be used in a restricted query — raw SQL is not permitted.",
                            connection.name
                        ),
                        source.span,
                    );
                    return None;
                }
                self.table_source(&connection.name, &sql.value, true, source.span)
            }
            ast::SourceExprKind::Named { name, arguments } => {
                match self.model.lookup(&name.name).cloned() {
                    Some(ModelEntry::Source(source)) => match &source.template {
                        Some(template) => {
                            self.instantiate(&source.name, template, arguments, name.span)
                        }
                        None if !arguments.is_empty() => {
                            self.error(
                                "source-parameter-not-found",
                                format!("'{}' has no parameters", name.name),
                                arguments[0].span,
                            );
                            None
                        }
                        None => Some(source),
                    },
                    Some(ModelEntry::Query(named)) => {
                        Some(Rc::new(query_output_source(named.query.clone())))
                    }
                    None => {
                        self.error(
                            "source-or-query-not-found",
                            format!("Reference to undefined object '{}'", name.name),
                            name.span,
                        );
                        None
                    }
                }
            }
            ast::SourceExprKind::Query(query) => {
                let translated = self.translate_query(query, &[])?;
                Some(Rc::new(query_output_source(translated)))
            }
            ast::SourceExprKind::Extend { base, body } => {
                let base = self.translate_source_expr(base)?;
                Some(Rc::new(self.extend_source(&base, body)))
            }
            ast::SourceExprKind::Include { base, items } => {
                let base = self.translate_source_expr(base)?;
                Some(Rc::new(self.include_fields(&base, items)))
            }
        }
    }

    /// Translates the definition of a source with parameters, using their
    /// defaults (or typed NULLs for parameters without one) to describe it.
    pub(super) fn translate_parameterized(
        &mut self,
        definition: &ast::SourceDefinition,
    ) -> Option<Rc<SourceDef>> {
        let mut values = HashMap::new();
        let mut signature = Vec::new();
        for parameter in &definition.parameters {
            let value = match &parameter.default {
                Some(default) => self.translate_constant(default),
                None => Expr::literal(Literal::Null, parameter_type(parameter)),
            };
            let default = match (&parameter.default, &value.kind) {
                (Some(_), ExprKind::Literal(literal)) => Some(literal.clone()),
                _ => None,
            };
            let ty = match parameter_type(parameter) {
                DataType::Null => value.ty.clone(),
                declared => declared,
            };
            signature.push(ParameterInfo {
                name: parameter.name.name.clone(),
                ty,
                default,
            });
            values.insert(parameter.name.name.clone(), value);
        }
        self.parameters.push(values);
        let translated = self.translate_source_expr(&definition.source);
        self.parameters.pop();
        let mut source = (*translated?).clone();
        source.template = Some(Rc::new(SourceTemplate {
            parameters: definition.parameters.clone(),
            signature,
            source: definition.source.clone(),
            namespace: Rc::new(self.model.clone()),
        }));
        Some(Rc::new(source))
    }

    /// Translates a source with parameters again for `arguments`, by name
    /// or by position, with defaults for the rest.
    fn instantiate(
        &mut self,
        name: &str,
        template: &SourceTemplate,
        arguments: &[ast::Argument],
        span: crate::diagnostics::Span,
    ) -> Option<Rc<SourceDef>> {
        let mut values = HashMap::new();
        for (position, argument) in arguments.iter().enumerate() {
            let parameter = match &argument.name {
                Some(argument_name) => template
                    .parameters
                    .iter()
                    .find(|p| p.name.name == argument_name.name),
                None => template.parameters.get(position),
            };
            let Some(parameter) = parameter else {
                let label = argument
                    .name
                    .as_ref()
                    .map(|n| n.name.clone())
                    .unwrap_or_else(|| format!("#{}", position + 1));
                self.error(
                    "source-parameter-not-found",
                    format!("'{name}' has no parameter {label}"),
                    argument.span,
                );
                return None;
            };
            let value = self.translate_constant(&argument.value);
            values.insert(parameter.name.name.clone(), value);
        }
        for parameter in &template.parameters {
            if values.contains_key(&parameter.name.name) {
                continue;
            }
            match &parameter.default {
                Some(default) => {
                    let value = self.translate_constant(default);
                    values.insert(parameter.name.name.clone(), value);
                }
                None => {
                    self.error(
                        "missing-source-argument",
                        format!(
                            "Argument not provided for required parameter `{}`",
                            parameter.name.name
                        ),
                        span,
                    );
                    return None;
                }
            }
        }
        self.parameters.push(values);
        let caller_model = std::mem::replace(&mut self.model, (*template.namespace).clone());
        // The definition comes from the model, so a restricted query may
        // use its tables and SQL.
        let caller_restricted = std::mem::replace(&mut self.restricted, false);
        let translated = self.translate_source_expr(&template.source);
        self.restricted = caller_restricted;
        self.model = caller_model;
        self.parameters.pop();
        let mut source = (*translated?).clone();
        source.name = name.to_string();
        Some(Rc::new(source))
    }

    /// Translates an argument or default value, which may use no fields.
    pub(super) fn translate_constant(&mut self, expr: &ast::Expr) -> Expr {
        let empty = SourceDef {
            name: String::new(),
            connection: String::new(),
            relation: Relation::Sql(String::new()),
            fields: Vec::new(),
            primary_key: None,
            filters: Vec::new(),
            annotations: Vec::new(),
            template: None,
            timezone: None,
        };
        self.translate_expr(&Scope::source(&empty), expr)
    }

    /// Returns the value of a parameter of the source being translated.
    pub fn parameter_value(&self, name: &str) -> Option<Expr> {
        self.parameters
            .last()
            .and_then(|values| values.get(name))
            .cloned()
    }

    fn table_source(
        &mut self,
        connection: &str,
        text: &str,
        is_sql: bool,
        span: crate::diagnostics::Span,
    ) -> Option<Rc<SourceDef>> {
        let columns = match self.schema(is_sql, connection, text) {
            Ok(columns) => columns,
            Err(message) => {
                let code = if is_sql {
                    "invalid-sql-source"
                } else {
                    "failed-to-fetch-table-schema"
                };
                self.error(code, message, span);
                return None;
            }
        };
        let fields = columns
            .iter()
            .map(|column| {
                let expr = Expr::new(
                    ExprKind::Column {
                        path: Vec::new(),
                        name: column.name.clone(),
                    },
                    types::from_duckdb(&column.sql_type),
                    Eval::Scalar,
                );
                Field::new(
                    &column.name,
                    FieldKind::Dimension(expr),
                    Vec::new(),
                    connection,
                )
            })
            .collect();
        Some(Rc::new(SourceDef {
            name: String::new(),
            connection: connection.to_string(),
            relation: if is_sql {
                Relation::Sql(text.to_string())
            } else {
                Relation::Table(text.to_string())
            },
            fields,
            primary_key: None,
            filters: Vec::new(),
            annotations: Vec::new(),
            template: None,
            timezone: None,
        }))
    }

    /// Applies the statements of an `extend { ... }` block to a copy of
    /// `base`.
    pub fn extend_source(&mut self, base: &SourceDef, body: &ast::SourceBody) -> SourceDef {
        let mut source = base.clone();
        // The extension is a new source, with the base's arguments fixed.
        source.template = None;
        for statement in &body.statements {
            let notes = annotation_texts(&statement.annotations);
            self.apply_source_statement(&mut source, statement, &notes);
        }
        source
    }

    fn apply_source_statement(
        &mut self,
        source: &mut SourceDef,
        statement: &ast::SourceStatement,
        notes: &[String],
    ) {
        match &statement.kind {
            ast::SourceStatementKind::PrimaryKey(path) => {
                let name = path
                    .steps
                    .last()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                if source.field(&name).is_none() {
                    self.error(
                        "field-not-found",
                        format!("'{name}' is not defined"),
                        path.span,
                    );
                }
                source.primary_key = Some(name);
            }
            ast::SourceStatementKind::Dimensions(definitions) => {
                for definition in definitions {
                    let expr = self.translate_expr(&Scope::source(source), &definition.expr);
                    if expr.eval == Eval::Aggregate {
                        self.error(
                            "aggregate-in-dimension",
                            "Cannot use an aggregate field in a dimension declaration, did you mean to use a measure declaration instead?",
                            definition.name.span,
                        );
                        continue;
                    }
                    let mut annotations = notes.to_vec();
                    annotations.extend(annotation_texts(&definition.annotations));
                    add_field(
                        source,
                        &definition.name.name,
                        FieldKind::Dimension(expr),
                        annotations,
                    );
                    if let Some(index) = source.field_index(&definition.name.name) {
                        source.fields[index].code = Some(definition.code.clone());
                    }
                }
            }
            ast::SourceStatementKind::Measures(definitions) => {
                for definition in definitions {
                    let expr = self.translate_expr(&Scope::source(source), &definition.expr);
                    if expr.eval == Eval::Scalar && !expr.is_error() {
                        self.error(
                            "scalar-in-measure",
                            "Cannot use a scalar field in a measure declaration, did you mean to use a dimension declaration instead?",
                            definition.name.span,
                        );
                        continue;
                    }
                    let mut annotations = notes.to_vec();
                    annotations.extend(annotation_texts(&definition.annotations));
                    add_field(
                        source,
                        &definition.name.name,
                        FieldKind::Measure(expr),
                        annotations,
                    );
                }
            }
            ast::SourceStatementKind::Renames(renames) => {
                for rename in renames {
                    let old = rename
                        .old_name
                        .steps
                        .last()
                        .map(|s| s.name.as_str())
                        .unwrap_or("");
                    match source.field_index(old) {
                        Some(index) => {
                            // The renamed field moves to the end, as in the
                            // reference's field order.
                            let mut field = source.fields.remove(index);
                            field.name = rename.new_name.name.clone();
                            field
                                .annotations
                                .extend(annotation_texts(&rename.annotations));
                            source.fields.push(field);
                            if source.primary_key.as_deref() == Some(old) {
                                source.primary_key = Some(rename.new_name.name.clone());
                            }
                        }
                        None => self.error(
                            "field-not-found",
                            format!("'{old}' is not defined"),
                            rename.old_name.span,
                        ),
                    }
                }
            }
            ast::SourceStatementKind::Except(paths) => {
                for path in paths {
                    let name = path.steps.last().map(|s| s.name.as_str()).unwrap_or("");
                    match source.field_index(name) {
                        Some(index) => {
                            source.fields.remove(index);
                        }
                        None => self.error(
                            "field-not-found",
                            format!("'{name}' is not defined"),
                            path.span,
                        ),
                    }
                }
            }
            ast::SourceStatementKind::Accept(paths) => {
                let names: Vec<&str> = paths
                    .iter()
                    .filter_map(|p| p.steps.last().map(|s| s.name.as_str()))
                    .collect();
                for path in paths {
                    let name = path.steps.last().map(|s| s.name.as_str()).unwrap_or("");
                    if source.field(name).is_none() {
                        self.error(
                            "field-not-found",
                            format!("'{name}' is not defined"),
                            path.span,
                        );
                    }
                }
                source.fields.retain(|f| names.contains(&f.name.as_str()));
            }
            ast::SourceStatementKind::Joins { kind, joins } => {
                for join in joins {
                    self.add_join(source, *kind, join, notes);
                }
            }
            ast::SourceStatementKind::Views(views) => {
                for view in views {
                    let mut annotations = notes.to_vec();
                    annotations.extend(annotation_texts(&view.annotations));
                    let definition = ViewDef {
                        view: view.view.clone(),
                        annotations: annotations.clone(),
                    };
                    add_field(
                        source,
                        &view.name.name,
                        FieldKind::View(Rc::new(definition)),
                        annotations,
                    );
                }
            }
            ast::SourceStatementKind::Where(conditions) => {
                for condition in conditions {
                    let expr = self.translate_filter(&Scope::source(source), condition);
                    source.filters.push(expr);
                }
            }
            ast::SourceStatementKind::Timezone(zone) => {
                source.timezone = Some(zone.value.clone());
            }
        }
    }

    fn add_join(
        &mut self,
        source: &mut SourceDef,
        kind: ast::JoinKind,
        join: &ast::Join,
        notes: &[String],
    ) {
        let joined = match &join.source {
            Some(expr) => self.translate_source_expr(expr),
            None => self.translate_source_expr(&ast::SourceExpr {
                kind: ast::SourceExprKind::Named {
                    name: join.name.clone(),
                    arguments: Vec::new(),
                },
                span: join.name.span,
            }),
        };
        let Some(joined) = joined else { return };
        let kind = match kind {
            ast::JoinKind::One => JoinKind::One,
            ast::JoinKind::Many => JoinKind::Many,
            ast::JoinKind::Cross => JoinKind::Cross,
        };
        let mut annotations = notes.to_vec();
        annotations.extend(annotation_texts(&join.annotations));
        let name = join.name.name.clone();
        add_field(
            source,
            &name,
            FieldKind::Join(Rc::new(JoinDef {
                kind,
                source: joined.clone(),
                condition: None,
            })),
            annotations,
        );
        let condition = match &join.condition {
            None => None,
            Some(ast::JoinCondition::With(foreign_key)) => {
                let Some(key) = joined.key_expr() else {
                    let keyword = match kind {
                        JoinKind::One => "join_one",
                        JoinKind::Many => "join_many",
                        JoinKind::Cross => "join_cross",
                    };
                    self.error(
                        "join-with-without-primary-key",
                        format!("{keyword}: Cannot use with unless source has a primary key"),
                        join.name.span,
                    );
                    return;
                };
                let foreign = self.translate_expr(&Scope::source(source), foreign_key);
                let primary = key.rebase(std::slice::from_ref(&name));
                Some(Expr::new(
                    ExprKind::Binary {
                        op: BinaryOp::Equal,
                        left: Box::new(primary),
                        right: Box::new(foreign),
                    },
                    DataType::Boolean,
                    Eval::Scalar,
                ))
            }
            Some(ast::JoinCondition::On(condition)) => {
                Some(self.translate_filter(&Scope::source(source), condition))
            }
        };
        if let Some(index) = source.field_index(&name) {
            source.fields[index].kind = FieldKind::Join(Rc::new(JoinDef {
                kind,
                source: joined,
                condition,
            }));
        }
    }

    fn include_fields(&mut self, base: &SourceDef, items: &[ast::IncludeItem]) -> SourceDef {
        let mut source = base.clone();
        source.template = None;
        let mut listed: Vec<String> = Vec::new();
        let mut keep_all = false;
        for item in items {
            let access = item.access.as_ref().map(|a| a.name.as_str());
            for path in &item.fields {
                let name = path
                    .steps
                    .last()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                if name == "*" {
                    keep_all = true;
                    continue;
                }
                if source.field(&name).is_none() {
                    self.error(
                        "field-not-found",
                        format!("'{name}' is not defined"),
                        path.span,
                    );
                    continue;
                }
                if item.except || matches!(access, Some("private") | Some("internal")) {
                    if let Some(field) = source.fields.iter_mut().find(|f| f.name == name) {
                        field.hidden = true;
                    }
                } else {
                    listed.push(name);
                }
            }
        }
        if !keep_all && !listed.is_empty() {
            for field in &mut source.fields {
                if !listed.contains(&field.name) {
                    field.hidden = true;
                }
            }
        }
        source
    }
}

fn add_field(source: &mut SourceDef, name: &str, kind: FieldKind, annotations: Vec<String>) {
    let field = Field::new(name, kind, annotations, &source.connection);
    match source.field_index(name) {
        Some(index) => source.fields[index] = field,
        None => source.fields.push(field),
    }
}

/// Returns the source whose rows are the output of `query`: one column per output
/// field of its last stage.
pub fn query_output_source(query: Rc<Query>) -> SourceDef {
    let last = query.last_stage();
    let connection = query.stages[0].source.connection.clone();
    let fields = last
        .fields
        .iter()
        .map(|output| {
            let expr = Expr::new(
                ExprKind::Column {
                    path: Vec::new(),
                    name: output.name.clone(),
                },
                output.data_type(),
                Eval::Scalar,
            );
            Field::new(
                &output.name,
                FieldKind::Dimension(expr),
                output.annotations.clone(),
                &connection,
            )
        })
        .collect();
    SourceDef {
        name: String::new(),
        connection,
        relation: Relation::Query(query.clone()),
        fields,
        primary_key: None,
        filters: Vec::new(),
        annotations: Vec::new(),
        template: None,
        timezone: None,
    }
}

/// Returns the type of a parameter, from its `::type`, or NULL without one.
fn parameter_type(parameter: &ast::Parameter) -> DataType {
    match parameter.type_name.as_ref().map(|t| t.name.as_str()) {
        Some("string") => DataType::String,
        Some("number") => DataType::Number(None),
        Some("boolean") => DataType::Boolean,
        Some("date") => DataType::Date(None),
        Some("timestamp") => DataType::Timestamp(None),
        _ => DataType::Null,
    }
}
