//! Expression translation: names resolved against a source, types checked,
//! and dimensions and measures replaced by their definitions.

use super::ir::{BinaryOp, Eval, Expr, ExprKind, Literal};
use super::model::{FieldKind, JoinDef, OutputField, OutputValue, SourceDef};
use super::types::{DataType, NumberSubtype, Timeframe};
use super::{time_literal, Translator};
use crate::diagnostics::Span;
use crate::syntax::ast;

/// The names an expression can use: a source's fields and, in some
/// clauses, the stage's outputs.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub source: &'a SourceDef,
    /// The output fields of the current stage, which `having:` and
    /// `calculate:` expressions may name.
    pub outputs: Option<&'a [OutputField]>,
    /// Whether output names win over source fields, as in `calculate:`.
    pub outputs_first: bool,
}

impl<'a> Scope<'a> {
    pub fn source(source: &'a SourceDef) -> Scope<'a> {
        Scope {
            source,
            outputs: None,
            outputs_first: false,
        }
    }
}

/// The result of resolving a dotted path.
pub enum Resolved<'a> {
    /// A dimension or measure value, rebased to the query root, with the
    /// join path it was found under.
    Value {
        expr: Expr,
        prefix: Vec<String>,
        is_measure: bool,
    },
    Join {
        path: Vec<String>,
        join: &'a JoinDef,
    },
    View,
}

pub(super) fn eval_of(exprs: &[&Expr]) -> Eval {
    exprs.iter().map(|e| e.eval).max().unwrap_or(Eval::Scalar)
}

fn binary(op: BinaryOp, left: Expr, right: Expr, ty: DataType) -> Expr {
    let eval = eval_of(&[&left, &right]);
    Expr::new(
        ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        ty,
        eval,
    )
}

/// Returns the subtype of `a op b` for `+`, `-` and `*`.
fn arithmetic_type(left: &DataType, right: &DataType) -> DataType {
    use NumberSubtype::*;
    let subtype = |t: &DataType| match t {
        DataType::Number(s) => *s,
        _ => None,
    };
    match (subtype(left), subtype(right)) {
        (Some(Decimal), _) | (_, Some(Decimal)) => DataType::Number(Some(Decimal)),
        (Some(Bigint), Some(_)) | (Some(_), Some(Bigint)) => DataType::Number(Some(Bigint)),
        (Some(Integer), Some(Integer)) => DataType::Number(Some(Integer)),
        _ => DataType::Number(None),
    }
}

