//! The SQL spelling of one database. Generation code calls the dialect for
//! every database-specific piece of text instead of testing which database
//! it writes for.

use crate::semantic::types::Timeframe;

pub trait Dialect {
    fn quote_identifier(&self, name: &str) -> String;
    fn string_literal(&self, value: &str) -> String;
    /// Returns a table reference for `connection.table('name')`.
    fn table_relation(&self, table: &str) -> String;
    fn cast(&self, expr: &str, sql_type: &str, safe: bool) -> String;
    fn truncate(&self, expr: &str, unit: Timeframe, is_date: bool) -> String;
    fn extract(&self, expr: &str, unit: Timeframe) -> String;
    /// Truncates a timestamp as a clock in `zone` shows it.
    fn truncate_in_zone(&self, expr: &str, unit: Timeframe, zone: &str) -> String;
    /// Extracts a part of a timestamp as a clock in `zone` shows it.
    fn extract_in_zone(&self, expr: &str, unit: Timeframe, zone: &str) -> String;
    /// Returns a timestamp literal read as a time in `zone`.
    fn timestamp_in_zone(&self, value: &str, zone: &str) -> String;
    /// Returns a UTC timestamp as the local time that a clock in `zone` shows.
    fn local_time(&self, expr: &str, zone: &str) -> String;
    fn day_of_week(&self, expr: &str) -> String;
    fn offset(
        &self,
        expr: &str,
        amount: &str,
        unit: Timeframe,
        subtract: bool,
        is_date: bool,
    ) -> String;
    /// Whole `unit`s from `from` to `to`.
    fn difference(&self, unit: Timeframe, from: &str, to: &str) -> String;
    fn regex_match(&self, value: &str, pattern: &str) -> String;
    fn regex_replace_all(&self, value: &str, pattern: &str, replacement: &str) -> String;
    /// Returns an aggregate of `value` that counts each `key` once, for `function`
    /// `SUM` or `AVG`.
    fn distinct_keyed_aggregate(&self, function: &str, key: &str, value: &str) -> String;
    /// Returns a relation with a generated unique column `key_name` added.
    fn with_generated_key(&self, relation: &str, key_name: &str) -> String;
    fn null_safe_equal(&self, left: &str, right: &str) -> String;
    /// Returns the list of records `fields` over the group's rows, ordered and
    /// limited; an empty list when there are no rows.
    fn aggregate_records(
        &self,
        fields: &[(String, String)],
        order_by: &[String],
        limit: Option<u64>,
    ) -> String;
    fn empty_list(&self) -> &'static str;
    fn order_term(&self, expr: &str, descending: bool) -> String;
    fn record_literal(&self, fields: &[(String, String)]) -> String;
    fn string_agg_distinct(&self, value: &str) -> String;
}

pub struct DuckDb;

impl DuckDb {
    fn unit_sql(unit: Timeframe) -> &'static str {
        unit.name()
    }
}

impl Dialect for DuckDb {
    fn quote_identifier(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    fn string_literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }

    fn table_relation(&self, table: &str) -> String {
        // A path is read through DuckDB's replacement scan, which needs a
        // string. A plain table name stays a name, but only when every dotted
        // part is an identifier, so that no text is spliced into SQL unquoted.
        let is_path = table.contains(['/', '\\'])
            || table.contains(".parquet")
            || table.contains(".csv")
            || table.contains(".json");
        if is_path || !table.split('.').all(is_plain_identifier) {
            self.string_literal(table)
        } else {
            table.to_string()
        }
    }

    fn cast(&self, expr: &str, sql_type: &str, safe: bool) -> String {
        let function = if safe { "TRY_CAST" } else { "CAST" };
        format!("{function}({expr} AS {sql_type})")
    }

    fn truncate(&self, expr: &str, unit: Timeframe, is_date: bool) -> String {
        let truncated = if unit == Timeframe::Week {
            // Malloy weeks start on Sunday; DuckDB's start on Monday.
            format!("(DATE_TRUNC('week', ({expr}) + INTERVAL 1 DAY) - INTERVAL 1 DAY)")
        } else {
            format!("DATE_TRUNC('{}', {expr})", Self::unit_sql(unit))
        };
        if is_date {
            format!("CAST({truncated} AS DATE)")
        } else {
            format!("CAST({truncated} AS TIMESTAMP)")
        }
    }

    fn extract(&self, expr: &str, unit: Timeframe) -> String {
        format!("EXTRACT({} FROM {expr})", Self::unit_sql(unit))
    }

    fn truncate_in_zone(&self, expr: &str, unit: Timeframe, zone: &str) -> String {
        let zone = self.string_literal(zone);
        let local = format!("(CAST({expr} AS TIMESTAMPTZ) AT TIME ZONE {zone})");
        let truncated = self.truncate(&local, unit, false);
        format!("CAST(({truncated}) AT TIME ZONE {zone} AS TIMESTAMP)")
    }

