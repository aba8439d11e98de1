//! Field expressions, parsed by precedence climbing.
//!
//! Binding powers, loosest first, follow Malloy's grammar (the order of
//! the `fieldExpr` alternatives in `MalloyParser.g4`): `??`, `or`, `and`,
//! prefix `not`, `?` (apply), comparisons with `is null` and `in`, `|`,
//! `&`, `for`, `to`, `+ -`, `* / %`, prefix `-`, then the postfix forms
//! (`::`, `:::`, `{ where: ... }`, a duration's unit).

use super::{ast, Parser, MAX_EXPRESSION_HEIGHT};
use crate::diagnostics::Diagnostic;
use crate::diagnostics::Span;
use crate::syntax::lexer::TokenKind;

const COALESCE: u8 = 1;
const OR: u8 = 3;
const AND: u8 = 5;
const NOT_OPERAND: u8 = 7;
const APPLY: u8 = 9;
const COMPARE: u8 = 11;
const ANY_OF: u8 = 13;
const ALL_OF: u8 = 15;
const FOR: u8 = 17;
const RANGE: u8 = 19;
const ADD: u8 = 21;
const MULTIPLY: u8 = 23;
const NEGATE_OPERAND: u8 = 25;
/// The operand of a partial comparison such as `> 5` binds tighter than
/// `|` and `&`, so `> 0 & < 10` is two partials joined by `&`.
const PARTIAL_OPERAND: u8 = FOR;

/// Words that end an expression or have a fixed role in one; they never
/// start a field path.
const RESERVED: &[&str] = &[
    "and", "or", "not", "is", "pick", "when", "else", "then", "end", "to", "for", "with", "on",
    "extend", "include", "by", "asc", "desc", "from", "import",
];

const TIMEFRAMES: &[&str] = &[
    "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days", "week", "weeks",
    "month", "months", "quarter", "quarters", "year", "years",
];

fn compare_op(kind: &TokenKind) -> Option<ast::BinaryOp> {
    Some(match kind {
        TokenKind::Eq => ast::BinaryOp::Equal,
        TokenKind::NotEq => ast::BinaryOp::NotEqual,
        TokenKind::Less => ast::BinaryOp::Less,
        TokenKind::LessEq => ast::BinaryOp::LessOrEqual,
        TokenKind::Greater => ast::BinaryOp::Greater,
        TokenKind::GreaterEq => ast::BinaryOp::GreaterOrEqual,
        TokenKind::Match => ast::BinaryOp::Match,
        TokenKind::NotMatch => ast::BinaryOp::NotMatch,
        _ => return None,
    })
}

fn is_timeframe(word: &str) -> bool {
    TIMEFRAMES.contains(&word.to_ascii_lowercase().as_str())
}

/// Checks whether `word` names a Malloy type that `::` can cast to.
fn is_type_name(word: &str) -> bool {
    [
        "string",
        "number",
        "boolean",
        "date",
        "timestamp",
        "timestamptz",
        "json",
    ]
    .iter()
    .any(|name| word.eq_ignore_ascii_case(name))
}

/// The reference compiler's code for an expression it cannot translate,
/// which includes one too deep for its stack.
const EXPRESSION_TOO_DEEP: &str = "failed-field-definition";

fn boxed(expr: ast::Expr) -> Box<ast::Expr> {
    Box::new(expr)
}

impl<'a> Parser<'a> {
    /// Parses a full expression.
    pub(super) fn expr(&mut self) -> ast::Expr {
        self.expr_bp(0, false)
    }

    /// Parses the expression after `name is`. A type name written there is
    /// reported with the reference's message.
    pub(super) fn definition_expr(&mut self) -> ast::Expr {
        let word = self.text_at(0).to_ascii_lowercase();
        let is_type = self.at(&TokenKind::Word)
            && ["string", "number", "boolean", "date", "timestamp"].contains(&word.as_str())
            && !matches!(self.kind_at(1), TokenKind::LParen | TokenKind::Dot);
        if is_type {
            let message = format!(
                "Unexpected type '{}' in dimension definition. Expected an expression or field reference.",
                self.text_at(0)
            );
            let span = self.bump().span;
            self.error(message, span);
            return Self::error_expr(span);
        }
        self.expr()
    }

