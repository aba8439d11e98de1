//! Query translation: pipelines of stages, views and their refinements,
//! nests, ordering and limits.

use std::rc::Rc;

use super::expr::{Resolved, Scope};
use super::ir::{Eval, Expr, ExprKind, Literal};
use super::model::{
    DrillFilter, DrillOrigin, FieldKind, IndexSpec, OutputField, OutputValue, Query, SourceDef,
    Stage, StageKind,
};
use super::source::query_output_source;
use super::types::{DataType, NumberSubtype, Timeframe};
use super::{annotation_texts, ModelEntry, NamedQuery, Translator};
use crate::diagnostics::Span;
use crate::syntax::ast;

/// Returns the root, stages and view annotations of a named query, to continue
/// or refine it.
fn named_parts(named: &NamedQuery) -> (Rc<SourceDef>, Vec<StageSpec>, Vec<String>) {
    (
        named.root.clone(),
        named.stages.clone(),
        named.stage_annotations.clone(),
    )
}

/// The sample size of `sample: true`.
const DEFAULT_SAMPLE_ROWS: u64 = 100_000;

/// Returns whether `index: *` lists fields of this type.
fn is_indexable(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::String
            | DataType::Number(_)
            | DataType::Boolean
            | DataType::Date(_)
            | DataType::Timestamp(_)
    )
}

/// The views that make up one stage: a base and its refinements.
type StageSpec = Vec<ast::ViewExpr>;

/// The bodies of one stage after named views are expanded, with the
/// annotations of the views they came from.
struct StageBodies {
    bodies: Vec<ast::QueryBody>,
    annotations: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldClause {
    GroupBy,
    Aggregate,
    Select,
}

impl Translator<'_> {
    /// Translates a query expression; `annotations` are the taglines written
    /// before it.
    pub fn translate_query(
        &mut self,
        query: &ast::QueryExpr,
        annotations: &[String],
    ) -> Option<Rc<Query>> {
        let (root, specs, mut notes) = self.flatten_query(query)?;
        notes.extend(annotations.iter().cloned());
        self.translate_pipeline(root, &specs, notes)
    }

    /// Translates a view of `source` into its single output stage, for
    /// describing the view's schema.
    pub fn view_stage(&mut self, source: Rc<SourceDef>, view: &ast::ViewExpr) -> Option<Stage> {
        let spec = vec![view.clone()];
        let query = self.translate_pipeline(source, &[spec], Vec::new())?;
        query.stages.last().cloned()
    }

    pub(super) fn flatten_query(
        &mut self,
        query: &ast::QueryExpr,
    ) -> Option<(Rc<SourceDef>, Vec<StageSpec>, Vec<String>)> {
        match &query.kind {
            ast::QueryExprKind::Pipeline { source, stages } => {
                if let ast::SourceExprKind::Named { name, arguments } = &source.kind {
                    if arguments.is_empty() {
                        if let Some(ModelEntry::Query(named)) =
                            self.model.lookup(&name.name).cloned()
                        {
                            let (root, mut specs, notes) = named_parts(&named);
                            specs.extend(stages.iter().map(|s| vec![s.clone()]));
                            return Some((root, specs, notes));
                        }
                    }
                }
                let root = self.translate_source_expr(source)?;
                Some((
                    root,
                    stages.iter().map(|s| vec![s.clone()]).collect(),
                    Vec::new(),
                ))
            }
            ast::QueryExprKind::Named(name) => match self.model.lookup(&name.name).cloned() {
                Some(ModelEntry::Query(named)) => {
                    let (root, specs, mut notes) = named_parts(&named);
                    notes.extend(named.annotations.iter().cloned());
                    Some((root, specs, notes))
                }
                Some(ModelEntry::Source(_)) => {
                    self.error(
                        "invalid-query",
                        format!(
                            "'{}' is a source, not a query; add `-> view` to run it",
                            name.name
                        ),
                        name.span,
                    );
                    None
                }
                None => {
                    self.error(
                        "source-or-query-not-found",
                        format!("Reference to undefined object '{}'", name.name),
                        name.span,
                    );
                    None
                }
            },
            ast::QueryExprKind::Refine { base, refinement } => {
                let (root, mut specs, notes) = self.flatten_query(base)?;
                match specs.last_mut() {
                    Some(last) => last.push(refinement.clone()),
                    None => specs.push(vec![refinement.clone()]),
                }
                Some((root, specs, notes))
            }
            ast::QueryExprKind::Chain { base, stages } => {
                let (root, mut specs, notes) = self.flatten_query(base)?;
                specs.extend(stages.iter().map(|s| vec![s.clone()]));
                Some((root, specs, notes))
            }
        }
    }

