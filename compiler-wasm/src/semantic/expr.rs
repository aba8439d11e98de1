//! Expression translation: names resolved against a source, types checked,
//! and dimensions and measures replaced by their definitions.

use super::functions;
use super::ir::{Aggregate, AggregateFunction, BinaryOp, Eval, Expr, ExprKind, Literal, UngroupKind};
use super::model::{FieldKind, JoinDef, JoinKind, OutputField, OutputValue, SourceDef};
use super::types::{DataType, NumberSubtype, Timeframe};
use super::Translator;
use crate::diagnostics::Span;
use crate::syntax::ast;

/// What names in an expression refer to.
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
    Value { expr: Expr, prefix: Vec<String>, is_measure: bool },
    Join { path: Vec<String>, join: &'a JoinDef },
    View,
}

fn eval_of(exprs: &[&Expr]) -> Eval {
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

/// The subtype of `a op b` for `+`, `-`, `*` and `%`.
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
    pub fn resolve_path<'s>(&mut self, scope: &Scope<'s>, path: &ast::Path) -> Option<Resolved<'s>> {
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
                    return self.apply_value_steps(expr.clone(), Vec::new(), is_measure, &path.steps[1..]);
                }
            }
        }
        for (index, step) in path.steps.iter().enumerate() {
            let is_last = index + 1 == path.steps.len();
            let field = source.field(&step.name).filter(|f| !f.hidden);
            let Some(field) = field else {
                if index == 0 {
                    if let Some(outputs) = scope.outputs {
                        let found = outputs.iter().find(|o| o.name == step.name);
                        if let Some(OutputField {
                            value: OutputValue::Dimension(expr) | OutputValue::Aggregate(expr),
                            ..
                        }) = found
                        {
                            let is_measure = expr.eval == Eval::Aggregate;
                            return self.apply_value_steps(expr.clone(), Vec::new(), is_measure, &path.steps[1..]);
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
                    return self.apply_value_steps(value, prefix, false, &path.steps[index + 1..]);
                }
                FieldKind::Measure(expr) => {
                    let value = expr.rebase(&prefix);
                    return self.apply_value_steps(value, prefix, true, &path.steps[index + 1..]);
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
        steps: &[ast::Ident],
    ) -> Option<Resolved<'s>> {
        for step in steps {
            if value.ty.is_temporal() {
                if let Some(unit) = Timeframe::parse(&step.name).filter(|_| !step.name.ends_with('s')) {
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
            self.error(
                "field-not-found",
                format!("'{}' is not defined", step.name),
                step.span,
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
                Expr::literal(Literal::Number(text.clone()), DataType::Number(Some(subtype)))
            }
            ast::ExprKind::String(text) => Expr::literal(Literal::String(text.clone()), DataType::String),
            ast::ExprKind::Regex(text) => Expr::literal(Literal::Regex(text.clone()), DataType::Regex),
            ast::ExprKind::Boolean(value) => Expr::boolean(*value),
            ast::ExprKind::Null => Expr::literal(Literal::Null, DataType::Null),
            ast::ExprKind::Time(text) => match parse_time_literal(text) {
                Some(expr) => expr,
                None => {
                    self.error("invalid-time-literal", format!("Invalid time literal '@{text}'"), expr.span);
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
                        format!("The '-' operator requires a number, not a '{}'", value.ty.name()),
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
            ast::ExprKind::Binary { op, left, right } => self.translate_binary(scope, *op, left, right, expr.span),
            ast::ExprKind::IsNull { expr: inner, negated } => {
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
            ast::ExprKind::In { expr: inner, list, negated } => {
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
            ast::ExprKind::Cast { expr: inner, type_name, safe } => {
                let value = self.translate_expr(scope, inner);
                let (sql_type, ty) = match type_name {
                    ast::CastType::Malloy(name) => match name.name.as_str() {
                        "string" => ("VARCHAR".to_string(), DataType::String),
                        "number" => ("DOUBLE".to_string(), DataType::Number(None)),
                        "boolean" => ("BOOLEAN".to_string(), DataType::Boolean),
                        "date" => ("DATE".to_string(), DataType::Date(None)),
                        "timestamp" => ("TIMESTAMP".to_string(), DataType::Timestamp(None)),
                        other => {
                            self.error("invalid-cast-type", format!("Cannot cast to '{other}'"), name.span);
                            return Expr::error();
                        }
                    },
                    ast::CastType::Sql(text) => (text.value.clone(), super::types::from_duckdb(&text.value)),
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
                self.error("range-as-value", "A range is only allowed after '?'", expr.span);
                Expr::error()
            }
            ast::ExprKind::Duration { amount, unit } => {
                let Some(unit_value) = Timeframe::parse(&unit.name) else {
                    self.error("invalid-timeframe", format!("Unknown time unit '{}'", unit.name), unit.span);
                    return Expr::error();
                };
                let mut value = self.translate_expr(scope, amount);
                value.ty = DataType::Duration(unit_value);
                value
            }
            ast::ExprKind::Pick { branches, otherwise } => self.translate_pick(scope, None, branches, otherwise.as_deref()),
            ast::ExprKind::Case { subject, branches, otherwise } => {
                let subject = subject.as_ref().map(|s| self.translate_expr(scope, s));
                let mut translated = Vec::new();
                for (when, then) in branches {
                    let mut condition = self.translate_expr(scope, when);
                    if let Some(subject) = &subject {
                        condition = binary(BinaryOp::Equal, subject.clone(), condition, DataType::Boolean);
                    }
                    let value = self.translate_expr(scope, then);
                    translated.push((condition, value));
                }
                let otherwise = otherwise.as_ref().map(|e| Box::new(self.translate_expr(scope, e)));
                case_expr(translated, otherwise)
            }
            ast::ExprKind::Call(call) => self.translate_call(scope, call),
            ast::ExprKind::MethodCall { receiver, method, arguments } => {
                self.translate_method_call(scope, receiver, method, arguments, expr.span)
            }
            ast::ExprKind::Refine { expr: inner, body } => {
                let mut value = self.translate_expr(scope, inner);
                if value.is_error() {
                    return value;
                }
                if value.eval != Eval::Aggregate {
                    self.error(
                        "filter-of-non-aggregate",
                        "Filtered expression requires an aggregate computation",
                        inner.span,
                    );
                    return Expr::error();
                }
                for statement in &body.statements {
                    match &statement.kind {
                        ast::QueryStatementKind::Where(conditions) => {
                            for condition in conditions {
                                let filter = self.translate_filter(scope, condition);
                                if !filter.is_error() {
                                    value.add_aggregate_filter(&filter);
                                }
                            }
                        }
                        _ => {
                            // TODO: `partition_by:` and other refinements of
                            // calculations are not translated yet.
                            self.error(
                                "unsupported-refinement",
                                "Only `where:` can refine an aggregate here",
                                statement.span,
                            );
                        }
                    }
                }
                value
            }
            ast::ExprKind::Truncate { expr: inner, unit } => {
                let value = self.translate_expr(scope, inner);
                if value.is_error() {
                    return value;
                }
                match self.apply_value_steps(value, Vec::new(), false, std::slice::from_ref(unit)) {
                    Some(Resolved::Value { expr, .. }) => expr,
                    _ => Expr::error(),
                }
            }
            ast::ExprKind::Parens(inner) => self.translate_expr(scope, inner),
            ast::ExprKind::Array(items) => {
                let values: Vec<Expr> = items.iter().map(|e| self.translate_expr(scope, e)).collect();
                let element = values.first().map(|v| v.ty.clone()).unwrap_or(DataType::Null);
                let eval = eval_of(&values.iter().collect::<Vec<_>>());
                Expr::new(ExprKind::ArrayLiteral(values), DataType::Array(Box::new(element)), eval)
            }
            ast::ExprKind::Record(items) => {
                let mut values = Vec::new();
                for item in items {
                    let value = self.translate_expr(scope, &item.value);
                    let name = match (&item.name, &item.value.kind) {
                        (Some(name), _) => name.name.clone(),
                        (None, ast::ExprKind::Path(path)) => {
                            path.steps.last().map(|s| s.name.clone()).unwrap_or_default()
                        }
                        _ => {
                            self.error("record-field-needs-name", "A record field needs a name", item.span);
                            continue;
                        }
                    };
                    values.push((name, value));
                }
                let ty = DataType::Record(values.iter().map(|(n, v)| (n.clone(), v.ty.clone())).collect());
                let eval = eval_of(&values.iter().map(|(_, v)| v).collect::<Vec<_>>());
                Expr::new(ExprKind::RecordLiteral(values), ty, eval)
            }
            ast::ExprKind::Error => Expr::error(),
        }
    }

    fn translate_binary(&mut self, scope: &Scope, op: ast::BinaryOp, left_ast: &ast::Expr, right_ast: &ast::Expr, span: Span) -> Expr {
        use ast::BinaryOp as A;
        if matches!(op, A::Match | A::NotMatch) && matches!(right_ast.kind, ast::ExprKind::Filter(_)) {
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
                            format!("The '{symbol}' operator requires a number, not a '{}'", side.ty.name()),
                            side_ast.span,
                        );
                        return Expr::error();
                    }
                }
                let (ir_op, ty) = match op {
                    A::Add => (BinaryOp::Add, arithmetic_type(&left.ty, &right.ty)),
                    A::Subtract => (BinaryOp::Subtract, arithmetic_type(&left.ty, &right.ty)),
                    A::Multiply => (BinaryOp::Multiply, arithmetic_type(&left.ty, &right.ty)),
                    A::Divide => (BinaryOp::Divide, DataType::Number(Some(NumberSubtype::Decimal))),
                    _ => (BinaryOp::Modulo, arithmetic_type(&left.ty, &right.ty)),
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
                            "boolean-operation-type-mismatch",
                            format!(
                                "The '{}' operator requires a boolean, not a '{}'",
                                if op == A::And { "and" } else { "or" },
                                side.ty.name()
                            ),
                            side_ast.span,
                        );
                        return Expr::error();
                    }
                }
                let ir_op = if op == A::And { BinaryOp::And } else { BinaryOp::Or };
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
        if (left.ty == DataType::Null || right.ty == DataType::Null) && matches!(op, A::Equal | A::NotEqual) {
            // `x = null` and `x != null` test for NULL.
            let subject = if left.ty == DataType::Null { right } else { left };
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
        let temporal_mismatch = (left.ty.is_temporal() && matches!(right.ty, DataType::Number(_) | DataType::Boolean))
            || (right.ty.is_temporal() && matches!(left.ty, DataType::Number(_) | DataType::Boolean));
        if temporal_mismatch {
            let (code, a, b) = if left.ty.is_temporal() || right.ty.is_temporal() {
                ("time-comparison-type-mismatch", left.ty.name(), right.ty.name())
            } else {
                ("comparison-type-mismatch", left.ty.name(), right.ty.name())
            };
            let article = |name: &str| if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            self.error(
                code,
                format!("Cannot compare {} {a} to {} {b}", article(&a), article(&b)),
                span,
            );
            return Expr::error();
        }
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
                let ir_op = if op == A::Greater { BinaryOp::GreaterOrEqual } else { BinaryOp::Less };
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
        let ast::ExprKind::Filter(text) = &filter.kind else { return Expr::error() };
        match super::filter::translate(subject, text) {
            Ok(expr) => expr,
            Err(message) => {
                self.error("filter-expression-error", message, filter.span);
                Expr::error()
            }
        }
    }

    /// Applies a condition to a subject, as in `subject ? condition`.
    pub fn translate_condition(&mut self, scope: &Scope, subject: &Expr, condition: &ast::Expr) -> Expr {
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
                let from = self.translate_expr(scope, from);
                let to = self.translate_expr(scope, to);
                let lower = binary(BinaryOp::GreaterOrEqual, subject.clone(), from, DataType::Boolean);
                let upper = binary(BinaryOp::Less, subject.clone(), to, DataType::Boolean);
                binary(BinaryOp::And, lower, upper, DataType::Boolean)
            }
            ast::ExprKind::ForRange { start, length, unit } => {
                let start = self.translate_expr(scope, start);
                let amount = self.translate_expr(scope, length);
                let Some(unit_value) = Timeframe::parse(&unit.name) else {
                    self.error("invalid-timeframe", format!("Unknown time unit '{}'", unit.name), unit.span);
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
                let lower = binary(BinaryOp::GreaterOrEqual, subject.clone(), start, DataType::Boolean);
                let upper = binary(BinaryOp::Less, subject.clone(), end, DataType::Boolean);
                binary(BinaryOp::And, lower, upper, DataType::Boolean)
            }
            ast::ExprKind::Pick { branches, otherwise } => {
                self.translate_pick(scope, Some(subject), branches, otherwise.as_deref())
            }
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
                    DataType::Regex => binary(BinaryOp::RegexMatch, subject.clone(), value, DataType::Boolean),
                    DataType::Boolean if subject.ty != DataType::Boolean => value,
                    DataType::Timestamp(Some(_)) | DataType::Date(Some(_)) if subject.ty.is_temporal() => {
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
                                    amount: Box::new(Expr::literal(Literal::Number("1".into()), DataType::number())),
                                    unit,
                                    subtract: false,
                                },
                                value.ty.without_timeframe(),
                                value.eval,
                            );
                            let lower = binary(BinaryOp::GreaterOrEqual, subject.clone(), value, DataType::Boolean);
                            let upper = binary(BinaryOp::Less, subject.clone(), end, DataType::Boolean);
                            binary(BinaryOp::And, lower, upper, DataType::Boolean)
                        }
                    }
                    _ => self.comparison(ast::BinaryOp::Equal, subject.clone(), value, condition.span),
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
    ) -> Expr {
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
                        self.error(
                            "pick-else-type-does-not-match",
                            format!(
                                "else type `{}` does not match return type `{}`",
                                value.ty.name(),
                                expected.name()
                            ),
                            else_ast.span,
                        );
                        return Expr::error();
                    }
                }
                Some(Box::new(value))
            }
            // Without `else`, a pick with a subject returns the subject.
            None => subject.map(|s| Box::new(s.clone())),
        };
        let mut expr = case_expr(translated, otherwise);
        if let Some(ty) = result_type {
            expr.ty = ty;
        }
        expr
    }

    fn translate_call(&mut self, scope: &Scope, call: &ast::Call) -> Expr {
        let name = call.name.name.as_str();
        if let Some(raw) = &call.raw {
            let type_suffix = raw.return_type.as_ref().map(|t| t.name.as_str()).unwrap_or("");
            if self.restricted {
                self.error(
                    "restricted-construct-forbidden",
                    format!(
                        "`{name}!{type_suffix}(...)` cannot be used in a restricted query — direct SQL function calls (`!type(...)`) are not permitted."
                    ),
                    call.span,
                );
                return Expr::error();
            }
            let arguments: Vec<Expr> = call.arguments.iter().map(|a| self.translate_expr(scope, a)).collect();
            let ty = match type_suffix {
                "number" => DataType::Number(None),
                "string" => DataType::String,
                "boolean" => DataType::Boolean,
                "date" => DataType::Date(None),
                "timestamp" => DataType::Timestamp(None),
                _ => arguments.first().map(|a| a.ty.clone()).unwrap_or(DataType::SqlNative(String::new())),
            };
            let eval = eval_of(&arguments.iter().collect::<Vec<_>>());
            return Expr::new(
                ExprKind::Call {
                    function: name.to_string(),
                    arguments,
                },
                ty,
                eval,
            );
        }
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "count" => {
                if call.distinct {
                    self.error(
                        "syntax-error",
                        "`count(distinct expression)` deprecated, use `count(expression)` instead.",
                        call.arguments.first().map(|a| a.span).unwrap_or(call.span),
                    );
                    return Expr::error();
                }
                match call.arguments.first() {
                    None => aggregate(AggregateFunction::Count, None, Vec::new()),
                    Some(argument) => {
                        let value = self.translate_expr(scope, argument);
                        aggregate(AggregateFunction::CountDistinct, Some(value), Vec::new())
                    }
                }
            }
            "sum" | "avg" | "min" | "max" | "stddev" | "string_agg" | "string_agg_distinct" => {
                let Some(argument) = call.arguments.first() else {
                    self.error(
                        "no-matching-function-overload",
                        format!("No matching overload for function {lower}()"),
                        call.span,
                    );
                    return Expr::error();
                };
                let value = self.translate_expr(scope, argument);
                if value.is_error() {
                    return value;
                }
                if matches!(lower.as_str(), "sum" | "avg" | "stddev") && !value.ty.is_number() {
                    self.error(
                        "expression-type-error",
                        format!("'{lower}' Can't use type {}", value.ty.name()),
                        argument.span,
                    );
                    return Expr::error();
                }
                if matches!(lower.as_str(), "sum" | "avg") {
                    if let Some(message) = join_path_required(scope.source, &value, &lower) {
                        self.error("aggregate-traverses-join-many", message, call.span);
                        return Expr::error();
                    }
                }
                let function = aggregate_function(&lower);
                let mut expr = aggregate(function, Some(value), Vec::new());
                if let AggregateFunction::Other(_) = function {
                    if lower != "stddev" {
                        expr.ty = DataType::String;
                    }
                    if lower == "string_agg" {
                        if let ExprKind::Aggregate(agg) = &mut expr.kind {
                            let separator = call.arguments.get(1).map(|s| self.translate_expr(scope, s));
                            if let Some(separator) = separator {
                                let first = agg.argument.take().expect("argument was set above");
                                agg.argument = Some(Expr::new(
                                    ExprKind::ArrayLiteral(vec![first, separator]),
                                    DataType::String,
                                    Eval::Scalar,
                                ));
                            }
                        }
                    }
                }
                expr
            }
            "all" | "exclude" => {
                let Some(first) = call.arguments.first() else {
                    self.error("no-matching-function-overload", format!("No matching overload for function {lower}()"), call.span);
                    return Expr::error();
                };
                let value = self.translate_expr(scope, first);
                if value.is_error() {
                    return value;
                }
                let mut fields = Vec::new();
                for argument in &call.arguments[1..] {
                    match &argument.kind {
                        ast::ExprKind::Path(path) if path.steps.len() == 1 => {
                            fields.push((path.steps[0].name.clone(), argument.span));
                        }
                        _ => self.error(
                            "ungroup-field-not-a-name",
                            format!("{lower}() arguments after the first must be output field names"),
                            argument.span,
                        ),
                    }
                }
                self.pending_ungroup_checks.extend(fields.iter().map(|(n, s)| (lower.clone(), n.clone(), *s)));
                let ty = value.ty.clone();
                Expr::new(
                    ExprKind::Ungrouped {
                        expr: Box::new(value),
                        kind: if lower == "all" { UngroupKind::All } else { UngroupKind::Exclude },
                        fields: fields.into_iter().map(|(n, _)| n).collect(),
                    },
                    ty,
                    Eval::Aggregate,
                )
            }
            "year" | "quarter" | "month" | "week" | "day" | "hour" | "minute" | "second" | "day_of_week"
            | "day_of_year" => {
                let Some(argument) = call.arguments.first() else {
                    self.error("no-matching-function-overload", format!("No matching overload for function {lower}()"), call.span);
                    return Expr::error();
                };
                let value = self.translate_expr(scope, argument);
                let unit = match lower.as_str() {
                    "day_of_week" => None,
                    "day_of_year" => None,
                    other => Timeframe::parse(other),
                };
                let eval = value.eval;
                let ty = DataType::Number(Some(NumberSubtype::Integer));
                match unit {
                    Some(unit) => Expr::new(ExprKind::TimeExtract { expr: Box::new(value), unit }, ty, eval),
                    None => Expr::new(
                        ExprKind::Call {
                            function: if lower == "day_of_week" { "__day_of_week".into() } else { "DAYOFYEAR".into() },
                            arguments: vec![value],
                        },
                        ty,
                        eval,
                    ),
                }
            }
            "years" | "quarters" | "months" | "weeks" | "days" | "hours" | "minutes" | "seconds" => {
                let unit = Timeframe::parse(&lower).expect("a plural time unit");
                match call.arguments.first().map(|a| &a.kind) {
                    Some(ast::ExprKind::Range { from, to }) => {
                        let from = self.translate_expr(scope, from);
                        let to = self.translate_expr(scope, to);
                        let eval = eval_of(&[&from, &to]);
                        Expr::new(
                            ExprKind::TimeDifference {
                                unit,
                                from: Box::new(from),
                                to: Box::new(to),
                            },
                            DataType::Number(Some(NumberSubtype::Integer)),
                            eval,
                        )
                    }
                    _ => {
                        self.error("no-matching-function-overload", format!("No matching overload for function {lower}()"), call.span);
                        Expr::error()
                    }
                }
            }
            "lag" | "lead" | "rank" | "dense_rank" | "row_number" | "first_value" | "last_value"
            | "sum_cumulative" | "avg_cumulative" | "min_cumulative" | "max_cumulative" | "count_cumulative"
            | "sum_moving" | "avg_moving" | "min_moving" | "max_moving" | "count_moving" | "sum_window"
            | "avg_window" | "min_window" | "max_window" | "count_window" => self.translate_window(scope, call, &lower),
            "replace" => {
                let arguments: Vec<Expr> = call.arguments.iter().map(|a| self.translate_expr(scope, a)).collect();
                if arguments.len() != 3 {
                    self.error("no-matching-function-overload", "No matching overload for function replace()", call.span);
                    return Expr::error();
                }
                let function = if arguments[1].ty == DataType::Regex { "__regexp_replace_all" } else { "REPLACE" };
                let eval = eval_of(&arguments.iter().collect::<Vec<_>>());
                Expr::new(ExprKind::Call { function: function.into(), arguments }, DataType::String, eval)
            }
            _ => {
                let Some(spec) = functions::lookup(&lower) else {
                    self.error(
                        "function-not-found",
                        format!("Unknown function '{name}'. Use '{name}!(...)' to call a SQL function directly."),
                        call.name.span,
                    );
                    return Expr::error();
                };
                let arguments: Vec<Expr> = call.arguments.iter().map(|a| self.translate_expr(scope, a)).collect();
                if arguments.len() < spec.min_args || arguments.len() > spec.max_args {
                    let listed: Vec<String> = arguments.iter().map(|a| a.ty.name()).collect();
                    self.error(
                        "no-matching-function-overload",
                        format!("No matching overload for function {}({})", spec.name, listed.join(", ")),
                        call.span,
                    );
                    return Expr::error();
                }
                if arguments.iter().any(|a| a.is_error()) {
                    return Expr::error();
                }
                let types: Vec<DataType> = arguments.iter().map(|a| a.ty.clone()).collect();
                let mut ty = functions::return_type(spec, &types);
                if spec.name == "list_extract" {
                    if let Some(DataType::Array(element)) = types.first() {
                        ty = (**element).clone();
                    }
                }
                let eval = eval_of(&arguments.iter().collect::<Vec<_>>());
                Expr::new(
                    ExprKind::Call {
                        function: spec.sql_name.to_string(),
                        arguments,
                    },
                    ty,
                    eval,
                )
            }
        }
    }

    /// A window function of a `calculate:` field.
    fn translate_window(&mut self, scope: &Scope, call: &ast::Call, name: &str) -> Expr {
        let takes_value = !matches!(name, "rank" | "dense_rank" | "row_number");
        let (min_args, max_args) = match name {
            "rank" | "dense_rank" | "row_number" => (0, 0),
            "lag" | "lead" => (1, 3),
            _ if name.ends_with("_moving") => (2, 3),
            _ => (1, 1),
        };
        if call.arguments.len() < min_args || call.arguments.len() > max_args {
            self.error(
                "no-matching-function-overload",
                format!("No matching overload for function {name}()"),
                call.span,
            );
            return Expr::error();
        }
        let mut arguments = Vec::new();
        for (index, argument) in call.arguments.iter().enumerate() {
            let value = self.translate_expr(scope, argument);
            if value.is_error() {
                return value;
            }
            if index == 0 && takes_value && value.eval == Eval::Scalar {
                let names_output = match &argument.kind {
                    ast::ExprKind::Path(path) => scope
                        .outputs
                        .map(|outputs| outputs.iter().any(|o| Some(&o.name) == path.steps.first().map(|s| &s.name)))
                        .unwrap_or(false),
                    ast::ExprKind::Number(_) | ast::ExprKind::String(_) | ast::ExprKind::Boolean(_) | ast::ExprKind::Null => true,
                    _ => false,
                };
                if !names_output {
                    self.error(
                        "invalid-function-argument-evaluation-space",
                        format!("Parameter 1 ('value') of {name} must be literal, constant or output, but received input"),
                        argument.span,
                    );
                    return Expr::error();
                }
            }
            arguments.push(value);
        }
        let literal_number = |index: usize| -> Option<String> {
            match call.arguments.get(index).map(|a| &a.kind) {
                Some(ast::ExprKind::Number(text)) => Some(text.clone()),
                _ => None,
            }
        };
        let base = name.split('_').next().unwrap_or(name);
        let aggregate_sql = match base {
            "sum" => "SUM",
            "avg" => "AVG",
            "min" => "MIN",
            "max" => "MAX",
            _ => "COUNT",
        };
        let (function, ordered, frame, arguments) = match name {
            "lag" | "lead" | "rank" | "dense_rank" | "row_number" | "first_value" => {
                (name.to_ascii_uppercase(), true, None, arguments)
            }
            "last_value" => (
                "LAST_VALUE".to_string(),
                true,
                Some("ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING".to_string()),
                arguments,
            ),
            _ if name.ends_with("_cumulative") => (aggregate_sql.to_string(), true, None, arguments),
            _ if name.ends_with("_moving") => {
                let preceding = literal_number(1).unwrap_or_else(|| "0".into());
                let following = literal_number(2).unwrap_or_else(|| "0".into());
                (
                    aggregate_sql.to_string(),
                    true,
                    Some(format!("ROWS BETWEEN {preceding} PRECEDING AND {following} FOLLOWING")),
                    arguments.into_iter().take(1).collect(),
                )
            }
            _ => (aggregate_sql.to_string(), false, None, arguments),
        };
        let ty = if takes_value && base != "count" {
            arguments.first().map(|a| a.ty.without_timeframe()).unwrap_or(DataType::Number(None))
        } else {
            DataType::Number(None)
        };
        Expr::new(
            ExprKind::Window(Box::new(super::ir::Window {
                function,
                arguments,
                ordered,
                frame,
            })),
            ty,
            Eval::Analytic,
        )
    }

    fn translate_method_call(
        &mut self,
        scope: &Scope,
        receiver: &ast::Expr,
        method: &ast::Ident,
        arguments: &[ast::Expr],
        span: Span,
    ) -> Expr {
        let name = method.name.to_ascii_lowercase();
        let function = match name.as_str() {
            "count" => AggregateFunction::Count,
            "sum" => AggregateFunction::Sum,
            "avg" => AggregateFunction::Avg,
            "min" => AggregateFunction::Min,
            "max" => AggregateFunction::Max,
            _ => {
                self.error(
                    "function-not-found",
                    format!("Unknown aggregate method '{}'", method.name),
                    method.span,
                );
                return Expr::error();
            }
        };
        let ast::ExprKind::Path(path) = &receiver.kind else {
            self.error("invalid-aggregate-receiver", "An aggregate method needs a field or join path", receiver.span);
            return Expr::error();
        };
        // `source.sum(x)` aggregates at the source itself.
        let is_source = path.steps.len() == 1 && path.steps[0].name == "source" && scope.source.field("source").is_none();
        let (locality, receiver_value): (Vec<String>, Option<Expr>) = if is_source {
            (Vec::new(), None)
        } else {
            match self.resolve_path(scope, path) {
                Some(Resolved::Join { path, .. }) => (path, None),
                Some(Resolved::Value { expr, prefix, .. })
                    if matches!(expr.ty, DataType::Array(_)) && name == "count" =>
                {
                    // `array.count()` counts the elements.
                    let mut locality = prefix;
                    locality.push(path.steps.last().map(|s| s.name.clone()).unwrap_or_default());
                    (locality, None)
                }
                Some(Resolved::Value { expr, prefix, is_measure }) => {
                    if is_measure {
                        self.error("aggregate-of-aggregate", "Cannot aggregate a measure", receiver.span);
                        return Expr::error();
                    }
                    (prefix, Some(expr))
                }
                Some(Resolved::View) => {
                    self.error("invalid-aggregate-receiver", "A view cannot be aggregated", receiver.span);
                    return Expr::error();
                }
                None => return Expr::error(),
            }
        };
        let argument = match (receiver_value, arguments.first()) {
            (Some(value), None) => Some(value),
            (Some(_), Some(extra)) => {
                self.error("too-many-arguments", format!("`{name}` on a field takes no arguments"), extra.span);
                return Expr::error();
            }
            (None, Some(argument)) => Some(self.translate_expr(scope, argument)),
            (None, None) => None,
        };
        if let Some(value) = &argument {
            if value.is_error() {
                return Expr::error();
            }
            if matches!(function, AggregateFunction::Sum | AggregateFunction::Avg) && !value.ty.is_number() {
                self.error(
                    "expression-type-error",
                    format!("'{name}' Can't use type {}", value.ty.name()),
                    receiver.span,
                );
                return Expr::error();
            }
            if matches!(function, AggregateFunction::Sum | AggregateFunction::Avg) {
                if let Some(message) = traverses_fanout(scope.source, &locality, value, &name) {
                    self.error(message.0, message.1, span);
                    return Expr::error();
                }
            }
        }
        if argument.is_none() && function != AggregateFunction::Count {
            self.error(
                "no-matching-function-overload",
                format!("No matching overload for function {name}()"),
                span,
            );
            return Expr::error();
        }
        aggregate(function, argument, locality)
    }
}

