//! Top-level statements: `source:`, `query:`, `run:`, `import` and model
//! annotations.

use super::recovery::Block;
use super::{ast, Parser};
use crate::diagnostics::Diagnostic;
use crate::syntax::lexer::TokenKind;

impl<'a> Parser<'a> {
    pub(super) fn document(&mut self) -> ast::Document {
        let mut statements = Vec::new();
        while !self.at_eof() {
            let before = self.pos;
            match self.kind() {
                TokenKind::Semi => {
                    self.bump();
                }
                TokenKind::DocAnnotation => {
                    let token = self.bump();
                    let annotation = self.annotation_of(&token);
                    statements.push(ast::Statement {
                        span: token.span,
                        kind: ast::StatementKind::ModelAnnotation(annotation),
                    });
                }
                _ => {
                    if let Some(statement) = self.statement() {
                        statements.push(statement);
                    }
                }
            }
            if self.pos == before {
                self.bump();
            }
        }
        ast::Document { statements }
    }

    /// Parses one statement with the `#` annotations before it.
    fn statement(&mut self) -> Option<ast::Statement> {
        let start = self.span();
        let annotations = self.annotations();
        let orphaned = matches!(self.kind(), TokenKind::DocAnnotation | TokenKind::Eof)
            || self.at_word("import");
        if let (true, Some(first)) = (orphaned, annotations.first()) {
            // The reference rejects `#` lines that precede no source, query or
            // run, with this code and message.
            self.diagnostics.push(Diagnostic::error(
                "orphaned-object-annotation",
                "Object annotation not connected to any object",
                first.span,
            ));
        }
        if matches!(self.kind(), TokenKind::DocAnnotation | TokenKind::Eof) {
            return None;
        }
        if self.at_word("import") {
            let kind = self.import();
            return kind.map(|kind| ast::Statement {
                kind,
                span: start.to(self.prev_span()),
            });
        }
        let keyword = self.clause_keyword_at(0);
        let kind = match keyword.as_deref() {
            Some("source") => {
                self.bump();
                self.bump();
                let definitions = self.source_definitions();
                if self.at(&TokenKind::LBrace) {
                    let span = self.span();
                    self.error(
                        "Unexpected '{' following source expression. Expected: 'extend', 'include', '+' or '->'",
                        span,
                    );
                    self.skip_token_or_group();
                }
                ast::StatementKind::Sources {
                    annotations,
                    definitions,
                }
            }
            Some("query") => {
                self.bump();
                self.bump();
                let definitions = self.query_definitions();
                ast::StatementKind::Queries {
                    annotations,
                    definitions,
                }
            }
            Some("run") => {
                self.bump();
                self.bump();
                let mut annotations = annotations;
                annotations.extend(self.annotations());
                let query = self.query_expr()?;
                ast::StatementKind::Run { annotations, query }
            }
            Some("sql") => {
                let span = self.span();
                self.error("`sql:` statements are not supported; use `connection.sql(\"...\")` in a source", span);
                self.bump();
                self.bump();
                self.recover_to_statement();
                return None;
            }
            _ => {
                self.error_statement_expected(Block::Document);
                return None;
            }
        };
        if !self.at_eof()
            && !self.at_statement_start(0)
            && !matches!(
                self.kind(),
                TokenKind::Semi | TokenKind::Annotation | TokenKind::DocAnnotation
            )
        {
            self.error_unexpected();
            self.recover_to_statement();
        }
        Some(ast::Statement {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    /// `import "file"` or `import { a, b is c } from "file"`.
    fn import(&mut self) -> Option<ast::StatementKind> {
        self.bump();
        let mut names = Vec::new();
        if self.eat(&TokenKind::LBrace) {
            // Unlike most Malloy lists, this one needs its commas.
            loop {
                let Some(first) = self.name() else {
                    self.recover_to_statement();
                    return None;
                };
                let item = if self.eat_word("is") {
                    let Some(name) = self.name() else {
                        self.recover_to_statement();
                        return None;
                    };
                    ast::ImportItem {
                        alias: Some(first),
                        name,
                    }
                } else {
                    ast::ImportItem {
                        alias: None,
                        name: first,
                    }
                };
                names.push(item);
                if !self.eat(&TokenKind::Comma) {
                    break;
                }
            }
            if !self.eat(&TokenKind::RBrace) {
                let message = format!(
                    "unexpected {}, expected '}}' or ','",
                    self.describe_current()
                );
                let span = self.span();
                self.error(message, span);
                self.recover_to_statement();
                return None;
            }
            self.expect_word("from");
        }
        if !matches!(
            self.kind(),
            TokenKind::String(_) | TokenKind::TripleString(_)
        ) {
            let message = format!(
                "unexpected {}, expected a quoted string, '{{' or '\"\"\"'",
                self.describe_current()
            );
            let span = self.span();
            self.error(message, span);
            self.recover_to_statement();
            return None;
        }
        let url = self.string_literal()?;
        Some(ast::StatementKind::Import(ast::Import { url, names }))
    }

    /// Checks whether a definition `name is ...` (or `name(params) is ...`)
    /// starts at the current token, after any annotations.
    fn at_definition_start(&self) -> bool {
        let n = self.annotations_ahead(0);
        self.is_name_at(n)
            && !self.at_statement_start(n)
            && !matches!(self.kind_at(n + 1), TokenKind::Colon)
    }

    fn source_definitions(&mut self) -> Vec<ast::SourceDefinition> {
        let list_start = self.pos;
        let definitions = self.list(|p| p.at_definition_start(), |p| p.source_definition());
        if definitions.is_empty() && self.pos == list_start {
            self.error_missing_name();
        }
        definitions
    }

    fn source_definition(&mut self) -> Option<ast::SourceDefinition> {
        let start = self.span();
        let mut annotations = self.annotations();
        let name = self.name()?;
        let parameters = if self.at(&TokenKind::LParen) {
            self.parameters()
        } else {
            Vec::new()
        };
        if self.at_word("as") {
            self.expect_is("source: name is duckdb.table('...')");
            self.recover_to_statement();
            return None;
        }
        if !self.eat_word("is") {
            let message = format!("Expected 'is' or '(' following identifier '{}'", name.name);
            let span = self.span();
            self.error(message, span);
            self.recover_to_statement();
            return None;
        }
        annotations.extend(self.annotations());
        let source = self.source_expr()?;
        Some(ast::SourceDefinition {
            annotations,
            name,
            parameters,
            source,
            span: start.to(self.prev_span()),
        })
    }

    /// `(name::type, name is default, ...)` after a source's name.
    fn parameters(&mut self) -> Vec<ast::Parameter> {
        self.bump();
        let parameters = self.list(
            |p| p.is_name_at(0),
            |p| {
                let name = p.name()?;
                let mut type_name = None;
                if p.eat(&TokenKind::DoubleColon) {
                    type_name = p.ident();
                }
                let mut default = None;
                if p.eat_word("is") {
                    default = Some(p.expr());
                }
                Some(ast::Parameter {
                    span: name.span.to(p.prev_span()),
                    name,
                    type_name,
                    default,
                })
            },
        );
        self.expect(&TokenKind::RParen, ")");
        parameters
    }

    fn query_definitions(&mut self) -> Vec<ast::QueryDefinition> {
        let list_start = self.pos;
        let definitions = self.list(
            |p| p.at_definition_start(),
            |p| {
                let start = p.span();
                let mut annotations = p.annotations();
                let name = p.name()?;
                if !p.expect_is("query: name is source -> { ... }") {
                    p.recover_to_statement();
                    return None;
                }
                annotations.extend(p.annotations());
                let query = p.query_expr()?;
                Some(ast::QueryDefinition {
                    annotations,
                    name,
                    query,
                    span: start.to(p.prev_span()),
                })
            },
        );
        if definitions.is_empty() && self.pos == list_start {
            self.error_missing_name();
        }
        definitions
    }
}
