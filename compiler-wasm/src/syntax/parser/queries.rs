//! Views and query stages: `{ group_by: ... }`, named views, refinements
//! with `+`, pipelines with `->`, and the clauses of a stage.

use super::recovery::Block;
use super::{ast, Parser};
use crate::syntax::lexer::TokenKind;

impl<'a> Parser<'a> {
    /// Malloy's `vExpr`: segments joined by `->`.
    pub(super) fn view_expr(&mut self) -> Option<ast::ViewExpr> {
        let first = self.view_segment()?;
        if !self.at(&TokenKind::Arrow) {
            return Some(first);
        }
        let mut stages = vec![first];
        while self.eat(&TokenKind::Arrow) {
            stages.push(self.view_segment()?);
        }
        let span = stages[0].span.to(stages[stages.len() - 1].span);
        Some(ast::ViewExpr {
            kind: ast::ViewExprKind::Pipeline(stages),
            span,
        })
    }

    /// Malloy's `segExpr`: a stage or a view name, refined with `+`.
    pub(super) fn view_segment(&mut self) -> Option<ast::ViewExpr> {
        if !self.enter() {
            return None;
        }
        let result = self.view_segment_inner();
        self.leave();
        result
    }

    fn view_segment_inner(&mut self) -> Option<ast::ViewExpr> {
        let mut view = self.view_primary()?;
        while self.at(&TokenKind::Plus) {
            self.bump();
            let refinement = self.view_primary()?;
            view = ast::ViewExpr {
                span: view.span.to(refinement.span),
                kind: ast::ViewExprKind::Refine {
                    base: Box::new(view),
                    refinement: Box::new(refinement),
                },
            };
        }
        Some(view)
    }

    fn view_primary(&mut self) -> Option<ast::ViewExpr> {
        match self.kind() {
            TokenKind::LBrace => {
                let body = self.query_body()?;
                Some(ast::ViewExpr {
                    span: body.span,
                    kind: ast::ViewExprKind::Stage(body),
                })
            }
            TokenKind::LParen => {
                self.bump();
                let view = self.view_expr();
                self.expect(&TokenKind::RParen, ")");
                view
            }
            TokenKind::Word | TokenKind::QuotedIdent(_) if !self.is_keyword_colon_at(0) => {
                let name = self.name()?;
                // TODO: a dotted view path (`join_name.view`) keeps only
                // its first step, because the AST names views by one
                // identifier.
                if self.at(&TokenKind::Dot) && self.is_name_at(1) {
                    let span = self.span();
                    self.error("a view must be named by a single identifier", span);
                    self.path();
                }
                Some(ast::ViewExpr {
                    span: name.span,
                    kind: ast::ViewExprKind::Named(name),
                })
            }
            _ => {
                self.error_unexpected();
                None
            }
        }
    }

    /// `{ clause ... }`: the statements of one query stage.
    pub(super) fn query_body(&mut self) -> Option<ast::QueryBody> {
        let start = self.span();
        if !self.enter() {
            return None;
        }
        self.bump();
        let mut statements = Vec::new();
        while !self.at_eof() && !self.at(&TokenKind::RBrace) && !self.at_statement_start(0) {
            let before = self.pos;
            if !self.eat(&TokenKind::Semi) {
                if let Some(statement) = self.query_statement() {
                    statements.push(statement);
                }
            }
            if self.pos == before {
                self.bump();
            }
        }
        self.expect(&TokenKind::RBrace, "}");
        self.leave();
        Some(ast::QueryBody {
            statements,
            span: start.to(self.prev_span()),
            view: None,
        })
    }