    fn extract_in_zone(&self, expr: &str, unit: Timeframe, zone: &str) -> String {
        self.extract(&self.local_time(expr, zone), unit)
    }

    fn local_time(&self, expr: &str, zone: &str) -> String {
        let zone = self.string_literal(zone);
        format!("(CAST({expr} AS TIMESTAMPTZ) AT TIME ZONE {zone})")
    }

    fn timestamp_in_zone(&self, value: &str, zone: &str) -> String {
        format!(
            "CAST(TIMESTAMPTZ {} AS TIMESTAMP)",
            self.string_literal(&format!("{value} {zone}"))
        )
    }

    fn day_of_week(&self, expr: &str) -> String {
        format!("(DAYOFWEEK({expr}) + 1)")
    }

    fn offset(
        &self,
        expr: &str,
        amount: &str,
        unit: Timeframe,
        subtract: bool,
        is_date: bool,
    ) -> String {
        let (amount, unit_sql) = match unit {
            Timeframe::Quarter => (format!("({amount}) * 3"), "MONTH"),
            Timeframe::Week => (format!("({amount}) * 7"), "DAY"),
            other => (
                amount.to_string(),
                match other {
                    Timeframe::Year => "YEAR",
                    Timeframe::Month => "MONTH",
                    Timeframe::Day => "DAY",
                    Timeframe::Hour => "HOUR",
                    Timeframe::Minute => "MINUTE",
                    _ => "SECOND",
                },
            ),
        };
        let sign = if subtract { "-" } else { "+" };
        let sum = format!("({expr} {sign} INTERVAL ({amount}) {unit_sql})");
        if is_date {
            format!("CAST({sum} AS DATE)")
        } else {
            sum
        }
    }

    fn difference(&self, unit: Timeframe, from: &str, to: &str) -> String {
        // DATE_SUB counts whole units, unlike DATE_DIFF, which counts
        // boundaries crossed.
        format!("DATE_SUB('{}', {from}, {to})", Self::unit_sql(unit))
    }

    fn regex_match(&self, value: &str, pattern: &str) -> String {
        format!("REGEXP_MATCHES({value}, {pattern})")
    }

    fn regex_replace_all(&self, value: &str, pattern: &str, replacement: &str) -> String {
        format!("REGEXP_REPLACE({value}, {pattern}, {replacement}, 'g')")
    }

    fn distinct_keyed_aggregate(&self, function: &str, key: &str, value: &str) -> String {
        // Each key's value enters the aggregate once: the (key, value)
        // pairs are made distinct before they are aggregated.
        format!(
            "(SELECT {function}(pair.v) FROM (SELECT UNNEST(LIST(DISTINCT {{'k': {key}, 'v': {value}}})) AS pair))"
        )
    }

    fn with_generated_key(&self, relation: &str, key_name: &str) -> String {
        format!(
            "(SELECT GEN_RANDOM_UUID() AS {}, keyed.* FROM {relation} AS keyed)",
            self.quote_identifier(key_name)
        )
    }

    fn null_safe_equal(&self, left: &str, right: &str) -> String {
        format!("{left} IS NOT DISTINCT FROM {right}")
    }

    fn aggregate_records(
        &self,
        fields: &[(String, String)],
        order_by: &[String],
        limit: Option<u64>,
    ) -> String {
        let record = self.record_literal(fields);
        let order = if order_by.is_empty() {
            String::new()
        } else {
            format!(" ORDER BY {}", order_by.join(", "))
        };
        let list = format!("LIST({record}{order})");
        let limited = match limit {
            Some(limit) => format!("({list})[1:{limit}]"),
            None => list,
        };
        format!("COALESCE({limited}, [])")
    }

    fn empty_list(&self) -> &'static str {
        "[]"
    }

    fn order_term(&self, expr: &str, descending: bool) -> String {
        format!(
            "{expr} {} NULLS LAST",
            if descending { "DESC" } else { "ASC" }
        )
    }

    fn record_literal(&self, fields: &[(String, String)]) -> String {
        let items: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("{} := {value}", self.quote_identifier(name)))
            .collect();
        format!("STRUCT_PACK({})", items.join(", "))
    }

    fn string_agg_distinct(&self, value: &str) -> String {
        format!("STRING_AGG(DISTINCT {value}, ',')")
    }
}

/// Returns whether `name` is an ASCII letter or `_` followed by letters,
/// digits or `_`, which SQL accepts without quotes.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::{Dialect, DuckDb};

    #[test]
    fn table_relation_keeps_plain_names() {
        assert_eq!(DuckDb.table_relation("main.users"), "main.users");
    }

    #[test]
    fn table_relation_quotes_paths() {
        assert_eq!(
            DuckDb.table_relation("data/users.parquet"),
            "'data/users.parquet'"
        );
    }

    #[test]
    fn table_relation_quotes_sql_text() {
        assert_eq!(
            DuckDb.table_relation("users; DROP TABLE users"),
            "'users; DROP TABLE users'"
        );
        assert_eq!(DuckDb.table_relation("it's"), "'it''s'");
    }
}