    /// Parses an expression that may be a partial comparison (`> 5`,
    /// `'a' | 'b'`).
    fn partial_expr(&mut self, min_bp: u8) -> ast::Expr {
        self.expr_bp(min_bp, true)
    }

    /// Continues an expression whose leading path was already consumed.
    pub(super) fn expr_continuing_path(&mut self, path: ast::Path) -> ast::Expr {
        let outer_height = std::mem::take(&mut self.expr_height);
        let left = self.path_tail(path);
        self.expr_height += 1;
        let result = self.infix_loop(left, 0);
        self.expr_height = self.expr_height.max(outer_height);
        result
    }

    fn error_expr(span: Span) -> ast::Expr {
        ast::Expr {
            kind: ast::ExprKind::Error,
            span,
        }
    }

    fn expr_bp(&mut self, min_bp: u8, partial: bool) -> ast::Expr {
        if !self.enter() {
            return Self::error_expr(self.span());
        }
        let outer_height = std::mem::take(&mut self.expr_height);
        let left = self.prefix(partial);
        // The prefix form is one level above the expressions nested in it.
        self.expr_height += 1;
        let result = self.infix_loop(left, min_bp);
        self.expr_height = self.expr_height.max(outer_height);
        self.leave();
        result
    }

    /// Adds one operator level on top of `left` and an operand whose height
    /// is `operand_height`. Past [`MAX_EXPRESSION_HEIGHT`] it reports the
    /// expression once and replaces it with an error node, so that no later
    /// stage walks a tree deeper than the limit.
    fn add_operator_level(&mut self, left: ast::Expr, operand_height: usize) -> ast::Expr {
        self.expr_height = self.expr_height.max(operand_height) + 1;
        if self.expr_height <= MAX_EXPRESSION_HEIGHT {
            return left;
        }
        // A chain that already failed keeps growing from the same start, so
        // it is reported only the first time.
        let reported = self
            .diagnostics
            .iter()
            .any(|d| d.code == EXPRESSION_TOO_DEEP && d.span.start == left.span.start);
        if !reported {
            self.diagnostics.push(Diagnostic::error(
                EXPRESSION_TOO_DEEP,
                format!(
                    "Expression is too deeply nested: it has more than {MAX_EXPRESSION_HEIGHT} operator levels"
                ),
                left.span,
            ));
        }
        self.expr_height = 1;
        Self::error_expr(left.span)
    }

    /// Parses an operand with [`Parser::operand`] and returns it with its
    /// height.
    fn measured_operand(&mut self, min_bp: u8, partial: bool) -> (ast::Expr, usize) {
        let left_height = std::mem::take(&mut self.expr_height);
        let operand = self.operand(min_bp, partial);
        let operand_height = std::mem::replace(&mut self.expr_height, left_height);
        (operand, operand_height)
    }

    /// Checks whether the current token can begin an expression.
    fn at_expr_start(&self, partial: bool) -> bool {
        match self.kind() {
            TokenKind::Word => {
                let word = self.text_at(0).to_ascii_lowercase();
                let partial_null = partial && word == "is";
                (partial_null
                    || word == "not"
                    || word == "pick"
                    || !RESERVED.contains(&word.as_str()))
                    && !matches!(self.kind_at(1), TokenKind::Colon)
            }
            TokenKind::QuotedIdent(_)
            | TokenKind::String(_)
            | TokenKind::TripleString(_)
            | TokenKind::Regex(_)
            | TokenKind::Filter(_)
            | TokenKind::Number
            | TokenKind::Time(_)
            | TokenKind::LParen
            | TokenKind::LBracket
            | TokenKind::LBrace
            | TokenKind::Minus => true,
            kind => partial && compare_op(kind).is_some(),
        }
    }

    /// Parses the right operand of the operator just consumed, reporting the
    /// current token when it cannot start one.
    fn operand(&mut self, min_bp: u8, partial: bool) -> ast::Expr {
        if !self.at_expr_start(partial) {
            self.error_unexpected();
            return Self::error_expr(self.span());
        }
        self.expr_bp(min_bp, partial)
    }