    fn query_statement(&mut self) -> Option<ast::QueryStatement> {
        let start = self.span();
        let annotations = self.annotations();
        if matches!(self.kind(), TokenKind::RBrace | TokenKind::Eof) {
            return None;
        }
        let Some(keyword) = self
            .clause_keyword_at(0)
            .filter(|_| self.at_clause_start(0))
        else {
            self.error_statement_expected(Block::Query);
            return None;
        };
        let keyword_span = self.span();
        self.bump();
        self.bump();
        use ast::QueryStatementKind as Kind;
        let kind = match keyword.as_str() {
            "group_by" => Kind::GroupBy(self.query_fields("group_by")),
            "aggregate" => Kind::Aggregate(self.query_fields("aggregate")),
            "select" | "project" => Kind::Select(self.query_fields("select")),
            "calculate" => Kind::Calculate(self.query_fields("calculate")),
            "nest" => Kind::Nest(self.nest_items()),
            "where" => Kind::Where(self.filter_list()),
            "having" => Kind::Having(self.filter_list()),
            "order_by" => Kind::OrderBy(self.order_items()),
            "limit" => Kind::Limit(self.limit_value()?),
            "top" => {
                let value = self.limit_value()?;
                if self.at_word("by") {
                    let span = self.span();
                    self.error("`top: N by ...` is not supported; use `order_by:`", span);
                    self.bump();
                    self.expr();
                }
                Kind::Top(value)
            }
            "index" => self.index_statement(),
            "sample" => Kind::Sample(self.sample_value()?),
            "timezone" => Kind::Timezone(self.string_literal()?),
            "extend" => Kind::Extend(self.source_body()?),
            "partition_by" => Kind::PartitionBy(self.path_list()),
            "declare" => {
                let body_start = self.prev_span();
                let definitions = self.field_definitions();
                Kind::Extend(self.body_of(
                    body_start,
                    ast::SourceStatementKind::Dimensions(definitions),
                ))
            }
            "join_one" | "join_many" | "join_cross" => {
                // A join in a query is the same as the join in `extend: { }`.
                let join_kind = match keyword.as_str() {
                    "join_one" => ast::JoinKind::One,
                    "join_many" => ast::JoinKind::Many,
                    _ => ast::JoinKind::Cross,
                };
                let body_start = keyword_span;
                let joins = self.joins(join_kind);
                Kind::Extend(self.body_of(body_start, joins))
            }
            "grouped_by" | "drill" => {
                // TODO: `grouped_by:` and `drill:` have no place in the AST yet.
                let message = format!("'{keyword}:' is not supported");
                self.error(message, keyword_span);
                self.recover_in_block();
                return None;
            }
            _ => {
                let message = format!("'{keyword}:' is not allowed in a query");
                self.error(message, keyword_span);
                self.recover_in_block();
                return None;
            }
        };
        let codes = match &kind {
            ast::QueryStatementKind::Where(conditions) => conditions
                .iter()
                .map(|condition| self.text_of(condition.span).to_string())
                .collect(),
            _ => Vec::new(),
        };
        Some(ast::QueryStatement {
            annotations,
            kind,
            span: start.to(self.prev_span()),
            codes,
        })
    }

    /// Wraps one source statement written directly in a query into the
    /// `extend: { }` body it stands for.
    fn body_of(
        &self,
        start: crate::diagnostics::Span,
        kind: ast::SourceStatementKind,
    ) -> ast::SourceBody {
        let span = start.to(self.prev_span());
        ast::SourceBody {
            statements: vec![ast::SourceStatement {
                annotations: Vec::new(),
                kind,
                span,
            }],
            span,
        }
    }

    /// Parses the whole number after `limit:` or `top:`.
    fn limit_value(&mut self) -> Option<ast::LimitValue> {
        if self.at(&TokenKind::Number) {
            let token = self.bump();
            let text = self.token_text(&token);
            if let Ok(value) = text.parse::<u64>() {
                return Some(ast::LimitValue {
                    value,
                    span: token.span,
                });
            }
            self.error(format!("missing a number before '{text}'"), token.span);
            return None;
        }
        let message = format!("missing a number before {}", self.describe_current());
        let span = self.span();
        self.error(message, span);
        if !matches!(
            self.kind(),
            TokenKind::RBrace | TokenKind::Semi | TokenKind::Eof
        ) && !self.at_clause_start(0)
        {
            self.bump();
        }
        None
    }

    /// Parses `1000`, `10%`, `true` or `false` after `sample:`. A
    /// percentage is kept as a number whose text ends in `%`.
    fn sample_value(&mut self) -> Option<ast::Expr> {
        let span = self.span();
        if self.at(&TokenKind::Number) {
            let token = self.bump();
            let mut text = self.token_text(&token).to_string();
            let mut span = token.span;
            if self.at(&TokenKind::Percent) {
                span = span.to(self.bump().span);
                text.push('%');
            }
            return Some(ast::Expr {
                kind: ast::ExprKind::Number(text),
                span,
            });
        }
        for (word, value) in [("true", true), ("false", false)] {
            if self.eat_word(word) {
                return Some(ast::Expr {
                    kind: ast::ExprKind::Boolean(value),
                    span,
                });
            }
        }
        let message = format!("missing a number before {}", self.describe_current());
        self.error(message, span);
        None
    }

    /// Parses the items of `group_by:`, `aggregate:`, `select:` or
    /// `calculate:`.
    fn query_fields(&mut self, clause: &str) -> Vec<ast::QueryField> {
        let list_start = self.pos;
        let fields = self.list(
            |p| {
                let n = p.annotations_ahead(0);
                (p.is_name_at(n) && !p.is_keyword_colon_at(n) && !p.is_word_at(n, "as"))
                    || matches!(p.kind_at(n), TokenKind::Star | TokenKind::StarStar)
            },
            |p| p.query_field(clause),
        );
        if fields.is_empty() && self.pos == list_start {
            self.error_unexpected();
        }
        fields
    }