/// Builds an aggregate expression with its result type.
pub fn aggregate(function: AggregateFunction, argument: Option<Expr>, path: Vec<String>) -> Expr {
    let ty = match function {
        AggregateFunction::Count | AggregateFunction::CountDistinct => DataType::Number(Some(NumberSubtype::Integer)),
        AggregateFunction::Avg => DataType::Number(Some(NumberSubtype::Decimal)),
        AggregateFunction::Other(_) => DataType::Number(None),
        _ => argument
            .as_ref()
            .map(|a| a.ty.without_timeframe())
            .unwrap_or(DataType::Number(None)),
    };
    Expr::new(
        ExprKind::Aggregate(Box::new(Aggregate {
            function,
            argument,
            path,
            filter: None,
        })),
        ty,
        Eval::Aggregate,
    )
}

fn aggregate_function(name: &str) -> AggregateFunction {
    match name {
        "sum" => AggregateFunction::Sum,
        "avg" => AggregateFunction::Avg,
        "min" => AggregateFunction::Min,
        "max" => AggregateFunction::Max,
        "stddev" => AggregateFunction::Other("STDDEV"),
        "string_agg" => AggregateFunction::Other("STRING_AGG"),
        _ => AggregateFunction::Other("__string_agg_distinct"),
    }
}