    fn infix_loop(&mut self, mut left: ast::Expr, min_bp: u8) -> ast::Expr {
        loop {
            let kind = self.kind().clone();
            // Binary operators: (left binding power, right binding power).
            let binary = match &kind {
                TokenKind::DoubleQuestion => Some((ast::BinaryOp::Coalesce, COALESCE)),
                TokenKind::Plus => Some((ast::BinaryOp::Add, ADD)),
                TokenKind::Minus => Some((ast::BinaryOp::Subtract, ADD)),
                TokenKind::Star => Some((ast::BinaryOp::Multiply, MULTIPLY)),
                TokenKind::Slash => Some((ast::BinaryOp::Divide, MULTIPLY)),
                TokenKind::Percent => Some((ast::BinaryOp::Modulo, MULTIPLY)),
                TokenKind::Word if self.at_word("or") => Some((ast::BinaryOp::Or, OR)),
                TokenKind::Word if self.at_word("and") => Some((ast::BinaryOp::And, AND)),
                // `like` is SQL's spelling of `~`.
                TokenKind::Word if self.at_word("like") => Some((ast::BinaryOp::Match, COMPARE)),
                TokenKind::Word if self.at_word("not") && self.is_word_at(1, "like") => {
                    self.bump();
                    Some((ast::BinaryOp::NotMatch, COMPARE))
                }
                kind => compare_op(kind).map(|op| (op, COMPARE)),
            };
            if let Some((op, bp)) = binary {
                if bp < min_bp {
                    return left;
                }
                self.bump();
                let (right, right_height) = self.measured_operand(bp + 1, false);
                let node = ast::Expr {
                    span: left.span.to(right.span),
                    kind: ast::ExprKind::Binary {
                        op,
                        left: boxed(left),
                        right: boxed(right),
                    },
                };
                left = self.add_operator_level(node, right_height);
                continue;
            }
            match kind {
                TokenKind::Question if APPLY >= min_bp => {
                    self.bump();
                    let outer = self.apply_operand_start.replace(self.pos);
                    let (mut condition, condition_height) = self.measured_operand(APPLY + 1, true);
                    self.apply_operand_start = outer;
                    fill_pick_values(&mut condition, &left);
                    let node = ast::Expr {
                        span: left.span.to(condition.span),
                        kind: ast::ExprKind::Apply {
                            subject: boxed(left),
                            condition: boxed(condition),
                        },
                    };
                    left = self.add_operator_level(node, condition_height);
                }
                TokenKind::Bar | TokenKind::Amp => {
                    let (op, bp) = if kind == TokenKind::Bar {
                        (ast::AlternationOp::Any, ANY_OF)
                    } else {
                        (ast::AlternationOp::All, ALL_OF)
                    };
                    if bp < min_bp {
                        return left;
                    }
                    self.bump();
                    let (right, right_height) = self.measured_operand(bp + 1, true);
                    let node = ast::Expr {
                        span: left.span.to(right.span),
                        kind: ast::ExprKind::Alternation {
                            op,
                            left: boxed(left),
                            right: boxed(right),
                        },
                    };
                    left = self.add_operator_level(node, right_height);
                }
                TokenKind::Word if self.at_word("is") && COMPARE >= min_bp => {
                    let negated = self.is_word_at(1, "not");
                    let null_at = if negated { 2 } else { 1 };
                    if !self.is_word_at(null_at, "null") {
                        return left;
                    }
                    for _ in 0..=null_at {
                        self.bump();
                    }
                    let node = ast::Expr {
                        span: left.span.to(self.prev_span()),
                        kind: ast::ExprKind::IsNull {
                            expr: boxed(left),
                            negated,
                        },
                    };
                    left = self.add_operator_level(node, 0);
                }
                TokenKind::Word
                    if COMPARE >= min_bp
                        && (self.at_word("in")
                            || (self.at_word("not") && self.is_word_at(1, "in")))
                        && (self.kind_at(1) == &TokenKind::LParen
                            || self.kind_at(2) == &TokenKind::LParen) =>
                {
                    let negated = self.eat_word("not");
                    self.bump();
                    self.bump();
                    let left_height = std::mem::take(&mut self.expr_height);
                    let list = self.expr_list(&TokenKind::RParen);
                    let list_height = std::mem::replace(&mut self.expr_height, left_height);
                    self.expect(&TokenKind::RParen, ")");
                    let node = ast::Expr {
                        span: left.span.to(self.prev_span()),
                        kind: ast::ExprKind::In {
                            expr: boxed(left),
                            list,
                            negated,
                        },
                    };
                    left = self.add_operator_level(node, list_height);
                }
                TokenKind::Word if self.at_word("to") && RANGE >= min_bp => {
                    self.bump();
                    let (to, to_height) = self.measured_operand(RANGE + 1, false);
                    let node = ast::Expr {
                        span: left.span.to(to.span),
                        kind: ast::ExprKind::Range {
                            from: boxed(left),
                            to: boxed(to),
                        },
                    };
                    left = self.add_operator_level(node, to_height);
                }
                TokenKind::Word if self.at_word("for") && FOR >= min_bp => {
                    self.bump();
                    let (duration, duration_height) = self.measured_operand(FOR + 1, false);
                    let span = left.span.to(duration.span);
                    let node = match duration.kind {
                        ast::ExprKind::Duration { amount, unit } => ast::Expr {
                            span,
                            kind: ast::ExprKind::ForRange {
                                start: boxed(left),
                                length: amount,
                                unit,
                            },
                        },
                        ast::ExprKind::Error => Self::error_expr(span),
                        _ => {
                            self.error(
                                "expected a duration such as `3 days` after 'for'",
                                duration.span,
                            );
                            Self::error_expr(span)
                        }
                    };
                    left = self.add_operator_level(node, duration_height);
                }
                _ => {
                    let left_height = std::mem::take(&mut self.expr_height);
                    let applied = self.postfix(left);
                    let postfix_height = std::mem::replace(&mut self.expr_height, left_height);
                    match applied {
                        Ok(next) => left = self.add_operator_level(next, postfix_height),
                        Err(unchanged) => return unchanged,
                    }
                }
            }
        }
    }