    pub(super) fn translate_pipeline(
        &mut self,
        root: Rc<SourceDef>,
        specs: &[StageSpec],
        annotations: Vec<String>,
    ) -> Option<Rc<Query>> {
        let mut stages: Vec<Stage> = Vec::new();
        let mut source = root;
        let mut notes = annotations;
        for spec in specs {
            let expanded = self.expand_spec(&source, spec)?;
            for (index, part) in expanded.into_iter().enumerate() {
                if index > 0 || !stages.is_empty() {
                    let previous = Rc::new(Query {
                        stages: stages.clone(),
                        annotations: Vec::new(),
                    });
                    source = Rc::new(query_output_source(previous));
                }
                let mut stage_notes = part.annotations;
                stage_notes.append(&mut notes);
                let stage = self.translate_stage(source.clone(), &part.bodies, stage_notes, &[])?;
                stages.push(stage);
            }
        }
        if stages.is_empty() {
            return None;
        }
        // The query's own taglines come after those of the views it runs.
        let last = stages.len() - 1;
        let stage_notes = std::mem::take(&mut stages[last].annotations);
        Some(Rc::new(Query {
            stages,
            annotations: stage_notes,
        }))
    }

    /// Expands a stage's base view and refinements into stage bodies.
    fn expand_spec(
        &mut self,
        source: &SourceDef,
        spec: &[ast::ViewExpr],
    ) -> Option<Vec<StageBodies>> {
        let mut stages: Vec<StageBodies> = Vec::new();
        for view in spec {
            let expanded = self.expand_view(source, view)?;
            if stages.is_empty() {
                stages = expanded;
            } else {
                self.merge_refinement(&mut stages, expanded, view.span)?;
            }
        }
        Some(stages)
    }

    fn merge_refinement(
        &mut self,
        stages: &mut [StageBodies],
        refinement: Vec<StageBodies>,
        span: Span,
    ) -> Option<()> {
        if refinement.len() != 1 {
            self.error(
                "refinement-with-multistage-view",
                "A refinement must be a single stage",
                span,
            );
            return None;
        }
        let last = stages.last_mut()?;
        for part in refinement {
            // A refinement that sets a limit without an order drops the
            // base's order, so the default order applies, as in the
            // reference.
            let has = |check: fn(&ast::QueryStatementKind) -> bool| {
                part.bodies
                    .iter()
                    .flat_map(|b| b.statements.iter())
                    .any(|s| check(&s.kind))
            };
            let sets_limit = has(|k| {
                matches!(
                    k,
                    ast::QueryStatementKind::Limit(_) | ast::QueryStatementKind::Top(_)
                )
            });
            let sets_order = has(|k| matches!(k, ast::QueryStatementKind::OrderBy(_)));
            if sets_limit && !sets_order {
                for body in &mut last.bodies {
                    body.statements
                        .retain(|s| !matches!(s.kind, ast::QueryStatementKind::OrderBy(_)));
                }
            }
            last.bodies.extend(part.bodies);
            last.annotations.extend(part.annotations);
        }
        Some(())
    }

    fn expand_view(
        &mut self,
        source: &SourceDef,
        view: &ast::ViewExpr,
    ) -> Option<Vec<StageBodies>> {
        match &view.kind {
            ast::ViewExprKind::Stage(body) => Some(vec![StageBodies {
                bodies: vec![body.clone()],
                annotations: Vec::new(),
            }]),
            ast::ViewExprKind::Named(name) => {
                let field = source.field(&name.name).filter(|f| !f.hidden);
                match field.map(|f| &f.kind) {
                    Some(FieldKind::View(definition)) => {
                        let definition = definition.clone();
                        let mut stages = self.expand_view(source, &definition.view)?;
                        name_bodies(&mut stages, &name.name);
                        if let Some(first) = stages.first_mut() {
                            let mut notes = definition.annotations.clone();
                            notes.append(&mut first.annotations);
                            first.annotations = notes;
                        }
                        Some(stages)
                    }
                    Some(FieldKind::Dimension(_)) | Some(FieldKind::Measure(_)) => {
                        // `dimension + measure + {...}` is shorthand for a
                        // stage that groups by or aggregates the field.
                        let is_measure =
                            matches!(field.map(|f| &f.kind), Some(FieldKind::Measure(_)));
                        let item = ast::QueryField {
                            code: name.name.clone(),
                            annotations: Vec::new(),
                            kind: ast::QueryFieldKind::Reference(ast::Path {
                                steps: vec![name.clone()],
                                span: name.span,
                            }),
                            span: name.span,
                        };
                        let kind = if is_measure {
                            ast::QueryStatementKind::Aggregate(vec![item])
                        } else {
                            ast::QueryStatementKind::GroupBy(vec![item])
                        };
                        Some(vec![StageBodies {
                            bodies: vec![ast::QueryBody {
                                statements: vec![ast::QueryStatement {
                                    annotations: Vec::new(),
                                    kind,
                                    span: name.span,
                                    codes: Vec::new(),
                                }],
                                span: name.span,
                                view: None,
                            }],
                            annotations: Vec::new(),
                        }])
                    }
                    Some(_) => {
                        self.error(
                            "not-a-view",
                            format!("'{}' is not a view", name.name),
                            name.span,
                        );
                        None
                    }
                    None => {
                        self.error(
                            "field-not-found",
                            format!("'{}' is not defined", name.name),
                            name.span,
                        );
                        None
                    }
                }
            }
            ast::ViewExprKind::Refine { base, refinement } => {
                let mut stages = self.expand_view(source, base)?;
                let extra = self.expand_view(source, refinement)?;
                self.merge_refinement(&mut stages, extra, refinement.span)?;
                Some(stages)
            }
            ast::ViewExprKind::Pipeline(views) => {
                let mut stages = Vec::new();
                for part in views {
                    stages.extend(self.expand_view(source, part)?);
                }
                Some(stages)
            }
        }
    }