fn case_expr(branches: Vec<(Expr, Expr)>, otherwise: Option<Box<Expr>>) -> Expr {
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
    Expr::new(ExprKind::Case { branches, otherwise }, ty, eval)
}

/// The join relationship of each step of `path`, starting at `source`.
fn join_kinds(source: &SourceDef, path: &[String]) -> Vec<(String, JoinKind)> {
    let mut kinds = Vec::new();
    let mut current: &SourceDef = source;
    for step in path {
        let Some(field) = current.field(step) else { break };
        let join = match (&field.kind, &field.unnest) {
            (FieldKind::Join(join), _) => join,
            (_, Some(unnest)) => unnest,
            _ => break,
        };
        kinds.push((step.clone(), join.kind));
        current = &join.source;
    }
    kinds
}

/// For `sum(join.x)` and `avg(join.x)` across a `join_many`, the message
/// asking for an explicit join path.
fn join_path_required(source: &SourceDef, value: &Expr, function: &str) -> Option<String> {
    let mut paths = Vec::new();
    value.join_paths(&mut paths);
    for path in paths {
        let kinds = join_kinds(source, &path);
        if kinds.iter().any(|(_, k)| *k != JoinKind::One) {
            let text = match &value.kind {
                ExprKind::Column { path, name } => format!("{}.{}", path.join("."), name),
                _ => path.join("."),
            };
            return Some(format!("Join path is required for this calculation; use `{text}.{function}()`"));
        }
    }
    None
}