    /// Applies one postfix form to `left`, or returns it unchanged when
    /// none follows.
    fn postfix(&mut self, left: ast::Expr) -> Result<ast::Expr, ast::Expr> {
        match self.kind() {
            TokenKind::DoubleColon | TokenKind::TripleColon => {
                let safe = self.bump().kind == TokenKind::TripleColon;
                let type_name = match self.kind().clone() {
                    TokenKind::String(value) => {
                        let token = self.bump();
                        ast::CastType::Sql(ast::StringLiteral {
                            value,
                            span: token.span,
                        })
                    }
                    TokenKind::Word if is_type_name(self.text_at(0)) => {
                        let mut ident = self.ident().expect("a word is an identifier");
                        // An array type such as `number[]` keeps its brackets in the name.
                        while self.at(&TokenKind::LBracket)
                            && self.kind_at(1) == &TokenKind::RBracket
                        {
                            self.bump();
                            let close = self.bump();
                            ident.name.push_str("[]");
                            ident.span = ident.span.to(close.span);
                        }
                        ast::CastType::Malloy(ident)
                    }
                    _ => {
                        self.error_unexpected();
                        return Ok(Self::error_expr(left.span));
                    }
                };
                Ok(ast::Expr {
                    span: left.span.to(self.prev_span()),
                    kind: ast::ExprKind::Cast {
                        expr: boxed(left),
                        type_name,
                        safe,
                    },
                })
            }
            TokenKind::LBrace
                if self.is_keyword_colon_at(1) || self.kind_at(1) == &TokenKind::Question =>
            {
                let Some(body) = self.filter_body() else {
                    return Ok(Self::error_expr(left.span));
                };
                Ok(ast::Expr {
                    span: left.span.to(body.span),
                    kind: ast::ExprKind::Refine {
                        expr: boxed(left),
                        body,
                    },
                })
            }
            TokenKind::Word
                if is_timeframe(self.text_at(0))
                    && !self.is_word_at(1, "is")
                    && !matches!(self.kind_at(1), TokenKind::LParen | TokenKind::Colon) =>
            {
                let unit = self.ident().expect("a word is an identifier");
                Ok(ast::Expr {
                    span: left.span.to(unit.span),
                    kind: ast::ExprKind::Duration {
                        amount: boxed(left),
                        unit,
                    },
                })
            }
            TokenKind::Dot
                if self.is_name_at(1) && !matches!(left.kind, ast::ExprKind::Path(_)) =>
            {
                self.bump();
                if !(self.at(&TokenKind::Word) && is_timeframe(self.text_at(0))) {
                    self.error_unexpected();
                    self.bump();
                    return Ok(Self::error_expr(left.span.to(self.prev_span())));
                }
                let unit = self.ident().expect("a word is an identifier");
                Ok(ast::Expr {
                    span: left.span.to(unit.span),
                    kind: ast::ExprKind::Truncate {
                        expr: boxed(left),
                        unit,
                    },
                })
            }
            _ => Err(left),
        }
    }

