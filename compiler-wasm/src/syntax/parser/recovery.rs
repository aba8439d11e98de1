//! Syntax error messages and recovery: where to resume after an error.
//!
//! Messages follow the reference Malloy compiler's wording where it has a
//! specific one (`Missing '}' at '<EOF>'`, `Expected ':' following
//! 'group_by'`), so that users see the same text from both.

use super::Parser;
use crate::diagnostics::{Diagnostic, Span};
use crate::syntax::lexer::{TokenKind, SYNTAX_ERROR};

impl<'a> Parser<'a> {
    pub(super) fn error(&mut self, message: impl Into<String>, span: Span) {
        self.error_with_code(SYNTAX_ERROR, message, span);
    }

    /// Reports an error with a code other than `syntax-error`, for problems
    /// the reference reports under their own code.
    pub(super) fn error_with_code(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
    ) {
        if self.last_error_token == Some(self.pos) || self.follows_lexer_error() {
            return;
        }
        self.last_error_token = Some(self.pos);
        self.diagnostics
            .push(Diagnostic::error(code, message, span));
    }

    /// Reports `path.sum` written without its parentheses, at the token
    /// after it, as the reference does. `prev_span` must be the path's last
    /// step.
    pub(super) fn check_aggregate_has_call(&mut self, path: &crate::syntax::ast::Path) {
        let last_is_bare_word = self.pos > 0 && self.tokens[self.pos - 1].kind == TokenKind::Word;
        let last = &path.steps[path.steps.len() - 1].name;
        let is_aggregate = ["sum", "count", "avg", "min", "max"]
            .iter()
            .any(|word| last.eq_ignore_ascii_case(word));
        if last_is_bare_word && is_aggregate && !self.at(&TokenKind::LParen) {
            let message = format!("unexpected {}, expected '('", self.describe_current());
            let span = self.span();
            self.error(message, span);
        }
    }

    /// Checks whether a character the lexer rejected lies between the
    /// previous token and the current one. An error here is most likely a
    /// consequence of it.
    fn follows_lexer_error(&self) -> bool {
        let gap_start = self.prev_span().end;
        let gap_end = self.span().start;
        self.lexer_errors
            .iter()
            .any(|span| span.start >= gap_start && span.start < gap_end.max(gap_start + 1))
    }

    /// Describes the current token as the reference does: its text in
    /// quotes, or `'<EOF>'`.
    pub(super) fn describe_current(&self) -> String {
        if self.at_eof() {
            return "'<EOF>'".to_string();
        }
        // Malloy lexes a keyword and its colon (`run:`) as one token.
        if self.at_clause_start(0) || self.at_statement_start(0) {
            let start = self.span().start as usize;
            let end = self.peek_at(1).span.end as usize;
            if self.kind_at(1) == &TokenKind::Colon {
                return format!("'{}'", &self.text[start..end]);
            }
        }
        format!("'{}'", self.text_at(0))
    }

    /// Reports the current token as unexpected.
    pub(super) fn error_unexpected(&mut self) {
        let message = format!("unexpected {}", self.describe_current());
        let span = self.span();
        self.error(message, span);
    }

    /// Consumes `kind`, or reports `Missing '<text>' at '<current>'`.
    /// Consumes `kind`, or reports it missing before the current token. A
    /// missing `}` at the end of the text or at the next statement gets the
    /// reference's `Missing '}' at ...` wording.
    pub(super) fn expect(&mut self, kind: &TokenKind, text: &str) -> bool {
        if self.eat(kind) {
            return true;
        }
        let at_end = self.at_eof() || self.at_statement_start(0);
        let message = if kind == &TokenKind::RBrace && at_end {
            format!("Missing '}}' at {}", self.describe_current())
        } else {
            format!("missing '{text}' before {}", self.describe_current())
        };
        let span = self.span();
        self.error(message, span);
        false
    }

    /// Reports a name missing before the current token, in the reference's
    /// words.
    pub(super) fn error_missing_name(&mut self) {
        let message = if self.at_statement_start(0) {
            format!(
                "unexpected {}, expected a `quoted` name or a name",
                self.describe_current()
            )
        } else {
            format!(
                "missing a `quoted` name or a name before {}",
                self.describe_current()
            )
        };
        let span = self.span();
        self.error(message, span);
    }

