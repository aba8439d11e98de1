//! The Malloy lexer: text to tokens with byte spans.
//!
//! Words are not split into keywords here, because Malloy's keywords are
//! case-insensitive and most of them are keywords only in some positions
//! (`group_by` followed by `:` starts a clause, `year` after a dot is a
//! truncation). The parser looks at a word's text instead. Characters that
//! start no token are reported and skipped, so lexing never fails.

use crate::diagnostics::{Diagnostic, Span};

/// The code of every problem the lexer and the parser report.
pub const SYNTAX_ERROR: &str = "syntax-error";

#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An identifier or keyword as written.
    Word,
    /// A backquoted identifier; the value has its escapes processed.
    QuotedIdent(String),
    /// `'...'` or `"..."` after escapes are processed.
    String(String),
    /// `"""..."""`: the text between the quotes, unchanged.
    TripleString(String),
    /// `r'...'` or `/'...'`: the pattern between the quotes, unchanged.
    Regex(String),
    /// `f'...'`, `f"..."`, `` f`...` `` or `f'''...'''`: the filter text.
    Filter(String),
    /// An integer or decimal number as written.
    Number,
    /// `@2003-04-05 10:30`: the text after `@`.
    Time(String),
    /// `# ...` to the end of the line, or a `#| ... |#` block.
    Annotation,
    /// `## ...` to the end of the line.
    DocAnnotation,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Semi,
    Colon,
    DoubleColon,
    TripleColon,
    Dot,
    Arrow,
    FatArrow,
    Plus,
    Minus,
    Star,
    StarStar,
    Slash,
    Percent,
    Eq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Match,
    NotMatch,
    Question,
    DoubleQuestion,
    Amp,
    Bar,
    Bang,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