    /// `{ where: ... }` or `{ partition_by: ... }` after an expression;
    /// the `{ ? condition }` shortcut becomes a `where:`.
    fn filter_body(&mut self) -> Option<ast::QueryBody> {
        if self.kind_at(1) != &TokenKind::Question {
            return self.query_body();
        }
        let start = self.bump().span;
        self.bump();
        let condition = self.expr();
        self.expect(&TokenKind::RBrace, "}");
        let span = start.to(self.prev_span());
        let code = self.text_of(condition.span).to_string();
        Some(ast::QueryBody {
            statements: vec![ast::QueryStatement {
                annotations: Vec::new(),
                span: condition.span,
                kind: ast::QueryStatementKind::Where(vec![condition]),
                codes: vec![code],
            }],
            span,
            view: None,
        })
    }

    fn prefix(&mut self, partial: bool) -> ast::Expr {
        let start = self.span();
        let kind = self.kind().clone();
        if let Some(op) = compare_op(&kind) {
            if partial {
                self.bump();
                let right = self.operand(PARTIAL_OPERAND, false);
                return ast::Expr {
                    span: start.to(right.span),
                    kind: ast::ExprKind::Partial {
                        op,
                        right: boxed(right),
                    },
                };
            }
        }
        // A partial `is null` / `is not null`, stored as `= null` / `!= null`,
        // which Malloy gives the same meaning.
        let negated = self.is_word_at(1, "not");
        let null_at = if negated { 2 } else { 1 };
        if partial && self.at_word("is") && self.is_word_at(null_at, "null") {
            for _ in 0..=null_at {
                self.bump();
            }
            let span = start.to(self.prev_span());
            let op = if negated {
                ast::BinaryOp::NotEqual
            } else {
                ast::BinaryOp::Equal
            };
            let null = ast::Expr {
                kind: ast::ExprKind::Null,
                span: self.prev_span(),
            };
            return ast::Expr {
                span,
                kind: ast::ExprKind::Partial {
                    op,
                    right: boxed(null),
                },
            };
        }
        let literal = match kind {
            TokenKind::Number => Some(ast::ExprKind::Number(self.text_at(0).to_string())),
            TokenKind::String(value) | TokenKind::TripleString(value) => {
                Some(ast::ExprKind::String(value))
            }
            TokenKind::Regex(value) => Some(ast::ExprKind::Regex(value)),
            TokenKind::Filter(value) => Some(ast::ExprKind::Filter(value)),
            TokenKind::Time(value) => Some(ast::ExprKind::Time(value)),
            _ => None,
        };
        if let Some(literal) = literal {
            self.bump();
            return ast::Expr {
                kind: literal,
                span: start,
            };
        }
        match self.kind() {
            TokenKind::Minus => {
                self.bump();
                let operand = self.operand(NEGATE_OPERAND, false);
                ast::Expr {
                    span: start.to(operand.span),
                    kind: ast::ExprKind::Negate(boxed(operand)),
                }
            }
            TokenKind::LParen => {
                self.bump();
                let inner = self.expr_bp(0, partial);
                self.expect(&TokenKind::RParen, ")");
                ast::Expr {
                    span: start.to(self.prev_span()),
                    kind: ast::ExprKind::Parens(boxed(inner)),
                }
            }
            TokenKind::LBracket => {
                self.bump();
                let items = self.expr_list(&TokenKind::RBracket);
                if !self.eat(&TokenKind::RBracket) {
                    let message = format!(
                        "unexpected {}, expected ']' or ','",
                        self.describe_current()
                    );
                    let span = self.span();
                    self.error(message, span);
                }
                ast::Expr {
                    span: start.to(self.prev_span()),
                    kind: ast::ExprKind::Array(items),
                }
            }
            TokenKind::LBrace => self.record(),
            TokenKind::Word => self.word_prefix(partial),
            TokenKind::QuotedIdent(_) => self.path_expr(),
            _ => {
                self.error_unexpected();
                // Leave closers and clause keywords for the caller.
                if !matches!(
                    self.kind(),
                    TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket | TokenKind::Eof
                ) && !self.at_clause_start(0)
                {
                    self.bump();
                }
                Self::error_expr(start)
            }
        }
    }