    /// Translates one stage. `outer_dimensions` are the grouping names of
    /// the stages this one is nested in.
    fn translate_stage(
        &mut self,
        source: Rc<SourceDef>,
        bodies: &[ast::QueryBody],
        annotations: Vec<String>,
        outer_dimensions: &[String],
    ) -> Option<Stage> {
        let statements: Vec<&ast::QueryStatement> =
            bodies.iter().flat_map(|b| b.statements.iter()).collect();
        let mut source = source;
        for statement in &statements {
            if let ast::QueryStatementKind::Extend(body) = &statement.kind {
                source = Rc::new(self.extend_source(&source, body));
            }
        }
        if !self.check_index_statements(&statements) || !self.check_single_limit(bodies) {
            return None;
        }
        let kind = if statements
            .iter()
            .any(|s| matches!(s.kind, ast::QueryStatementKind::Select(_)))
        {
            StageKind::Project
        } else {
            StageKind::Reduce
        };
        let mut stage = Stage {
            source: source.clone(),
            kind,
            fields: Vec::new(),
            filters: Vec::new(),
            having: Vec::new(),
            order_by: Vec::new(),
            order_unstated: Vec::new(),
            drill_origins: Vec::new(),
            drill_filters: Vec::new(),
            limit: None,
            annotations,
            index: None,
            sample: None,
            timezone: source.timezone.clone(),
            preceding: Vec::new(),
        };
        let checks_before = self.pending_ungroup_checks.len();
        let mut having_asts: Vec<&ast::Expr> = Vec::new();
        let mut order_asts: Vec<(&ast::OrderItem, Span)> = Vec::new();
        let mut nest_items: Vec<(usize, &ast::NestItem, Vec<String>)> = Vec::new();
        let mut calculations: Vec<(usize, &ast::QueryField, Vec<String>)> = Vec::new();
        for statement in &statements {
            let notes = annotation_texts(&statement.annotations);
            if kind == StageKind::Project && !self.allowed_in_select(statement) {
                continue;
            }
            match &statement.kind {
                ast::QueryStatementKind::GroupBy(fields) => {
                    for field in fields {
                        self.add_output_field(&mut stage, field, FieldClause::GroupBy, &notes);
                    }
                }
                ast::QueryStatementKind::Aggregate(fields) => {
                    for field in fields {
                        self.add_output_field(&mut stage, field, FieldClause::Aggregate, &notes);
                    }
                }
                ast::QueryStatementKind::Select(fields) => {
                    for field in fields {
                        self.add_output_field(&mut stage, field, FieldClause::Select, &notes);
                    }
                }
                ast::QueryStatementKind::Calculate(fields) => {
                    // Calculations may name any output, so they are translated
                    // once the other fields are known.
                    for field in fields {
                        calculations.push((stage.fields.len(), field, notes.clone()));
                        stage.fields.push(OutputField {
                            name: String::new(),
                            value: OutputValue::Dimension(Expr::error()),
                            annotations: Vec::new(),
                        });
                    }
                }
                ast::QueryStatementKind::Nest(items) => {
                    for item in items {
                        // Reserve the output position; the nest is translated
                        // once the stage's own dimensions are known.
                        let name = match nest_name(item) {
                            Some(name) => name,
                            None => {
                                self.error("nest-needs-name", "A nest needs a name", item.span);
                                continue;
                            }
                        };
                        if stage.output_index(&name).is_some() {
                            self.error(
                                "definition-name-conflict",
                                format!("Cannot redefine '{name}'"),
                                item.span,
                            );
                            continue;
                        }
                        let mut item_notes = notes.clone();
                        item_notes.extend(annotation_texts(&item.annotations));
                        nest_items.push((stage.fields.len(), item, item_notes));
                        stage.fields.push(OutputField {
                            name,
                            value: OutputValue::Dimension(Expr::error()),
                            annotations: Vec::new(),
                        });
                    }
                }
                ast::QueryStatementKind::Where(conditions) => {
                    let view = body_view(bodies, statement);
                    for (index, condition) in conditions.iter().enumerate() {
                        let filter = self.translate_filter(&Scope::source(&source), condition);
                        if !filter.is_error() {
                            stage.filters.push(filter);
                        }
                        if let Some(code) = statement.codes.get(index) {
                            stage.drill_filters.push(DrillFilter {
                                code: code.clone(),
                                view: view.clone(),
                            });
                        }
                    }
                }
                ast::QueryStatementKind::Having(conditions) => {
                    having_asts.extend(conditions.iter())
                }
                ast::QueryStatementKind::OrderBy(items) => {
                    // A refinement's ordering replaces the view's.
                    order_asts.clear();
                    order_asts.extend(items.iter().map(|item| (item, statement.span)));
                }
                ast::QueryStatementKind::Limit(value) | ast::QueryStatementKind::Top(value) => {
                    stage.limit = Some(value.value);
                }
                ast::QueryStatementKind::Index { fields, by } => {
                    self.translate_index(&mut stage, fields, by.as_ref());
                }
                ast::QueryStatementKind::Sample(value) => {
                    stage.sample = match &value.kind {
                        ast::ExprKind::Number(text) => Some(text.clone()),
                        ast::ExprKind::Boolean(true) => Some(DEFAULT_SAMPLE_ROWS.to_string()),
                        ast::ExprKind::Boolean(false) => None,
                        _ => {
                            self.error(
                                "invalid-sample",
                                "`sample:` needs a row count, a percentage or true",
                                value.span,
                            );
                            None
                        }
                    };
                }
                ast::QueryStatementKind::Timezone(zone) => {
                    stage.timezone = Some(zone.value.clone())
                }
                ast::QueryStatementKind::Extend(_) => {}
                ast::QueryStatementKind::PartitionBy(_) => {
                    self.error(
                        "partition-by-outside-calculation",
                        "`partition_by:` is only allowed in a calculation",
                        statement.span,
                    );
                }
            }
        }

        // Nests see the dimensions of this stage and the stages around it.
        let mut dimensions: Vec<String> = outer_dimensions.to_vec();
        dimensions.extend(
            stage
                .fields
                .iter()
                .filter(|f| matches!(f.value, OutputValue::Dimension(_)))
                .map(|f| f.name.clone()),
        );
        for (position, item, notes) in nest_items {
            let mut expanded = self.expand_view(&source, &item.view)?;
            name_bodies(&mut expanded, &stage.fields[position].name);
            let mut parts = expanded.into_iter();
            let first = parts.next()?;
            let mut nested =
                self.translate_stage(source.clone(), &first.bodies, Vec::new(), &dimensions)?;
            // Later stages of a nest read the rows of the stage before,
            // within each group of the enclosing stage.
            let mut preceding = Vec::new();
            for part in parts {
                let previous = Rc::new(Query {
                    stages: vec![nested.clone()],
                    annotations: Vec::new(),
                });
                let next_source = Rc::new(query_output_source(previous));
                preceding.push(nested);
                nested = self.translate_stage(next_source, &part.bodies, Vec::new(), &[])?;
            }
            nested.preceding = preceding;
            let mut field_notes = first.annotations;
            field_notes.extend(notes);
            if nested.timezone.is_none() {
                nested.timezone = stage.timezone.clone();
            }
            stage.fields[position].value = OutputValue::Nest(Box::new(nested));
            stage.fields[position].annotations = field_notes;
        }

        for (position, field, notes) in calculations.into_iter().rev() {
            let placeholder = stage.fields.remove(position);
            let value = self.translate_calculation(&stage, field);
            match value {
                Some((name, expr)) => {
                    if stage.output_index(&name).is_some() {
                        self.error(
                            "definition-name-conflict",
                            format!("Cannot redefine '{name}'"),
                            field.span,
                        );
                        continue;
                    }
                    let mut annotations = notes;
                    annotations.extend(annotation_texts(&field.annotations));
                    stage.fields.insert(
                        position,
                        OutputField {
                            name,
                            value: OutputValue::Calculate(expr),
                            annotations,
                        },
                    );
                }
                None => drop(placeholder),
            }
        }

        for condition in having_asts {
            let scope = Scope {
                source: &source,
                outputs: Some(&stage.fields),
                outputs_first: false,
            };
            let expr = self.translate_expr(&scope, condition);
            if expr.is_error() {
                continue;
            }
            if expr.ty != DataType::Boolean {
                self.error(
                    "non-boolean-filter",
                    "Filter expression must have boolean value",
                    condition.span,
                );
                continue;
            }
            stage.having.push(expr);
        }

        for (item, statement_span) in order_asts {
            let index = match &item.field {
                ast::OrderKey::Name(path) => {
                    let name = path.steps.last().map(|s| s.name.as_str()).unwrap_or("");
                    match stage.output_index(name) {
                        Some(index) if path.steps.len() == 1 => index,
                        _ if path.steps.len() == 1 && self.failed_output_names.contains(name) => {
                            continue;
                        }
                        _ => {
                            self.error(
                                "order-by-not-found-in-output",
                                format!("Unknown field {name} in output space"),
                                statement_span,
                            );
                            continue;
                        }
                    }
                }
                ast::OrderKey::Position(position, span) => {
                    if *position == 0 || *position as usize > stage.fields.len() {
                        self.error(
                            "order-by-position-out-of-range",
                            format!("order_by: {position} is not a position of the output"),
                            *span,
                        );
                        continue;
                    }
                    *position as usize - 1
                }
            };
            let descending = matches!(item.direction, Some(ast::OrderDirection::Desc));
            if item.direction.is_none() {
                stage.order_unstated.push(stage.order_by.len());
            }
            stage.order_by.push((index, descending));
        }
        if stage.order_by.is_empty() && stage.kind == StageKind::Reduce {
            stage.order_by = default_ordering(&stage);
        }

        let checks: Vec<(String, String, Span)> =
            self.pending_ungroup_checks.drain(checks_before..).collect();
        for (function, name, span) in checks {
            let known = dimensions.contains(&name);
            if !known {
                self.error(
                    "ungroup-field-not-in-output",
                    format!("{function}() '{name}' is missing from query output"),
                    span,
                );
            }
        }
        Some(stage)
    }

