//! Source expressions (`duckdb.table(...)`, `name extend { ... }`,
//! `query -> { ... }` used as a source) and the statements of source
//! bodies: fields, joins, views, renames and filters.

use super::recovery::Block;
use super::{ast, Parser};
use crate::diagnostics::Span;
use crate::syntax::lexer::TokenKind;

/// A source or a query: Malloy writes both with the same operators, and
/// which one an expression is becomes clear only from its operators.
pub(super) enum SourceOrQuery {
    Source(ast::SourceExpr),
    Query(ast::QueryExpr),
}

impl SourceOrQuery {
    fn span(&self) -> Span {
        match self {
            SourceOrQuery::Source(source) => source.span,
            SourceOrQuery::Query(query) => query.span,
        }
    }

    pub(super) fn into_source(self) -> ast::SourceExpr {
        match self {
            SourceOrQuery::Source(source) => source,
            SourceOrQuery::Query(query) => ast::SourceExpr {
                span: query.span,
                kind: ast::SourceExprKind::Query(Box::new(query)),
            },
        }
    }

    /// Converts to a query. A bare name becomes a named query, and another
    /// source becomes a pipeline with no stages, which the translator
    /// rejects as a query.
    pub(super) fn into_query(self) -> ast::QueryExpr {
        match self {
            SourceOrQuery::Query(query) => query,
            SourceOrQuery::Source(ast::SourceExpr {
                kind: ast::SourceExprKind::Named { name, arguments },
                span,
            }) if arguments.is_empty() => ast::QueryExpr {
                kind: ast::QueryExprKind::Named(name),
                span,
            },
            SourceOrQuery::Source(source) => ast::QueryExpr {
                span: source.span,
                kind: ast::QueryExprKind::Pipeline {
                    source,
                    stages: Vec::new(),
                },
            },
        }
    }
}

impl<'a> Parser<'a> {
    pub(super) fn source_expr(&mut self) -> Option<ast::SourceExpr> {
        self.source_or_query().map(SourceOrQuery::into_source)
    }

    pub(super) fn query_expr(&mut self) -> Option<ast::QueryExpr> {
        self.source_or_query().map(SourceOrQuery::into_query)
    }

    /// Parses Malloy's `sqExpr`: a primary followed by any number of
    /// `-> view`, `+ refinement`, `extend { ... }` and `include { ... }`.
    pub(super) fn source_or_query(&mut self) -> Option<SourceOrQuery> {
        if !self.enter() {
            return None;
        }
        let result = self.source_or_query_inner();
        self.leave();
        result
    }

    fn source_or_query_inner(&mut self) -> Option<SourceOrQuery> {
        let mut current = self.source_primary()?;
        loop {
            let start = current.span();
            if self.at(&TokenKind::Arrow) {
                self.bump();
                let stage = self.view_segment()?;
                current = SourceOrQuery::Query(match current {
                    SourceOrQuery::Source(source) => ast::QueryExpr {
                        span: start.to(stage.span),
                        kind: ast::QueryExprKind::Pipeline {
                            source,
                            stages: vec![stage],
                        },
                    },
                    SourceOrQuery::Query(mut query) => {
                        query.span = start.to(stage.span);
                        match &mut query.kind {
                            ast::QueryExprKind::Pipeline { stages, .. }
                            | ast::QueryExprKind::Chain { stages, .. } => {
                                stages.push(stage);
                                query
                            }
                            _ => ast::QueryExpr {
                                span: query.span,
                                kind: ast::QueryExprKind::Chain {
                                    base: Box::new(query),
                                    stages: vec![stage],
                                },
                            },
                        }
                    }
                });
            } else if self.at(&TokenKind::Plus) {
                self.bump();
                let refinement = self.view_segment()?;
                let base = current.into_query();
                current = SourceOrQuery::Query(ast::QueryExpr {
                    span: start.to(refinement.span),
                    kind: ast::QueryExprKind::Refine {
                        base: Box::new(base),
                        refinement,
                    },
                });
            } else if self.at_word("extend") {
                self.bump();
                let body = self.source_body()?;
                current = SourceOrQuery::Source(ast::SourceExpr {
                    span: start.to(body.span),
                    kind: ast::SourceExprKind::Extend {
                        base: Box::new(current.into_source()),
                        body,
                    },
                });
            } else if self.at_word("include") && self.kind_at(1) == &TokenKind::LBrace {
                self.bump();
                let items = self.include_block();
                current = SourceOrQuery::Source(ast::SourceExpr {
                    span: start.to(self.prev_span()),
                    kind: ast::SourceExprKind::Include {
                        base: Box::new(current.into_source()),
                        items,
                    },
                });
            } else {
                return Some(current);
            }
        }
    }