    fn word_prefix(&mut self, partial: bool) -> ast::Expr {
        let start = self.span();
        let word = self.text_at(0).to_ascii_lowercase();
        let literal = match word.as_str() {
            "true" => Some(ast::ExprKind::Boolean(true)),
            "false" => Some(ast::ExprKind::Boolean(false)),
            "null" => Some(ast::ExprKind::Null),
            _ => None,
        };
        if let Some(literal) = literal {
            self.bump();
            return ast::Expr {
                kind: literal,
                span: start,
            };
        }
        match word.as_str() {
            "not" => {
                self.bump();
                let operand = self.operand(NOT_OPERAND, partial);
                ast::Expr {
                    span: start.to(operand.span),
                    kind: ast::ExprKind::Not(boxed(operand)),
                }
            }
            "pick" => self.pick(),
            "now" if self.kind_at(1) != &TokenKind::LParen => {
                // `now` is written without parentheses; it is the call `now()`.
                let token = self.bump();
                let name = ast::Ident {
                    name: self.token_text(&token).to_string(),
                    span: token.span,
                };
                ast::Expr {
                    span: token.span,
                    kind: ast::ExprKind::Call(Box::new(ast::Call {
                        name,
                        raw: None,
                        distinct: false,
                        arguments: Vec::new(),
                        span: token.span,
                    })),
                }
            }
            "case" if !matches!(self.kind_at(1), TokenKind::Dot | TokenKind::LParen) => self.case(),
            "cast" if self.kind_at(1) == &TokenKind::LParen => self.cast_call(),
            _ if RESERVED.contains(&word.as_str()) || self.kind_at(1) == &TokenKind::Colon => {
                self.error_unexpected();
                Self::error_expr(start)
            }
            _ if self.is_reserved_word_at(0) && !self.reserved_word_starts_expression() => {
                self.check_not_reserved();
                self.path_expr()
            }
            _ => self.path_expr(),
        }
    }

    /// Checks whether the reserved word at the current token begins an
    /// expression: a call such as `count(...)` or `year(...)`, a raw call,
    /// `source.avg(...)`, or an aggregate such as `sum` whose missing
    /// parentheses [`Self::path_tail`] reports.
    fn reserved_word_starts_expression(&self) -> bool {
        let next = self.kind_at(1);
        let is_aggregate = ["sum", "count", "avg", "min", "max"]
            .iter()
            .any(|word| self.at_word(word));
        matches!(next, TokenKind::LParen | TokenKind::Bang)
            || (self.at_word("source") && next == &TokenKind::Dot)
            || is_aggregate
    }

    /// A path, and the call or method call it may start.
    fn path_expr(&mut self) -> ast::Expr {
        let start = self.span();
        match self.path() {
            Some(path) => self.path_tail(path),
            None => Self::error_expr(start),
        }
    }