/// For `locality.sum(x)` where `x` lies below a `join_many` or `join_cross`
/// under the locality, the reference's message.
fn traverses_fanout(source: &SourceDef, locality: &[String], value: &Expr, function: &str) -> Option<(&'static str, String)> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    value.visit(&mut |e| {
        if let ExprKind::Column { path, .. } = &e.kind {
            if !paths.contains(path) {
                paths.push(path.clone());
            }
        }
    });
    let locality_kinds = join_kinds(source, locality);
    for path in paths {
        if !path.starts_with(locality) {
            // The value lies outside the locality: the locality itself is
            // the fan-out being crossed.
            if let Some((name, kind)) = locality_kinds.iter().rev().find(|(_, k)| *k != JoinKind::One) {
                let column = column_text(value, locality);
                let (code, word) = fanout_words(*kind);
                return Some((code, format!("Cannot compute `{function}` across `{word}` relationship `{name}`; use `{column}.{function}()`")));
            }
            continue;
        }
        let kinds = join_kinds(source, &path);
        for (name, kind) in kinds.iter().skip(locality.len()) {
            if *kind != JoinKind::One {
                let column = column_text(value, &[]);
                let (code, word) = fanout_words(*kind);
                return Some((code, format!("Cannot compute `{function}` across `{word}` relationship `{name}`; use `{column}.{function}()`")));
            }
        }
    }
    None
}