impl Translator<'_> {
    /// Translates a `where:` condition: a scalar boolean expression.
    pub fn translate_filter(&mut self, scope: &Scope, condition: &ast::Expr) -> Expr {
        let expr = self.translate_expr(scope, condition);
        if expr.is_error() {
            return expr;
        }
        if expr.eval == Eval::Aggregate {
            self.error(
                "aggregate-in-where",
                "Aggregate expressions are not allowed in `where:`; use `having:`",
                condition.span,
            );
            return Expr::error();
        }
        if expr.ty != DataType::Boolean && expr.ty != DataType::Null {
            self.error(
                "non-boolean-filter",
                "Filter expression must have boolean value",
                condition.span,
            );
            return Expr::error();
        }
        expr
    }

    /// Resolves a dotted path in `scope`, reporting an undefined name.
    pub fn resolve_path<'s>(
        &mut self,
        scope: &Scope<'s>,
        path: &ast::Path,
    ) -> Option<Resolved<'s>> {
        let mut source: &'s SourceDef = scope.source;
        let mut prefix: Vec<String> = Vec::new();
        if scope.outputs_first {
            if let (Some(outputs), Some(first)) = (scope.outputs, path.steps.first()) {
                let found = outputs.iter().find(|o| o.name == first.name);
                if let Some(OutputField {
                    value: OutputValue::Dimension(expr) | OutputValue::Aggregate(expr),
                    ..
                }) = found
                {
                    let is_measure = expr.eval == Eval::Aggregate;
                    return self.apply_value_steps(expr.clone(), Vec::new(), is_measure, path, 1);
                }
            }
        }
        for (index, step) in path.steps.iter().enumerate() {
            let is_last = index + 1 == path.steps.len();
            let field = source.field(&step.name).filter(|f| !f.hidden);
            let Some(field) = field else {
                if index == 0 && path.steps.len() == 1 {
                    if let Some(value) = self.parameter_value(&step.name) {
                        return Some(Resolved::Value {
                            expr: value,
                            prefix: Vec::new(),
                            is_measure: false,
                        });
                    }
                }
                if index == 0 {
                    if let Some(outputs) = scope.outputs {
                        let found = outputs.iter().find(|o| o.name == step.name);
                        if let Some(OutputField {
                            value: OutputValue::Dimension(expr) | OutputValue::Aggregate(expr),
                            ..
                        }) = found
                        {
                            let is_measure = expr.eval == Eval::Aggregate;
                            return self.apply_value_steps(
                                expr.clone(),
                                Vec::new(),
                                is_measure,
                                path,
                                1,
                            );
                        }
                    }
                }
                self.error(
                    "field-not-found",
                    format!("'{}' is not defined", step.name),
                    path.span,
                );
                return None;
            };
            match &field.kind {
                FieldKind::Join(join) => {
                    prefix.push(step.name.clone());
                    if is_last {
                        return Some(Resolved::Join { path: prefix, join });
                    }
                    source = &join.source;
                }
                FieldKind::Dimension(_) if !is_last && field.unnest.is_some() => {
                    // Steps after an array address its elements.
                    prefix.push(step.name.clone());
                    source = &field.unnest.as_ref().expect("checked above").source;
                }
                FieldKind::Dimension(expr) => {
                    let value = expr.rebase(&prefix);
                    return self.apply_value_steps(value, prefix, false, path, index + 1);
                }
                FieldKind::Measure(expr) => {
                    let value = expr.rebase(&prefix);
                    return self.apply_value_steps(value, prefix, true, path, index + 1);
                }
                FieldKind::View(_) => {
                    if is_last {
                        return Some(Resolved::View);
                    }
                    self.error(
                        "field-not-found",
                        format!("'{}' is not defined", path.steps[index + 1].name),
                        path.steps[index + 1].span,
                    );
                    return None;
                }
            }
        }
        None
    }

    /// Applies the path steps that follow a value: time truncations and
    /// record fields.
    fn apply_value_steps<'s>(
        &mut self,
        mut value: Expr,
        prefix: Vec<String>,
        is_measure: bool,
        path: &ast::Path,
        start: usize,
    ) -> Option<Resolved<'s>> {
        for (index, step) in path.steps.iter().enumerate().skip(start) {
            if value.ty.is_temporal() {
                if let Some(unit) =
                    Timeframe::parse(&step.name).filter(|_| !step.name.ends_with('s'))
                {
                    let ty = match (&value.ty, unit.is_date_unit()) {
                        (DataType::Date(_), true) => DataType::Date(Some(unit)),
                        _ => DataType::Timestamp(Some(unit)),
                    };
                    let eval = value.eval;
                    value = Expr::new(
                        ExprKind::TimeTruncate {
                            expr: Box::new(value),
                            unit,
                        },
                        ty,
                        eval,
                    );
                    continue;
                }
            }
            if let DataType::Record(fields) = &value.ty {
                if let Some((_, ty)) = fields.iter().find(|(name, _)| *name == step.name) {
                    let ty = ty.clone();
                    let eval = value.eval;
                    value = Expr::new(
                        ExprKind::RecordField {
                            record: Box::new(value),
                            name: step.name.clone(),
                        },
                        ty,
                        eval,
                    );
                    continue;
                }
            }
            let owner = &path.steps[index - 1].name;
            self.error(
                "invalid-property-access-in-field-reference",
                format!("'{owner}' cannot contain a '{}'", step.name),
                path.span,
            );
            return None;
        }
        Some(Resolved::Value {
            expr: value,
            prefix,
            is_measure,
        })
    }

    pub fn translate_expr(&mut self, scope: &Scope, expr: &ast::Expr) -> Expr {
        match &expr.kind {
            ast::ExprKind::Number(text) => {
                let subtype = if text.contains(['.', 'e', 'E']) {
                    NumberSubtype::Decimal
                } else {
                    NumberSubtype::Integer
                };
                Expr::literal(
                    Literal::Number(text.clone()),
                    DataType::Number(Some(subtype)),
                )
            }
            ast::ExprKind::String(text) => {
                Expr::literal(Literal::String(text.clone()), DataType::String)
            }
            ast::ExprKind::Regex(text) => {
                Expr::literal(Literal::Regex(text.clone()), DataType::Regex)
            }
            ast::ExprKind::Boolean(value) => Expr::boolean(*value),
            ast::ExprKind::Null => Expr::literal(Literal::Null, DataType::Null),
            ast::ExprKind::Time(text) => match parse_time_literal(text) {
                Some(expr) => expr,
                None => {
                    self.error(
                        "failed-to-parse-time-literal",
                        "Time data parse error",
                        expr.span,
                    );
                    Expr::error()
                }
            },
            ast::ExprKind::Filter(_) => {
                self.error(
                    "filter-expression-without-subject",
                    "A filter expression must be applied to a value with `~` or `?`",
                    expr.span,
                );
                Expr::error()
            }
            ast::ExprKind::Path(path) => match self.resolve_path(scope, path) {
                Some(Resolved::Value { expr, .. }) => expr,
                Some(Resolved::Join { .. }) | Some(Resolved::View) => {
                    let name = path.steps.last().map(|s| s.name.as_str()).unwrap_or("");
                    self.error(
                        "invalid-field-reference",
                        format!("'{name}' is not a value"),
                        path.span,
                    );
                    Expr::error()
                }
                None => Expr::error(),
            },
            ast::ExprKind::Negate(inner) => {
                let value = self.translate_expr(scope, inner);
                if !value.ty.is_number() {
                    self.error(
                        "unary-minus-type-mismatch",
                        format!(
                            "The '-' operator requires a number, not a '{}'",
                            value.ty.name()
                        ),
                        inner.span,
                    );
                    return Expr::error();
                }
                let (ty, eval) = (value.ty.clone(), value.eval);
                Expr::new(ExprKind::Negate(Box::new(value)), ty, eval)
            }
            ast::ExprKind::Not(inner) => {
                let value = self.translate_expr(scope, inner);
                let eval = value.eval;
                Expr::new(ExprKind::Not(Box::new(value)), DataType::Boolean, eval)
            }
            ast::ExprKind::Binary { op, left, right } => {
                self.translate_binary(scope, *op, left, right, expr.span)
            }
            ast::ExprKind::IsNull {
                expr: inner,
                negated,
            } => {
                let value = self.translate_expr(scope, inner);
                let eval = value.eval;
                Expr::new(
                    ExprKind::IsNull {
                        expr: Box::new(value),
                        negated: *negated,
                    },
                    DataType::Boolean,
                    eval,
                )
            }
            ast::ExprKind::In {
                expr: inner,
                list,
                negated,
            } => {
                let value = self.translate_expr(scope, inner);
                let items: Vec<Expr> = list.iter().map(|e| self.translate_expr(scope, e)).collect();
                let mut all: Vec<&Expr> = items.iter().collect();
                all.push(&value);
                let eval = eval_of(&all);
                Expr::new(
                    ExprKind::In {
                        expr: Box::new(value),
                        list: items,
                        negated: *negated,
                    },
                    DataType::Boolean,
                    eval,
                )
            }
            ast::ExprKind::Cast {
                expr: inner,
                type_name,
                safe,
            } => {
                let value = self.translate_expr(scope, inner);
                let (sql_type, ty) = match type_name {
                    ast::CastType::Malloy(name) => match name.name.as_str() {
                        "string" => ("VARCHAR".to_string(), DataType::String),
                        "number" => ("DOUBLE".to_string(), DataType::Number(None)),
                        "boolean" => ("BOOLEAN".to_string(), DataType::Boolean),
                        "date" => ("DATE".to_string(), DataType::Date(None)),
                        "timestamp" => ("TIMESTAMP".to_string(), DataType::Timestamp(None)),
                        other => {
                            self.error(
                                "invalid-cast-type",
                                format!("Cannot cast to '{other}'"),
                                name.span,
                            );
                            return Expr::error();
                        }
                    },
                    ast::CastType::Sql(text) => {
                        if !super::sql_type::is_valid_duckdb_type(&text.value) {
                            self.error(
                                "invalid-sql-native-type",
                                format!("Cast type `{}` is invalid for duckdb dialect", text.value),
                                expr.span,
                            );
                            return Expr::error();
                        }
                        (text.value.clone(), super::types::from_duckdb(&text.value))
                    }
                };
                let eval = value.eval;
                Expr::new(
                    ExprKind::Cast {
                        expr: Box::new(value),
                        sql_type,
                        safe: *safe,
                    },
                    ty,
                    eval,
                )
            }
            ast::ExprKind::Apply { subject, condition } => {
                let subject = self.translate_expr(scope, subject);
                self.translate_condition(scope, &subject, condition)
            }
            ast::ExprKind::Partial { .. } | ast::ExprKind::Alternation { .. } => {
                self.error(
                    "partial-as-value",
                    "Partial comparison is only allowed after '?'",
                    expr.span,
                );
                Expr::error()
            }
            ast::ExprKind::Range { .. } | ast::ExprKind::ForRange { .. } => {
                self.error(
                    "range-as-value",
                    "A range is only allowed after '?'",
                    expr.span,
                );
                Expr::error()
            }
            ast::ExprKind::Duration { amount, unit } => {
                let Some(unit_value) = Timeframe::parse(&unit.name) else {
                    self.error(
                        "invalid-timeframe",
                        format!("Unknown time unit '{}'", unit.name),
                        unit.span,
                    );
                    return Expr::error();
                };
                let mut value = self.translate_expr(scope, amount);
                value.ty = DataType::Duration(unit_value);
                value
            }
            ast::ExprKind::Pick {
                branches,
                otherwise,
            } => self.translate_pick(scope, None, branches, otherwise.as_deref(), expr.span),
            ast::ExprKind::Case {
                subject,
                branches,
                otherwise,
            } => {
                let subject = subject.as_ref().map(|s| self.translate_expr(scope, s));
                let mut translated = Vec::new();
                for (when, then) in branches {
                    let mut condition = self.translate_expr(scope, when);
                    if let Some(subject) = &subject {
                        condition = binary(
                            BinaryOp::Equal,
                            subject.clone(),
                            condition,
                            DataType::Boolean,
                        );
                    }
                    let value = self.translate_expr(scope, then);
                    translated.push((condition, value));
                }
                let otherwise = otherwise
                    .as_ref()
                    .map(|e| Box::new(self.translate_expr(scope, e)));
                case_expr(translated, otherwise)
            }
            ast::ExprKind::Call(call) => self.translate_call(scope, call),
            ast::ExprKind::MethodCall {
                receiver,
                method,
                arguments,
            } => self.translate_method_call(scope, receiver, method, arguments, expr.span),
            ast::ExprKind::Refine { expr: inner, body } => {
                if let Some((code, message, span)) = unsupported_order_by(inner, body) {
                    self.error(code, message, span);
                    return Expr::error();
                }
                let value = self.translate_expr(scope, inner);
                if value.is_error() {
                    return value;
                }
                match value.eval {
                    Eval::Aggregate => self.filter_aggregate(scope, value, body),
                    Eval::Analytic => self.refine_window(scope, value, body),
                    Eval::Scalar => {
                        self.error(
                            "filter-of-non-aggregate",
                            "Filtered expression requires an aggregate computation",
                            inner.span,
                        );
                        Expr::error()
                    }
                }
            }
            ast::ExprKind::Truncate { expr: inner, unit } => {
                let value = self.translate_expr(scope, inner);
                if value.is_error() {
                    return value;
                }
                let path = ast::Path {
                    steps: vec![
                        ast::Ident {
                            name: "expression".to_string(),
                            span: inner.span,
                        },
                        unit.clone(),
                    ],
                    span: expr.span,
                };
                match self.apply_value_steps(value, Vec::new(), false, &path, 1) {
                    Some(Resolved::Value { expr, .. }) => expr,
                    _ => Expr::error(),
                }
            }
            ast::ExprKind::Parens(inner) => self.translate_expr(scope, inner),
            ast::ExprKind::Array(items) => {
                let values: Vec<Expr> = items
                    .iter()
                    .map(|e| self.translate_expr(scope, e))
                    .collect();
                let element = values
                    .first()
                    .map(|v| v.ty.clone())
                    .unwrap_or(DataType::Null);
                let eval = eval_of(&values.iter().collect::<Vec<_>>());
                Expr::new(
                    ExprKind::ArrayLiteral(values),
                    DataType::Array(Box::new(element)),
                    eval,
                )
            }
            ast::ExprKind::Record(items) => {
                let mut values = Vec::new();
                for item in items {
                    let value = self.translate_expr(scope, &item.value);
                    let name = match (&item.name, &item.value.kind) {
                        (Some(name), _) => name.name.clone(),
                        (None, ast::ExprKind::Path(path)) => path
                            .steps
                            .last()
                            .map(|s| s.name.clone())
                            .unwrap_or_default(),
                        _ => {
                            self.error(
                                "record-field-needs-name",
                                "A record field needs a name",
                                item.span,
                            );
                            continue;
                        }
                    };
                    values.push((name, value));
                }
                let ty = DataType::Record(
                    values
                        .iter()
                        .map(|(n, v)| (n.clone(), v.ty.clone()))
                        .collect(),
                );
                let eval = eval_of(&values.iter().map(|(_, v)| v).collect::<Vec<_>>());
                Expr::new(ExprKind::RecordLiteral(values), ty, eval)
            }
            ast::ExprKind::Error => Expr::error(),
        }
    }

    /// Applies `{ where: ... }` to every aggregate of `value`.
    fn filter_aggregate(&mut self, scope: &Scope, mut value: Expr, body: &ast::QueryBody) -> Expr {
        for statement in &body.statements {
            let ast::QueryStatementKind::Where(conditions) = &statement.kind else {
                self.error(
                    "unsupported-refinement",
                    "Only `where:` can refine an aggregate",
                    statement.span,
                );
                continue;
            };
            for condition in conditions {
                let filter = self.translate_filter(scope, condition);
                if !filter.is_error() {
                    value.add_aggregate_filter(&filter);
                }
            }
        }
        value
    }

    /// Applies `{ partition_by: ... order_by: ... }` to a window function.
    fn refine_window(&mut self, scope: &Scope, mut value: Expr, body: &ast::QueryBody) -> Expr {
        let ExprKind::Window(window) = &mut value.kind else {
            self.error(
                "unsupported-refinement",
                "Only a window function can take `partition_by:` or `order_by:`",
                body.span,
            );
            return Expr::error();
        };
        for statement in &body.statements {
            match &statement.kind {
                ast::QueryStatementKind::PartitionBy(paths) => {
                    for path in paths {
                        match self.resolve_path(scope, path) {
                            Some(Resolved::Value { expr, .. }) => window.partition_by.push(expr),
                            Some(_) => self.error(
                                "invalid-partition-by",
                                "`partition_by:` needs output fields",
                                path.span,
                            ),
                            None => {}
                        }
                    }
                }
                ast::QueryStatementKind::OrderBy(items) => {
                    let mut order = Vec::new();
                    for item in items {
                        let ast::OrderKey::Name(path) = &item.field else {
                            self.error(
                                "invalid-window-order",
                                "A window's `order_by:` needs field names",
                                item.span,
                            );
                            continue;
                        };
                        if let Some(Resolved::Value { expr, .. }) = self.resolve_path(scope, path) {
                            let descending =
                                matches!(item.direction, Some(ast::OrderDirection::Desc));
                            order.push((expr, descending));
                        }
                    }
                    window.order_by = Some(order);
                }
                _ => self.error(
                    "unsupported-refinement",
                    "A window function takes only `partition_by:` and `order_by:`",
                    statement.span,
                ),
            }
        }
        value
    }

    fn translate_binary(
        &mut self,
        scope: &Scope,
        op: ast::BinaryOp,
        left_ast: &ast::Expr,
        right_ast: &ast::Expr,
        span: Span,
    ) -> Expr {
        use ast::BinaryOp as A;
        if matches!(op, A::Match | A::NotMatch)
            && matches!(right_ast.kind, ast::ExprKind::Filter(_))
        {
            // NOTE: the reference applies `!~ f'...'` like `~ f'...'`, so
            // this does too, to return the same rows.
            let left = self.translate_expr(scope, left_ast);
            if left.is_error() {
                return left;
            }
            return self.apply_filter_string(&left, right_ast);
        }
        let left = self.translate_expr(scope, left_ast);
        let right = self.translate_expr(scope, right_ast);
        if left.is_error() || right.is_error() {
            return Expr::error();
        }
        match op {
            A::Add | A::Subtract | A::Multiply | A::Divide | A::Modulo => {
                if left.ty.is_temporal() && matches!(op, A::Add | A::Subtract) {
                    if let DataType::Duration(unit) = right.ty {
                        if matches!(left.ty, DataType::Date(_)) && !unit.is_date_unit() {
                            self.error(
                                "invalid-timeframe-for-time-offset",
                                format!("Cannot offset date by {}", unit.name()),
                                right_ast.span,
                            );
                            return Expr::error();
                        }
                        let ty = left.ty.without_timeframe();
                        let eval = eval_of(&[&left, &right]);
                        let mut amount = right;
                        amount.ty = DataType::Number(None);
                        return Expr::new(
                            ExprKind::TimeOffset {
                                expr: Box::new(left),
                                amount: Box::new(amount),
                                unit,
                                subtract: op == A::Subtract,
                            },
                            ty,
                            eval,
                        );
                    }
                }
                if left.ty.is_temporal() && matches!(op, A::Add | A::Subtract) {
                    self.error(
                        "time-offset-type-mismatch",
                        format!("Can not offset time by '{}'", right.ty.name()),
                        span,
                    );
                    return Expr::error();
                }
                let symbol = match op {
                    A::Add => "+",
                    A::Subtract => "-",
                    A::Multiply => "*",
                    A::Divide => "/",
                    _ => "%",
                };
                for (side, side_ast) in [(&left, left_ast), (&right, right_ast)] {
                    if !side.ty.is_number() {
                        self.error(
                            "arithmetic-operation-type-mismatch",
                            format!(
                                "The '{symbol}' operator requires a number, not a '{}'",
                                side.ty.name()
                            ),
                            side_ast.span,
                        );
                        return Expr::error();
                    }
                }
                let (ir_op, ty) = match op {
                    A::Add => (BinaryOp::Add, arithmetic_type(&left.ty, &right.ty)),
                    A::Subtract => (BinaryOp::Subtract, arithmetic_type(&left.ty, &right.ty)),
                    A::Multiply => (BinaryOp::Multiply, arithmetic_type(&left.ty, &right.ty)),
                    A::Divide => (
                        BinaryOp::Divide,
                        DataType::Number(Some(NumberSubtype::Decimal)),
                    ),
                    // The reference types `%` as decimal, like `/`.
                    _ => (
                        BinaryOp::Modulo,
                        DataType::Number(Some(NumberSubtype::Decimal)),
                    ),
                };
                binary(ir_op, left, right, ty)
            }
            A::Equal | A::NotEqual | A::Less | A::LessOrEqual | A::Greater | A::GreaterOrEqual => {
                self.comparison(op, left, right, span)
            }
            A::Match | A::NotMatch => {
                let negated = op == A::NotMatch;
                let ir_op = match (&right.ty, negated) {
                    (DataType::Regex, false) => BinaryOp::RegexMatch,
                    (DataType::Regex, true) => BinaryOp::NotRegexMatch,
                    (_, false) => BinaryOp::Like,
                    (_, true) => BinaryOp::NotLike,
                };
                binary(ir_op, left, right, DataType::Boolean)
            }
            A::And | A::Or => {
                for (side, side_ast) in [(&left, left_ast), (&right, right_ast)] {
                    if side.ty != DataType::Boolean && side.ty != DataType::Null {
                        self.error(
                            "expression-type-error",
                            format!("'logical operator' Can't use type {}", side.ty.name()),
                            side_ast.span,
                        );
                        return Expr::error();
                    }
                }
                let ir_op = if op == A::And {
                    BinaryOp::And
                } else {
                    BinaryOp::Or
                };
                binary(ir_op, left, right, DataType::Boolean)
            }
            A::Coalesce => {
                let ty = match (&left.ty, &right.ty) {
                    (DataType::Null, other) => other.clone(),
                    (DataType::Number(a), DataType::Number(b)) if a != b => DataType::Number(None),
                    (other, _) => other.clone(),
                };
                binary(BinaryOp::Coalesce, left, right, ty)
            }
        }
    }

    /// `left op right` for a comparison operator; a time literal with a
    /// granularity compared for equality matches its whole period.
    fn comparison(&mut self, op: ast::BinaryOp, left: Expr, right: Expr, span: Span) -> Expr {
        use ast::BinaryOp as A;
        if (left.ty == DataType::Null || right.ty == DataType::Null)
            && matches!(op, A::Equal | A::NotEqual)
        {
            // `x = null` and `x != null` test for NULL.
            let subject = if left.ty == DataType::Null {
                right
            } else {
                left
            };
            {
                let eval = subject.eval;
                return Expr::new(
                    ExprKind::IsNull {
                        expr: Box::new(subject),
                        negated: op == A::NotEqual,
                    },
                    DataType::Boolean,
                    eval,
                );
            }
        }
        // DuckDB converts between strings and other types, so only a time
        // against a number or boolean is rejected here.
        let temporal_mismatch = (left.ty.is_temporal()
            && matches!(right.ty, DataType::Number(_) | DataType::Boolean))
            || (right.ty.is_temporal()
                && matches!(left.ty, DataType::Number(_) | DataType::Boolean));
        if temporal_mismatch {
            let (code, a, b) = if left.ty.is_temporal() || right.ty.is_temporal() {
                (
                    "time-comparison-type-mismatch",
                    left.ty.name(),
                    right.ty.name(),
                )
            } else {
                ("comparison-type-mismatch", left.ty.name(), right.ty.name())
            };
            let article = |name: &str| {
                if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                }
            };
            self.error(
                code,
                format!("Cannot compare {} {a} to {} {b}", article(&a), article(&b)),
                span,
            );
            return Expr::error();
        }
        let right = time_literal::aligned_with(&left, right);
        if let Some(unit) = literal_granularity(&right) {
            if left.ty.is_temporal() && matches!(op, A::Equal | A::NotEqual) {
                let inside = period_test(&left, &right, unit);
                return if op == A::Equal {
                    inside
                } else {
                    let eval = inside.eval;
                    Expr::new(ExprKind::Not(Box::new(inside)), DataType::Boolean, eval)
                };
            }
            if left.ty.is_temporal() && matches!(op, A::Greater | A::LessOrEqual) {
                // After the period means at or after its end.
                let end = period_end(&right, unit);
                let ir_op = if op == A::Greater {
                    BinaryOp::GreaterOrEqual
                } else {
                    BinaryOp::Less
                };
                return binary(ir_op, left, end, DataType::Boolean);
            }
        }
        let ir_op = match op {
            A::Equal => BinaryOp::Equal,
            A::NotEqual => BinaryOp::NotEqual,
            A::Less => BinaryOp::Less,
            A::LessOrEqual => BinaryOp::LessOrEqual,
            A::Greater => BinaryOp::Greater,
            _ => BinaryOp::GreaterOrEqual,
        };
        binary(ir_op, left, right, DataType::Boolean)
    }

    fn apply_filter_string(&mut self, subject: &Expr, filter: &ast::Expr) -> Expr {
        let ast::ExprKind::Filter(text) = &filter.kind else {
            return Expr::error();
        };
        match super::filter::translate(subject, text) {
            Ok(expr) => expr,
            Err(message) => {
                self.error("filter-expression-error", message, filter.span);
                Expr::error()
            }
        }
    }

    /// Applies a condition to a subject, as in `subject ? condition`.
    pub fn translate_condition(
        &mut self,
        scope: &Scope,
        subject: &Expr,
        condition: &ast::Expr,
    ) -> Expr {
        match &condition.kind {
            ast::ExprKind::Partial { op, right } => {
                let right_value = self.translate_expr(scope, right);
                if subject.is_error() || right_value.is_error() {
                    return Expr::error();
                }
                match op {
                    ast::BinaryOp::Match | ast::BinaryOp::NotMatch => {
                        let negated = *op == ast::BinaryOp::NotMatch;
                        let ir_op = match (&right_value.ty, negated) {
                            (DataType::Regex, false) => BinaryOp::RegexMatch,
                            (DataType::Regex, true) => BinaryOp::NotRegexMatch,
                            (_, false) => BinaryOp::Like,
                            (_, true) => BinaryOp::NotLike,
                        };
                        binary(ir_op, subject.clone(), right_value, DataType::Boolean)
                    }
                    _ => self.comparison(*op, subject.clone(), right_value, condition.span),
                }
            }
            ast::ExprKind::Alternation { op, left, right } => {
                let left = self.translate_condition(scope, subject, left);
                let right = self.translate_condition(scope, subject, right);
                let ir_op = match op {
                    ast::AlternationOp::Any => BinaryOp::Or,
                    ast::AlternationOp::All => BinaryOp::And,
                };
                binary(ir_op, left, right, DataType::Boolean)
            }
            ast::ExprKind::Parens(inner) => self.translate_condition(scope, subject, inner),
            ast::ExprKind::Filter(_) => {
                if subject.is_error() {
                    return Expr::error();
                }
                self.apply_filter_string(subject, condition)
            }
            ast::ExprKind::Range { from, to } => {
                let from = time_literal::aligned_with(subject, self.translate_expr(scope, from));
                let to = time_literal::aligned_with(subject, self.translate_expr(scope, to));
                let lower = binary(
                    BinaryOp::GreaterOrEqual,
                    subject.clone(),
                    from,
                    DataType::Boolean,
                );
                let upper = binary(BinaryOp::Less, subject.clone(), to, DataType::Boolean);
                binary(BinaryOp::And, lower, upper, DataType::Boolean)
            }
            ast::ExprKind::ForRange {
                start,
                length,
                unit,
            } => {
                let start = time_literal::aligned_with(subject, self.translate_expr(scope, start));
                let amount = self.translate_expr(scope, length);
                let Some(unit_value) = Timeframe::parse(&unit.name) else {
                    self.error(
                        "invalid-timeframe",
                        format!("Unknown time unit '{}'", unit.name),
                        unit.span,
                    );
                    return Expr::error();
                };
                let end = Expr::new(
                    ExprKind::TimeOffset {
                        expr: Box::new(start.clone()),
                        amount: Box::new(amount),
                        unit: unit_value,
                        subtract: false,
                    },
                    start.ty.without_timeframe(),
                    Eval::Scalar,
                );
                let lower = binary(
                    BinaryOp::GreaterOrEqual,
                    subject.clone(),
                    start,
                    DataType::Boolean,
                );
                let upper = binary(BinaryOp::Less, subject.clone(), end, DataType::Boolean);
                binary(BinaryOp::And, lower, upper, DataType::Boolean)
            }
            ast::ExprKind::Pick {
                branches,
                otherwise,
            } => self.translate_pick(
                scope,
                Some(subject),
                branches,
                otherwise.as_deref(),
                condition.span,
            ),
            _ => {
                let value = self.translate_expr(scope, condition);
                if value.is_error() || subject.is_error() {
                    return Expr::error();
                }
                match &value.ty {
                    DataType::Null => Expr::new(
                        ExprKind::IsNull {
                            expr: Box::new(subject.clone()),
                            negated: false,
                        },
                        DataType::Boolean,
                        subject.eval,
                    ),
                    DataType::Regex => binary(
                        BinaryOp::RegexMatch,
                        subject.clone(),
                        value,
                        DataType::Boolean,
                    ),
                    DataType::Boolean if subject.ty != DataType::Boolean => value,
                    DataType::Timestamp(Some(_)) | DataType::Date(Some(_))
                        if subject.ty.is_temporal() =>
                    {
                        let unit = match &value.ty {
                            DataType::Timestamp(Some(u)) | DataType::Date(Some(u)) => *u,
                            _ => Timeframe::Day,
                        };
                        if matches!(value.kind, ExprKind::Literal(_)) {
                            period_test(subject, &value, unit)
                        } else {
                            // A truncated expression: the subject falls in the
                            // same period.
                            let end = Expr::new(
                                ExprKind::TimeOffset {
                                    expr: Box::new(value.clone()),
                                    amount: Box::new(Expr::literal(
                                        Literal::Number("1".into()),
                                        DataType::number(),
                                    )),
                                    unit,
                                    subtract: false,
                                },
                                value.ty.without_timeframe(),
                                value.eval,
                            );
                            let lower = binary(
                                BinaryOp::GreaterOrEqual,
                                subject.clone(),
                                value,
                                DataType::Boolean,
                            );
                            let upper =
                                binary(BinaryOp::Less, subject.clone(), end, DataType::Boolean);
                            binary(BinaryOp::And, lower, upper, DataType::Boolean)
                        }
                    }
                    _ => self.comparison(
                        ast::BinaryOp::Equal,
                        subject.clone(),
                        value,
                        condition.span,
                    ),
                }
            }
        }
    }

    fn translate_pick(
        &mut self,
        scope: &Scope,
        subject: Option<&Expr>,
        branches: &[ast::PickBranch],
        otherwise: Option<&ast::Expr>,
        span: Span,
    ) -> Expr {
        // Only `value ? pick ...` may leave out `else:` (the value is then
        // the default), as in the reference.
        if subject.is_none() && otherwise.is_none() {
            self.error("pick-missing-else", "pick incomplete, missing 'else'", span);
            return Expr::error();
        }
        let mut translated = Vec::new();
        let mut result_type: Option<DataType> = None;
        for branch in branches {
            let condition = match subject {
                Some(subject) => self.translate_condition(scope, subject, &branch.when),
                None => self.translate_expr(scope, &branch.when),
            };
            let value = self.translate_expr(scope, &branch.value);
            if result_type.is_none() && value.ty != DataType::Null {
                result_type = Some(value.ty.without_timeframe());
            }
            translated.push((condition, value));
        }
        let otherwise = match otherwise {
            Some(else_ast) => {
                let value = self.translate_expr(scope, else_ast);
                if let Some(expected) = &result_type {
                    if !value.ty.compatible(expected) {
                        // With a subject the reference points at the pick,
                        // without one at the else value.
                        let else_span = if subject.is_some() {
                            span
                        } else {
                            else_ast.span
                        };
                        self.error(
                            "pick-else-type-does-not-match",
                            format!(
                                "else type `{}` does not match return type `{}`",
                                value.ty.name(),
                                expected.name()
                            ),
                            else_span,
                        );
                        return Expr::error();
                    }
                }
                Some(Box::new(value))
            }
            // Without `else`, a pick with a subject returns the subject.
            None => {
                if let (Some(subject), Some(expected)) = (subject, &result_type) {
                    if !subject.ty.compatible(expected) {
                        self.error(
                            "pick-default-type-does-not-match",
                            format!(
                                "default type `{}` does not match return type `{}`",
                                subject.ty.name(),
                                expected.name()
                            ),
                            span,
                        );
                        return Expr::error();
                    }
                }
                subject.map(|s| Box::new(s.clone()))
            }
        };
        let mut expr = case_expr(translated, otherwise);
        if let Some(ty) = result_type {
            expr.ty = ty;
        }
        expr
    }
}

