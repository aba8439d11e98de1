//! SQL text for IR expressions.

use super::dialect::Dialect;
use crate::plan::{needs_distinct, JoinTree};
use crate::semantic::ir::{Aggregate, AggregateFunction, BinaryOp, Expr, ExprKind, Literal};
use crate::semantic::model::{Relation, SourceDef};
use crate::semantic::types::DataType;

/// The name of the column added to keyless tables for distinct aggregates.
pub const GENERATED_KEY: &str = "__distinct_key";

/// The position column of an unnested array's elements.
pub const ROW_NUMBER_COLUMN: &str = "__row_id";

/// Returns the table alias of an unnested array; its element column is named by
/// [`alias`].
pub fn unnest_alias(dialect: &dyn Dialect, path: &[String]) -> String {
    dialect.quote_identifier(&format!("{}__u", path.join("__")))
}

/// Returns the table alias of a join path; the root source is `base`.
pub fn alias(dialect: &dyn Dialect, path: &[String]) -> String {
    if path.is_empty() {
        "base".to_string()
    } else {
        dialect.quote_identifier(&format!("{}__j", path.join("__")))
    }
}

/// Everything expression text depends on in one SELECT.
pub struct ExprContext<'a> {
    pub dialect: &'a dyn Dialect,
    pub root: &'a SourceDef,
    pub tree: &'a JoinTree,
    /// `all()` / `exclude()` expressions and the SQL that stands for them.
    pub ungrouped: &'a [(Expr, String)],
    /// `PARTITION BY` and `ORDER BY` terms of window functions.
    pub window_partition: Vec<String>,
    pub window_order: Vec<String>,
    /// The query's time zone, for timestamp truncation, extraction and
    /// literals.
    pub timezone: Option<String>,
}