    pub(super) fn expect_word(&mut self, word: &str) -> bool {
        if self.eat_word(word) {
            return true;
        }
        let message = format!("missing '{word}' before {}", self.describe_current());
        let span = self.span();
        self.error(message, span);
        false
    }

    /// Skips one token, or a whole bracketed group when it opens one.
    pub(super) fn skip_token_or_group(&mut self) {
        let close = match self.kind() {
            TokenKind::LBrace => TokenKind::RBrace,
            TokenKind::LParen => TokenKind::RParen,
            TokenKind::LBracket => TokenKind::RBracket,
            _ => {
                self.bump();
                return;
            }
        };
        self.bump();
        while !self.at_eof() && !self.at(&close) {
            if self.at_statement_start(0) {
                return;
            }
            self.skip_token_or_group();
        }
        self.eat(&close);
    }

    /// Skips tokens until a statement keyword or the end of the text.
    pub(super) fn recover_to_statement(&mut self) {
        while !self.at_eof() && !self.at_statement_start(0) {
            if self.at(&TokenKind::RBrace) {
                self.bump();
                continue;
            }
            self.skip_token_or_group();
        }
    }

    /// Skips tokens until a clause or statement keyword, an annotation or
    /// the `}` that closes the current block.
    pub(super) fn recover_in_block(&mut self) {
        loop {
            // Annotations resume parsing only when a clause follows them.
            let n = self.annotations_ahead(0);
            let next = self.kind_at(n);
            if matches!(next, TokenKind::Eof | TokenKind::RBrace)
                || self.at_clause_start(n)
                || self.at_statement_start(n)
            {
                return;
            }
            self.skip_token_or_group();
        }
    }

    /// Consumes the `is` of a definition, reporting `as` written in its
    /// place with the reference's hint.
    pub(super) fn expect_is(&mut self, example: &str) -> bool {
        if self.at_word("as") {
            let span = self.span();
            self.error(
                format!("Unsupported keyword 'as'. Use 'is' to name something (ex: `{example}`)"),
                span,
            );
            return false;
        }
        self.expect_word("is")
    }

    /// Reports a token that cannot start a statement of `block`, with the
    /// reference's message for common mistakes, then skips to where parsing
    /// can resume.
    pub(super) fn error_statement_expected(&mut self, block: Block) {
        let span = self.span();
        let message = self.statement_expected_message(block);
        match message {
            Some(message) => self.error(message, span),
            None => self.error_unexpected(),
        }
        self.bump();
        match block {
            Block::Document => self.recover_to_statement(),
            Block::Source | Block::Query => self.recover_in_block(),
        }
    }

    fn statement_expected_message(&self, block: Block) -> Option<String> {
        if self.kind() != &TokenKind::Word {
            return None;
        }
        let text = self.text_at(0);
        let word = text.to_ascii_lowercase();
        let colon_next = self.kind_at(1) == &TokenKind::Colon;
        let missing_colon_words: &[&str] = match block {
            Block::Document => &["source", "query", "run"],
            Block::Source => SOURCE_COLON_WORDS,
            Block::Query => QUERY_COLON_WORDS,
        };

        if !colon_next && missing_colon_words.contains(&word.as_str()) {
            return Some(format!("Expected ':' following '{text}'"));
        }

        if word == "as" {
            return Some(
                "Unsupported keyword 'as'. Use 'is' to name something (ex: `select: new_name is column_name`)"
                    .to_string(),
            );
        }

        // `group by:`, `groupby:`, `primary key:` and the like.
        let split_keyword = match (block, word.as_str()) {
            (Block::Source, "join") if colon_next => {
                return Some(
                    "Unexpected 'join:'. Did you mean 'join_one:', 'join_many:' or 'join_cross:'?"
                        .to_string(),
                );
            }
            (Block::Source, "primary" | "primarykey") => Some(("key", "primary_key:")),
            (Block::Query, "group" | "groupby") => Some(("by", "group_by:")),
            (Block::Query, "order" | "orderby") => Some(("by", "order_by:")),
            _ => None,
        };

        if let Some((second, keyword)) = split_keyword {
            let second_then_colon_or_name = self.is_word_at(1, second)
                && matches!(self.kind_at(2), TokenKind::Colon | TokenKind::Word);
            if colon_next || second_then_colon_or_name {
                return Some(format!("Unexpected '{text}'. Did you mean '{keyword}'?"));
            }
        }

        if colon_next && self.kind_at(2) == &TokenKind::Word {
            let (kind, choices): (&str, &[&str]) = match block {
                Block::Document => ("a statement", &["run:", "query:", "source:"]),
                Block::Source => (
                    "a source statement",
                    &["dimension:", "measure:", "primary_key:", "view:", "join:"],
                ),
                Block::Query => (
                    "a query statement",
                    &["group_by:", "select:", "aggregate:", "calculate:", "nest:"],
                ),
            };
            let written = format!("{text}:");
            let closest = closest_word(&written, choices);
            return Some(format!(
                "Expected {kind}, '{written}' is not a keyword. Did you mean '{closest}'?"
            ));
        }

        None
    }
}