    /// Reports statements that do not fit the kind of query that the first
    /// `index:`, `sample:`, `group_by:`, `aggregate:`, `nest:` or
    /// `calculate:` statement makes of the stage: `index:` and `sample:`
    /// belong to index queries only. Returns false when it reported one.
    fn check_index_statements(&mut self, statements: &[&ast::QueryStatement]) -> bool {
        use ast::QueryStatementKind as K;
        let mut is_index: Option<bool> = None;
        for statement in statements {
            let (keyword, index_statement) = match &statement.kind {
                K::Index { .. } => ("index", true),
                K::Sample(_) => ("sample", true),
                K::GroupBy(_) => ("group_by", false),
                K::Aggregate(_) => ("aggregate", false),
                K::Nest(_) => ("nest", false),
                K::Calculate(_) => ("calculate", false),
                K::Select(_) if is_index == Some(true) => ("select", false),
                K::OrderBy(_) if is_index == Some(true) => {
                    self.error(
                        "illegal-operation-for-index",
                        "Not legal in an index query operation",
                        statement.span,
                    );
                    return false;
                }
                _ => continue,
            };
            match is_index {
                None => is_index = Some(index_statement),
                Some(true) if !index_statement => {
                    self.error(
                        "illegal-index-operation",
                        format!("Use of {keyword}: is not allowed in an index query"),
                        statement.span,
                    );
                    return false;
                }
                Some(false) if index_statement => {
                    self.error(
                        "illegal-grouping-operation",
                        format!("Use of {keyword}: is not allowed in a grouping query"),
                        statement.span,
                    );
                    return false;
                }
                Some(_) => {}
            }
        }
        true
    }

