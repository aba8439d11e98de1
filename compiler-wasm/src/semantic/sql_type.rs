//! Validation of SQL type names written in query text, such as the quoted
//! type in `x::"DECIMAL(10, 2)"`.
//!
//! The SQL generator splices a cast type into the statement verbatim, so a
//! type name is accepted only when it matches a strict grammar of DuckDB
//! type names:
//!
//! ```text
//! type    := base suffix*
//! base    := STRUCT '(' field (',' field)* ')'
//!          | UNION '(' field (',' field)* ')'
//!          | MAP '(' type ',' type ')'
//!          | word (' ' word)* [ '(' integer [',' integer] ')' ]
//! field   := (word | quoted) type
//! suffix  := '[' [integer] ']'
//! quoted  := '"' (any character but '"' and control characters | '""')* '"'
//! ```
//!
//! A word is an ASCII letter or `_` followed by letters, digits or `_`.
//! Spaces may appear between any two tokens.

/// Maximum nesting of `STRUCT`, `UNION`, `MAP` and parameter lists in one
/// type name. It bounds the recursion of the validator.
const MAX_NESTING: usize = 32;

/// Returns whether `text` is a valid DuckDB type name under the grammar in
/// the module documentation.
pub fn is_valid_duckdb_type(text: &str) -> bool {
    let mut parser = TypeParser {
        bytes: text.as_bytes(),
        position: 0,
    };
    parser.skip_spaces();
    if !parser.parse_type(0) {
        return false;
    }
    parser.skip_spaces();
    parser.position == parser.bytes.len()
}

struct TypeParser<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl TypeParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.position += 1;
        }
    }

    /// Consumes `byte` after optional spaces, returning whether it was there.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_spaces();
        if self.peek() == Some(byte) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn parse_word(&mut self) -> Option<&str> {
        self.skip_spaces();
        let start = self.position;
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.position += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.position += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.position]).ok()
    }

    fn parse_integer(&mut self) -> bool {
        self.skip_spaces();
        let start = self.position;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.position += 1;
        }
        self.position > start
    }

    fn parse_quoted_name(&mut self) -> bool {
        self.skip_spaces();
        if self.peek() != Some(b'"') {
            return false;
        }
        self.position += 1;
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    self.position += 1;
                    if self.peek() == Some(b'"') {
                        self.position += 1;
                    } else {
                        return true;
                    }
                }
                Some(c) if c.is_ascii_control() => return false,
                Some(_) => self.position += 1,
            }
        }
    }

    fn parse_type(&mut self, depth: usize) -> bool {
        if depth > MAX_NESTING {
            return false;
        }
        let Some(first) = self.parse_word() else {
            return false;
        };
        let first = first.to_ascii_uppercase();
        let base_ok = match first.as_str() {
            "STRUCT" | "UNION" if self.eat(b'(') => self.parse_fields(depth),
            "MAP" if self.eat(b'(') => {
                self.parse_type(depth + 1)
                    && self.eat(b',')
                    && self.parse_type(depth + 1)
                    && self.eat(b')')
            }
            _ => self.parse_simple_rest(),
        };
        base_ok && self.parse_suffixes()
    }

    /// Parses the words after the first one of a simple type, such as
    /// `WITH TIME ZONE`, and its optional `(n)` or `(n, m)` parameters.
    fn parse_simple_rest(&mut self) -> bool {
        loop {
            let saved = self.position;
            if self.parse_word().is_none() {
                self.position = saved;
                break;
            }
        }
        if self.eat(b'(') {
            if !self.parse_integer() {
                return false;
            }
            if self.eat(b',') && !self.parse_integer() {
                return false;
            }
            return self.eat(b')');
        }
        true
    }

    fn parse_fields(&mut self, depth: usize) -> bool {
        loop {
            let saved = self.position;
            let named = if self.parse_quoted_name() {
                true
            } else {
                self.position = saved;
                self.parse_word().is_some()
            };
            if !named || !self.parse_type(depth + 1) {
                return false;
            }
            if self.eat(b')') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn parse_suffixes(&mut self) -> bool {
        while self.eat(b'[') {
            self.skip_spaces();
            if matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.parse_integer();
            }
            if !self.eat(b']') {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_duckdb_type;

    #[test]
    fn accepts_duckdb_type_names() {
        for text in [
            "VARCHAR",
            "integer",
            "DECIMAL(10,2)",
            "DECIMAL( 10 , 2 )",
            "VARCHAR(10)",
            "TIMESTAMP WITH TIME ZONE",
            "INTEGER[]",
            "INTEGER[3]",
            "VARCHAR[][]",
            "STRUCT(a INTEGER, b VARCHAR[])",
            "STRUCT(\"first name\" VARCHAR, \"a\"\"b\" INTEGER)",
            "MAP(VARCHAR, STRUCT(x DOUBLE))",
            "UNION(num INTEGER, str VARCHAR)",
            "STRUCT(inner STRUCT(x MAP(VARCHAR, INTEGER[])))[]",
        ] {
            assert!(is_valid_duckdb_type(text), "rejected {text:?}");
        }
    }

    #[test]
    fn rejects_sql_fragments() {
        for text in [
            "",
            "VARCHAR) || (select 1",
            "VARCHAR); DROP TABLE t; --",
            "VARCHAR -- comment",
            "VARCHAR/*x*/",
            "INTEGER, 1",
            "DECIMAL(10, 2, 3)",
            "DECIMAL(a)",
            "VARCHAR'x'",
            "STRUCT(a)",
            "STRUCT()",
            "STRUCT(\"a INTEGER)",
            "MAP(VARCHAR)",
            "INTEGER[",
            "1INT",
            "VARCHAR\nINTEGER",
        ] {
            assert!(!is_valid_duckdb_type(text), "accepted {text:?}");
        }
    }

    #[test]
    fn rejects_deep_nesting() {
        let text = format!("{}INTEGER{}", "MAP(VARCHAR, ".repeat(100), ")".repeat(100));
        assert!(!is_valid_duckdb_type(&text));
    }
}
