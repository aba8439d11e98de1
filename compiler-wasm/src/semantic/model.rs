//! Sources, fields, joins, views and queries of the model IR.

use std::rc::Rc;

use super::ir::{Eval, Expr, ExprKind, Literal};
use super::types::DataType;
use crate::syntax::ast;

/// The origin of a source's rows.
#[derive(Debug, Clone)]
pub enum Relation {
    /// A table or file, as named in `connection.table('...')`.
    Table(String),
    /// The text of `connection.sql("...")`.
    Sql(String),
    /// The output of a query.
    Query(Rc<Query>),
    /// The elements of an array, one row each, joined to the parent row
    /// the array belongs to; the expression is relative to the parent.
    Unnest(Expr),
}

/// A source: a relation with named fields.
#[derive(Debug, Clone)]
pub struct SourceDef {
    pub name: String,
    pub connection: String,
    pub relation: Relation,
    pub fields: Vec<Field>,
    pub primary_key: Option<String>,
    /// `where:` conditions of the source, applied to every query of it.
    pub filters: Vec<Expr>,
    pub annotations: Vec<String>,
    /// For a source with parameters, its definition, translated again for
    /// each set of arguments; the fields above use the defaults.
    pub template: Option<Rc<SourceTemplate>>,
    /// The source's `timezone:`, used by queries that set none.
    pub timezone: Option<String>,
}

/// The definition of a source with parameters.
#[derive(Debug, Clone)]
pub struct SourceTemplate {
    pub parameters: Vec<ast::Parameter>,
    /// Each parameter's type and default value, for the model's description.
    pub signature: Vec<ParameterInfo>,
    pub source: ast::SourceExpr,
    /// The names defined where the source was, which its definition uses
    /// wherever the source is imported to.
    pub namespace: Rc<super::Model>,
}

/// A source parameter as the model describes it.
#[derive(Debug, Clone)]
pub struct ParameterInfo {
    pub name: String,
    /// The declared type, or the default value's type when none is declared.
    pub ty: DataType,
    /// The default value when it is a literal.
    pub default: Option<Literal>,
}

impl SourceDef {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Returns the tags of the view `name`: those of the view it refines,
    /// recursively, then its own, as the reference lists a view's tags.
    pub fn view_annotations(&self, name: &str) -> Vec<String> {
        self.view_annotations_at_depth(name, 0)
    }

    fn view_annotations_at_depth(&self, name: &str, depth: usize) -> Vec<String> {
        // A view cannot refine itself, but a deep chain stops here rather
        // than overflowing the stack.
        const MAX_DEPTH: usize = 64;
        let Some(FieldKind::View(view)) = self.field(name).map(|f| &f.kind) else {
            return Vec::new();
        };
        let mut annotations = Vec::new();
        if depth < MAX_DEPTH {
            if let Some(base) = refined_view_name(&view.view) {
                if base != name {
                    annotations = self.view_annotations_at_depth(base, depth + 1);
                }
            }
        }
        annotations.extend(view.annotations.iter().cloned());
        annotations
    }