    /// Reports a second `limit:` or `top:` in one query body; a refinement
    /// may still replace the limit of the view it refines. Returns false
    /// when it reported one.
    fn check_single_limit(&mut self, bodies: &[ast::QueryBody]) -> bool {
        for body in bodies {
            let mut limits = body.statements.iter().filter(|statement| {
                matches!(
                    statement.kind,
                    ast::QueryStatementKind::Limit(_) | ast::QueryStatementKind::Top(_)
                )
            });
            if let (Some(_), Some(second)) = (limits.next(), limits.next()) {
                self.error(
                    "limit-already-specified",
                    "Query operation already limited",
                    second.span,
                );
                return false;
            }
        }
        true
    }

    /// Reports statements that a `select:` stage cannot have.
    fn allowed_in_select(&mut self, statement: &ast::QueryStatement) -> bool {
        let keyword = match &statement.kind {
            ast::QueryStatementKind::GroupBy(_) => "group_by",
            ast::QueryStatementKind::Aggregate(_) => "aggregate",
            ast::QueryStatementKind::Nest(_) => "nest",
            ast::QueryStatementKind::Having(_) => {
                self.error(
                    "illegal-operation-in-select-segment",
                    "Illegal statement in a select query operation",
                    statement.span,
                );
                return false;
            }
            _ => return true,
        };
        self.error(
            "illegal-project-operation",
            format!("Use of {keyword}: is not allowed in a select query"),
            statement.span,
        );
        false
    }