/// The kind of block being parsed, which decides the error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Block {
    Document,
    Source,
    Query,
}

/// Source clause keywords that the reference reports as missing their colon.
const SOURCE_COLON_WORDS: &[&str] = &[
    "dimension",
    "measure",
    "where",
    "declare",
    "join_one",
    "join_many",
    "join_cross",
    "primary_key",
];

/// Query clause keywords that the reference reports as missing their colon.
const QUERY_COLON_WORDS: &[&str] = &[
    "group_by",
    "declare",
    "join_one",
    "join_many",
    "join_cross",
    "extend",
    "select",
    "project",
    "index",
    "aggregate",
    "calculate",
    "top",
    "limit",
    "order_by",
    "where",
    "having",
    "nest",
    "sample",
    "timezone",
];

/// Returns the choice most similar to `written` by Jaro-Winkler
/// similarity, the measure the reference uses for its suggestions. Ties go
/// to the first choice.
fn closest_word<'c>(written: &str, choices: &[&'c str]) -> &'c str {
    let mut best = choices[0];
    let mut best_score = jaro_winkler(written, best);
    for choice in &choices[1..] {
        let score = jaro_winkler(written, choice);
        if score > best_score {
            best = choice;
            best_score = score;
        }
    }
    best
}

/// Jaro-Winkler similarity in `0.0..=1.0`, with the usual prefix scale of
/// 0.1 over at most four characters.
fn jaro_winkler(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }

    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_matched = vec![false; a.len()];
    let mut b_matched = vec![false; b.len()];
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let low = i.saturating_sub(window);
        let high = (i + window + 1).min(b.len());
        for j in low..high {
            if !b_matched[j] && b[j] == *ca {
                a_matched[i] = true;
                b_matched[j] = true;
                matches += 1;
                break;
            }
        }
    }

    if matches == 0 {
        return 0.0;
    }

    let a_order = a
        .iter()
        .zip(&a_matched)
        .filter(|(_, m)| **m)
        .map(|(c, _)| c);
    let b_order = b
        .iter()
        .zip(&b_matched)
        .filter(|(_, m)| **m)
        .map(|(c, _)| c);
    let transpositions = a_order.zip(b_order).filter(|(x, y)| x != y).count() / 2;

    let m = matches as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64) / m) / 3.0;
    let prefix = a.iter().zip(&b).take(4).take_while(|(x, y)| x == y).count();
    jaro + prefix as f64 * 0.1 * (1.0 - jaro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler("dixon", "dicksonx") - 0.8133).abs() < 1e-3);
        assert_eq!(jaro_winkler("same", "same"), 1.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
    }

    #[test]
    fn closest_word_prefers_similar_spelling() {
        let choices = ["group_by:", "select:", "aggregate:", "calculate:", "nest:"];
        assert_eq!(closest_word("selct:", &choices), "select:");
        assert_eq!(closest_word("agregate:", &choices), "aggregate:");
    }
}