    fn query_field(&mut self, clause: &str) -> Option<ast::QueryField> {
        let start = self.span();
        let mut annotations = self.annotations();
        let kind = if matches!(self.kind(), TokenKind::Star | TokenKind::StarStar) {
            self.wildcard(None)
        } else if self.is_name_at(0) && self.is_word_at(1, "is") {
            let name = self.name()?;
            self.bump();
            annotations.extend(self.annotations());
            let expr = self.definition_expr();
            ast::QueryFieldKind::Definition { name, expr }
        } else {
            let reserved_start = self.is_reserved_word_at(0);
            let path = self.path()?;
            if self.at(&TokenKind::Dot)
                && matches!(self.kind_at(1), TokenKind::Star | TokenKind::StarStar)
            {
                self.bump();
                self.wildcard(Some(path))
            } else if self.at(&TokenKind::LParen) || self.at(&TokenKind::Bang) {
                // Only `path.aggregate()` may be written without a name.
                let expr = self.expr_continuing_path(path);
                if let Some(argument) = aggregate_argument(&expr) {
                    let message =
                        format!("unexpected '{}', expected ')'", self.text_of(argument.span));
                    self.error(message, argument.span);
                    return None;
                }
                if !is_reference_aggregate(&expr) {
                    let message = if clause == "aggregate" {
                        "'aggregate:' entries must include a name (ex: `some_name is count()`)"
                            .to_string()
                    } else {
                        format!("'{clause}:' entries must include a name (ex: `some_name is expression`)")
                    };
                    self.error(message, expr.span);
                    return None;
                }
                ast::QueryFieldKind::Expression(expr)
            } else {
                if reserved_start {
                    let word = &path.steps[0];
                    let message = format!(
                        "'{0}' is a reserved word, so to use it as a name you must quote it: `{0}`",
                        word.name
                    );
                    self.error(message, word.span);
                } else if path.steps.len() > 1 {
                    self.check_aggregate_has_call(&path);
                }
                ast::QueryFieldKind::Reference(path)
            }
        };
        let code = match &kind {
            ast::QueryFieldKind::Definition { expr, .. }
            | ast::QueryFieldKind::Expression(expr) => self.text_of(expr.span).to_string(),
            ast::QueryFieldKind::Reference(path) => self.text_of(path.span).to_string(),
            ast::QueryFieldKind::Wildcard { .. } => String::new(),
        };
        Some(ast::QueryField {
            annotations,
            kind,
            span: start.to(self.prev_span()),
            code,
        })
    }

    /// Parses the name in an `order_by:` item. Only an output field's plain
    /// name is accepted, and the reference reports anything else under
    /// `order-by-bad-reference`.
    fn order_name(&mut self) -> Option<ast::OrderKey> {
        let word = self.text_at(0);
        let reserved = self.is_reserved_word_at(0);
        let direction_word = self.at_word("asc") || self.at_word("desc");
        let span = self.span();
        let path = self.path()?;
        let valid = !direction_word && path.steps.len() == 1 && !reserved;
        if !valid && !direction_word {
            // The direction of a rejected item is still part of it.
            let _ = self.eat_word("asc") || self.eat_word("desc");
        }
        if direction_word {
            // `asc` and `desc` end an item, so here they stand alone.
            let message = format!(
                "'{word}' is a reserved word, so to use it as a name you must quote it: `{word}`"
            );
            self.error(message, span);
            return None;
        }
        if path.steps.len() > 1 {
            let written: Vec<&str> = path.steps.iter().map(|step| step.name.as_str()).collect();
            let last = written[written.len() - 1];
            let message = format!(
                "order_by takes the name of a field in the query output, not a path ('{}'). To order by '{last}', make it an output field and order by its name: {last}.",
                written.join(".")
            );
            self.error_with_code("order-by-bad-reference", message, path.span);
            return None;
        }
        if reserved {
            let message = format!(
                "'{word}' is a reserved word, so to order by it you must quote it: `{word}`"
            );
            self.error_with_code("order-by-bad-reference", message, span);
            return None;
        }
        Some(ast::OrderKey::Name(path))
    }

    /// Parses `*`, `**` or `prefix.*`, with an optional `{ except: a, b }`.
    fn wildcard(&mut self, prefix: Option<ast::Path>) -> ast::QueryFieldKind {
        let double = self.bump().kind == TokenKind::StarStar;
        let mut except = Vec::new();
        if self.at(&TokenKind::LBrace) && self.at_keyword_colon(1, &["except"]) {
            self.bump();
            while self.at_keyword_colon(0, &["except"]) || self.eat(&TokenKind::Comma) {
                if self.is_keyword_colon_at(0) {
                    self.bump();
                    self.bump();
                }
                except.extend(self.list(
                    |p| p.is_name_at(0) && !p.is_keyword_colon_at(0),
                    |p| p.name(),
                ));
            }
            self.expect(&TokenKind::RBrace, "}");
        }
        ast::QueryFieldKind::Wildcard {
            prefix,
            double,
            except,
        }
    }