pub(super) fn case_expr(branches: Vec<(Expr, Expr)>, otherwise: Option<Box<Expr>>) -> Expr {
    let ty = branches
        .iter()
        .map(|(_, v)| &v.ty)
        .chain(otherwise.iter().map(|o| &o.ty))
        .find(|t| **t != DataType::Null)
        .cloned()
        .unwrap_or(DataType::Null);
    let mut all: Vec<&Expr> = Vec::new();
    for (c, v) in &branches {
        all.push(c);
        all.push(v);
    }
    if let Some(o) = &otherwise {
        all.push(o);
    }
    let eval = eval_of(&all);
    Expr::new(
        ExprKind::Case {
            branches,
            otherwise,
        },
        ty,
        eval,
    )
}

/// Returns the error code, message and span for an `order_by:` in the
/// refinement of an aggregate, as the reference reports it: a plain
/// aggregate, `sum(x) { order_by: y }`, has no order, and the order of
/// `string_agg()` needs the `aggregate_order_by` experiment, which models
/// cannot enable here.
fn unsupported_order_by(
    inner: &ast::Expr,
    body: &ast::QueryBody,
) -> Option<(&'static str, &'static str, Span)> {
    let ast::ExprKind::Call(call) = &inner.kind else {
        return None;
    };
    let name = call.name.name.to_ascii_lowercase();
    let (code, message) = match name.as_str() {
        _ if call.raw.is_some() => return None,
        "sum" | "avg" | "min" | "max" | "count" => (
            "order-by-of-non-aggregate-function",
            "`order_by` is not supported for this kind of expression",
        ),
        "string_agg" | "string_agg_distinct" => (
            "aggregate-order-by-experiment-not-enabled",
            "Enable experiment `aggregate_order_by` to use `order_by` with an aggregate function",
        ),
        _ => return None,
    };
    let span = body
        .statements
        .iter()
        .find_map(|statement| match &statement.kind {
            ast::QueryStatementKind::OrderBy(items) => items.first().map(|item| item.span),
            _ => None,
        })?;
    Some((code, message, span))
}