    fn source_primary(&mut self) -> Option<SourceOrQuery> {
        let start = self.span();
        if self.eat(&TokenKind::LParen) {
            let inner = self.source_or_query();
            self.expect(&TokenKind::RParen, ")");
            return inner;
        }
        if !self.is_name_at(0) {
            self.error_unexpected();
            return None;
        }
        // `connection.table('...')` and `connection.sql('...')`.
        if self.at(&TokenKind::Word)
            && self.kind_at(1) == &TokenKind::Dot
            && (self.is_word_at(2, "table") || self.is_word_at(2, "sql"))
            && self.kind_at(3) == &TokenKind::LParen
        {
            let connection = self.ident()?;
            self.bump();
            let is_table = self.at_word("table");
            self.bump();
            self.bump();
            let text = self.string_literal()?;
            self.expect(&TokenKind::RParen, ")");
            let kind = if is_table {
                ast::SourceExprKind::Table {
                    connection,
                    table: text,
                }
            } else {
                ast::SourceExprKind::Sql {
                    connection,
                    sql: text,
                }
            };
            return Some(SourceOrQuery::Source(ast::SourceExpr {
                kind,
                span: start.to(self.prev_span()),
            }));
        }
        let name = self.name()?;
        let arguments = if self.at(&TokenKind::LParen) {
            self.source_arguments()
        } else {
            Vec::new()
        };
        Some(SourceOrQuery::Source(ast::SourceExpr {
            kind: ast::SourceExprKind::Named { name, arguments },
            span: start.to(self.prev_span()),
        }))
    }

    /// `(name is value, ...)` after the name of a parameterized source.
    fn source_arguments(&mut self) -> Vec<ast::Argument> {
        self.bump();
        let arguments = self.list(
            |p| !matches!(p.kind(), TokenKind::RParen | TokenKind::Eof),
            |p| {
                let start = p.span();
                let mut name = None;
                if p.is_name_at(0) && p.is_word_at(1, "is") {
                    name = p.ident();
                    p.bump();
                }
                let value = p.expr();
                Some(ast::Argument {
                    name,
                    value,
                    span: start.to(p.prev_span()),
                })
            },
        );
        self.expect(&TokenKind::RParen, ")");
        arguments
    }

    /// `{ public: a, b  private: c  except: d  e, f }` after `include`.
    fn include_block(&mut self) -> Vec<ast::IncludeItem> {
        self.bump();
        let mut items = Vec::new();
        while !self.at_eof() && !self.at(&TokenKind::RBrace) {
            let before = self.pos;
            let start = self.span();
            self.annotations();
            if self.eat(&TokenKind::Semi) {
                continue;
            }
            let mut access = None;
            let mut except = false;
            if let Some(keyword) = self.clause_keyword_at(0) {
                if keyword == "except" {
                    except = true;
                } else {
                    access = self.ident();
                }
                if except {
                    self.bump();
                }
                self.bump();
            }
            let fields = self.list(
                |p| (p.is_name_at(0) && !p.is_keyword_colon_at(0)) || p.at(&TokenKind::Star),
                |p| {
                    if p.is_name_at(0) && p.is_word_at(1, "is") {
                        // TODO: `include { new_name is old_name }` has no place in the
                        // AST yet, so it is rejected.
                        let span = p.span();
                        p.error("renaming a field in `include` is not supported; use `rename:` in `extend`", span);
                        p.bump();
                        p.bump();
                    }
                    if p.at(&TokenKind::Star) {
                        let token = p.bump();
                        let star = ast::Ident {
                            name: "*".to_string(),
                            span: token.span,
                        };
                        return Some(ast::Path {
                            span: token.span,
                            steps: vec![star],
                        });
                    }
                    p.reference_path()
                },
            );
            if fields.is_empty() && access.is_none() && !except {
                self.error_unexpected();
                self.recover_in_block();
                if self.pos == before {
                    self.bump();
                }
                continue;
            }
            items.push(ast::IncludeItem {
                access,
                fields,
                except,
                span: start.to(self.prev_span()),
            });
        }
        self.expect(&TokenKind::RBrace, "}");
        items
    }