    /// Returns the SQL column or expression that identifies a row, for joins and
    /// distinct counts.
    pub fn key_expr(&self) -> Option<&Expr> {
        let key = self.primary_key.as_deref()?;
        match &self.field(key)?.kind {
            FieldKind::Dimension(expr) => Some(expr),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    pub annotations: Vec<String>,
    /// Hidden by `except:` or `include`; still usable by the source's own
    /// definitions but not by queries.
    pub hidden: bool,
    /// For an array dimension, the join that makes its elements rows, so
    /// that `genres.each` and `items.price` can address them.
    pub unnest: Option<Rc<JoinDef>>,
    /// The source text of a dimension defined by an expression, which
    /// result metadata quotes for outputs that reference it.
    pub code: Option<String>,
}

impl Field {
    /// Creates a field, with its element join when it is an array dimension.
    pub fn new(name: &str, kind: FieldKind, annotations: Vec<String>, connection: &str) -> Field {
        let unnest = match &kind {
            FieldKind::Dimension(expr) => array_join(expr, connection),
            _ => None,
        };
        Field {
            name: name.to_string(),
            kind,
            annotations,
            hidden: false,
            unnest,
            code: None,
        }
    }
}

/// Returns the name of the view that `view` starts from, for `base + {...}`
/// and `base` alone.
fn refined_view_name(view: &ast::ViewExpr) -> Option<&str> {
    match &view.kind {
        ast::ViewExprKind::Named(name) => Some(&name.name),
        ast::ViewExprKind::Refine { base, .. } => refined_view_name(base),
        ast::ViewExprKind::Stage(_) | ast::ViewExprKind::Pipeline(_) => None,
    }
}

/// Builds the join over the elements of an array value: records expose their
/// fields, other elements expose `each` (also called `value`).
pub fn array_join(array: &Expr, connection: &str) -> Option<Rc<JoinDef>> {
    let DataType::Array(element) = &array.ty else {
        return None;
    };
    let fields = match &**element {
        DataType::Record(members) => members
            .iter()
            .map(|(name, ty)| {
                Field::new(
                    name,
                    FieldKind::Dimension(Expr::new(
                        ExprKind::Column {
                            path: Vec::new(),
                            name: name.clone(),
                        },
                        ty.clone(),
                        Eval::Scalar,
                    )),
                    Vec::new(),
                    connection,
                )
            })
            .collect(),
        other => ["each", "value"]
            .iter()
            .map(|name| {
                Field::new(
                    name,
                    FieldKind::Dimension(Expr::new(
                        ExprKind::EachValue { path: Vec::new() },
                        other.clone(),
                        Eval::Scalar,
                    )),
                    Vec::new(),
                    connection,
                )
            })
            .collect(),
    };
    Some(Rc::new(JoinDef {
        kind: JoinKind::Many,
        source: Rc::new(SourceDef {
            name: String::new(),
            connection: connection.to_string(),
            relation: Relation::Unnest(array.clone()),
            fields,
            primary_key: None,
            filters: Vec::new(),
            annotations: Vec::new(),
            template: None,
            timezone: None,
        }),
        condition: None,
    }))
}

#[derive(Debug, Clone)]
pub enum FieldKind {
    /// A column or a computed dimension, relative to the source.
    Dimension(Expr),
    /// An aggregate expression, relative to the source.
    Measure(Expr),
    Join(Rc<JoinDef>),
    View(Rc<ViewDef>),
}

impl FieldKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            FieldKind::Dimension(_) => "dimension",
            FieldKind::Measure(_) => "measure",
            FieldKind::Join(_) => "join",
            FieldKind::View(_) => "view",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    One,
    Many,
    Cross,
}

impl JoinKind {
    pub fn relationship(self) -> &'static str {
        match self {
            JoinKind::One => "one",
            JoinKind::Many => "many",
            JoinKind::Cross => "cross",
        }
    }
}

#[derive(Debug, Clone)]
pub struct JoinDef {
    pub kind: JoinKind,
    pub source: Rc<SourceDef>,
    /// The ON condition, relative to the parent source; the joined source's
    /// fields are under the join's name. `None` joins every row.
    pub condition: Option<Expr>,
}

/// A view as written; it is translated against the source it runs on.
#[derive(Debug, Clone)]
pub struct ViewDef {
    pub view: ast::ViewExpr,
    pub annotations: Vec<String>,
}

/// A translated query: a source and its stages.
#[derive(Debug, Clone)]
pub struct Query {
    pub stages: Vec<Stage>,
    pub annotations: Vec<String>,
}

