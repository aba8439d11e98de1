//! A recursive-descent parser for Malloy, with a Pratt parser for
//! expressions.
//!
//! The parser never stops at the first problem. After a syntax error it
//! skips to a point where parsing can resume (the next statement keyword,
//! the next clause keyword inside a block, or a closing brace), so one pass
//! reports every syntax error of a file. Every loop consumes a token or
//! stops, and nesting deeper than [`MAX_DEPTH`] is reported instead of
//! recursing further, so no input makes the parser hang or overflow.
//!
//! Submodules, one per part of the language:
//! - `statements`: top-level statements (`source:`, `query:`, `run:`, `import`)
//! - `sources`: source expressions and `extend { ... }` bodies
//! - `queries`: views, query stages and their clauses
//! - `expressions`: field expressions
//! - `recovery`: error messages and resynchronization after an error

mod expressions;
mod queries;
mod recovery;
mod sources;
mod statements;

use super::ast;
use super::lexer::{tokenize, Token, TokenKind};
use crate::diagnostics::{Diagnostic, Span};

/// Parses a model file or the text of a query request.
///
/// Returns the document with every statement that could be parsed, and the
/// problems sorted by position. Problems have the code `syntax-error`,
/// except an annotation attached to nothing (`orphaned-object-annotation`)
/// and a bad `order_by:` name (`order-by-bad-reference`), which keep the
/// reference's codes. Parts that failed to parse are dropped or kept as
/// [`ast::ExprKind::Error`], and a problem is reported for each of them.
pub fn parse(text: &str) -> (ast::Document, Vec<Diagnostic>) {
    let (tokens, lex_diagnostics) = tokenize(text);
    let lexer_errors = lex_diagnostics.iter().map(|d| d.span).collect();
    let mut parser = Parser {
        text,
        tokens,
        pos: 0,
        diagnostics: lex_diagnostics,
        lexer_errors,
        apply_operand_start: None,
        depth: 0,
        expr_height: 0,
        last_error_token: None,
    };
    let document = parser.document();
    let mut diagnostics = parser.diagnostics;
    diagnostics.sort_by_key(|d| d.span.start);
    (document, diagnostics)
}

/// The maximum nesting depth of expressions, blocks and views.
const MAX_DEPTH: usize = 64;

/// The maximum height of one expression tree, counting the operand at the
/// bottom as a level, so a 256-term `1 + 1 + ...` chain is at the limit. It
/// bounds the recursion of every later stage that walks the tree, and the
/// size of the SQL expression that DuckDB has to plan.
pub const MAX_EXPRESSION_HEIGHT: usize = 256;

/// Malloy's bare keywords. Written without backquotes, none of them can
/// name a field, source, join, view or query.
const RESERVED_WORDS: &[&str] = &[
    "all",
    "and",
    "as",
    "asc",
    "avg",
    "boolean",
    "by",
    "case",
    "cast",
    "compose",
    "count",
    "date",
    "day",
    "days",
    "desc",
    "distinct",
    "else",
    "end",
    "exclude",
    "export",
    "extend",
    "false",
    "filter",
    "for",
    "from",
    "full",
    "has",
    "hour",
    "hours",
    "import",
    "in",
    "include",
    "inner",
    "internal",
    "is",
    "json",
    "left",
    "like",
    "max",
    "min",
    "minute",
    "minutes",
    "month",
    "months",
    "not",
    "now",
    "null",
    "number",
    "on",
    "or",
    "pick",
    "private",
    "public",
    "quarter",
    "quarters",
    "right",
    "second",
    "seconds",
    "source",
    "sql",
    "string",
    "sum",
    "table",
    "then",
    "this",
    "timestamp",
    "timestamptz",
    "to",
    "true",
    "virtual",
    "week",
    "weeks",
    "when",
    "with",
    "year",
    "years",
];

/// Words that begin a statement at the top level when followed by `:`.
const STATEMENT_KEYWORDS: &[&str] = &["source", "query", "run", "sql"];

/// Words that begin a clause inside a source or query block when followed
/// by `:`.
const CLAUSE_KEYWORDS: &[&str] = &[
    "accept",
    "aggregate",
    "calculate",
    "declare",
    "dimension",
    "except",
    "extend",
    "group_by",
    "grouped_by",
    "drill",
    "having",
    "index",
    "join_cross",
    "join_many",
    "join_one",
    "limit",
    "measure",
    "nest",
    "order_by",
    "partition_by",
    "primary_key",
    "project",
    "rename",
    "sample",
    "select",
    "timezone",
    "top",
    "view",
    "where",
];

