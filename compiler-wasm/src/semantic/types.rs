//! Malloy data types, and their derivation from DuckDB type names.

/// The subtype of a number, as the reference compiler reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberSubtype {
    Integer,
    Bigint,
    Decimal,
}

/// A time unit used to truncate, extract and measure times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeframe {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Timeframe {
    /// Parses a unit name, singular or plural (`year`, `days`).
    pub fn parse(name: &str) -> Option<Timeframe> {
        let name = name.to_ascii_lowercase();
        let singular = name.strip_suffix('s').unwrap_or(&name);
        Some(match singular {
            "year" => Timeframe::Year,
            "quarter" => Timeframe::Quarter,
            "month" => Timeframe::Month,
            "week" => Timeframe::Week,
            "day" => Timeframe::Day,
            "hour" => Timeframe::Hour,
            "minute" => Timeframe::Minute,
            "second" => Timeframe::Second,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Timeframe::Year => "year",
            Timeframe::Quarter => "quarter",
            Timeframe::Month => "month",
            Timeframe::Week => "week",
            Timeframe::Day => "day",
            Timeframe::Hour => "hour",
            Timeframe::Minute => "minute",
            Timeframe::Second => "second",
        }
    }

    /// Returns whether truncating a date to this unit still gives a date.
    pub fn is_date_unit(self) -> bool {
        matches!(
            self,
            Timeframe::Year
                | Timeframe::Quarter
                | Timeframe::Month
                | Timeframe::Week
                | Timeframe::Day
        )
    }
}

/// The type of a value in a Malloy model.
#[derive(Debug, Clone, PartialEq)]
pub enum DataType {
    String,
    Number(Option<NumberSubtype>),
    Boolean,
    Date(Option<Timeframe>),
    Timestamp(Option<Timeframe>),
    Array(Box<DataType>),
    Record(Vec<(String, DataType)>),
    Json,
    /// A database type that Malloy does not model, with its SQL name.
    SqlNative(String),
    /// The type of the literal `null`.
    Null,
    /// A regular expression literal.
    Regex,
    /// A duration such as `3 days`.
    Duration(Timeframe),
    /// An expression that failed to translate; it matches every type so
    /// one problem is reported once.
    Error,
}

impl DataType {
    pub fn number() -> DataType {
        DataType::Number(None)
    }

    pub fn is_number(&self) -> bool {
        matches!(self, DataType::Number(_) | DataType::Error | DataType::Null)
    }

    pub fn is_temporal(&self) -> bool {
        matches!(self, DataType::Date(_) | DataType::Timestamp(_))
    }

    /// Returns the type without a truncation timeframe.
    pub fn without_timeframe(&self) -> DataType {
        match self {
            DataType::Date(_) => DataType::Date(None),
            DataType::Timestamp(_) => DataType::Timestamp(None),
            other => other.clone(),
        }
    }

    /// Returns the name Malloy uses for this type in messages.
    pub fn name(&self) -> String {
        match self {
            DataType::String => "string".into(),
            DataType::Number(_) => "number".into(),
            DataType::Boolean => "boolean".into(),
            DataType::Date(_) => "date".into(),
            DataType::Timestamp(_) => "timestamp".into(),
            DataType::Array(_) => "array".into(),
            DataType::Record(_) => "record".into(),
            DataType::Json => "json".into(),
            DataType::SqlNative(_) => "sql native".into(),
            DataType::Null => "null".into(),
            DataType::Regex => "regular expression".into(),
            DataType::Duration(_) => "duration".into(),
            DataType::Error => "error".into(),
        }
    }