    /// Turns a parsed path into a path expression, a call `name(...)` /
    /// `name!type(...)`, or a method call `path.method(...)`.
    fn path_tail(&mut self, mut path: ast::Path) -> ast::Expr {
        let is_call = self.at(&TokenKind::LParen)
            || (self.at(&TokenKind::Bang)
                && (self.kind_at(1) == &TokenKind::LParen
                    || (self.kind_at(1) == &TokenKind::Word
                        && self.kind_at(2) == &TokenKind::LParen)));
        if !is_call {
            self.check_aggregate_has_call(&path);
            return ast::Expr {
                span: path.span,
                kind: ast::ExprKind::Path(path),
            };
        }
        let method = path.steps.pop().expect("a path has a step");
        if !path.steps.is_empty() {
            path.span = path.steps[0].span.to(path.steps[path.steps.len() - 1].span);
            if self.at(&TokenKind::Bang) {
                let span = self.span();
                self.error(
                    "a raw SQL call cannot be a method; write `name!(...)`",
                    span,
                );
            }
            let receiver = ast::Expr {
                span: path.span,
                kind: ast::ExprKind::Path(path),
            };
            self.eat(&TokenKind::Bang);
            if self.at(&TokenKind::Word) && self.kind_at(1) == &TokenKind::LParen {
                self.bump();
            }
            self.bump();
            let arguments = self.expr_list(&TokenKind::RParen);
            self.expect(&TokenKind::RParen, ")");
            return ast::Expr {
                span: receiver.span.to(self.prev_span()),
                kind: ast::ExprKind::MethodCall {
                    receiver: boxed(receiver),
                    method,
                    arguments,
                },
            };
        }
        self.call(method)
    }

    /// `name(...)`, `name!(...)` or `name!type(...)`, with the name consumed.
    fn call(&mut self, name: ast::Ident) -> ast::Expr {
        let mut raw = None;
        if self.eat(&TokenKind::Bang) {
            let return_type = if self.at(&TokenKind::Word) {
                self.ident()
            } else {
                None
            };
            raw = Some(ast::RawCall { return_type });
        }
        self.bump();
        let mut distinct = false;
        if self.at_word("distinct")
            && !matches!(self.kind_at(1), TokenKind::RParen | TokenKind::Comma)
        {
            distinct = true;
            let span = self.span();
            if name.name.eq_ignore_ascii_case("count") {
                self.error(
                    "`count(distinct expression)` deprecated, use `count(expression)` instead.",
                    span,
                );
            } else {
                self.error(
                    format!("'distinct' is not allowed in a call to '{}'", name.name),
                    span,
                );
            }
            self.bump();
        }
        let arguments = self.expr_list(&TokenKind::RParen);
        self.expect(&TokenKind::RParen, ")");
        let span = name.span.to(self.prev_span());
        ast::Expr {
            span,
            kind: ast::ExprKind::Call(Box::new(ast::Call {
                name,
                raw,
                distinct,
                arguments,
                span,
            })),
        }
    }

    /// Comma-separated expressions up to `close`, which is not consumed.
    fn expr_list(&mut self, close: &TokenKind) -> Vec<ast::Expr> {
        let mut items = Vec::new();
        while !self.at(close) && !self.at_eof() {
            let before = self.pos;
            if self.at(&TokenKind::Star) && close == &TokenKind::RParen {
                // `count(*)`: the star stands for the rows themselves.
                let span = self.bump().span;
                self.error("unexpected '*'; write `count()` to count rows", span);
            } else {
                items.push(self.expr());
            }
            if !self.eat(&TokenKind::Comma) {
                break;
            }
            if self.pos == before {
                break;
            }
        }
        items
    }

    /// `{ name is value, ... }`: a record literal.
    fn record(&mut self) -> ast::Expr {
        let start = self.span();
        self.bump();
        let mut items = Vec::new();
        while !self.at(&TokenKind::RBrace) && !self.at_eof() {
            let before = self.pos;
            let item_start = self.span();
            let mut name = None;
            if self.is_name_at(0) && self.is_word_at(1, "is") {
                name = self.ident();
                self.bump();
            }
            let value = self.expr();
            items.push(ast::RecordItem {
                name,
                value,
                span: item_start.to(self.prev_span()),
            });
            if !self.eat(&TokenKind::Comma) || self.pos == before {
                break;
            }
        }
        self.expect(&TokenKind::RBrace, "}");
        ast::Expr {
            span: start.to(self.prev_span()),
            kind: ast::ExprKind::Record(items),
        }
    }