    /// Fills an `index:` stage: its fields, weight and fixed output columns.
    fn translate_index(
        &mut self,
        stage: &mut Stage,
        fields: &[ast::QueryField],
        by: Option<&ast::Path>,
    ) {
        let source = stage.source.clone();
        let scope = Scope::source(&source);
        let mut listed: Vec<(String, Expr)> = Vec::new();
        for field in fields {
            match &field.kind {
                ast::QueryFieldKind::Reference(path) => {
                    if let Some(Resolved::Value {
                        expr,
                        is_measure: false,
                        ..
                    }) = self.resolve_path(&scope, path)
                    {
                        let name = path
                            .steps
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(".");
                        listed.push((name, expr));
                    }
                }
                ast::QueryFieldKind::Wildcard { prefix, except, .. } => {
                    // `*` lists the source's dimensions, `join.*` a join's.
                    let (target, path): (Rc<SourceDef>, Vec<String>) = match prefix {
                        None => (source.clone(), Vec::new()),
                        Some(prefix_path) => match self.resolve_path(&scope, prefix_path) {
                            Some(Resolved::Join { path, join }) => (join.source.clone(), path),
                            Some(_) => {
                                self.error(
                                    "invalid-wildcard",
                                    "A wildcard needs a join before `.*`",
                                    field.span,
                                );
                                continue;
                            }
                            None => continue,
                        },
                    };
                    let mut names: Vec<(String, Expr)> = target
                        .fields
                        .iter()
                        .filter(|f| !f.hidden && !except.iter().any(|e| e.name == f.name))
                        .filter_map(|f| match &f.kind {
                            FieldKind::Dimension(expr) if is_indexable(&expr.ty) => {
                                let mut name_parts = path.clone();
                                name_parts.push(f.name.clone());
                                Some((name_parts.join("."), expr.rebase(&path)))
                            }
                            _ => None,
                        })
                        .collect();
                    names.sort_by(|a, b| a.0.cmp(&b.0));
                    listed.extend(names);
                }
                _ => self.error(
                    "invalid-index-field",
                    "`index:` takes field names and `*`",
                    field.span,
                ),
            }
        }
        let weight = by.and_then(|path| match self.resolve_path(&scope, path) {
            Some(Resolved::Value { expr, .. }) if expr.eval == Eval::Aggregate => Some(expr),
            Some(_) => {
                self.error(
                    "invalid-index-weight",
                    "`index: ... by` needs a measure",
                    path.span,
                );
                None
            }
            None => None,
        });
        stage.kind = StageKind::Index;
        stage.index = Some(IndexSpec {
            fields: listed,
            weight,
        });
        let text = |name: &str| OutputField {
            name: name.to_string(),
            value: OutputValue::Dimension(Expr::literal(Literal::Null, DataType::String)),
            annotations: Vec::new(),
        };
        stage.fields = vec![
            text("fieldName"),
            text("fieldPath"),
            text("fieldValue"),
            text("fieldType"),
        ];
        stage.fields.push(OutputField {
            name: "weight".to_string(),
            value: OutputValue::Aggregate(Expr::new(
                ExprKind::Literal(Literal::Null),
                DataType::Number(Some(NumberSubtype::Integer)),
                Eval::Aggregate,
            )),
            annotations: Vec::new(),
        });
    }

    /// Checks that a value suits its clause (`group_by:` and `select:` take
    /// scalars, `aggregate:` takes aggregates) and wraps it as an output.
    fn clause_value(
        &mut self,
        clause: FieldClause,
        expr: Expr,
        error_span: Span,
    ) -> Option<OutputValue> {
        let value = match (clause, expr.eval) {
            (FieldClause::GroupBy, Eval::Scalar) | (FieldClause::Select, Eval::Scalar) => {
                OutputValue::Dimension(expr)
            }
            (FieldClause::Aggregate, Eval::Aggregate) => OutputValue::Aggregate(expr),
            (FieldClause::GroupBy, Eval::Aggregate) => {
                self.error(
                    "group-by-aggregate",
                    "Cannot use an aggregate field in a group_by operation, did you mean to use an aggregate operation instead?",
                    error_span,
                );
                return None;
            }
            (FieldClause::Select, Eval::Aggregate) => {
                self.error(
                    "select-of-aggregate",
                    "Cannot use an aggregate field in a select operation, did you mean to use an aggregate operation instead?",
                    error_span,
                );
                return None;
            }
            (FieldClause::Aggregate, Eval::Scalar) => {
                self.error(
                    "aggregate-of-scalar",
                    "Cannot use a scalar field in an aggregate operation, did you mean to use a group_by or select operation instead?",
                    error_span,
                );
                return None;
            }
            (FieldClause::Aggregate, Eval::Analytic) => {
                self.error(
                    "aggregate-of-analytic",
                    "Cannot use an analytic field in an aggregate operation, did you mean to use a calculate operation instead?",
                    error_span,
                );
                return None;
            }
            (_, Eval::Analytic) => {
                self.error(
                    "group-by-analytic",
                    "Cannot use an analytic field here, did you mean to use a calculate operation instead?",
                    error_span,
                );
                return None;
            }
        };
        Some(value)
    }