fn fanout_words(kind: JoinKind) -> (&'static str, &'static str) {
    match kind {
        JoinKind::Cross => ("aggregate-traverses-join-cross", "join_cross"),
        _ => ("aggregate-traverses-join-many", "join_many"),
    }
}

fn column_text(value: &Expr, strip: &[String]) -> String {
    match &value.kind {
        ExprKind::Column { path, name } => {
            let rest: Vec<&String> = path.iter().skip(if path.starts_with(strip) { strip.len() } else { 0 }).collect();
            let mut parts: Vec<String> = rest.into_iter().cloned().collect();
            parts.push(name.clone());
            parts.join(".")
        }
        _ => "expression".to_string(),
    }
}

/// The granularity of a time literal, if `expr` is one.
fn literal_granularity(expr: &Expr) -> Option<Timeframe> {
    match (&expr.kind, &expr.ty) {
        (ExprKind::Literal(_), DataType::Date(Some(unit))) | (ExprKind::Literal(_), DataType::Timestamp(Some(unit))) => Some(*unit),
        _ => None,
    }
}

fn period_end(start: &Expr, unit: Timeframe) -> Expr {
    Expr::new(
        ExprKind::TimeOffset {
            expr: Box::new(start.clone()),
            amount: Box::new(Expr::literal(Literal::Number("1".into()), DataType::number())),
            unit,
            subtract: false,
        },
        start.ty.without_timeframe(),
        Eval::Scalar,
    )
}