    /// `{ statements }` after `extend`, or after `extend:` in a query.
    pub(super) fn source_body(&mut self) -> Option<ast::SourceBody> {
        let start = self.span();
        if !self.at(&TokenKind::LBrace) {
            self.error_unexpected();
            return None;
        }
        if !self.enter() {
            return None;
        }
        self.bump();
        let mut statements = Vec::new();
        while !self.at_eof() && !self.at(&TokenKind::RBrace) && !self.at_statement_start(0) {
            let before = self.pos;
            if !self.eat(&TokenKind::Semi) {
                if let Some(statement) = self.source_statement() {
                    statements.push(statement);
                }
            }
            if self.pos == before {
                self.bump();
            }
        }
        self.expect(&TokenKind::RBrace, "}");
        self.leave();
        Some(ast::SourceBody {
            statements,
            span: start.to(self.prev_span()),
        })
    }

    fn source_statement(&mut self) -> Option<ast::SourceStatement> {
        let start = self.span();
        let annotations = self.annotations();
        if matches!(self.kind(), TokenKind::RBrace | TokenKind::Eof) {
            return None;
        }
        let access_label = ["public", "private", "internal"]
            .iter()
            .any(|word| self.at_word(word));
        if access_label && self.at_clause_start(1) {
            // TODO: access labels (`private dimension: ...`) have no place in
            // the AST yet, so they are rejected rather than ignored.
            let message = format!("access label '{}' is not supported", self.text_at(0));
            let span = self.span();
            self.error(message, span);
            self.bump();
        }
        let Some(keyword) = self
            .clause_keyword_at(0)
            .filter(|_| self.at_clause_start(0))
        else {
            self.error_statement_expected(Block::Source);
            return None;
        };
        let keyword_span = self.span();
        self.bump();
        self.bump();
        let kind = match keyword.as_str() {
            "primary_key" => {
                if !self.is_name_at(0) {
                    self.error_missing_name();
                    return None;
                }
                ast::SourceStatementKind::PrimaryKey(self.reference_path()?)
            }
            "dimension" | "declare" => {
                ast::SourceStatementKind::Dimensions(self.field_definitions())
            }
            "measure" => ast::SourceStatementKind::Measures(self.field_definitions()),
            "rename" => ast::SourceStatementKind::Renames(self.renames()),
            "except" => ast::SourceStatementKind::Except(self.path_list()),
            "accept" => ast::SourceStatementKind::Accept(self.path_list()),
            "join_one" => self.joins(ast::JoinKind::One),
            "join_many" => self.joins(ast::JoinKind::Many),
            "join_cross" => self.joins(ast::JoinKind::Cross),
            "view" => ast::SourceStatementKind::Views(self.view_definitions()),
            "where" => ast::SourceStatementKind::Where(self.filter_list()),
            "timezone" => ast::SourceStatementKind::Timezone(self.string_literal()?),
            _ => {
                let message = format!("'{keyword}:' is not allowed in a source");
                self.error(message, keyword_span);
                self.recover_in_block();
                return None;
            }
        };
        Some(ast::SourceStatement {
            annotations,
            kind,
            span: start.to(self.prev_span()),
        })
    }

    /// Checks whether an item of a clause's list starts at the current
    /// token: a name (after any annotations) that does not begin another
    /// clause.
    pub(super) fn at_list_item(&self) -> bool {
        let n = self.annotations_ahead(0);
        self.is_name_at(n) && !self.is_keyword_colon_at(n) && !self.is_word_at(n, "as")
    }

    /// `name is expr` items of `dimension:` and `measure:`.
    pub(super) fn field_definitions(&mut self) -> Vec<ast::FieldDefinition> {
        let list_start = self.pos;
        let definitions = self.list(
            |p| p.at_list_item(),
            |p| {
                let start = p.span();
                let mut annotations = p.annotations();
                let name = p.name()?;
                if !p.expect_is("dimension: name is expression") {
                    p.recover_in_block();
                    return None;
                }
                annotations.extend(p.annotations());
                let expr = p.definition_expr();
                let code = p.text_of(expr.span).to_string();
                Some(ast::FieldDefinition {
                    annotations,
                    name,
                    expr,
                    span: start.to(p.prev_span()),
                    code,
                })
            },
        );
        if definitions.is_empty() && self.pos == list_start {
            self.error_missing_name();
        }
        definitions
    }