    /// Translates one `calculate:` field against the stage's outputs.
    fn translate_calculation(
        &mut self,
        stage: &Stage,
        field: &ast::QueryField,
    ) -> Option<(String, Expr)> {
        let ast::QueryFieldKind::Definition { name, expr } = &field.kind else {
            self.error(
                "calculation-needs-name",
                "A calculation needs a name: `name is ...`",
                field.span,
            );
            return None;
        };
        let source = stage.source.clone();
        let scope = Scope {
            source: &source,
            outputs: Some(&stage.fields),
            outputs_first: true,
        };
        let value = self.translate_expr(&scope, expr);
        if value.is_error() {
            return None;
        }
        Some((name.name.clone(), value))
    }

    fn add_output_field(
        &mut self,
        stage: &mut Stage,
        field: &ast::QueryField,
        clause: FieldClause,
        notes: &[String],
    ) {
        let source = stage.source.clone();
        let scope = Scope::source(&source);
        let mut annotations: Vec<String> = Vec::new();
        let (name, name_span, expr, field_span) = match &field.kind {
            ast::QueryFieldKind::Definition { name, expr } => {
                let value = self.translate_expr(&scope, expr);
                (name.name.clone(), name.span, value, field.span)
            }
            ast::QueryFieldKind::Reference(path) => {
                let mut name = path
                    .steps
                    .last()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                let value = match self.resolve_path(&scope, path) {
                    Some(Resolved::Value { expr, .. }) => {
                        name = reference_output_name(path, &expr);
                        expr
                    }
                    Some(Resolved::Join { .. }) | Some(Resolved::View) => {
                        self.error(
                            "invalid-field-reference",
                            format!("'{name}' cannot be used here"),
                            path.span,
                        );
                        return;
                    }
                    None => return,
                };
                annotations.extend(field_annotations(&source, path));
                (name, path.span, value, path.span)
            }
            ast::QueryFieldKind::Expression(expr) => {
                // Only `path.sum()` may go unnamed; the output
                // takes the name of the path's last step.
                let ast::ExprKind::MethodCall {
                    receiver, method, ..
                } = &expr.kind
                else {
                    self.error(
                        "unnamed-expression",
                        "This expression needs a name: `name is ...`",
                        expr.span,
                    );
                    return;
                };
                let ast::ExprKind::Path(path) = &receiver.kind else {
                    self.error(
                        "unnamed-expression",
                        "This expression needs a name: `name is ...`",
                        expr.span,
                    );
                    return;
                };
                if method.name != "sum" {
                    self.error(
                        "invalid-reference-only-aggregation",
                        format!(
                            "`{}` is not legal in a reference-only aggregation",
                            method.name
                        ),
                        method.span,
                    );
                    return;
                }
                let name = path
                    .steps
                    .last()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                let value = self.translate_expr(&scope, expr);
                (name, path.span, value, expr.span)
            }
            ast::QueryFieldKind::Wildcard { prefix, except, .. } => {
                self.add_wildcard(stage, prefix.as_ref(), except, field.span);
                return;
            }
        };
        if expr.is_error() {
            self.failed_output_names.insert(name);
            return;
        }

        let is_definition = matches!(field.kind, ast::QueryFieldKind::Definition { .. });
        let error_span = if is_definition { field_span } else { name_span };
        let Some(value) = self.clause_value(clause, expr, error_span) else {
            return;
        };

        let mut name = name;
        if stage.output_index(&name).is_some() {
            // A second `join.field` with the same last name is named by its
            // whole path, as the reference does.
            let full_name = match &field.kind {
                ast::QueryFieldKind::Reference(path) if path.steps.len() > 1 => Some(
                    path.steps
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join("_"),
                ),
                _ => None,
            };
            match full_name.filter(|n| stage.output_index(n).is_none()) {
                Some(full_name) => name = full_name,
                None if is_definition => {
                    self.error(
                        "definition-name-conflict",
                        format!("Cannot redefine '{name}'"),
                        name_span,
                    );
                    return;
                }
                None => {
                    self.error(
                        "output-name-conflict",
                        format!("Output already has a field named '{name}'"),
                        name_span,
                    );
                    return;
                }
            }
        }
        annotations.extend(notes.iter().cloned());
        annotations.extend(annotation_texts(&field.annotations));
        let reference = match &field.kind {
            ast::QueryFieldKind::Reference(path) => {
                Some(path.steps.iter().map(|s| s.name.clone()).collect())
            }
            _ => None,
        };
        // A reference to a computed dimension quotes its definition.
        let code = match &field.kind {
            ast::QueryFieldKind::Reference(path) => definition_code(&source, path),
            _ => None,
        };
        stage.drill_origins.push((
            name.clone(),
            DrillOrigin {
                code: code.unwrap_or_else(|| field.code.clone()),
                reference,
            },
        ));
        stage.fields.push(OutputField {
            name,
            value,
            annotations,
        });
    }