/// `subject` within the period that starts at `start` and lasts one `unit`.
fn period_test(subject: &Expr, start: &Expr, unit: Timeframe) -> Expr {
    let end = period_end(start, unit);
    let lower = binary(BinaryOp::GreaterOrEqual, subject.clone(), start.clone(), DataType::Boolean);
    let upper = binary(BinaryOp::Less, subject.clone(), end, DataType::Boolean);
    binary(BinaryOp::And, lower, upper, DataType::Boolean)
}

/// Parses the text of a time literal after `@`: `2003`, `2003-Q2`,
/// `2003-04`, `2003-04-05`, `2003-06-01-WK`, `2003-04-05 10:30[:00]`.
pub fn parse_time_literal(text: &str) -> Option<Expr> {
    let text = text.trim();
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    let date = |value: String, unit: Timeframe| {
        Some(Expr::literal(Literal::Date(value), DataType::Date(Some(unit))))
    };
    if let Some((day, time)) = text.split_once([' ', 'T']) {
        let parts: Vec<&str> = time.split(':').collect();
        if !digits(&day[..day.len().min(10)], 10) && day.len() != 10 {
            return None;
        }
        let (unit, full) = match parts.len() {
            1 => (Timeframe::Hour, format!("{day} {:0>2}:00:00", parts[0])),
            2 => (Timeframe::Minute, format!("{day} {}:{}:00", parts[0], parts[1])),
            _ => (Timeframe::Second, format!("{day} {}", time)),
        };
        return Some(Expr::literal(Literal::Timestamp(full), DataType::Timestamp(Some(unit))));
    }
    if digits(text, 4) {
        return date(format!("{text}-01-01"), Timeframe::Year);
    }
    if let Some(day) = text.strip_suffix("-WK") {
        return date(day.to_string(), Timeframe::Week);
    }
    if text.len() == 7 && text.as_bytes()[4] == b'-' {
        let (year, rest) = (&text[..4], &text[5..]);
        if let Some(quarter) = rest.strip_prefix('Q') {
            let q: u32 = quarter.parse().ok()?;
            if !(1..=4).contains(&q) {
                return None;
            }
            return date(format!("{year}-{:02}-01", (q - 1) * 3 + 1), Timeframe::Quarter);
        }
        if digits(rest, 2) {
            return date(format!("{year}-{rest}-01"), Timeframe::Month);
        }
        return None;
    }
    if text.len() == 10 && digits(&text[..4], 4) {
        return date(text.to_string(), Timeframe::Day);
    }
    None
}
