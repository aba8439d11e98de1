//! The abstract syntax tree of a Malloy document.
//!
//! The tree is what the text says, before any name is resolved: a path such
//! as `dep_time.year` is a [`ExprKind::Path`] whether its last step is a
//! field, a join or a time truncation. Every node carries the [`Span`] of
//! the text it came from, so later stages can point at it.

use crate::diagnostics::Span;

/// A name as written, with its span. Backquoted names are stored unquoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A dotted path such as `carriers.nickname` or `dep_time.year`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub steps: Vec<Ident>,
    pub span: Span,
}

/// One tagline (`# bar_chart`, `#" doc`, `## renderer_legacy`), stored as
/// written including its marker and ending in `\n`.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub text: String,
    pub span: Span,
}

/// A whole `.malloy` file, or the text of a query request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `## ...` lines that apply to the whole model.
    ModelAnnotation(Annotation),
    /// `import "file.malloy"` or `import { a, b is c } from "file.malloy"`.
    Import(Import),
    /// `source: a is ..., b is ...`; annotations before the keyword apply
    /// to every definition of the statement.
    Sources {
        annotations: Vec<Annotation>,
        definitions: Vec<SourceDefinition>,
    },
    /// `query: a is ...`.
    Queries {
        annotations: Vec<Annotation>,
        definitions: Vec<QueryDefinition>,
    },
    /// `run: ...`.
    Run {
        annotations: Vec<Annotation>,
        query: QueryExpr,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The file as written, relative to the importing file.
    pub url: StringLiteral,
    /// Empty for `import "file"`, which imports every exported name.
    pub names: Vec<ImportItem>,
}

