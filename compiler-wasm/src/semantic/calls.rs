//! Translation of calls: functions, aggregates (with their locality and
//! fan-out checks), `all()`/`exclude()`, and the window functions of
//! `calculate:`.

use super::expr::{eval_of, Resolved, Scope};
use super::functions;
use super::ir::{Aggregate, AggregateFunction, Eval, Expr, ExprKind, UngroupKind};
use super::model::{FieldKind, JoinKind, SourceDef};
use super::types::{DataType, NumberSubtype, Timeframe};
use super::Translator;
use crate::diagnostics::Span;
use crate::syntax::ast;

impl Translator<'_> {
    pub(super) fn translate_call(&mut self, scope: &Scope, call: &ast::Call) -> Expr {
        let name = call.name.name.as_str();
        if let Some(raw) = &call.raw {
            let type_suffix = raw
                .return_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or("");
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
            if !crate::sql::dialect::is_plain_identifier(name) {
                self.error(
                    "invalid-sql-function-name",
                    format!(
                        "SQL function name `{name}` is invalid: use letters, digits and `_` only"
                    ),
                    call.name.span,
                );
                return Expr::error();
            }
            let arguments: Vec<Expr> = call
                .arguments
                .iter()
                .map(|a| self.translate_expr(scope, a))
                .collect();
            let ty = match type_suffix {
                "number" => DataType::Number(None),
                "string" => DataType::String,
                "boolean" => DataType::Boolean,
                "date" => DataType::Date(None),
                "timestamp" => DataType::Timestamp(None),
                _ => arguments
                    .first()
                    .map(|a| a.ty.clone())
                    .unwrap_or(DataType::SqlNative(String::new())),
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
                        if value.is_error() || !self.check_aggregate_argument(&value, call.span) {
                            return Expr::error();
                        }
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
                if !self.check_aggregate_argument(&value, call.span) {
                    return Expr::error();
                }
                if matches!(lower.as_str(), "min" | "max") && value.ty == DataType::Boolean {
                    self.error(
                        "expression-type-error",
                        format!("'{lower}' Can't use type boolean"),
                        argument.span,
                    );
                    return Expr::error();
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
                            let separator =
                                call.arguments.get(1).map(|s| self.translate_expr(scope, s));
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
                    self.error(
                        "no-matching-function-overload",
                        format!("No matching overload for function {lower}()"),
                        call.span,
                    );
                    return Expr::error();
                };
                let value = self.translate_expr(scope, first);
                if value.is_error() {
                    return value;
                }
                if value.eval != Eval::Aggregate {
                    self.error(
                        "ungroup-of-non-aggregate",
                        format!("{lower}() expression must be an aggregate"),
                        first.span,
                    );
                    return Expr::error();
                }
                let mut fields = Vec::new();
                for argument in &call.arguments[1..] {
                    match &argument.kind {
                        ast::ExprKind::Path(path) if path.steps.len() == 1 => {
                            fields.push((path.steps[0].name.clone(), argument.span));
                        }
                        _ => self.error(
                            "ungroup-field-not-a-name",
                            format!(
                                "{lower}() arguments after the first must be output field names"
                            ),
                            argument.span,
                        ),
                    }
                }
                self.pending_ungroup_checks
                    .extend(fields.iter().map(|(n, s)| (lower.clone(), n.clone(), *s)));
                let ty = value.ty.clone();
                Expr::new(
                    ExprKind::Ungrouped {
                        expr: Box::new(value),
                        kind: if lower == "all" {
                            UngroupKind::All
                        } else {
                            UngroupKind::Exclude
                        },
                        fields: fields.into_iter().map(|(n, _)| n).collect(),
                    },
                    ty,
                    Eval::Aggregate,
                )
            }
            "year" | "quarter" | "month" | "week" | "day" | "hour" | "minute" | "second"
            | "day_of_week" | "day_of_year" => {
                let Some(argument) = call.arguments.first() else {
                    self.error(
                        "no-matching-function-overload",
                        format!("No matching overload for function {lower}()"),
                        call.span,
                    );
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
                    Some(unit) => Expr::new(
                        ExprKind::TimeExtract {
                            expr: Box::new(value),
                            unit,
                        },
                        ty,
                        eval,
                    ),
                    None => Expr::new(
                        ExprKind::Call {
                            function: if lower == "day_of_week" {
                                "__day_of_week".into()
                            } else {
                                "__day_of_year".into()
                            },
                            arguments: vec![value],
                        },
                        ty,
                        eval,
                    ),
                }
            }
            "years" | "quarters" | "months" | "weeks" | "days" | "hours" | "minutes"
            | "seconds" => {
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
                        self.error(
                            "no-matching-function-overload",
                            format!("No matching overload for function {lower}()"),
                            call.span,
                        );
                        Expr::error()
                    }
                }
            }
            "lag" | "lead" | "rank" | "dense_rank" | "row_number" | "first_value"
            | "last_value" | "sum_cumulative" | "avg_cumulative" | "min_cumulative"
            | "max_cumulative" | "count_cumulative" | "sum_moving" | "avg_moving"
            | "min_moving" | "max_moving" | "count_moving" | "sum_window" | "avg_window"
            | "min_window" | "max_window" | "count_window" => {
                self.translate_window(scope, call, &lower)
            }
            "replace" => {
                let arguments: Vec<Expr> = call
                    .arguments
                    .iter()
                    .map(|a| self.translate_expr(scope, a))
                    .collect();
                if arguments.len() != 3 {
                    self.error(
                        "no-matching-function-overload",
                        "No matching overload for function replace()",
                        call.span,
                    );
                    return Expr::error();
                }
                let function = if arguments[1].ty == DataType::Regex {
                    "__regexp_replace_all"
                } else {
                    "REPLACE"
                };
                let eval = eval_of(&arguments.iter().collect::<Vec<_>>());
                Expr::new(
                    ExprKind::Call {
                        function: function.into(),
                        arguments,
                    },
                    DataType::String,
                    eval,
                )
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
                let arguments: Vec<Expr> = call
                    .arguments
                    .iter()
                    .map(|a| self.translate_expr(scope, a))
                    .collect();
                if arguments.len() < spec.min_args || arguments.len() > spec.max_args {
                    let listed: Vec<String> = arguments.iter().map(|a| a.ty.name()).collect();
                    self.error(
                        "no-matching-function-overload",
                        format!(
                            "No matching overload for function {}({})",
                            spec.name,
                            listed.join(", ")
                        ),
                        call.span,
                    );
                    return Expr::error();
                }
                if arguments.iter().any(|a| a.is_error()) {
                    return Expr::error();
                }
                let types: Vec<DataType> = arguments.iter().map(|a| a.ty.clone()).collect();
                if !functions::arguments_fit(spec, &types) {
                    let listed: Vec<String> = types.iter().map(|t| t.name()).collect();
                    self.error(
                        "no-matching-function-overload",
                        format!(
                            "No matching overload for function {}({})",
                            spec.name,
                            listed.join(", ")
                        ),
                        call.span,
                    );
                    return Expr::error();
                }
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

    /// Reports an aggregate nested in an aggregate's argument.
    fn check_aggregate_argument(&mut self, value: &Expr, span: Span) -> bool {
        if value.eval == Eval::Scalar {
            return true;
        }
        self.error(
            "aggregate-of-aggregate",
            "Aggregate expression cannot be aggregate",
            span,
        );
        false
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
                        .map(|outputs| {
                            outputs
                                .iter()
                                .any(|o| Some(&o.name) == path.steps.first().map(|s| &s.name))
                        })
                        .unwrap_or(false),
                    ast::ExprKind::Number(_)
                    | ast::ExprKind::String(_)
                    | ast::ExprKind::Boolean(_)
                    | ast::ExprKind::Null => true,
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
            _ if name.ends_with("_cumulative") => {
                (aggregate_sql.to_string(), true, None, arguments)
            }
            _ if name.ends_with("_moving") => {
                let preceding = literal_number(1).unwrap_or_else(|| "0".into());
                let following = literal_number(2).unwrap_or_else(|| "0".into());
                (
                    aggregate_sql.to_string(),
                    true,
                    Some(format!(
                        "ROWS BETWEEN {preceding} PRECEDING AND {following} FOLLOWING"
                    )),
                    arguments.into_iter().take(1).collect(),
                )
            }
            _ => (aggregate_sql.to_string(), false, None, arguments),
        };
        let ty = if takes_value && base != "count" {
            arguments
                .first()
                .map(|a| a.ty.without_timeframe())
                .unwrap_or(DataType::Number(None))
        } else {
            DataType::Number(None)
        };
        Expr::new(
            ExprKind::Window(Box::new(super::ir::Window {
                function,
                arguments,
                ordered,
                frame,
                partition_by: Vec::new(),
                order_by: None,
            })),
            ty,
            Eval::Analytic,
        )
    }

    pub(super) fn translate_method_call(
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
            self.error(
                "invalid-aggregate-receiver",
                "An aggregate method needs a field or join path",
                receiver.span,
            );
            return Expr::error();
        };
        // `source.sum(x)` aggregates at the source itself.
        let is_source = path.steps.len() == 1
            && path.steps[0].name == "source"
            && scope.source.field("source").is_none();
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
                    locality.push(
                        path.steps
                            .last()
                            .map(|s| s.name.clone())
                            .unwrap_or_default(),
                    );
                    (locality, None)
                }
                Some(Resolved::Value {
                    expr,
                    prefix,
                    is_measure,
                }) => {
                    if is_measure {
                        self.error(
                            "aggregate-of-aggregate",
                            "Cannot aggregate a measure",
                            receiver.span,
                        );
                        return Expr::error();
                    }
                    (prefix, Some(expr))
                }
                Some(Resolved::View) => {
                    self.error(
                        "invalid-aggregate-receiver",
                        "A view cannot be aggregated",
                        receiver.span,
                    );
                    return Expr::error();
                }
                None => return Expr::error(),
            }
        };
        let argument = match (receiver_value, arguments.first()) {
            (Some(value), None) => Some(value),
            (Some(_), Some(extra)) => {
                self.error(
                    "too-many-arguments",
                    format!("`{name}` on a field takes no arguments"),
                    extra.span,
                );
                return Expr::error();
            }
            (None, Some(argument)) => Some(self.translate_expr(scope, argument)),
            (None, None) => None,
        };
        if let Some(value) = &argument {
            if value.is_error() {
                return Expr::error();
            }
            if matches!(function, AggregateFunction::Sum | AggregateFunction::Avg)
                && !value.ty.is_number()
            {
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
        AggregateFunction::Count | AggregateFunction::CountDistinct => {
            DataType::Number(Some(NumberSubtype::Integer))
        }
        AggregateFunction::Avg => DataType::Number(Some(NumberSubtype::Decimal)),
        AggregateFunction::Other(_) => DataType::Number(None),
        // The reference keeps the timeframe: `max(d.year)` is a year.
        AggregateFunction::Min | AggregateFunction::Max => argument
            .as_ref()
            .map(|a| a.ty.clone())
            .unwrap_or(DataType::Number(None)),
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

/// Returns the join relationship of each step of `path`, starting at `source`.
fn join_kinds(source: &SourceDef, path: &[String]) -> Vec<(String, JoinKind)> {
    let mut kinds = Vec::new();
    let mut current: &SourceDef = source;
    for step in path {
        let Some(field) = current.field(step) else {
            break;
        };
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
            return Some(format!(
                "Join path is required for this calculation; use `{text}.{function}()`"
            ));
        }
    }
    None
}

/// For `locality.sum(x)` where `x` lies below a `join_many` or `join_cross`
/// under the locality, the reference's message.
fn traverses_fanout(
    source: &SourceDef,
    locality: &[String],
    value: &Expr,
    function: &str,
) -> Option<(&'static str, String)> {
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
            if let Some((name, kind)) = locality_kinds
                .iter()
                .rev()
                .find(|(_, k)| *k != JoinKind::One)
            {
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
            let rest: Vec<&String> = path
                .iter()
                .skip(if path.starts_with(strip) {
                    strip.len()
                } else {
                    0
                })
                .collect();
            let mut parts: Vec<String> = rest.into_iter().cloned().collect();
            parts.push(name.clone());
            parts.join(".")
        }
        _ => "expression".to_string(),
    }
}