    /// Returns whether two types can be compared or combined without a cast.
    pub fn compatible(&self, other: &DataType) -> bool {
        match (self, other) {
            (DataType::Error, _) | (_, DataType::Error) => true,
            (DataType::Null, _) | (_, DataType::Null) => true,
            (DataType::Number(_), DataType::Number(_)) => true,
            (DataType::Date(_), DataType::Date(_)) => true,
            (DataType::Timestamp(_), DataType::Timestamp(_)) => true,
            (DataType::Date(_), DataType::Timestamp(_)) => true,
            (DataType::Timestamp(_), DataType::Date(_)) => true,
            (DataType::SqlNative(_), _) | (_, DataType::SqlNative(_)) => true,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

/// Converts a DuckDB type name such as `DECIMAL(10,2)` or
/// `STRUCT("a" VARCHAR, b INTEGER)[]` into a Malloy type.
pub fn from_duckdb(sql_type: &str) -> DataType {
    let text = sql_type.trim();
    if let Some(element) = text.strip_suffix("[]") {
        return DataType::Array(Box::new(from_duckdb(element)));
    }
    let upper = text.to_ascii_uppercase();
    if upper.starts_with("STRUCT(") && upper.ends_with(')') {
        let inner = &text["STRUCT(".len()..text.len() - 1];
        let fields = split_top_level(inner)
            .into_iter()
            .filter_map(|part| {
                let (name, rest) = split_field_name(part.trim())?;
                Some((name, from_duckdb(rest)))
            })
            .collect();
        return DataType::Record(fields);
    }
    if upper.starts_with("DECIMAL") || upper.starts_with("NUMERIC") {
        return DataType::Number(Some(NumberSubtype::Decimal));
    }
    match upper.as_str() {
        "VARCHAR" | "TEXT" | "STRING" | "CHAR" | "BPCHAR" | "UUID" => DataType::String,
        "TINYINT" | "SMALLINT" | "INTEGER" | "INT" | "INT4" | "INT2" | "UTINYINT" | "USMALLINT"
        | "UINTEGER" => DataType::Number(Some(NumberSubtype::Integer)),
        "BIGINT" | "INT8" | "HUGEINT" | "UBIGINT" | "UHUGEINT" => {
            DataType::Number(Some(NumberSubtype::Bigint))
        }
        "DOUBLE" | "FLOAT" | "REAL" | "FLOAT4" | "FLOAT8" => {
            DataType::Number(Some(NumberSubtype::Decimal))
        }
        "BOOLEAN" | "BOOL" => DataType::Boolean,
        "DATE" => DataType::Date(None),
        "TIMESTAMP"
        | "DATETIME"
        | "TIMESTAMP WITH TIME ZONE"
        | "TIMESTAMPTZ"
        | "TIMESTAMP_S"
        | "TIMESTAMP_MS"
        | "TIMESTAMP_NS" => DataType::Timestamp(None),
        "JSON" => DataType::Json,
        _ => DataType::SqlNative(text.to_string()),
    }
}

/// Splits `a INT, b STRUCT(c INT, d INT)` at the commas outside parentheses
/// and quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut in_quotes = false;
    let mut start = 0;
    for (index, ch) in text.char_indices() {
        match ch {
            '"' => in_quotes = !in_quotes,
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes => depth -= 1,
            ',' if !in_quotes && depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// Splits `"name" TYPE` or `name TYPE` into the unquoted name and the type.
fn split_field_name(text: &str) -> Option<(String, &str)> {
    if let Some(rest) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((index, ch)) = chars.next() {
            if ch == '"' {
                if let Some((_, '"')) = chars.peek() {
                    name.push('"');
                    chars.next();
                    continue;
                }
                return Some((name, rest[index + 1..].trim()));
            }
            name.push(ch);
        }
        None
    } else {
        let (name, rest) = text.split_once(' ')?;
        Some((name.to_string(), rest.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_types() {
        assert_eq!(
            from_duckdb("INTEGER"),
            DataType::Number(Some(NumberSubtype::Integer))
        );
        assert_eq!(
            from_duckdb("BIGINT"),
            DataType::Number(Some(NumberSubtype::Bigint))
        );
        assert_eq!(
            from_duckdb("DECIMAL(10,2)"),
            DataType::Number(Some(NumberSubtype::Decimal))
        );
        assert_eq!(
            from_duckdb("TIMESTAMP WITH TIME ZONE"),
            DataType::Timestamp(None)
        );
        assert_eq!(
            from_duckdb("MAP(VARCHAR, INTEGER)"),
            DataType::SqlNative("MAP(VARCHAR, INTEGER)".into())
        );
    }

    #[test]
    fn nested_types() {
        let ty = from_duckdb("STRUCT(\"key\" VARCHAR, \"value\" STRUCT(a BIGINT, b DOUBLE))[]");
        let DataType::Array(element) = ty else {
            panic!("expected an array")
        };
        let DataType::Record(fields) = *element else {
            panic!("expected a record")
        };
        assert_eq!(fields[0], ("key".to_string(), DataType::String));
        assert!(matches!(&fields[1].1, DataType::Record(inner) if inner.len() == 2));
    }
}