impl Query {
    pub fn last_stage(&self) -> &Stage {
        self.stages.last().expect("a query has at least one stage")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// `group_by` / `aggregate`: one row per group.
    Reduce,
    /// `select`: one row per source row.
    Project,
    /// `index:`: one row per field and value, for search.
    Index,
}

/// The fields an `index:` stage lists, and how rows are weighted.
#[derive(Debug, Clone)]
pub struct IndexSpec {
    /// Field paths as written (`carriers.nickname`) with their values.
    pub fields: Vec<(String, Expr)>,
    /// The `by` measure; rows are counted without one.
    pub weight: Option<Expr>,
}

/// How a query wrote one output field.
#[derive(Debug, Clone)]
pub struct DrillOrigin {
    /// The source text of its expression or reference.
    pub code: String,
    /// The path steps when it is a reference to a field, such as
    /// `["carriers", "nickname"]`.
    pub reference: Option<Vec<String>>,
}

/// A `where:` condition of a query as written.
#[derive(Debug, Clone)]
pub struct DrillFilter {
    pub code: String,
    /// The named view or nest it was written in.
    pub view: Option<String>,
}

/// One stage of a query pipeline, or the body of a nest.
#[derive(Debug, Clone)]
pub struct Stage {
    pub source: Rc<SourceDef>,
    pub kind: StageKind,
    pub fields: Vec<OutputField>,
    pub filters: Vec<Expr>,
    pub having: Vec<Expr>,
    /// Output positions (0-based) with a descending flag.
    pub order_by: Vec<(usize, bool)>,
    /// Positions in `order_by` whose `order_by:` item states no direction,
    /// which the result's metadata shows without one.
    pub order_unstated: Vec<usize>,
    /// How each `group_by:`, `select:` and `aggregate:` output was written,
    /// by output name, for the result's drill metadata.
    pub drill_origins: Vec<(String, DrillOrigin)>,
    /// The query's own `where:` conditions, for the result's drill metadata.
    pub drill_filters: Vec<DrillFilter>,
    pub limit: Option<u64>,
    pub annotations: Vec<String>,
    /// Set for [`StageKind::Index`] stages.
    pub index: Option<IndexSpec>,
    /// `sample:` as DuckDB's sample size, such as `5000` or `10%`.
    pub sample: Option<String>,
    /// The time zone in which timestamps are truncated and extracted, and
    /// timestamp literals are read; UTC when unset.
    pub timezone: Option<String>,
    /// For the last stage of a nest with several stages, the stages before
    /// it; its source is their output.
    pub preceding: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub struct OutputField {
    pub name: String,
    pub value: OutputValue,
    pub annotations: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum OutputValue {
    /// A `group_by` or `select` value.
    Dimension(Expr),
    Aggregate(Expr),
    /// A `calculate` value, evaluated over the output rows.
    Calculate(Expr),
    Nest(Box<Stage>),
}

impl OutputField {
    pub fn data_type(&self) -> DataType {
        match &self.value {
            OutputValue::Dimension(e) | OutputValue::Aggregate(e) | OutputValue::Calculate(e) => {
                e.ty.clone()
            }
            OutputValue::Nest(stage) => DataType::Array(Box::new(stage.record_type())),
        }
    }

    pub fn is_aggregate(&self) -> bool {
        matches!(self.value, OutputValue::Aggregate(_))
    }
}

impl Stage {
    /// Returns how many SQL stages the reference compiles this stage into:
    /// one, plus one per level of nesting, and at least two when the stage
    /// is an index or uses `all()` or `exclude()`. The reference names an
    /// unnamed result after its last SQL stage.
    pub fn reference_sql_stage_count(&self) -> usize {
        let mut extra = self.nest_depth();
        let ungrouped = self.fields.iter().any(|field| match &field.value {
            OutputValue::Aggregate(expr) | OutputValue::Dimension(expr) => {
                let mut found = false;
                expr.visit(&mut |e| found |= matches!(e.kind, ExprKind::Ungrouped { .. }));
                found
            }
            OutputValue::Calculate(_) | OutputValue::Nest(_) => false,
        });
        if self.kind == StageKind::Index || ungrouped {
            extra = extra.max(1);
        }
        1 + extra
    }

    /// Returns the deepest nesting below this stage, counting each stage
    /// of a nest's pipeline as a level.
    fn nest_depth(&self) -> usize {
        self.fields
            .iter()
            .filter_map(|field| match &field.value {
                OutputValue::Nest(nest) => Some(1 + nest.preceding.len() + nest.nest_depth()),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    pub fn record_type(&self) -> DataType {
        DataType::Record(
            self.fields
                .iter()
                .map(|f| (f.name.clone(), f.data_type()))
                .collect(),
        )
    }

    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    pub fn nests(&self) -> impl Iterator<Item = &Stage> {
        self.fields.iter().filter_map(|f| match &f.value {
            OutputValue::Nest(stage) => Some(&**stage),
            _ => None,
        })
    }
}