impl ExprContext<'_> {
    pub fn render(&self, expr: &Expr) -> String {
        let d = self.dialect;
        match &expr.kind {
            ExprKind::Column { path, name } => {
                format!("{}.{}", alias(d, path), d.quote_identifier(name))
            }
            ExprKind::Literal(literal) => match literal {
                Literal::Number(text) => text.clone(),
                Literal::String(text) | Literal::Regex(text) => d.string_literal(text),
                Literal::Boolean(true) => "TRUE".into(),
                Literal::Boolean(false) => "FALSE".into(),
                Literal::Null => "NULL".into(),
                Literal::Date(text) => format!("DATE {}", d.string_literal(text)),
                Literal::Timestamp(text) => match &self.timezone {
                    Some(zone) => d.timestamp_in_zone(text, zone),
                    None => format!("TIMESTAMP {}", d.string_literal(text)),
                },
                Literal::ZonedTimestamp { value, zone } => d.timestamp_in_zone(value, zone),
            },
            ExprKind::Negate(inner) => format!("-({})", self.render(inner)),
            // Malloy's `not` of NULL is true.
            ExprKind::Not(inner) => format!("COALESCE(NOT ({}), TRUE)", self.render(inner)),
            ExprKind::Binary { op, left, right } => self.binary(*op, left, right),
            ExprKind::IsNull { expr, negated } => {
                format!(
                    "({} IS {}NULL)",
                    self.render(expr),
                    if *negated { "NOT " } else { "" }
                )
            }
            ExprKind::In {
                expr,
                list,
                negated,
            } => {
                let items: Vec<String> = list.iter().map(|e| self.render(e)).collect();
                format!(
                    "({} {}IN ({}))",
                    self.render(expr),
                    if *negated { "NOT " } else { "" },
                    items.join(", ")
                )
            }
            ExprKind::Case {
                branches,
                otherwise,
            } => {
                let mut text = String::from("CASE");
                for (when, then) in branches {
                    text.push_str(&format!(
                        " WHEN {} THEN {}",
                        self.render(when),
                        self.render(then)
                    ));
                }
                if let Some(otherwise) = otherwise {
                    text.push_str(&format!(" ELSE {}", self.render(otherwise)));
                }
                text.push_str(" END");
                text
            }
            ExprKind::Cast {
                expr,
                sql_type,
                safe,
            } => d.cast(&self.render(expr), sql_type, *safe),
            ExprKind::Call {
                function,
                arguments,
            } => {
                let mut args: Vec<String> = arguments.iter().map(|a| self.render(a)).collect();
                // Day numbers count in the query's time zone, as `hour()` does.
                if matches!(function.as_str(), "__day_of_week" | "__day_of_year") {
                    if let (Some(zone), Some(argument)) = (&self.timezone, arguments.first()) {
                        if matches!(argument.ty, DataType::Timestamp(_)) {
                            args[0] = d.local_time(&args[0], zone);
                        }
                    }
                }
                if let Some(inner) = function.strip_prefix("__false_if_null:") {
                    return format!("COALESCE({inner}({}), FALSE)", args.join(", "));
                }
                if let Some(inner) = function.strip_prefix("__null_if_any_null:") {
                    let tests: Vec<String> = args.iter().map(|a| format!("{a} IS NULL")).collect();
                    return format!(
                        "CASE WHEN {} THEN NULL ELSE {inner}({}) END",
                        tests.join(" OR "),
                        args.join(", ")
                    );
                }
                match function.as_str() {
                    "__byte_length" => format!("(BIT_LENGTH({}) / 8)", args[0]),
                    "__unicode" => {
                        format!("CASE WHEN {0} = '' THEN 0 ELSE UNICODE({0}) END", args[0])
                    }
                    "__chr" => format!("CASE WHEN {0} = 0 THEN '' ELSE CHR({0}) END", args[0]),
                    "__log" => format!("(LN({}) / LN({}))", args[0], args[1]),
                    "__div" => format!(
                        "CASE WHEN {0} / {1} < 0 THEN CEIL({0} / {1}) ELSE FLOOR({0} / {1}) END",
                        args[0], args[1]
                    ),
                    "__day_of_week" => d.day_of_week(&args[0]),
                    "__day_of_year" => format!("DAYOFYEAR({})", args[0]),
                    "__regexp_replace_all" => d.regex_replace_all(&args[0], &args[1], &args[2]),
                    "CURRENT_TIMESTAMP" => "CURRENT_TIMESTAMP".into(),
                    _ => format!("{function}({})", args.join(", ")),
                }
            }
            ExprKind::TimeTruncate { expr: inner, unit } => {
                let is_date = matches!(expr.ty, DataType::Date(_));
                match &self.timezone {
                    Some(zone) if matches!(inner.ty, DataType::Timestamp(_)) => {
                        d.truncate_in_zone(&self.render(inner), *unit, zone)
                    }
                    _ => d.truncate(&self.render(inner), *unit, is_date),
                }
            }
            ExprKind::TimeExtract { expr, unit } => match &self.timezone {
                Some(zone) if matches!(expr.ty, DataType::Timestamp(_)) => {
                    d.extract_in_zone(&self.render(expr), *unit, zone)
                }
                _ => d.extract(&self.render(expr), *unit),
            },
            ExprKind::TimeOffset {
                expr: inner,
                amount,
                unit,
                subtract,
            } => d.offset(
                &self.render(inner),
                &self.render(amount),
                *unit,
                *subtract,
                matches!(expr.ty, DataType::Date(_)),
            ),
            ExprKind::TimeDifference { unit, from, to } => {
                d.difference(*unit, &self.render(from), &self.render(to))
            }
            ExprKind::RecordField { record, name } => {
                format!("({}).{}", self.render(record), d.quote_identifier(name))
            }
            ExprKind::RecordLiteral(items) => {
                let fields: Vec<(String, String)> = items
                    .iter()
                    .map(|(n, e)| (n.clone(), self.render(e)))
                    .collect();
                d.record_literal(&fields)
            }
            ExprKind::ArrayLiteral(items) => {
                let values: Vec<String> = items.iter().map(|e| self.render(e)).collect();
                format!("[{}]", values.join(", "))
            }
            ExprKind::Aggregate(aggregate) => self.aggregate(aggregate),
            ExprKind::Ungrouped { .. } => self
                .ungrouped
                .iter()
                .find(|(e, _)| e == expr)
                .map(|(_, sql)| sql.clone())
                .unwrap_or_else(|| "NULL".into()),
            ExprKind::Window(window) => {
                let args: Vec<String> = window.arguments.iter().map(|a| self.render(a)).collect();
                let mut over: Vec<String> = Vec::new();
                let mut partition = self.window_partition.clone();
                partition.extend(window.partition_by.iter().map(|e| self.render(e)));
                if !partition.is_empty() {
                    over.push(format!("PARTITION BY {}", partition.join(", ")));
                }
                let order: Vec<String> = match &window.order_by {
                    Some(items) => items
                        .iter()
                        .map(|(e, descending)| d.order_term(&self.render(e), *descending))
                        .collect(),
                    None if window.ordered => self.window_order.clone(),
                    None => Vec::new(),
                };
                if !order.is_empty() {
                    over.push(format!("ORDER BY {}", order.join(", ")));
                }
                if let Some(frame) = &window.frame {
                    over.push(frame.clone());
                }
                format!(
                    "{}({}) OVER ({})",
                    window.function,
                    args.join(", "),
                    over.join(" ")
                )
            }
            ExprKind::EachValue { path } => alias(d, path),
        }
    }

    fn binary(&self, op: BinaryOp, left: &Expr, right: &Expr) -> String {
        let l = self.render(left);
        let r = self.render(right);
        let symbol = match op {
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulo => "%",
            BinaryOp::Equal => "=",
            // Malloy's `!=` is true when either side is NULL.
            BinaryOp::NotEqual => return format!("COALESCE({l} != {r}, TRUE)"),
            BinaryOp::Less => "<",
            BinaryOp::LessOrEqual => "<=",
            BinaryOp::Greater => ">",
            BinaryOp::GreaterOrEqual => ">=",
            BinaryOp::Like => "LIKE",
            BinaryOp::NotLike => "NOT LIKE",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::RegexMatch => return self.dialect.regex_match(&l, &r),
            BinaryOp::NotRegexMatch => return format!("NOT {}", self.dialect.regex_match(&l, &r)),
            BinaryOp::Coalesce => return format!("COALESCE({l}, {r})"),
        };
        format!("({l} {symbol} {r})")
    }

    /// Returns the key that identifies a row of the table at `path`.
    fn row_key(&self, path: &[String]) -> String {
        let source = self.tree.source_at(self.root, path);
        if let Some(Relation::Unnest(_)) = source.map(|s| &s.relation) {
            // An element is identified by its parent row and its position.
            let parent = self.row_key(&path[..path.len() - 1]);
            return format!(
                "(CAST({parent} AS VARCHAR) || 'x' || CAST({}.{ROW_NUMBER_COLUMN} AS VARCHAR))",
                unnest_alias(self.dialect, path)
            );
        }
        match self
            .tree
            .source_at(self.root, path)
            .and_then(|s| s.key_expr())
        {
            Some(key) => self.render(&key.rebase(path)),
            None => format!(
                "{}.{}",
                alias(self.dialect, path),
                self.dialect.quote_identifier(GENERATED_KEY)
            ),
        }
    }

    fn has_primary_key(&self, path: &[String]) -> bool {
        self.tree
            .source_at(self.root, path)
            .and_then(|s| s.key_expr())
            .is_some()
    }

    fn aggregate(&self, aggregate: &Aggregate) -> String {
        let distinct = needs_distinct(self.tree, aggregate.function, &aggregate.path);
        let filter = aggregate.filter.as_ref().map(|f| self.render(f));
        let value = aggregate.argument.as_ref().map(|a| self.render(a));
        // A filtered aggregate gets NULL for the rows that the filter rejects.
        let filtered = |value: String| match &filter {
            Some(condition) => format!("CASE WHEN {condition} THEN {value} END"),
            None => value,
        };
        match aggregate.function {
            AggregateFunction::Count => {
                // A joined table without a primary key counts its generated
                // keys, so rows missing from the join are not counted.
                if distinct
                    || (!aggregate.path.is_empty() && !self.has_primary_key(&aggregate.path))
                {
                    format!(
                        "COUNT(DISTINCT {})",
                        filtered(self.row_key(&aggregate.path))
                    )
                } else {
                    format!("COUNT({})", filtered("1".into()))
                }
            }
            AggregateFunction::CountDistinct => {
                format!(
                    "COUNT(DISTINCT {})",
                    filtered(value.unwrap_or_else(|| "1".into()))
                )
            }
            AggregateFunction::Sum | AggregateFunction::Avg => {
                let function = if aggregate.function == AggregateFunction::Sum {
                    "SUM"
                } else {
                    "AVG"
                };
                let value = filtered(value.unwrap_or_else(|| "NULL".into()));
                let text = if distinct {
                    self.dialect.distinct_keyed_aggregate(
                        function,
                        &self.row_key(&aggregate.path),
                        &value,
                    )
                } else {
                    format!("{function}({value})")
                };
                if function == "SUM" {
                    format!("COALESCE({text}, 0)")
                } else {
                    text
                }
            }
            AggregateFunction::Min => format!("MIN({})", filtered(value.unwrap_or_default())),
            AggregateFunction::Max => format!("MAX({})", filtered(value.unwrap_or_default())),
            AggregateFunction::Other("__string_agg_distinct") => self
                .dialect
                .string_agg_distinct(&filtered(value.unwrap_or_default())),
            AggregateFunction::Other(name) => {
                // `string_agg(x, separator)` arrives as an array literal of
                // the value and the separator.
                match aggregate.argument.as_ref().map(|a| &a.kind) {
                    Some(ExprKind::ArrayLiteral(items)) if items.len() == 2 => {
                        format!(
                            "{name}({}, {})",
                            filtered(self.render(&items[0])),
                            self.render(&items[1])
                        )
                    }
                    _ => format!("{name}({})", filtered(value.unwrap_or_default())),
                }
            }
        }
    }
}