/// `name` or `alias is name` inside `import { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportItem {
    pub alias: Option<Ident>,
    pub name: Ident,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDefinition {
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    /// `source: s(p1::number, p2 is 3) is ...`.
    pub parameters: Vec<Parameter>,
    pub source: SourceExpr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: Ident,
    pub type_name: Option<Ident>,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryDefinition {
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub query: QueryExpr,
    pub span: Span,
}

/// A string literal after escapes are processed.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLiteral {
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceExpr {
    pub kind: SourceExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceExprKind {
    /// `duckdb.table('data/x.parquet')`.
    Table {
        connection: Ident,
        table: StringLiteral,
    },
    /// `duckdb.sql("select ...")`.
    Sql {
        connection: Ident,
        sql: StringLiteral,
    },
    /// A source or query named by an identifier, with arguments when the
    /// source has parameters: `flights` or `flights(min_year is 2003)`.
    Named {
        name: Ident,
        arguments: Vec<Argument>,
    },
    /// A query used as a source: `flights -> { ... }`.
    Query(Box<QueryExpr>),
    /// `base extend { ... }`.
    Extend {
        base: Box<SourceExpr>,
        body: SourceBody,
    },
    /// `base include { ... }`.
    Include {
        base: Box<SourceExpr>,
        items: Vec<IncludeItem>,
    },
}

/// `name is value` in the argument list of a parameterized source.
#[derive(Debug, Clone, PartialEq)]
pub struct Argument {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

/// One line of an `include { ... }` block: `public: a, b`, `private: c`,
/// `except: d`, `*`, or plain names.
#[derive(Debug, Clone, PartialEq)]
pub struct IncludeItem {
    pub access: Option<Ident>,
    pub fields: Vec<Path>,
    pub except: bool,
    pub span: Span,
}

/// The statements between the braces of `extend { ... }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceBody {
    pub statements: Vec<SourceStatement>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatement {
    /// Annotations written before the statement's keyword; they apply to
    /// every item of the statement.
    pub annotations: Vec<Annotation>,
    pub kind: SourceStatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatementKind {
    PrimaryKey(Path),
    Dimensions(Vec<FieldDefinition>),
    Measures(Vec<FieldDefinition>),
    /// `rename: new_name is old_name`.
    Renames(Vec<Rename>),
    /// `except: a, b`.
    Except(Vec<Path>),
    /// `accept: a, b`.
    Accept(Vec<Path>),
    Joins {
        kind: JoinKind,
        joins: Vec<Join>,
    },
    Views(Vec<ViewDefinition>),
    /// `where: ...` on a source filters every query of it.
    Where(Vec<Expr>),
    Timezone(StringLiteral),
}

/// `name is expr`, with the annotations written before that item.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub expr: Expr,
    pub span: Span,
    /// The source text of `expr`, which result metadata quotes.
    pub code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rename {
    pub annotations: Vec<Annotation>,
    pub new_name: Ident,
    pub old_name: Path,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    One,
    Many,
    Cross,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub annotations: Vec<Annotation>,
    /// The join's name; with `join_one: carriers with carrier` the name is
    /// `carriers` and `source` is `None`.
    pub name: Ident,
    /// The joined source, when written as `name is <source>`.
    pub source: Option<SourceExpr>,
    pub condition: Option<JoinCondition>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JoinCondition {
    /// `with foreign_key`: equal to the joined source's primary key.
    With(Expr),
    /// `on <boolean expression>`.
    On(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewDefinition {
    pub annotations: Vec<Annotation>,
    pub name: Ident,
    pub view: ViewExpr,
    pub span: Span,
}

/// A query: a source followed by stages, or a named query, possibly refined.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryExpr {
    pub kind: QueryExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryExprKind {
    /// `source -> view -> view ...`. The source may itself be a named query,
    /// in which case the stages continue its pipeline.
    Pipeline {
        source: SourceExpr,
        stages: Vec<ViewExpr>,
    },
    /// A query named by an identifier: `run: top_carriers`.
    Named(Ident),
    /// `query + { ... }`: a named query with a refinement of its last stage.
    Refine {
        base: Box<QueryExpr>,
        refinement: ViewExpr,
    },
    /// `query -> view`: more stages after a query.
    Chain {
        base: Box<QueryExpr>,
        stages: Vec<ViewExpr>,
    },
}

/// A view: a stage written inline, a named view, a refinement, or a
/// pipeline of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewExpr {
    pub kind: ViewExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ViewExprKind {
    /// `{ group_by: ... }`.
    Stage(QueryBody),
    /// A view of the source by name, such as `by_carrier`.
    Named(Ident),
    /// `base + { ... }` or `base + other_view`.
    Refine {
        base: Box<ViewExpr>,
        refinement: Box<ViewExpr>,
    },
    /// `a -> b -> ...` inside a view definition or nest.
    Pipeline(Vec<ViewExpr>),
}

/// The statements of one query stage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryBody {
    pub statements: Vec<QueryStatement>,
    pub span: Span,
    /// The named view or nest the body was written in. The parser leaves
    /// it unset; translation sets it when it expands a view, for the
    /// `filter_view` of drill metadata.
    pub view: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryStatement {
    pub annotations: Vec<Annotation>,
    pub kind: QueryStatementKind,
    pub span: Span,
    /// The source text of each condition of a `where:`, which drill
    /// metadata quotes; empty for other statements.
    pub codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryStatementKind {
    GroupBy(Vec<QueryField>),
    Aggregate(Vec<QueryField>),
    /// `select:`, also written `project:`.
    Select(Vec<QueryField>),
    Calculate(Vec<QueryField>),
    Nest(Vec<NestItem>),
    Where(Vec<Expr>),
    Having(Vec<Expr>),
    OrderBy(Vec<OrderItem>),
    Limit(LimitValue),
    /// `top: 10`.
    Top(LimitValue),
    /// `index: a, b.*` with an optional `by weight`.
    Index {
        fields: Vec<QueryField>,
        by: Option<Path>,
    },
    /// `sample: 1000`, `sample: 10%`, `sample: true`. A percentage is an
    /// [`ExprKind::Number`] whose text ends in `%`.
    Sample(Expr),
    Timezone(StringLiteral),
    /// `extend: { dimension: ... }` inside a query.
    Extend(SourceBody),
    /// `partition_by: a, b` inside a calculation's refinement.
    PartitionBy(Vec<Path>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LimitValue {
    pub value: u64,
    pub span: Span,
}

/// One item of `group_by:`, `aggregate:`, `select:`, `calculate:` or
/// `index:`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryField {
    pub annotations: Vec<Annotation>,
    pub kind: QueryFieldKind,
    pub span: Span,
    /// The source text of the field's expression or reference (empty for
    /// wildcards), which result metadata quotes as the field's `code`.
    pub code: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryFieldKind {
    /// `name is expr`.
    Definition { name: Ident, expr: Expr },
    /// A field of the source by path, such as `carriers.nickname`.
    Reference(Path),
    /// `*`, `join.*` or `**`, with an optional `except` list in
    /// `select: * except(...)`-style forms.
    Wildcard {
        prefix: Option<Path>,
        double: bool,
        except: Vec<Ident>,
    },
    /// An unnamed expression other than a plain path, such as
    /// `aggregate: distance.avg()`. Malloy allows only aggregate method
    /// calls on a path here, and the translator reports the rest.
    Expression(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NestItem {
    pub annotations: Vec<Annotation>,
    /// `name is <view>`; `None` when the nest names a view directly
    /// (`nest: by_carrier` or `nest: by_carrier + { limit: 3 }`).
    pub name: Option<Ident>,
    pub view: ViewExpr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: OrderKey,
    pub direction: Option<OrderDirection>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrderKey {
    Name(Path),
    /// 1-based output column number.
    Position(u64, Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number as written, so that large integers and decimals keep their
    /// exact digits.
    Number(String),
    String(String),
    /// `r'...'`, a regular expression literal.
    Regex(String),
    Boolean(bool),
    Null,
    /// `@2003`, `@2003-Q2`, `@2003-04-05 10:30`: the text after `@`.
    Time(String),
    /// `f'...'`: the text of a filter expression, parsed by a later stage
    /// according to the type of the value it is applied to.
    Filter(String),
    /// A field, join, parameter or time truncation by path.
    Path(Path),
    /// `-x`.
    Negate(Box<Expr>),
    /// `not x`.
    Not(Box<Expr>),
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `x is null` / `x is not null`.
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `x in (a, b)` / `x not in (a, b)`.
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `x::number` (safe: false) or `x:::number` (safe: true). `type_name`
    /// is a Malloy type or a quoted SQL type.
    Cast {
        expr: Box<Expr>,
        type_name: CastType,
        safe: bool,
    },
    /// `subject ? condition`: applies a partial comparison, alternation,
    /// range or filter to the subject.
    Apply {
        subject: Box<Expr>,
        condition: Box<Expr>,
    },
    /// A comparison with its left side missing: `> 5`, `= 'x'`, `~ r'a.*'`.
    /// Valid only where a subject is implied (after `?`, in `pick ... when`).
    Partial { op: BinaryOp, right: Box<Expr> },
    /// `a | b` (any of) and `a & b` (all of) between partial conditions.
    Alternation {
        op: AlternationOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    /// `a to b`: a half-open range.
    Range { from: Box<Expr>, to: Box<Expr> },
    /// `start for 3 days`: a range given by a start and a duration.
    ForRange {
        start: Box<Expr>,
        length: Box<Expr>,
        unit: Ident,
    },
    /// `3 days`, `n hours`.
    Duration { amount: Box<Expr>, unit: Ident },
    /// `pick a when c ... else d`. With a subject (`x ? pick ... when < 5`)
    /// the `when` conditions may be partial.
    Pick {
        branches: Vec<PickBranch>,
        otherwise: Option<Box<Expr>>,
    },
    /// `case when c then v ... else d end`, and `case x when 1 then ...`.
    Case {
        subject: Option<Box<Expr>>,
        branches: Vec<(Expr, Expr)>,
        otherwise: Option<Box<Expr>>,
    },
    /// `name(args)`, `name!(args)`, `name!type(args)`.
    Call(Box<Call>),
    /// `path.sum(x)`, `x.sum()`, `join.count()`: an aggregate or analytic
    /// method called on a path.
    MethodCall {
        receiver: Box<Expr>,
        method: Ident,
        arguments: Vec<Expr>,
    },
    /// `expr { where: ... }` and calculations with `{ partition_by: ... }`.
    Refine {
        expr: Box<Expr>,
        body: QueryBody,
    },
    /// `(expr).month` or `@2001-02-03.week`: a time truncation of an
    /// expression that is not a path. On a path, such as `dep_time.month`,
    /// the truncation is the path's last step instead.
    Truncate { expr: Box<Expr>, unit: Ident },
    /// `(x)`, kept so ranges can point at the parentheses.
    Parens(Box<Expr>),
    /// `[a, b]` array literal.
    Array(Vec<Expr>),
    /// `{ a is 1, b is 'x' }` record literal.
    Record(Vec<RecordItem>),
    /// Text that failed to parse, kept so that later stages can skip it
    /// without reporting the same problem again. (`all(...)` and
    /// `exclude(...)` are ordinary [`ExprKind::Call`]s.)
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PickBranch {
    pub value: Expr,
    /// The condition; partial (`< 5`) when the pick has a subject.
    pub when: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordItem {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: Ident,
    /// `Some` for `name!(...)` and `name!type(...)`: a raw SQL function.
    pub raw: Option<RawCall>,
    /// `count(distinct x)`.
    pub distinct: bool,
    pub arguments: Vec<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawCall {
    /// The declared return type of `name!type(...)`.
    pub return_type: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CastType {
    /// `string`, `number`, `boolean`, `date`, `timestamp`, ...
    Malloy(Ident),
    /// `"VARCHAR(10)"`: a SQL type written as a string.
    Sql(StringLiteral),
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
    /// `~`: LIKE with a string, regular expression match with `r'...'`.
    Match,
    /// `!~`.
    NotMatch,
    And,
    Or,
    /// `??`.
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlternationOp {
    Any,
    All,
}
