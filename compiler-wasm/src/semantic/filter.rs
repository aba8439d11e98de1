//! Filter expressions (`f'...'`): small per-type languages that test a
//! value, translated into ordinary boolean expressions.
//!
//! - strings: `AA, UA` (any of), `Air%` (LIKE), `-x` (not), `null`, `empty`;
//! - numbers: `> 5`, `!= 0, 1`, `[1 to 5]`, `(1 to 5)`, `1, 3`, `null`,
//!   combined with `and`, `or` and `not`; commas separate plain numbers;
//! - times: `2003`, `2004-Q2`, `2001-05`, `2004-02-28`, `a to b`,
//!   `before x`, `after x`, `x for 2 days`, `null`;
//! - booleans: `true`, `false`, `=true`, `=false`, `null`.

use super::expr::parse_time_literal;
use super::ir::{BinaryOp, Eval, Expr, ExprKind, Literal};
use super::types::{DataType, NumberSubtype, Timeframe};

fn boolean(kind: ExprKind, eval: Eval) -> Expr {
    Expr::new(kind, DataType::Boolean, eval)
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    let eval = left.eval.max(right.eval);
    boolean(
        ExprKind::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        },
        eval,
    )
}

fn is_null(subject: &Expr, negated: bool) -> Expr {
    boolean(
        ExprKind::IsNull {
            expr: Box::new(subject.clone()),
            negated,
        },
        subject.eval,
    )
}

fn not(expr: Expr) -> Expr {
    let eval = expr.eval;
    boolean(ExprKind::Not(Box::new(expr)), eval)
}

fn any_of(terms: Vec<Expr>) -> Option<Expr> {
    balanced(BinaryOp::Or, terms)
}

fn all_of(terms: Vec<Expr>) -> Option<Expr> {
    balanced(BinaryOp::And, terms)
}

/// Joins `terms` with the associative `op` into a balanced tree, so that a
/// filter with thousands of clauses stays a tree of logarithmic height that
/// later stages can walk recursively.
fn balanced(op: BinaryOp, mut terms: Vec<Expr>) -> Option<Expr> {
    if terms.len() <= 1 {
        return terms.pop();
    }
    let right = terms.split_off(terms.len() / 2);
    Some(binary(op, balanced(op, terms)?, balanced(op, right)?))
}

/// Translates `subject ~ f'text'`, or returns a message saying why the
/// filter is invalid.
pub fn translate(subject: &Expr, text: &str) -> Result<Expr, String> {
    match &subject.ty {
        DataType::String => string_filter(subject, text),
        DataType::Number(_) => number_filter(subject, text),
        DataType::Date(_) | DataType::Timestamp(_) => time_filter(subject, text),
        DataType::Boolean => boolean_filter(subject, text),
        other => Err(format!(
            "Filter expressions cannot be applied to a {}",
            other.name()
        )),
    }
}

/// Splits at commas that are not escaped with a backslash.
fn split_clauses(text: &str) -> Vec<String> {
    let mut clauses = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                current.push(ch);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => clauses.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    clauses.push(current);
    clauses
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn string_filter(subject: &Expr, text: &str) -> Result<Expr, String> {
    let mut equal: Vec<Expr> = Vec::new();
    let mut positives: Vec<Expr> = Vec::new();
    let mut not_equal: Vec<Expr> = Vec::new();
    let mut negatives: Vec<Expr> = Vec::new();
    for clause in split_clauses(text) {
        let (negated, body) = match clause.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, clause.clone()),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "null" {
            let test = is_null(subject, negated);
            if negated {
                negatives.push(test)
            } else {
                positives.push(test)
            }
            continue;
        }
        if lower == "empty" {
            let coalesced = Expr::new(
                ExprKind::Binary {
                    op: BinaryOp::Coalesce,
                    left: Box::new(subject.clone()),
                    right: Box::new(Expr::literal(
                        Literal::String(String::new()),
                        DataType::String,
                    )),
                },
                DataType::String,
                subject.eval,
            );
            let empty = binary(
                BinaryOp::Equal,
                coalesced,
                Expr::literal(Literal::String(String::new()), DataType::String),
            );
            if negated {
                negatives.push(not(empty))
            } else {
                positives.push(empty)
            }
            continue;
        }
        let has_wildcard = has_unescaped_wildcard(&body);
        let value = if has_wildcard {
            body.clone()
        } else {
            unescape(&body)
        };
        let literal = Expr::literal(Literal::String(value), DataType::String);
        match (has_wildcard, negated) {
            (true, false) => positives.push(binary(BinaryOp::Like, subject.clone(), literal)),
            (true, true) => negatives.push(binary(
                BinaryOp::Or,
                binary(BinaryOp::NotLike, subject.clone(), literal),
                is_null(subject, false),
            )),
            (false, false) => equal.push(literal),
            (false, true) => not_equal.push(literal),
        }
    }
    if !equal.is_empty() {
        positives.insert(0, in_list(subject, equal, false));
    }
    if !not_equal.is_empty() {
        negatives.insert(
            0,
            binary(
                BinaryOp::Or,
                in_list(subject, not_equal, true),
                is_null(subject, false),
            ),
        );
    }
    let positive = any_of(positives);
    let negative = all_of(negatives);
    match (positive, negative) {
        (Some(p), Some(n)) => Ok(binary(BinaryOp::And, p, n)),
        (Some(p), None) => Ok(p),
        (None, Some(n)) => Ok(n),
        (None, None) => Err("Empty filter expression".to_string()),
    }
}