    fn index_statement(&mut self) -> ast::QueryStatementKind {
        let list_start = self.pos;
        let fields = self.list(
            |p| {
                (p.is_name_at(0) && !p.is_keyword_colon_at(0) && !p.at_word("by"))
                    || matches!(p.kind(), TokenKind::Star | TokenKind::StarStar)
            },
            |p| {
                let start = p.span();
                let kind = if matches!(p.kind(), TokenKind::Star | TokenKind::StarStar) {
                    p.wildcard(None)
                } else {
                    let path = p.reference_path()?;
                    if p.at(&TokenKind::Dot)
                        && matches!(p.kind_at(1), TokenKind::Star | TokenKind::StarStar)
                    {
                        p.bump();
                        p.wildcard(Some(path))
                    } else {
                        ast::QueryFieldKind::Reference(path)
                    }
                };
                Some(ast::QueryField {
                    annotations: Vec::new(),
                    kind,
                    span: start.to(p.prev_span()),
                    code: String::new(),
                })
            },
        );
        if fields.is_empty() && self.pos == list_start {
            self.error_unexpected();
        }
        let by = if self.eat_word("by") {
            self.reference_path()
        } else {
            None
        };
        ast::QueryStatementKind::Index { fields, by }
    }

    fn nest_items(&mut self) -> Vec<ast::NestItem> {
        let list_start = self.pos;
        let items = self.list(
            |p| {
                let n = p.annotations_ahead(0);
                (p.is_name_at(n) && !p.is_keyword_colon_at(n)) || p.kind_at(n) == &TokenKind::LBrace
            },
            |p| {
                let start = p.span();
                let mut annotations = p.annotations();
                let mut name = None;
                if p.is_name_at(0) && p.is_word_at(1, "is") {
                    name = p.name();
                    p.bump();
                    annotations.extend(p.annotations());
                }
                let view = p.view_expr()?;
                Some(ast::NestItem {
                    annotations,
                    name,
                    view,
                    span: start.to(p.prev_span()),
                })
            },
        );
        if items.is_empty() && self.pos == list_start {
            self.error_unexpected();
        }
        items
    }

    fn order_items(&mut self) -> Vec<ast::OrderItem> {
        let list_start = self.pos;
        let items = self.list(
            |p| (p.is_name_at(0) && !p.is_keyword_colon_at(0)) || p.at(&TokenKind::Number),
            |p| {
                let start = p.span();
                let field = if p.at(&TokenKind::Number) {
                    let token = p.bump();
                    let text = p.token_text(&token);
                    match text.parse::<u64>() {
                        Ok(position) => ast::OrderKey::Position(position, token.span),
                        Err(_) => {
                            p.error(
                                format!("expected a column number, not '{text}'"),
                                token.span,
                            );
                            return None;
                        }
                    }
                } else {
                    p.order_name()?
                };
                let direction = if p.eat_word("asc") {
                    Some(ast::OrderDirection::Asc)
                } else if p.eat_word("desc") {
                    Some(ast::OrderDirection::Desc)
                } else {
                    None
                };
                Some(ast::OrderItem {
                    field,
                    direction,
                    span: start.to(p.prev_span()),
                })
            },
        );
        if items.is_empty() && self.pos == list_start {
            self.error_unexpected();
        }
        items
    }
}

/// Checks whether `expr` is `path.sum()` or a similar aggregate method
/// with no arguments called on a path. Malloy accepts no other unnamed
/// expression in a field list.
fn is_reference_aggregate(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ast::ExprKind::MethodCall {
            receiver,
            method,
            arguments,
        } => {
            matches!(receiver.kind, ast::ExprKind::Path(_))
                && arguments.is_empty()
                && is_aggregate_name(&method.name)
        }
        _ => false,
    }
}

/// Returns the first argument of `path.sum(x)`, which Malloy does not
/// accept without a name.
fn aggregate_argument(expr: &ast::Expr) -> Option<&ast::Expr> {
    match &expr.kind {
        ast::ExprKind::MethodCall {
            receiver,
            method,
            arguments,
        } if matches!(receiver.kind, ast::ExprKind::Path(_)) && is_aggregate_name(&method.name) => {
            arguments.first()
        }
        _ => None,
    }
}

fn is_aggregate_name(name: &str) -> bool {
    ["sum", "count", "avg", "min", "max"]
        .iter()
        .any(|aggregate| name.eq_ignore_ascii_case(aggregate))
}