    /// `pick value when condition ... [else value]`.
    fn pick(&mut self) -> ast::Expr {
        let start = self.span();
        let has_subject = self.apply_operand_start == Some(self.pos);
        let mut branches = Vec::new();
        while self.at_word("pick") {
            let branch_start = self.bump().span;
            let value = if self.at_word("when") {
                // `x ? pick when ...` picks the subject itself; the caller fills
                // in the subject for this empty placeholder.
                let span = Span::new(self.span().start as usize, self.span().start as usize);
                if !has_subject {
                    self.error(
                        "a `pick` without a subject needs a value before `when`",
                        span,
                    );
                }
                Self::error_expr(span)
            } else {
                self.expr()
            };
            if !self.eat_word("when") {
                self.error_unexpected();
                branches.push(ast::PickBranch {
                    span: branch_start.to(value.span),
                    when: Self::error_expr(self.span()),
                    value,
                });
                break;
            }
            let when = self.partial_expr(0);
            branches.push(ast::PickBranch {
                span: branch_start.to(when.span),
                value,
                when,
            });
        }
        let otherwise = if self.eat_word("else") {
            Some(boxed(self.expr()))
        } else {
            None
        };
        ast::Expr {
            span: start.to(self.prev_span()),
            kind: ast::ExprKind::Pick {
                branches,
                otherwise,
            },
        }
    }

    /// `case [subject] when c then v ... [else d] end`.
    fn case(&mut self) -> ast::Expr {
        let start = self.bump().span;
        let subject = if self.at_word("when") {
            None
        } else {
            Some(boxed(self.expr()))
        };
        let mut branches = Vec::new();
        while self.eat_word("when") {
            let condition = self.expr();
            self.expect_word("then");
            let value = self.expr();
            branches.push((condition, value));
        }
        if branches.is_empty() {
            self.expect_word("when");
        }
        let otherwise = if self.eat_word("else") {
            Some(boxed(self.expr()))
        } else {
            None
        };
        if !self.eat_word("end") {
            let expected = if otherwise.is_some() {
                "'end'"
            } else {
                "'else', 'end' or 'when'"
            };
            let message = format!(
                "unexpected {}, expected {expected}",
                self.describe_current()
            );
            let span = self.span();
            self.error(message, span);
        }
        ast::Expr {
            span: start.to(self.prev_span()),
            kind: ast::ExprKind::Case {
                subject,
                branches,
                otherwise,
            },
        }
    }

    /// `cast(expr as type)`.
    fn cast_call(&mut self) -> ast::Expr {
        let start = self.bump().span;
        self.bump();
        let expr = self.expr();
        self.expect_word("as");
        let type_name = match self.kind().clone() {
            TokenKind::String(value) => {
                let token = self.bump();
                Some(ast::CastType::Sql(ast::StringLiteral {
                    value,
                    span: token.span,
                }))
            }
            _ => self.ident().map(ast::CastType::Malloy),
        };
        self.expect(&TokenKind::RParen, ")");
        let span = start.to(self.prev_span());
        match type_name {
            Some(type_name) => ast::Expr {
                span,
                kind: ast::ExprKind::Cast {
                    expr: boxed(expr),
                    type_name,
                    safe: false,
                },
            },
            None => Self::error_expr(span),
        }
    }
}

/// Replaces the empty value placeholders of `pick when ...` branches in
/// the condition of `subject ? pick ...` with the subject.
fn fill_pick_values(condition: &mut ast::Expr, subject: &ast::Expr) {
    if let ast::ExprKind::Pick { branches, .. } = &mut condition.kind {
        for branch in branches {
            let placeholder = branch.value.kind == ast::ExprKind::Error
                && branch.value.span.start == branch.value.span.end;
            if placeholder {
                branch.value = subject.clone();
            }
        }
    }
}