    fn renames(&mut self) -> Vec<ast::Rename> {
        self.list(
            |p| p.at_list_item(),
            |p| {
                let start = p.span();
                let annotations = p.annotations();
                let new_name = p.name()?;
                if !p.expect_is("rename: new_name is old_name") {
                    p.recover_in_block();
                    return None;
                }
                let old_name = p.reference_path()?;
                Some(ast::Rename {
                    annotations,
                    new_name,
                    old_name,
                    span: start.to(p.prev_span()),
                })
            },
        )
    }

    pub(super) fn path_list(&mut self) -> Vec<ast::Path> {
        let list_start = self.pos;
        let paths = self.list(|p| p.at_list_item(), |p| p.reference_path());
        if paths.is_empty() && self.pos == list_start {
            self.error_missing_name();
        }
        paths
    }

    /// Comma-separated conditions of `where:` and `having:`.
    pub(super) fn filter_list(&mut self) -> Vec<ast::Expr> {
        let mut filters = vec![self.expr()];
        while self.eat(&TokenKind::Comma) {
            if self.at_clause_start(0) || self.at(&TokenKind::RBrace) {
                break;
            }
            filters.push(self.expr());
        }
        filters
    }

    pub(super) fn joins(&mut self, kind: ast::JoinKind) -> ast::SourceStatementKind {
        let list_start = self.pos;
        let joins = self.list(|p| p.at_list_item(), |p| p.join());
        if joins.is_empty() && self.pos == list_start {
            self.error_unexpected();
        }
        ast::SourceStatementKind::Joins { kind, joins }
    }

    /// `name`, `name with key`, `name on cond`, `name is source [with key |
    /// on cond]`.
    fn join(&mut self) -> Option<ast::Join> {
        let start = self.span();
        let mut annotations = self.annotations();
        let name = self.name()?;
        let mut source = None;
        if self.eat_word("is") {
            annotations.extend(self.annotations());
            source = Some(self.source_expr()?);
        } else if self.at(&TokenKind::LParen) {
            // `join_one: s(param is 1) with k` joins the source `s` by its name.
            let arguments = self.source_arguments();
            source = Some(ast::SourceExpr {
                span: name.span.to(self.prev_span()),
                kind: ast::SourceExprKind::Named {
                    name: name.clone(),
                    arguments,
                },
            });
        }
        let join_type = ["left", "right", "full", "inner"]
            .iter()
            .any(|word| self.at_word(word));
        if join_type && (self.is_word_at(1, "with") || self.is_word_at(1, "on")) {
            // TODO: join types (`left`, `right`, `full`, `inner`) have no place
            // in the AST yet, so they are rejected.
            let message = format!("join type '{}' is not supported", self.text_at(0));
            let span = self.span();
            self.error(message, span);
            self.bump();
        }
        let condition = if self.eat_word("with") {
            Some(ast::JoinCondition::With(self.expr()))
        } else if self.eat_word("on") {
            Some(ast::JoinCondition::On(self.expr()))
        } else {
            None
        };
        Some(ast::Join {
            annotations,
            name,
            source,
            condition,
            span: start.to(self.prev_span()),
        })
    }

    fn view_definitions(&mut self) -> Vec<ast::ViewDefinition> {
        if self.at(&TokenKind::LBrace) {
            let span = self.span();
            self.error("'view:' must be followed by '<identifier> is {'", span);
            self.skip_token_or_group();
            return Vec::new();
        }
        self.list(
            |p| p.at_list_item(),
            |p| {
                let start = p.span();
                let mut annotations = p.annotations();
                let name = p.name()?;
                if !p.expect_is("view: name is { group_by: ... }") {
                    p.recover_in_block();
                    return None;
                }
                annotations.extend(p.annotations());
                let view = p.view_expr()?;
                Some(ast::ViewDefinition {
                    annotations,
                    name,
                    view,
                    span: start.to(p.prev_span()),
                })
            },
        )
    }
}