    /// `*` and `join.*`: every visible dimension, sorted by name.
    fn add_wildcard(
        &mut self,
        stage: &mut Stage,
        prefix: Option<&ast::Path>,
        except: &[ast::Ident],
        span: Span,
    ) {
        let mut source: &SourceDef = &stage.source.clone();
        let owned = stage.source.clone();
        source = if prefix.is_none() { &owned } else { source };
        let mut path: Vec<String> = Vec::new();
        let target: Rc<SourceDef> = match prefix {
            None => owned.clone(),
            Some(prefix_path) => {
                let scope = Scope::source(source);
                match self.resolve_path(&scope, prefix_path) {
                    Some(Resolved::Join {
                        path: join_path,
                        join,
                    }) => {
                        path = join_path;
                        join.source.clone()
                    }
                    Some(_) => {
                        self.error(
                            "invalid-wildcard",
                            "A wildcard needs a join before `.*`",
                            span,
                        );
                        return;
                    }
                    None => return,
                }
            }
        };
        let mut names: Vec<(String, Expr, Vec<String>)> = target
            .fields
            .iter()
            .filter(|f| !f.hidden && !except.iter().any(|e| e.name == f.name))
            .filter_map(|f| match &f.kind {
                FieldKind::Dimension(expr) => {
                    Some((f.name.clone(), expr.rebase(&path), f.annotations.clone()))
                }
                _ => None,
            })
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, expr, annotations) in names {
            if stage.output_index(&name).is_some() {
                continue;
            }
            stage.fields.push(OutputField {
                name,
                value: OutputValue::Dimension(expr),
                annotations,
            });
        }
    }
}

/// Returns the name of a nest: written, or the name of the view it runs.
fn nest_name(item: &ast::NestItem) -> Option<String> {
    if let Some(name) = &item.name {
        return Some(name.name.clone());
    }
    let mut view = &item.view;
    loop {
        match &view.kind {
            ast::ViewExprKind::Named(name) => return Some(name.name.clone()),
            ast::ViewExprKind::Refine { base, .. } => view = base,
            _ => return None,
        }
    }
}

/// Returns the annotations of the field a path names.
fn field_annotations(source: &SourceDef, path: &ast::Path) -> Vec<String> {
    let mut current = source;
    for (index, step) in path.steps.iter().enumerate() {
        let Some(field) = current.field(&step.name) else {
            return Vec::new();
        };
        if index + 1 == path.steps.len() {
            return field.annotations.clone();
        }
        match &field.kind {
            FieldKind::Join(join) => current = &join.source,
            _ => return field.annotations.clone(),
        }
    }
    Vec::new()
}

/// Returns the order of a reduce stage without `order_by:`. A time
/// dimension comes first, newest first. Without one, the first aggregate
/// orders the rows, largest first, and without that the first dimension,
/// ascending.
fn default_ordering(stage: &Stage) -> Vec<(usize, bool)> {
    let first_time = stage.fields.iter().position(|f| match &f.value {
        OutputValue::Dimension(expr) => expr.ty.is_temporal(),
        _ => false,
    });
    if let Some(index) = first_time {
        return vec![(index, true)];
    }
    if let Some(index) = stage.fields.iter().position(|f| f.is_aggregate()) {
        return vec![(index, true)];
    }
    if let Some(index) = stage
        .fields
        .iter()
        .position(|f| matches!(f.value, OutputValue::Dimension(_)))
    {
        return vec![(index, false)];
    }
    Vec::new()
}

/// Returns the definition text of the dimension that `path` names, through
/// joins, when it is defined by an expression.
fn definition_code(source: &SourceDef, path: &ast::Path) -> Option<String> {
    let (last, joins) = path.steps.split_last()?;
    let mut current = source;
    for step in joins {
        match &current.field(&step.name)?.kind {
            FieldKind::Join(join) => current = &join.source,
            _ => return None,
        }
    }
    current.field(&last.name)?.code.clone()
}

/// Returns the output name of a referenced field: its last step, except
/// that a truncation such as `dep_time.month` keeps the time's name, as the
/// reference names it.
fn reference_output_name(path: &ast::Path, value: &Expr) -> String {
    match path.steps.as_slice() {
        [.., time, unit]
            if matches!(value.kind, ExprKind::TimeTruncate { .. })
                && Timeframe::parse(&unit.name).is_some_and(|u| u.name() == unit.name) =>
        {
            time.name.clone()
        }
        [.., last] => last.name.clone(),
        [] => String::new(),
    }
}

/// Marks the bodies of an expanded view or nest that no inner view has
/// claimed as written in `name`.
fn name_bodies(stages: &mut [StageBodies], name: &str) {
    for body in stages.iter_mut().flat_map(|stage| stage.bodies.iter_mut()) {
        if body.view.is_none() {
            body.view = Some(name.to_string());
        }
    }
}

/// Returns the view that the body containing `statement` was written in.
fn body_view(bodies: &[ast::QueryBody], statement: &ast::QueryStatement) -> Option<String> {
    bodies
        .iter()
        .find(|body| body.statements.iter().any(|s| std::ptr::eq(s, statement)))
        .and_then(|body| body.view.clone())
}
