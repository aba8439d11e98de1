//! Finding the `import` statements of a notebook cell, so the sources they
//! bring in can be reported as the cell's new sources.
//!
//! This is a scanner, not a parser: it skips comments and strings and reads
//! `import "file"` and `import { a, b is c } from "file"`. The compiler
//! checks the cell properly; a statement the scanner cannot read only
//! leaves its sources out of `newSources`.

/// One `import` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The file as written, relative to the importing notebook.
    pub url: String,
    /// `(alias, name)` pairs, or empty when every exported name is imported.
    pub names: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Symbol(char),
}

/// Returns the import statements of `text`, in order.
pub fn scan_imports(text: &str) -> Vec<Import> {
    let tokens = tokens(text);
    let mut imports = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        if tokens[index] != Token::Word("import".into()) {
            index += 1;
            continue;
        }
        index += 1;
        match tokens.get(index) {
            Some(Token::Text(url)) => {
                imports.push(Import {
                    url: url.clone(),
                    names: Vec::new(),
                });
                index += 1;
            }
            Some(Token::Symbol('{')) => {
                let (names, next) = import_names(&tokens, index + 1);
                index = next;
                let from = tokens.get(index) == Some(&Token::Word("from".into()));
                if let (true, Some(Token::Text(url))) = (from, tokens.get(index + 1)) {
                    if !names.is_empty() {
                        imports.push(Import {
                            url: url.clone(),
                            names,
                        });
                    }
                    index += 2;
                }
            }
            _ => {}
        }
    }
    imports
}

/// Reads `a, b is c }` from `start`; returns the pairs and the index after
/// the closing brace.
fn import_names(tokens: &[Token], start: usize) -> (Vec<(String, String)>, usize) {
    let mut names = Vec::new();
    let mut index = start;
    while let Some(token) = tokens.get(index) {
        match token {
            Token::Symbol('}') => return (names, index + 1),
            Token::Symbol(',') => index += 1,
            Token::Word(first) => {
                let aliased = tokens.get(index + 1) == Some(&Token::Word("is".into()));
                match (aliased, tokens.get(index + 2)) {
                    (true, Some(Token::Word(name))) => {
                        names.push((first.clone(), name.clone()));
                        index += 3;
                    }
                    _ => {
                        names.push((first.clone(), first.clone()));
                        index += 1;
                    }
                }
            }
            _ => return (Vec::new(), index),
        }
    }
    (Vec::new(), index)
}

fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let next = chars.get(index + 1).copied();
        if c.is_whitespace() {
            index += 1;
        } else if (c == '-' && next == Some('-')) || (c == '/' && next == Some('/')) {
            while index < chars.len() && chars[index] != '\n' {
                index += 1;
            }
        } else if c == '/' && next == Some('*') {
            index += 2;
            while index < chars.len()
                && !(chars[index] == '*' && chars.get(index + 1) == Some(&'/'))
            {
                index += 1;
            }
            index += 2;
        } else if c == '"' && next == Some('"') && chars.get(index + 2) == Some(&'"') {
            let start = index + 3;
            index = start;
            while index < chars.len() && !chars[index..].starts_with(&['"', '"', '"']) {
                index += 1;
            }
            tokens.push(Token::Text(
                chars[start..index.min(chars.len())].iter().collect(),
            ));
            index += 3;
        } else if c == '"' || c == '\'' || c == '`' {
            let (value, end) = quoted(&chars, index);
            tokens.push(if c == '`' {
                Token::Word(value)
            } else {
                Token::Text(value)
            });
            index = end;
        } else if c.is_alphanumeric() || c == '_' {
            let start = index;
            while index < chars.len() && (chars[index].is_alphanumeric() || chars[index] == '_') {
                index += 1;
            }
            tokens.push(Token::Word(chars[start..index].iter().collect()));
        } else {
            tokens.push(Token::Symbol(c));
            index += 1;
        }
    }
    tokens
}

/// Reads a quoted string or identifier starting at `start`, with backslash
/// escapes; returns its value and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> (String, usize) {
    let quote = chars[start];
    let mut value = String::new();
    let mut index = start + 1;
    while index < chars.len() && chars[index] != quote {
        if chars[index] == '\\' && index + 1 < chars.len() {
            index += 1;
        }
        value.push(chars[index]);
        index += 1;
    }
    (value, index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(url: &str, names: &[(&str, &str)]) -> Import {
        Import {
            url: url.to_string(),
            names: names
                .iter()
                .map(|(alias, name)| (alias.to_string(), name.to_string()))
                .collect(),
        }
    }

    #[test]
    fn whole_file_imports() {
        let text = "import \"shop.malloy\"\nimport 'sales.malloy'\nrun: x -> y";
        assert_eq!(
            scan_imports(text),
            vec![import("shop.malloy", &[]), import("sales.malloy", &[])]
        );
    }

    #[test]
    fn named_imports_with_aliases() {
        let text = "import { orders, buyers is users, `odd name` } from \"shop.malloy\"";
        assert_eq!(
            scan_imports(text),
            vec![import(
                "shop.malloy",
                &[
                    ("orders", "orders"),
                    ("buyers", "users"),
                    ("odd name", "odd name")
                ]
            )]
        );
    }

    #[test]
    fn comments_and_strings_are_skipped() {
        let text = "-- import \"a.malloy\"\n// import \"b.malloy\"\n/* import \"c.malloy\" */\n\
                    source: s is duckdb.sql(\"\"\"select 'import \"d.malloy\"'\"\"\")\n\
                    import \"e.malloy\"";
        assert_eq!(scan_imports(text), vec![import("e.malloy", &[])]);
    }

    #[test]
    fn unreadable_import_is_left_out() {
        assert_eq!(scan_imports("import { from \"a.malloy\""), Vec::new());
        assert_eq!(scan_imports("import"), Vec::new());
        assert_eq!(
            scan_imports("import \"unterminated"),
            vec![import("unterminated", &[])]
        );
    }
}