/// Returns the granularity of a time literal, if `expr` is one.
fn literal_granularity(expr: &Expr) -> Option<Timeframe> {
    match (&expr.kind, &expr.ty) {
        (ExprKind::Literal(_), DataType::Date(Some(unit)))
        | (ExprKind::Literal(_), DataType::Timestamp(Some(unit))) => Some(*unit),
        _ => None,
    }
}

fn period_end(start: &Expr, unit: Timeframe) -> Expr {
    if let Some(next) = time_literal::next_period_literal(start, unit) {
        return next;
    }
    Expr::new(
        ExprKind::TimeOffset {
            expr: Box::new(start.clone()),
            amount: Box::new(Expr::literal(
                Literal::Number("1".into()),
                DataType::number(),
            )),
            unit,
            subtract: false,
        },
        start.ty.without_timeframe(),
        Eval::Scalar,
    )
}

/// `subject` within the period that starts at `start` and lasts one `unit`.
fn period_test(subject: &Expr, start: &Expr, unit: Timeframe) -> Expr {
    let start = &time_literal::aligned_with(subject, start.clone());
    let end = period_end(start, unit);
    let lower = binary(
        BinaryOp::GreaterOrEqual,
        subject.clone(),
        start.clone(),
        DataType::Boolean,
    );
    let upper = binary(BinaryOp::Less, subject.clone(), end, DataType::Boolean);
    binary(BinaryOp::And, lower, upper, DataType::Boolean)
}