/// Splits `text` into tokens, always ending with one [`TokenKind::Eof`]
/// whose span is empty and sits at the end of the text.
pub fn tokenize(text: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        tokens: Vec::new(),
        diagnostics: Vec::new(),
    };
    lexer.run();
    let end = text.len();
    lexer.tokens.push(Token {
        kind: TokenKind::Eof,
        span: Span::new(end, end),
    });
    (lexer.tokens, lexer.diagnostics)
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    tokens: Vec<Token>,
    diagnostics: Vec<Diagnostic>,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'a> Lexer<'a> {
    fn peek_byte(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// Returns the UTF-8 length of the character at byte `offset`, or 1
    /// past the end of the text.
    fn char_len_at(&self, offset: usize) -> usize {
        self.text
            .get(offset..)
            .and_then(|rest| rest.chars().next())
            .map_or(1, char::len_utf8)
    }

    fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        self.tokens.push(Token {
            kind,
            span: Span::new(start, self.pos),
        });
    }

    /// Reports the character at `start` as unexpected and skips it.
    fn unexpected_char(&mut self, start: usize) {
        let c = self.text[start..].chars().next().unwrap_or(' ');
        self.pos = start + c.len_utf8();
        self.diagnostics.push(Diagnostic::error(
            SYNTAX_ERROR,
            format!("unexpected '{c}'"),
            Span::new(start, self.pos),
        ));
    }

    fn run(&mut self) {
        while let Some(c) = self.peek_char() {
            let start = self.pos;
            match c {
                ' ' | '\t' | '\r' | '\n' | '\u{000B}' | '\u{000C}' | '\u{00A0}' => {
                    self.pos += c.len_utf8()
                }
                '/' if self.peek_byte(1) == Some(b'/') => self.skip_to_line_end(),
                '-' if self.peek_byte(1) == Some(b'-') => self.skip_to_line_end(),
                '/' if self.peek_byte(1) == Some(b'*') => self.block_comment(),
                '#' => self.annotation(),
                '\'' | '"' => self.string(),
                '`' => self.quoted_ident(),
                '@' => self.time_literal(),
                '0'..='9' => self.number(),
                '.' if matches!(self.peek_byte(1), Some(b'0'..=b'9')) => self.number(),
                'r' | 'R' if self.peek_byte(1) == Some(b'\'') => {
                    self.pos += 1;
                    self.regex(start);
                }
                '/' if self.peek_byte(1) == Some(b'\'') => {
                    self.pos += 1;
                    self.regex(start);
                }
                'f' | 'F' if self.quote_after_prefix().is_some() => self.filter(),
                's' | 'S' if matches!(self.quote_after_prefix(), Some(b'\'' | b'"')) => {
                    self.raw_string()
                }
                c if is_ident_start(c) => {
                    self.pos += c.len_utf8();
                    while let Some(c) = self.peek_char() {
                        if !is_ident_continue(c) {
                            break;
                        }
                        self.pos += c.len_utf8();
                    }
                    self.push(TokenKind::Word, start);
                }
                _ => self.punctuation(),
            }
        }
    }

    fn skip_to_line_end(&mut self) {
        while let Some(b) = self.peek_byte(0) {
            self.pos += 1;
            if b == b'\n' {
                break;
            }
        }
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        match self.text[start + 2..].find("*/") {
            Some(offset) => self.pos = start + 2 + offset + 2,
            None => {
                self.pos = self.text.len();
                self.diagnostics.push(Diagnostic::error(
                    SYNTAX_ERROR,
                    "unterminated comment: '/*' has no matching '*/'",
                    Span::new(start, start + 2),
                ));
            }
        }
    }

    /// `#` or `##` to the end of the line (the newline is part of the
    /// token), or a `#|` ... `|#` (`##|` ... `|##`) block. A block ends at
    /// the first later line that starts with its closer after indentation,
    /// and runs to the end of the text when no such line exists.
    fn annotation(&mut self) {
        let start = self.pos;
        let doc = self.peek_byte(1) == Some(b'#');
        let marker_end = if doc { start + 2 } else { start + 1 };
        let kind = if doc {
            TokenKind::DocAnnotation
        } else {
            TokenKind::Annotation
        };
        self.skip_to_line_end();
        if self.bytes.get(marker_end) == Some(&b'|') {
            let closer = if doc { "|##" } else { "|#" };
            while self.pos < self.bytes.len() {
                let line = self.text[self.pos..].trim_start_matches([' ', '\t']);
                let closes =
                    line.starts_with(closer) && !(closer == "|#" && line.starts_with("|##"));
                self.skip_to_line_end();
                if closes {
                    break;
                }
            }
        }
        self.push(kind, start);
    }

    fn string(&mut self) {
        let start = self.pos;
        let quote = self.bytes[start];
        if quote == b'"' && self.text[start..].starts_with("\"\"\"") {
            match self.text[start + 3..].find("\"\"\"") {
                Some(offset) => {
                    let content = self.text[start + 3..start + 3 + offset].to_string();
                    self.pos = start + 3 + offset + 3;
                    self.push(TokenKind::TripleString(content), start);
                }
                None => self.unexpected_char(start),
            }
            return;
        }
        match self.escaped_body(start + 1, quote) {
            Some((value, end)) => {
                self.pos = end;
                self.push(TokenKind::String(value), start);
            }
            None => self.unexpected_char(start),
        }
    }

    fn quoted_ident(&mut self) {
        let start = self.pos;
        match self.escaped_body(start + 1, b'`') {
            Some((value, end)) => {
                self.pos = end;
                self.push(TokenKind::QuotedIdent(value), start);
            }
            None => self.unexpected_char(start),
        }
    }

    /// Reads a quoted body starting at `from` up to the closing `quote`,
    /// processing backslash escapes. Returns the value and the offset after
    /// the closing quote, or `None` when the line ends first.
    fn escaped_body(&self, from: usize, quote: u8) -> Option<(String, usize)> {
        let mut value = String::new();
        let mut chars = self.text[from..].char_indices();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\n' | '\r' => return None,
                '\\' => {
                    let (_, escaped) = chars.next()?;
                    match escaped {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        'b' => value.push('\u{0008}'),
                        'f' => value.push('\u{000C}'),
                        'u' => {
                            let hex: String = chars.clone().take(4).map(|(_, c)| c).collect();
                            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                                Some(decoded) if hex.len() == 4 => {
                                    value.push(decoded);
                                    for _ in 0..4 {
                                        chars.next();
                                    }
                                }
                                _ => value.push('u'),
                            }
                        }
                        '\n' | '\r' => return None,
                        other => value.push(other),
                    }
                }
                c if c as u32 == quote as u32 => return Some((value, from + offset + 1)),
                c => value.push(c),
            }
        }
        None
    }

    /// `r'...'`: `self.pos` is at the opening quote. A backslash keeps the
    /// next character in the pattern, so `\'` does not end it.
    fn regex(&mut self, start: usize) {
        let body_start = self.pos + 1;
        let mut offset = body_start;
        while offset < self.bytes.len() {
            match self.bytes[offset] {
                b'\\' => offset += 1 + self.char_len_at(offset + 1),
                b'\'' => {
                    let content = self.text[body_start..offset].to_string();
                    self.pos = offset + 1;
                    self.push(TokenKind::Regex(content), start);
                    return;
                }
                b'\n' => break,
                _ => offset += self.char_len_at(offset),
            }
        }
        self.unexpected_char(start + 1);
    }

    /// Returns the quote after the one-letter prefix (`f`, `s`) at the
    /// current position and optional spaces, if a quote follows.
    fn quote_after_prefix(&self) -> Option<u8> {
        let rest = &self.bytes[self.pos + 1..];
        let spaces = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        match rest.get(spaces) {
            Some(quote @ (b'\'' | b'"' | b'`')) => Some(*quote),
            _ => None,
        }
    }

    /// Reads a body that keeps backslash escapes as written, from `from`
    /// to `terminator`. A single-character terminator must come before the
    /// end of the line. Returns the body's end offset.
    fn raw_body_end(&self, from: usize, terminator: &str) -> Option<usize> {
        let mut offset = from;
        while offset < self.bytes.len() {
            if self.text[offset..].starts_with(terminator) {
                return Some(offset);
            }
            match self.bytes[offset] {
                b'\\' => offset += 1 + self.char_len_at(offset + 1),
                b'\n' if terminator.len() == 1 => return None,
                _ => offset += self.char_len_at(offset),
            }
        }
        None
    }

    /// `f'...'`, `f"..."`, `` f`...` `` or their tripled forms, with
    /// optional spaces after the `f`.
    fn filter(&mut self) {
        let start = self.pos;
        let Some(quote) = self.quote_after_prefix() else {
            self.unexpected_char(start);
            return;
        };
        let quote_at = start + 1 + self.text[start + 1..].find(quote as char).unwrap_or(0);
        let triple: String = std::iter::repeat_n(quote as char, 3).collect();
        let terminator = if self.text[quote_at..].starts_with(&triple) {
            triple
        } else {
            (quote as char).to_string()
        };
        let body_start = quote_at + terminator.len();
        match self.raw_body_end(body_start, &terminator) {
            Some(body_end) => {
                let content = self.text[body_start..body_end].to_string();
                self.pos = body_end + terminator.len();
                self.push(TokenKind::Filter(content), start);
            }
            None => self.unexpected_char(quote_at),
        }
    }

    /// `s'...'` or `s"..."`: a string whose backslashes are kept as written.
    fn raw_string(&mut self) {
        let start = self.pos;
        let Some(quote) = self.quote_after_prefix() else {
            self.unexpected_char(start);
            return;
        };
        let quote_at = start + 1 + self.text[start + 1..].find(quote as char).unwrap_or(0);
        let terminator = (quote as char).to_string();
        match self.raw_body_end(quote_at + 1, &terminator) {
            Some(body_end) => {
                let content = self.text[quote_at + 1..body_end].to_string();
                self.pos = body_end + 1;
                self.push(TokenKind::String(content), start);
            }
            None => self.unexpected_char(quote_at),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek_byte(0), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) {
        let start = self.pos;
        self.digits();
        if self.peek_byte(0) == Some(b'.') && matches!(self.peek_byte(1), Some(b'0'..=b'9')) {
            self.pos += 1;
            self.digits();
        }
        if matches!(self.peek_byte(0), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.peek_byte(1), Some(b'+' | b'-')));
            if matches!(self.peek_byte(1 + sign), Some(b'0'..=b'9')) {
                self.pos += 1 + sign;
                self.digits();
            }
        }
        // Malloy rejects a number run into a word, such as `3days`.
        if self.peek_char().is_some_and(is_ident_start) {
            while self.peek_char().is_some_and(is_ident_continue) {
                self.pos += self.peek_char().map_or(1, char::len_utf8);
            }
            self.diagnostics.push(Diagnostic::error(
                SYNTAX_ERROR,
                format!("unexpected '{}'", &self.text[start..self.pos]),
                Span::new(start, self.pos),
            ));
            return;
        }
        self.push(TokenKind::Number, start);
    }

    /// `@YYYY`, `@YYYY-Qn`, `@YYYY-MM`, `@YYYY-MM-DD`, `@YYYY-MM-DD-WK`,
    /// `@YYYY-MM-DD HH`, `@YYYY-MM-DD HH:MM[:SS[.fraction]]` with an
    /// optional `[Zone/Name]` suffix; `T` may replace the space.
    fn time_literal(&mut self) {
        let start = self.pos;
        let rest = &self.bytes[start + 1..];
        let digit = |i: usize| rest.get(i).is_some_and(u8::is_ascii_digit);
        let byte = |i: usize| rest.get(i).copied();
        if !(0..4).all(digit) {
            self.unexpected_char(start);
            return;
        }
        let mut len = 4;
        if byte(4) == Some(b'-')
            && matches!(byte(5), Some(b'Q' | b'q'))
            && matches!(byte(6), Some(b'1'..=b'4'))
        {
            len = 7;
        } else if byte(4) == Some(b'-') && digit(5) && digit(6) {
            len = 7;
            if byte(7) == Some(b'-') && digit(8) && digit(9) {
                len = 10;
                if byte(10) == Some(b'-')
                    && matches!(byte(11), Some(b'W' | b'w'))
                    && matches!(byte(12), Some(b'K' | b'k'))
                {
                    len = 13;
                } else if matches!(byte(10), Some(b' ' | b'T')) && digit(11) && digit(12) {
                    len = 13;
                    if byte(13) == Some(b':') && digit(14) && digit(15) {
                        len = 16;
                        if byte(16) == Some(b':') && digit(17) && digit(18) {
                            len = 19;
                            if matches!(byte(19), Some(b'.' | b',')) && digit(20) {
                                len = 21;
                                while digit(len) {
                                    len += 1;
                                }
                            }
                        }
                        if byte(len) == Some(b'[') {
                            let zone_len = rest[len + 1..]
                                .iter()
                                .take_while(|b| {
                                    b.is_ascii_alphanumeric()
                                        || matches!(b, b'_' | b'/' | b'+' | b'-')
                                })
                                .count();
                            if byte(len + 1 + zone_len) == Some(b']') {
                                len += zone_len + 2;
                            }
                        }
                    }
                }
            }
        }
        self.pos = start + 1 + len;
        let value = self.text[start + 1..self.pos].to_string();
        self.push(TokenKind::Time(value), start);
    }

    fn punctuation(&mut self) {
        let start = self.pos;
        let next = self.peek_byte(1);
        let (kind, len) = match self.bytes[start] {
            b'{' => (TokenKind::LBrace, 1),
            b'}' => (TokenKind::RBrace, 1),
            b'(' => (TokenKind::LParen, 1),
            b')' => (TokenKind::RParen, 1),
            b'[' => (TokenKind::LBracket, 1),
            b']' => (TokenKind::RBracket, 1),
            b',' => (TokenKind::Comma, 1),
            b';' => (TokenKind::Semi, 1),
            b':' if next == Some(b':') && self.peek_byte(2) == Some(b':') => {
                (TokenKind::TripleColon, 3)
            }
            b':' if next == Some(b':') => (TokenKind::DoubleColon, 2),
            b':' => (TokenKind::Colon, 1),
            b'.' => (TokenKind::Dot, 1),
            b'-' if next == Some(b'>') => (TokenKind::Arrow, 2),
            b'-' => (TokenKind::Minus, 1),
            b'=' if next == Some(b'>') => (TokenKind::FatArrow, 2),
            b'=' => (TokenKind::Eq, 1),
            b'+' => (TokenKind::Plus, 1),
            b'*' if next == Some(b'*') => (TokenKind::StarStar, 2),
            b'*' => (TokenKind::Star, 1),
            b'/' => (TokenKind::Slash, 1),
            b'%' => (TokenKind::Percent, 1),
            b'!' if next == Some(b'=') => (TokenKind::NotEq, 2),
            b'!' if next == Some(b'~') => (TokenKind::NotMatch, 2),
            b'!' => (TokenKind::Bang, 1),
            b'<' if next == Some(b'=') => (TokenKind::LessEq, 2),
            b'<' if next == Some(b'>') => (TokenKind::NotEq, 2),
            b'<' => (TokenKind::Less, 1),
            b'>' if next == Some(b'=') => (TokenKind::GreaterEq, 2),
            b'>' => (TokenKind::Greater, 1),
            b'~' => (TokenKind::Match, 1),
            b'?' if next == Some(b'?') => (TokenKind::DoubleQuestion, 2),
            b'?' => (TokenKind::Question, 1),
            b'&' => (TokenKind::Amp, 1),
            b'|' => (TokenKind::Bar, 1),
            _ => {
                self.unexpected_char(start);
                return;
            }
        };
        self.pos += len;
        self.push(kind, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let (tokens, diagnostics) = tokenize(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        tokens.into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn strings_process_escapes() {
        assert_eq!(
            kinds(r#"'it\'s' "a\tb" '\\N'"#),
            vec![
                TokenKind::String("it's".into()),
                TokenKind::String("a\tb".into()),
                TokenKind::String("\\N".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn time_literals_take_longest_form() {
        let cases = [
            ("@2003", "2003"),
            ("@2003-Q2", "2003-Q2"),
            ("@2003-04", "2003-04"),
            ("@2003-04-05", "2003-04-05"),
            ("@2003-06-01-WK", "2003-06-01-WK"),
            ("@2003-04-05 10", "2003-04-05 10"),
            ("@2003-04-05 10:30", "2003-04-05 10:30"),
            ("@2003-04-05T10:30:15.123", "2003-04-05T10:30:15.123"),
            (
                "@2003-04-05 10:30[America/New_York]",
                "2003-04-05 10:30[America/New_York]",
            ),
        ];
        for (text, value) in cases {
            assert_eq!(
                kinds(text),
                vec![TokenKind::Time(value.into()), TokenKind::Eof],
                "{text}"
            );
        }
        assert_eq!(kinds("@2004-02-27 for").len(), 3);
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            kinds("a // x\n-- y\n/* z */ b"),
            vec![TokenKind::Word, TokenKind::Word, TokenKind::Eof]
        );
    }

    #[test]
    fn unterminated_string_reports_quote() {
        let (tokens, diagnostics) = tokenize("x = 'AA }");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].message, "unexpected '''");
        assert_eq!(diagnostics[0].span, Span::new(4, 5));
        assert_eq!(tokens.len(), 5);
    }

    #[test]
    fn filters_and_raw_strings_keep_backslashes() {
        assert_eq!(
            kinds(r#"f'a\'b' f "x" f`y` f'''m''' s'\d'"#),
            vec![
                TokenKind::Filter(r"a\'b".into()),
                TokenKind::Filter("x".into()),
                TokenKind::Filter("y".into()),
                TokenKind::Filter("m".into()),
                TokenKind::String(r"\d".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn number_run_into_word_is_rejected() {
        let (tokens, diagnostics) = tokenize("3days");
        assert_eq!(diagnostics[0].message, "unexpected '3days'");
        assert_eq!(tokens.len(), 1);
    }

    #[test]
    fn doc_annotation_block_needs_its_closer() {
        let (tokens, _) = tokenize("##| a\n|#\n|##\nx");
        assert_eq!(tokens[0].kind, TokenKind::DocAnnotation);
        assert_eq!(tokens[0].span, Span::new(0, 13));
        assert_eq!(tokens[1].kind, TokenKind::Word);
    }

    #[test]
    fn annotation_block_spans_lines() {
        let text = "#| a\n  b\n|#\nview";
        let (tokens, _) = tokenize(text);
        assert_eq!(tokens[0].kind, TokenKind::Annotation);
        assert_eq!(tokens[0].span, Span::new(0, 12));
        assert_eq!(tokens[1].kind, TokenKind::Word);
    }
}