fn has_unescaped_wildcard(text: &str) -> bool {
    let mut escaped = false;
    for ch in text.chars() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == '%' || ch == '_' {
            return true;
        }
    }
    false
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn in_list(subject: &Expr, values: Vec<Expr>, negated: bool) -> Expr {
    if values.len() == 1 {
        let op = if negated {
            BinaryOp::NotEqual
        } else {
            BinaryOp::Equal
        };
        let value = values.into_iter().next().expect("one value");
        return binary(op, subject.clone(), value);
    }
    boolean(
        ExprKind::In {
            expr: Box::new(subject.clone()),
            list: values,
            negated,
        },
        subject.eval,
    )
}

/// Tokens of number and time filters.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch.is_whitespace() {
            i += 1;
        } else if "[](),".contains(ch) {
            tokens.push(ch.to_string());
            i += 1;
        } else if "<>=!".contains(ch) {
            let mut op = ch.to_string();
            if i + 1 < chars.len() && chars[i + 1] == '=' {
                op.push('=');
                i += 1;
            }
            tokens.push(op);
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"[](),<>=!".contains(chars[i]) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
    }
    tokens
}

struct NumberParser<'a> {
    subject: &'a Expr,
    tokens: Vec<String>,
    position: usize,
}

impl NumberParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.position).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn number(&mut self) -> Result<Expr, String> {
        let token = self.next().ok_or("Expected a number")?;
        let text = token.strip_prefix('-').unwrap_or(&token);
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(format!("Expected a number, found '{token}'"));
        }
        let subtype = if token.contains('.') {
            NumberSubtype::Decimal
        } else {
            NumberSubtype::Integer
        };
        Ok(Expr::literal(
            Literal::Number(token),
            DataType::Number(Some(subtype)),
        ))
    }

    /// A whole number filter. Commas separate plain numbers only, as in
    /// `1, 3` or `!= 1, 3` (read by [`Self::number_list`]); the reference
    /// rejects a comma after a range or a comparison, or before one, with
    /// the syntax errors below.
    fn parse_list(&mut self) -> Result<Expr, String> {
        let term = self.parse_or()?;
        if self.peek() != Some(",") {
            return Ok(term);
        }
        let previous = self
            .position
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i));
        let following = self.tokens.get(self.position + 1);
        match following {
            Some(next) if !looks_numeric(next) => {
                let found = next.chars().next().unwrap_or(' ');
                Err(format!(
                    "Filter syntax error: Expected \"-\", \".\", [0-9], or whitespace but \"{found}\" found."
                ))
            }
            _ if previous.is_some_and(|p| looks_numeric(p) && !p.contains('.')) => Err(
                "Filter syntax error: Expected \".\", \"and\", \"or\", [0-9], [Ee], end of input, or whitespace but \",\" found."
                    .to_string(),
            ),
            _ => Err(
                "Filter syntax error: Expected \"and\", \"or\", end of input, or whitespace but \",\" found."
                    .to_string(),
            ),
        }
    }

    fn parse_or(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.parse_and()?];
        while self.peek().map(|t| t.eq_ignore_ascii_case("or")) == Some(true) {
            self.next();
            terms.push(self.parse_and()?);
        }
        Ok(any_of(terms).expect("at least one term"))
    }

    fn parse_and(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.parse_unary()?];
        while self.peek().map(|t| t.eq_ignore_ascii_case("and")) == Some(true) {
            self.next();
            terms.push(self.parse_unary()?);
        }
        Ok(all_of(terms).expect("at least one term"))
    }

    /// Parses a clause after any number of `not`s. SQL's `NOT NOT x` equals
    /// `x` for NULL too, so only the parity of the count is kept, and a long
    /// run of `not`s neither recurses nor builds a deep tree.
    fn parse_unary(&mut self) -> Result<Expr, String> {
        let mut negations = 0usize;
        while self.peek().map(|t| t.eq_ignore_ascii_case("not")) == Some(true) {
            self.next();
            negations += 1;
        }
        let clause =
            if negations > 0 && self.peek().map(|t| t.eq_ignore_ascii_case("null")) == Some(true) {
                self.next();
                negations -= 1;
                is_null(self.subject, true)
            } else {
                self.parse_clause()?
            };
        Ok(if negations % 2 == 1 {
            not(clause)
        } else {
            clause
        })
    }

    /// Parses a list of numbers separated by commas.
    fn number_list(&mut self) -> Result<Vec<Expr>, String> {
        let mut values = vec![self.number()?];
        while self.peek() == Some(",")
            && self.tokens.get(self.position + 1).map(|t| looks_numeric(t)) == Some(true)
        {
            self.next();
            values.push(self.number()?);
        }
        Ok(values)
    }

    fn parse_clause(&mut self) -> Result<Expr, String> {
        let subject = self.subject;
        let token = self.peek().ok_or("Unexpected end of filter")?.to_string();
        match token.as_str() {
            t if t.eq_ignore_ascii_case("null") => {
                self.next();
                Ok(is_null(subject, false))
            }
            "[" | "(" => {
                self.next();
                let low = self.number()?;
                if self.next().map(|t| t.eq_ignore_ascii_case("to")) != Some(true) {
                    return Err("Expected 'to' in a range".to_string());
                }
                let high = self.number()?;
                let close = self.next().ok_or("Expected ']' or ')'")?;
                let low_op = if token == "[" {
                    BinaryOp::GreaterOrEqual
                } else {
                    BinaryOp::Greater
                };
                let high_op = match close.as_str() {
                    "]" => BinaryOp::LessOrEqual,
                    ")" => BinaryOp::Less,
                    other => return Err(format!("Expected ']' or ')', found '{other}'")),
                };
                Ok(binary(
                    BinaryOp::And,
                    binary(low_op, subject.clone(), low),
                    binary(high_op, subject.clone(), high),
                ))
            }
            "=" => {
                self.next();
                let values = self.number_list()?;
                Ok(in_list(subject, values, false))
            }
            "!=" => {
                self.next();
                let values = self.number_list()?;
                Ok(binary(
                    BinaryOp::Or,
                    in_list(subject, values, true),
                    is_null(subject, false),
                ))
            }
            "<" | "<=" | ">" | ">=" => {
                self.next();
                let value = self.number()?;
                let op = match token.as_str() {
                    "<" => BinaryOp::Less,
                    "<=" => BinaryOp::LessOrEqual,
                    ">" => BinaryOp::Greater,
                    _ => BinaryOp::GreaterOrEqual,
                };
                Ok(binary(op, subject.clone(), value))
            }
            _ => {
                let values = self.number_list()?;
                Ok(in_list(subject, values, false))
            }
        }
    }
}