pub(crate) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    diagnostics: Vec<Diagnostic>,
    /// Spans of the characters the lexer rejected, in text order.
    lexer_errors: Vec<Span>,
    /// The token index where the condition after `?` starts. A `pick` that
    /// starts there has a subject.
    apply_operand_start: Option<usize>,
    depth: usize,
    /// The largest height of the expressions parsed since the innermost
    /// enclosing expression started, used to bound expression trees.
    expr_height: usize,
    /// The token the last error was reported at; a second error there is
    /// a consequence of the first and is not reported.
    last_error_token: Option<usize>,
}

impl<'a> Parser<'a> {
    // ---- token access ----

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + n).min(last)]
    }

    fn kind(&self) -> &TokenKind {
        &self.peek().kind
    }

    fn kind_at(&self, n: usize) -> &TokenKind {
        &self.peek_at(n).kind
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.kind() == kind
    }

    fn at_eof(&self) -> bool {
        self.at(&TokenKind::Eof)
    }

    fn span(&self) -> Span {
        self.peek().span
    }

    /// Returns the span of the last consumed token.
    fn prev_span(&self) -> Span {
        if self.pos == 0 {
            Span::new(0, 0)
        } else {
            self.tokens[self.pos - 1].span
        }
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.at(kind) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn token_text(&self, token: &Token) -> &'a str {
        &self.text[token.span.start as usize..token.span.end as usize]
    }

    /// Returns the source text of `span`.
    fn text_of(&self, span: Span) -> &'a str {
        &self.text[span.start as usize..span.end as usize]
    }

    /// Returns the text of the token `n` ahead, as written.
    fn text_at(&self, n: usize) -> &'a str {
        self.token_text(self.peek_at(n))
    }

    /// Checks whether the token `n` ahead is the word `word`, in any case.
    fn is_word_at(&self, n: usize, word: &str) -> bool {
        matches!(self.kind_at(n), TokenKind::Word) && self.text_at(n).eq_ignore_ascii_case(word)
    }

    fn at_word(&self, word: &str) -> bool {
        self.is_word_at(0, word)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.at_word(word) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Checks whether the token `n` ahead is a word followed by a single
    /// colon, the shape of a `keyword:` clause.
    fn is_keyword_colon_at(&self, n: usize) -> bool {
        matches!(self.kind_at(n), TokenKind::Word)
            && matches!(self.kind_at(n + 1), TokenKind::Colon)
    }

    /// Returns the lowercase keyword of a `keyword:` clause starting `n`
    /// tokens ahead, if the word there is followed by a single colon.
    fn clause_keyword_at(&self, n: usize) -> Option<String> {
        if self.is_keyword_colon_at(n) {
            Some(self.text_at(n).to_ascii_lowercase())
        } else {
            None
        }
    }

    /// Checks whether a `word:` from `keywords` starts `n` tokens ahead.
    fn at_keyword_colon(&self, n: usize, keywords: &[&str]) -> bool {
        self.is_keyword_colon_at(n)
            && keywords
                .iter()
                .any(|keyword| self.text_at(n).eq_ignore_ascii_case(keyword))
    }

    /// Checks whether a statement keyword such as `source:` or `import`
    /// starts `n` tokens ahead.
    fn at_statement_start(&self, n: usize) -> bool {
        if self.is_word_at(n, "import") {
            return true;
        }
        self.at_keyword_colon(n, STATEMENT_KEYWORDS)
    }

    /// Checks whether a clause keyword (`group_by:`, `dimension:`, ...)
    /// starts `n` tokens ahead.
    fn at_clause_start(&self, n: usize) -> bool {
        self.at_keyword_colon(n, CLAUSE_KEYWORDS)
    }

    /// Counts the annotation tokens starting `n` ahead.
    fn annotations_ahead(&self, n: usize) -> usize {
        let mut count = 0;
        while matches!(
            self.kind_at(n + count),
            TokenKind::Annotation | TokenKind::DocAnnotation
        ) {
            count += 1;
        }
        count
    }

    /// Consumes `#` annotation lines. `##` lines are consumed too but
    /// dropped, because outside the top level they apply to nothing.
    fn annotations(&mut self) -> Vec<ast::Annotation> {
        let mut annotations = Vec::new();
        loop {
            match self.kind() {
                TokenKind::Annotation => {
                    let token = self.bump();
                    annotations.push(self.annotation_of(&token));
                }
                TokenKind::DocAnnotation => {
                    self.bump();
                }
                _ => return annotations,
            }
        }
    }

    fn annotation_of(&self, token: &Token) -> ast::Annotation {
        let mut text = self.token_text(token).to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        ast::Annotation {
            text,
            span: token.span,
        }
    }

    // ---- identifiers ----

    /// Checks whether the token `n` ahead can be a name: a word or a
    /// backquoted identifier.
    fn is_name_at(&self, n: usize) -> bool {
        matches!(self.kind_at(n), TokenKind::Word | TokenKind::QuotedIdent(_))
    }

    /// Consumes a name, or reports that one is missing.
    fn ident(&mut self) -> Option<ast::Ident> {
        match self.kind().clone() {
            TokenKind::Word => {
                let token = self.bump();
                Some(ast::Ident {
                    name: self.token_text(&token).to_string(),
                    span: token.span,
                })
            }
            TokenKind::QuotedIdent(name) => {
                let token = self.bump();
                Some(ast::Ident {
                    name,
                    span: token.span,
                })
            }
            _ => {
                self.error_unexpected();
                None
            }
        }
    }

    /// Checks whether the token `n` ahead is a reserved word written without
    /// backquotes.
    fn is_reserved_word_at(&self, n: usize) -> bool {
        matches!(self.kind_at(n), TokenKind::Word)
            && RESERVED_WORDS
                .iter()
                .any(|word| self.text_at(n).eq_ignore_ascii_case(word))
    }

    /// Reports a reserved word at the current token used as a name, in the
    /// reference's words. The token is not consumed.
    fn check_not_reserved(&mut self) {
        if self.is_reserved_word_at(0) {
            let word = self.text_at(0);
            let message = format!(
                "'{word}' is a reserved word, so to use it as a name you must quote it: `{word}`"
            );
            let span = self.span();
            self.error(message, span);
        }
    }

    /// Consumes the name of something being defined or referenced.
    fn name(&mut self) -> Option<ast::Ident> {
        self.check_not_reserved();
        self.ident()
    }

    /// Parses a path that refers to a field, whose first step must not be a
    /// reserved word.
    fn reference_path(&mut self) -> Option<ast::Path> {
        self.check_not_reserved();
        self.path()
    }

    /// Parses `name.name...`, stopping before `.*`.
    fn path(&mut self) -> Option<ast::Path> {
        let first = self.ident()?;
        let mut steps = vec![first];
        while self.at(&TokenKind::Dot) && self.is_name_at(1) {
            self.bump();
            steps.push(self.ident()?);
        }
        let dangling_dot = self.at(&TokenKind::Dot)
            && !matches!(
                self.kind_at(1),
                TokenKind::Star | TokenKind::StarStar | TokenKind::Number
            );
        if dangling_dot {
            self.bump();
            let message = format!("something is missing before {}", self.describe_current());
            let span = self.span();
            self.error(message, span);
        }
        let span = steps[0].span.to(steps[steps.len() - 1].span);
        Some(ast::Path { steps, span })
    }

    fn string_literal(&mut self) -> Option<ast::StringLiteral> {
        match self.kind().clone() {
            TokenKind::String(value) | TokenKind::TripleString(value) => {
                let token = self.bump();
                Some(ast::StringLiteral {
                    value,
                    span: token.span,
                })
            }
            _ => {
                self.error_unexpected();
                None
            }
        }
    }

    /// Enters one level of nesting; on exceeding [`MAX_DEPTH`] reports it
    /// and skips to the end of the text so every caller unwinds at once.
    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            let span = self.span();
            self.error("the text is nested too deeply to parse", span);
            self.pos = self.tokens.len() - 1;
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Runs `item` for each item of a list whose items may be separated by
    /// commas, while `starts_item` is true at the current token. Stops when
    /// an item consumes nothing.
    fn list<T>(
        &mut self,
        starts_item: impl Fn(&Parser<'a>) -> bool,
        mut item: impl FnMut(&mut Parser<'a>) -> Option<T>,
    ) -> Vec<T> {
        let mut items = Vec::new();
        while starts_item(self) {
            let before = self.pos;
            if let Some(value) = item(self) {
                items.push(value);
            }
            if self.pos == before {
                break;
            }
            self.eat(&TokenKind::Comma);
        }
        items
    }
}
