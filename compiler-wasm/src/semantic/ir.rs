//! Typed expressions of the model IR.
//!
//! Names are resolved: a column is addressed by the join path from the
//! query's root source, and a dimension or measure used in an expression is
//! replaced by its own definition, rebased onto the join path it was reached
//! through.

use super::types::{DataType, Timeframe};

/// The evaluation space of an expression, relative to the rows of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Eval {
    /// Once per source row.
    Scalar,
    /// Once per group of rows.
    Aggregate,
    /// Once per output row, over a window of output rows.
    Analytic,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: DataType,
    pub eval: Eval,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Digits as written.
    Number(String),
    String(String),
    Boolean(bool),
    Null,
    /// `YYYY-MM-DD`.
    Date(String),
    /// `YYYY-MM-DD HH:MM:SS`.
    Timestamp(String),
    /// `YYYY-MM-DD HH:MM:SS` as a clock in the IANA time zone `zone` shows
    /// it, written `@2003-01-01 00:00[America/New_York]`.
    ZonedTimestamp {
        value: String,
        zone: String,
    },
    Regex(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Like,
    NotLike,
    RegexMatch,
    NotRegexMatch,
    And,
    Or,
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFunction {
    Count,
    /// `count(x)`: distinct non-null values.
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    /// Other aggregates with plain SQL semantics, such as `stddev`.
    Other(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub function: AggregateFunction,
    pub argument: Option<Expr>,
    /// The join path whose rows are aggregated; empty for the root source.
    pub path: Vec<String>,
    /// A `{ where: ... }` condition on the rows that are aggregated.
    pub filter: Option<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UngroupKind {
    /// `all(m)` or `all(m, kept...)`: ignores the grouping except the names.
    All,
    /// `exclude(m, names...)`: ignores only the named dimensions.
    Exclude,
}

/// A window function of a `calculate:` field.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The SQL function, such as `LAG` or `SUM`.
    pub function: String,
    pub arguments: Vec<Expr>,
    /// Whether the window follows the stage's ordering.
    pub ordered: bool,
    /// An explicit frame, such as `ROWS BETWEEN 2 PRECEDING AND 0 FOLLOWING`.
    pub frame: Option<String>,
    /// `partition_by:` values, after the keys of the enclosing nests.
    pub partition_by: Vec<Expr>,
    /// `order_by:` of the calculation, which replaces the stage's order.
    pub order_by: Option<Vec<(Expr, bool)>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A column of the table at `path` (empty for the root source).
    Column {
        path: Vec<String>,
        name: String,
    },
    Literal(Literal),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Case {
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// A cast to a SQL type; `safe` casts give NULL on failure.
    Cast {
        expr: Box<Expr>,
        sql_type: String,
        safe: bool,
    },
    /// A SQL function call.
    Call {
        function: String,
        arguments: Vec<Expr>,
    },
    TimeTruncate {
        expr: Box<Expr>,
        unit: Timeframe,
    },
    TimeExtract {
        expr: Box<Expr>,
        unit: Timeframe,
    },
    /// `t + n units` or `t - n units`.
    TimeOffset {
        expr: Box<Expr>,
        amount: Box<Expr>,
        unit: Timeframe,
        subtract: bool,
    },
    /// Whole units from `from` to `to`.
    TimeDifference {
        unit: Timeframe,
        from: Box<Expr>,
        to: Box<Expr>,
    },
    /// A field of a record value.
    RecordField {
        record: Box<Expr>,
        name: String,
    },
    RecordLiteral(Vec<(String, Expr)>),
    ArrayLiteral(Vec<Expr>),
    Aggregate(Box<Aggregate>),
    Ungrouped {
        expr: Box<Expr>,
        kind: UngroupKind,
        fields: Vec<String>,
    },
    Window(Box<Window>),
    /// The value of an array element inside `.each`: the unnested column at
    /// the array's join path.
    EachValue {
        path: Vec<String>,
    },
}

impl Expr {
    pub fn new(kind: ExprKind, ty: DataType, eval: Eval) -> Expr {
        Expr { kind, ty, eval }
    }

    pub fn literal(literal: Literal, ty: DataType) -> Expr {
        Expr::new(ExprKind::Literal(literal), ty, Eval::Scalar)
    }

    pub fn boolean(value: bool) -> Expr {
        Expr::literal(Literal::Boolean(value), DataType::Boolean)
    }

    pub fn error() -> Expr {
        Expr::new(
            ExprKind::Literal(Literal::Null),
            DataType::Error,
            Eval::Scalar,
        )
    }

    pub fn is_error(&self) -> bool {
        self.ty == DataType::Error
    }

    /// Prefixes every join path in the expression with `prefix`, so that
    /// an expression written inside a joined source addresses the query's
    /// root.
    pub fn rebase(&self, prefix: &[String]) -> Expr {
        if prefix.is_empty() {
            return self.clone();
        }
        let mut copy = self.clone();
        copy.visit_mut(&mut |expr| match &mut expr.kind {
            ExprKind::Column { path, .. } | ExprKind::EachValue { path } => {
                let mut full = prefix.to_vec();
                full.append(path);
                *path = full;
            }
            ExprKind::Aggregate(aggregate) => {
                let mut full = prefix.to_vec();
                full.append(&mut aggregate.path);
                aggregate.path = full;
            }
            _ => {}
        });
        copy
    }

    /// Calls `f` on this expression and every expression inside it, parents
    /// before children.
    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        f(self);
        for child in self.children_mut() {
            child.visit_mut(f);
        }
    }

    /// Calls `f` on this expression and every expression inside it.
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        for child in self.children() {
            child.visit(f);
        }
    }

    fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Column { .. } | ExprKind::Literal(_) | ExprKind::EachValue { .. } => vec![],
            ExprKind::Negate(e) | ExprKind::Not(e) => vec![e],
            ExprKind::Binary { left, right, .. } => vec![left, right],
            ExprKind::IsNull { expr, .. } => vec![expr],
            ExprKind::In { expr, list, .. } => {
                let mut all = vec![&**expr];
                all.extend(list.iter());
                all
            }
            ExprKind::Case {
                branches,
                otherwise,
            } => {
                let mut all = Vec::new();
                for (when, then) in branches {
                    all.push(when);
                    all.push(then);
                }
                if let Some(e) = otherwise {
                    all.push(e);
                }
                all
            }
            ExprKind::Cast { expr, .. } => vec![expr],
            ExprKind::Call { arguments, .. } => arguments.iter().collect(),
            ExprKind::TimeTruncate { expr, .. } | ExprKind::TimeExtract { expr, .. } => vec![expr],
            ExprKind::TimeOffset { expr, amount, .. } => vec![expr, amount],
            ExprKind::TimeDifference { from, to, .. } => vec![from, to],
            ExprKind::RecordField { record, .. } => vec![record],
            ExprKind::RecordLiteral(items) => items.iter().map(|(_, e)| e).collect(),
            ExprKind::ArrayLiteral(items) => items.iter().collect(),
            ExprKind::Aggregate(aggregate) => {
                let mut all = Vec::new();
                if let Some(a) = &aggregate.argument {
                    all.push(a);
                }
                if let Some(f) = &aggregate.filter {
                    all.push(f);
                }
                all
            }
            ExprKind::Ungrouped { expr, .. } => vec![expr],
            ExprKind::Window(window) => {
                let mut all: Vec<&Expr> = window.arguments.iter().collect();
                all.extend(window.partition_by.iter());
                all.extend(window.order_by.iter().flatten().map(|(e, _)| e));
                all
            }
        }
    }

    fn children_mut(&mut self) -> Vec<&mut Expr> {
        match &mut self.kind {
            ExprKind::Column { .. } | ExprKind::Literal(_) | ExprKind::EachValue { .. } => vec![],
            ExprKind::Negate(e) | ExprKind::Not(e) => vec![e],
            ExprKind::Binary { left, right, .. } => vec![left, right],
            ExprKind::IsNull { expr, .. } => vec![expr],
            ExprKind::In { expr, list, .. } => {
                let mut all = vec![&mut **expr];
                all.extend(list.iter_mut());
                all
            }
            ExprKind::Case {
                branches,
                otherwise,
            } => {
                let mut all = Vec::new();
                for (when, then) in branches {
                    all.push(when);
                    all.push(then);
                }
                if let Some(e) = otherwise {
                    all.push(&mut **e);
                }
                all
            }
            ExprKind::Cast { expr, .. } => vec![expr],
            ExprKind::Call { arguments, .. } => arguments.iter_mut().collect(),
            ExprKind::TimeTruncate { expr, .. } | ExprKind::TimeExtract { expr, .. } => vec![expr],
            ExprKind::TimeOffset { expr, amount, .. } => vec![expr, amount],
            ExprKind::TimeDifference { from, to, .. } => vec![from, to],
            ExprKind::RecordField { record, .. } => vec![record],
            ExprKind::RecordLiteral(items) => items.iter_mut().map(|(_, e)| e).collect(),
            ExprKind::ArrayLiteral(items) => items.iter_mut().collect(),
            ExprKind::Aggregate(aggregate) => {
                let aggregate = &mut **aggregate;
                let mut all = Vec::new();
                if let Some(a) = &mut aggregate.argument {
                    all.push(a);
                }
                if let Some(f) = &mut aggregate.filter {
                    all.push(f);
                }
                all
            }
            ExprKind::Ungrouped { expr, .. } => vec![expr],
            ExprKind::Window(window) => {
                let window = &mut **window;
                let mut all: Vec<&mut Expr> = window.arguments.iter_mut().collect();
                all.extend(window.partition_by.iter_mut());
                all.extend(window.order_by.iter_mut().flatten().map(|(e, _)| e));
                all
            }
        }
    }

    /// Returns every join path that the expression reads columns from or
    /// aggregates at; the root's empty path is left out.
    pub fn join_paths(&self, out: &mut Vec<Vec<String>>) {
        self.visit(&mut |expr| {
            let path = match &expr.kind {
                ExprKind::Column { path, .. } | ExprKind::EachValue { path } => path,
                ExprKind::Aggregate(aggregate) => &aggregate.path,
                _ => return,
            };
            if !path.is_empty() && !out.contains(path) {
                out.push(path.clone());
            }
        });
    }

    /// Adds `condition` to the filter of every aggregate in the expression.
    pub fn add_aggregate_filter(&mut self, condition: &Expr) {
        self.visit_mut(&mut |expr| {
            if let ExprKind::Aggregate(aggregate) = &mut expr.kind {
                aggregate.filter = Some(match aggregate.filter.take() {
                    None => condition.clone(),
                    Some(existing) => Expr::new(
                        ExprKind::Binary {
                            op: BinaryOp::And,
                            left: Box::new(existing),
                            right: Box::new(condition.clone()),
                        },
                        DataType::Boolean,
                        Eval::Scalar,
                    ),
                });
            }
        });
    }
}