fn looks_numeric(token: &str) -> bool {
    let text = token.strip_prefix('-').unwrap_or(token);
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn number_filter(subject: &Expr, text: &str) -> Result<Expr, String> {
    let mut parser = NumberParser {
        subject,
        tokens: tokenize(text),
        position: 0,
    };
    let expr = parser.parse_list()?;
    if let Some(extra) = parser.peek() {
        return Err(format!("Unexpected '{extra}' in number filter"));
    }
    Ok(expr)
}

/// Parses a moment of a time filter into its start, a literal of the subject's
/// type and its length.
fn moment(subject: &Expr, text: &str) -> Result<(Expr, Timeframe), String> {
    if !text.is_ascii() {
        return Err(format!("Invalid time '{text}' in filter"));
    }
    // The reference reads `YYYY-Qn` as starting in month 3(n-1), so
    // `2004-Q2` covers March to May; this keeps results the same.
    let quarter =
        text.len() == 7 && text.as_bytes()[4] == b'-' && text[5..].starts_with(['Q', 'q']);
    let literal = if quarter {
        let q: u32 = text[6..]
            .parse()
            .map_err(|_| format!("Invalid quarter '{text}'"))?;
        let month = (3 * (q.max(1) - 1)).max(1);
        parse_time_literal(&format!("{}-{month:02}", &text[..4])).map(|mut e| {
            e.ty = DataType::Date(Some(Timeframe::Quarter));
            e
        })
    } else {
        parse_time_literal(text)
    };
    let literal = literal.ok_or_else(|| format!("Invalid time '{text}' in filter"))?;
    let unit = match &literal.ty {
        DataType::Date(Some(unit)) | DataType::Timestamp(Some(unit)) => *unit,
        _ => Timeframe::Day,
    };
    Ok((as_subject_type(subject, literal), unit))
}

/// Returns a time literal as a value of the subject's type.
fn as_subject_type(subject: &Expr, literal: Expr) -> Expr {
    let value = match &literal.kind {
        ExprKind::Literal(Literal::Date(day)) => format!("{day} 00:00:00"),
        ExprKind::Literal(Literal::Timestamp(moment)) => moment.clone(),
        _ => return literal,
    };
    let timestamp = Expr::literal(Literal::Timestamp(value), DataType::Timestamp(None));
    if matches!(subject.ty, DataType::Date(_)) {
        Expr::new(
            ExprKind::Cast {
                expr: Box::new(timestamp),
                sql_type: "DATE".into(),
                safe: false,
            },
            DataType::Date(None),
            Eval::Scalar,
        )
    } else {
        timestamp
    }
}

fn offset(start: &Expr, amount: &str, unit: Timeframe) -> Expr {
    Expr::new(
        ExprKind::TimeOffset {
            expr: Box::new(start.clone()),
            amount: Box::new(Expr::literal(
                Literal::Number(amount.to_string()),
                DataType::number(),
            )),
            unit,
            subtract: false,
        },
        start.ty.without_timeframe(),
        Eval::Scalar,
    )
}

fn time_clause(subject: &Expr, clause: &str) -> Result<Expr, String> {
    let words: Vec<&str> = clause.split_whitespace().collect();
    let lower = clause.to_ascii_lowercase();
    if lower == "null" {
        return Ok(is_null(subject, false));
    }
    if lower == "not null" {
        return Ok(is_null(subject, true));
    }
    if let Some(rest) = lower.strip_prefix("before ") {
        let (start, _) = moment(subject, rest.trim())?;
        return Ok(binary(BinaryOp::Less, subject.clone(), start));
    }
    if let Some(rest) = lower.strip_prefix("after ") {
        let (start, unit) = moment(subject, rest.trim())?;
        return Ok(binary(
            BinaryOp::GreaterOrEqual,
            subject.clone(),
            offset(&start, "1", unit),
        ));
    }
    if let Some(index) = words.iter().position(|w| w.eq_ignore_ascii_case("to")) {
        let (from, _) = moment(subject, &words[..index].join(" "))?;
        let (to, _) = moment(subject, &words[index + 1..].join(" "))?;
        return Ok(binary(
            BinaryOp::And,
            binary(BinaryOp::GreaterOrEqual, subject.clone(), from),
            binary(BinaryOp::Less, subject.clone(), to),
        ));
    }
    if let Some(index) = words.iter().position(|w| w.eq_ignore_ascii_case("for")) {
        let (start, _) = moment(subject, &words[..index].join(" "))?;
        let amount = words
            .get(index + 1)
            .ok_or("Expected a duration after 'for'")?;
        let unit_word = words
            .get(index + 2)
            .ok_or("Expected a time unit after 'for'")?;
        let unit = Timeframe::parse(unit_word)
            .ok_or_else(|| format!("Unknown time unit '{unit_word}'"))?;
        return Ok(binary(
            BinaryOp::And,
            binary(BinaryOp::GreaterOrEqual, subject.clone(), start.clone()),
            binary(
                BinaryOp::Less,
                subject.clone(),
                offset(&start, amount, unit),
            ),
        ));
    }
    let (start, unit) = moment(subject, clause)?;
    Ok(binary(
        BinaryOp::And,
        binary(BinaryOp::GreaterOrEqual, subject.clone(), start.clone()),
        binary(BinaryOp::Less, subject.clone(), offset(&start, "1", unit)),
    ))
}

fn time_filter(subject: &Expr, text: &str) -> Result<Expr, String> {
    let terms = split_clauses(text)
        .iter()
        .map(|clause| time_clause(subject, clause))
        .collect::<Result<Vec<_>, _>>()?;
    any_of(terms).ok_or_else(|| "Empty filter expression".to_string())
}

fn boolean_filter(subject: &Expr, text: &str) -> Result<Expr, String> {
    let mut terms = Vec::new();
    for clause in split_clauses(text) {
        let lower = clause.to_ascii_lowercase().replace(' ', "");
        let term = match lower.as_str() {
            "true" => binary(BinaryOp::And, is_null(subject, true), subject.clone()),
            "false" => binary(
                BinaryOp::Or,
                is_null(subject, false),
                binary(BinaryOp::Equal, subject.clone(), Expr::boolean(false)),
            ),
            "=true" => subject.clone(),
            "=false" => binary(BinaryOp::Equal, subject.clone(), Expr::boolean(false)),
            "null" => is_null(subject, false),
            "notnull" => is_null(subject, true),
            other => return Err(format!("Unknown boolean filter '{other}'")),
        };
        terms.push(term);
    }
    any_of(terms).ok_or_else(|| "Empty filter expression".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ty: DataType) -> Expr {
        Expr::new(
            ExprKind::Column {
                path: vec![],
                name: "x".into(),
            },
            ty,
            Eval::Scalar,
        )
    }

    #[test]
    fn string_list_becomes_in() {
        let expr = translate(&column(DataType::String), "AA, UA").expect("valid filter");
        assert!(matches!(expr.kind, ExprKind::In { negated: false, .. }));
    }

    #[test]
    fn number_range_is_two_comparisons() {
        let expr = translate(&column(DataType::number()), "[1 to 5)").expect("valid filter");
        let ExprKind::Binary {
            op: BinaryOp::And,
            left,
            right,
        } = expr.kind
        else {
            panic!("expected AND")
        };
        assert!(matches!(
            left.kind,
            ExprKind::Binary {
                op: BinaryOp::GreaterOrEqual,
                ..
            }
        ));
        assert!(matches!(
            right.kind,
            ExprKind::Binary {
                op: BinaryOp::Less,
                ..
            }
        ));
    }

    #[test]
    fn invalid_number_filter_is_an_error() {
        assert!(translate(&column(DataType::number()), "> many").is_err());
    }

    #[test]
    fn year_covers_the_whole_year() {
        let expr = translate(&column(DataType::Timestamp(None)), "2003").expect("valid filter");
        assert!(matches!(
            expr.kind,
            ExprKind::Binary {
                op: BinaryOp::And,
                ..
            }
        ));
    }

    fn height(expr: &Expr) -> usize {
        match &expr.kind {
            ExprKind::Binary { left, right, .. } => 1 + height(left).max(height(right)),
            ExprKind::Not(inner) => 1 + height(inner),
            _ => 1,
        }
    }

    #[test]
    fn long_or_chain_is_shallow() {
        let text = (0..5000)
            .map(|i| format!("> {i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let expr = translate(&column(DataType::number()), &text).expect("valid filter");
        assert!(height(&expr) <= 16, "height {}", height(&expr));
    }

    #[test]
    fn long_not_run_keeps_parity() {
        let even = format!("{}> 1", "not ".repeat(5000));
        let expr = translate(&column(DataType::number()), &even).expect("valid filter");
        assert!(!matches!(expr.kind, ExprKind::Not(_)));

        let odd = format!("{}> 1", "not ".repeat(5001));
        let expr = translate(&column(DataType::number()), &odd).expect("valid filter");
        assert!(matches!(expr.kind, ExprKind::Not(_)));
        assert_eq!(height(&expr), 3);
    }

    #[test]
    fn long_string_list_is_shallow() {
        let text = (0..5000)
            .map(|i| format!("a{i}%"))
            .collect::<Vec<_>>()
            .join(", ");
        let expr = translate(&column(DataType::String), &text).expect("valid filter");
        assert!(height(&expr) <= 16, "height {}", height(&expr));
    }
}