/// Parses the text of a time literal after `@`: `2003`, `2003-Q2`,
/// `2003-04`, `2003-04-05`, `2003-06-01-WK`, `2003-04-05 10:30[:00]`.
pub fn parse_time_literal(text: &str) -> Option<Expr> {
    let text = text.trim();
    if !text.is_ascii() {
        return None;
    }
    let timestamp = |value: String, unit: Timeframe| {
        Some(Expr::literal(
            Literal::Timestamp(value),
            DataType::Timestamp(Some(unit)),
        ))
    };
    let date = |value: String, unit: Timeframe| {
        Some(Expr::literal(
            Literal::Date(value),
            DataType::Date(Some(unit)),
        ))
    };
    if let Some((local, zone)) = text.strip_suffix(']').and_then(|t| t.split_once('[')) {
        // TODO: the reference types a zoned literal as `timestamptz`, which
        // this compiler does not model yet, so it is a UTC `timestamp` here.
        let zoneless = parse_time_literal(local)?;
        let ExprKind::Literal(Literal::Timestamp(value)) = zoneless.kind else {
            return None;
        };
        let is_zone = !zone.is_empty()
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'+' | b'-'));
        if !is_zone {
            return None;
        }
        let literal = Literal::ZonedTimestamp {
            value,
            zone: zone.to_string(),
        };
        return Some(Expr::literal(literal, zoneless.ty));
    }
    if let Some((day, time)) = text.split_once([' ', 'T']) {
        let (year, month, day_of_month) = parse_day(day)?;
        let parts: Vec<u32> = time
            .split(':')
            .map(|part| number_in(part, 0, 59))
            .collect::<Option<_>>()?;
        if parts.is_empty() || parts.len() > 3 || parts[0] > 23 {
            return None;
        }
        let day = format!("{year:04}-{month:02}-{day_of_month:02}");
        return match parts.as_slice() {
            [hour] => timestamp(format!("{day} {hour:02}:00:00"), Timeframe::Hour),
            [hour, minute] => {
                timestamp(format!("{day} {hour:02}:{minute:02}:00"), Timeframe::Minute)
            }
            [hour, minute, second] => timestamp(
                format!("{day} {hour:02}:{minute:02}:{second:02}"),
                Timeframe::Second,
            ),
            _ => None,
        };
    }
    if let Some(day) = text.strip_suffix("-WK") {
        let (year, month, day_of_month) = parse_day(day)?;
        return date(
            format!("{year:04}-{month:02}-{day_of_month:02}"),
            Timeframe::Week,
        );
    }
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [year] if year.len() == 4 => date(
            format!("{year}-01-01"),
            number_in(year, 0, 9999).map(|_| Timeframe::Year)?,
        ),
        [year, quarter] if year.len() == 4 && quarter.starts_with('Q') => {
            let q = number_in(&quarter[1..], 1, 4)?;
            let year = number_in(year, 0, 9999)?;
            date(
                format!("{year:04}-{:02}-01", (q - 1) * 3 + 1),
                Timeframe::Quarter,
            )
        }
        [year, month] if year.len() == 4 && month.len() == 2 => {
            let year = number_in(year, 0, 9999)?;
            let month = number_in(month, 1, 12)?;
            date(format!("{year:04}-{month:02}-01"), Timeframe::Month)
        }
        _ => {
            let (year, month, day_of_month) = parse_day(text)?;
            date(
                format!("{year:04}-{month:02}-{day_of_month:02}"),
                Timeframe::Day,
            )
        }
    }
}

/// Parses digits into a number within `low..=high`.
fn number_in(text: &str, low: u32, high: u32) -> Option<u32> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let value: u32 = text.parse().ok()?;
    (low..=high).contains(&value).then_some(value)
}

/// Parses `YYYY-MM-DD` with the month and day in range.
fn parse_day(text: &str) -> Option<(u32, u32, u32)> {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return None;
    };
    if year.len() != 4 {
        return None;
    }
    Some((
        number_in(year, 0, 9999)?,
        number_in(month, 1, 12)?,
        number_in(day, 1, 31)?,
    ))
}
