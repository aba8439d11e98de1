//! Turns DuckDB rows into a `Malloy.Result`, the JSON that Publisher
//! clients and Malloy's renderer read.
//!
//! The conversion walks the result's `Malloy.Schema`, which the compiler
//! produces along with the SQL: each column's Malloy type decides the kind of
//! cell, so a DuckDB `DATE` in a `date_type` column becomes a `date_cell`, a
//! LIST of STRUCT in a nested view becomes an `array_cell` of `record_cell`s,
//! and so on. NULL of any type becomes a `null_cell`.

use duckdb::types::{TimeUnit, Value};
use malloy_compiler::QueryOutput;
use serde_json::{json, Map, Number, Value as Json};

use crate::db::QueryRows;

/// Integers up to this magnitude are exact in a JavaScript number.
const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("the compiler's result schema is not valid JSON: {0}")]
    InvalidSchema(String),
    #[error("the query returned {columns} columns but its schema has {fields} fields")]
    ColumnMismatch { columns: usize, fields: usize },
}

/// The Malloy type of a result column, as far as the cell conversion needs it.
#[derive(Debug, Clone, PartialEq)]
enum CellType {
    String,
    Number,
    Boolean,
    Date,
    Timestamp,
    Json,
    SqlNative,
    Array(Box<CellType>),
    /// Field names with their types, in schema order.
    Record(Vec<(String, CellType)>),
    /// A type this server does not know; the value decides the cell.
    Other,
}

impl CellType {
    fn from_schema_type(malloy_type: &Json) -> CellType {
        match malloy_type.get("kind").and_then(Json::as_str).unwrap_or("") {
            "string_type" => CellType::String,
            "number_type" => CellType::Number,
            "boolean_type" => CellType::Boolean,
            "date_type" => CellType::Date,
            "timestamp_type" | "timestamptz_type" => CellType::Timestamp,
            "json_type" => CellType::Json,
            "sql_native_type" => CellType::SqlNative,
            "array_type" => CellType::Array(Box::new(CellType::from_schema_type(
                malloy_type.get("element_type").unwrap_or(&Json::Null),
            ))),
            "record_type" => CellType::Record(fields_of(malloy_type.get("fields"))),
            _ => CellType::Other,
        }
    }
}

fn fields_of(fields: Option<&Json>) -> Vec<(String, CellType)> {
    fields
        .and_then(Json::as_array)
        .map(|fields| {
            fields
                .iter()
                .map(|field| {
                    let name = field.get("name").and_then(Json::as_str).unwrap_or("");
                    let cell_type =
                        CellType::from_schema_type(field.get("type").unwrap_or(&Json::Null));
                    (name.to_string(), cell_type)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the `Malloy.Result` of a compiled query from the rows it returned.
pub fn malloy_result(output: &QueryOutput, rows: &QueryRows) -> Result<Json, ResultError> {
    let schema: Json = serde_json::from_str(&output.schema)
        .map_err(|error| ResultError::InvalidSchema(error.to_string()))?;
    let fields = fields_of(schema.get("fields"));
    if fields.len() != rows.columns.len() {
        return Err(ResultError::ColumnMismatch {
            columns: rows.columns.len(),
            fields: fields.len(),
        });
    }

    let records: Vec<Json> = rows
        .rows
        .iter()
        .map(|row| {
            let cells = row
                .iter()
                .zip(&fields)
                .map(|(value, (_, cell_type))| cell(value, cell_type))
                .collect();
            json!({"kind": "record_cell", "record_value": Json::Array(cells)})
        })
        .collect();

    let mut result = Map::new();
    result.insert("schema".into(), schema);
    result.insert(
        "data".into(),
        json!({"kind": "array_cell", "array_value": records}),
    );
    result.insert("connection_name".into(), json!(output.connection_name));
    result.insert("sql".into(), json!(output.sql));
    if !output.annotations.is_empty() {
        result.insert("annotations".into(), annotations(&output.annotations));
    }
    if !output.model_annotations.is_empty() {
        result.insert(
            "model_annotations".into(),
            annotations(&output.model_annotations),
        );
    }
    if let Some(timezone) = &output.query_timezone {
        result.insert("query_timezone".into(), json!(timezone));
    }
    Ok(Json::Object(result))
}

/// Converts rows to plain JSON objects keyed by column name, the form of
/// `compactJson` results and April-2025 query results. Integers beyond
/// 2^53 become strings.
pub fn plain_rows(rows: &QueryRows) -> Json {
    rows.rows
        .iter()
        .map(|row| {
            let object: Map<String, Json> = rows
                .columns
                .iter()
                .cloned()
                .zip(row.iter().map(plain_json))
                .collect();
            Json::Object(object)
        })
        .collect()
}

/// Wraps taglines as `Malloy.Annotation` objects.
pub fn annotations(lines: &[String]) -> Json {
    lines.iter().map(|line| json!({"value": line})).collect()
}

/// Converts one value to a `Malloy.Cell` of the column's type.
fn cell(value: &Value, cell_type: &CellType) -> Json {
    if matches!(value, Value::Null) {
        return json!({"kind": "null_cell"});
    }
    match cell_type {
        CellType::String => match value {
            Value::Text(text) | Value::Enum(text) => string_cell(text),
            other => string_cell(&display(other)),
        },
        CellType::Number => number_cell(value).unwrap_or_else(|| untyped_cell(value)),
        CellType::Boolean => match value {
            Value::Boolean(flag) => json!({"kind": "boolean_cell", "boolean_value": flag}),
            other => untyped_cell(other),
        },
        CellType::Date => match instant(value) {
            Some(text) => json!({"kind": "date_cell", "date_value": text}),
            None => untyped_cell(value),
        },
        CellType::Timestamp => match instant(value) {
            Some(text) => json!({"kind": "timestamp_cell", "timestamp_value": text}),
            None => untyped_cell(value),
        },
        CellType::Json => {
            let text = match value {
                Value::Text(text) => text.clone(),
                other => plain_json(other).to_string(),
            };
            json!({"kind": "json_cell", "json_value": text})
        }
        CellType::SqlNative => json!({
            "kind": "sql_native_cell",
            "sql_native_value": plain_json(value).to_string(),
        }),
        CellType::Array(element) => match value {
            Value::List(items) | Value::Array(items) => array_cell(items, element),
            other => untyped_cell(other),
        },
        CellType::Record(fields) => match value {
            Value::Struct(map) => {
                let entries: Vec<&(String, Value)> = map.iter().collect();
                let cells = fields
                    .iter()
                    .enumerate()
                    .map(|(position, (name, field_type))| {
                        // DuckDB's struct keys are the schema's field names;
                        // the position is a fallback for unnamed entries.
                        let field_value = map
                            .get(name)
                            .or_else(|| entries.get(position).map(|(_, value)| value))
                            .unwrap_or(&Value::Null);
                        cell(field_value, field_type)
                    })
                    .collect();
                json!({"kind": "record_cell", "record_value": Json::Array(cells)})
            }
            other => untyped_cell(other),
        },
        CellType::Other => untyped_cell(value),
    }
}

fn array_cell(items: &[Value], element: &CellType) -> Json {
    let cells: Vec<Json> = items.iter().map(|item| cell(item, element)).collect();
    json!({"kind": "array_cell", "array_value": cells})
}

fn string_cell(text: &str) -> Json {
    json!({"kind": "string_cell", "string_value": text})
}

/// Picks a cell from the value alone, for columns whose schema type is
/// unknown or does not match what DuckDB returned.
fn untyped_cell(value: &Value) -> Json {
    match value {
        Value::Null => json!({"kind": "null_cell"}),
        Value::Boolean(flag) => json!({"kind": "boolean_cell", "boolean_value": flag}),
        Value::Text(text) | Value::Enum(text) => string_cell(text),
        Value::Date32(_) => json!({"kind": "date_cell", "date_value": instant(value)}),
        Value::Timestamp(..) => {
            json!({"kind": "timestamp_cell", "timestamp_value": instant(value)})
        }
        Value::List(items) | Value::Array(items) => array_cell(items, &CellType::Other),
        Value::Struct(map) => {
            let cells: Vec<Json> = map.values().map(untyped_cell).collect();
            json!({"kind": "record_cell", "record_value": cells})
        }
        other => number_cell(other).unwrap_or_else(|| string_cell(&display(other))),
    }
}

/// Returns a `number_cell` for numeric values, `None` for other values.
///
/// Integers beyond 2^53 also carry `string_value` with the exact digits, as
/// Malloy does for bigints, because a JSON reader may round `number_value`.
/// NaN and the infinities have no JSON number, so their `number_value` is
/// null.
fn number_cell(value: &Value) -> Option<Json> {
    let integer: i128 = match value {
        Value::TinyInt(n) => (*n).into(),
        Value::SmallInt(n) => (*n).into(),
        Value::Int(n) => (*n).into(),
        Value::BigInt(n) => (*n).into(),
        Value::HugeInt(n) => *n,
        Value::UTinyInt(n) => (*n).into(),
        Value::USmallInt(n) => (*n).into(),
        Value::UInt(n) => (*n).into(),
        Value::UBigInt(n) => (*n).into(),
        Value::UHugeInt(n) => match i128::try_from(*n) {
            Ok(n) => n,
            Err(_) => return Some(big_number_cell(*n as f64, n.to_string())),
        },
        Value::Decimal(decimal) if decimal.scale() == 0 => decimal.value(),
        Value::Decimal(decimal) => {
            let number = decimal.to_string().parse::<f64>().ok()?;
            return Some(float_cell(number));
        }
        Value::Float(number) => return Some(float_cell(f64::from(*number))),
        Value::Double(number) => return Some(float_cell(*number)),
        _ => return None,
    };
    if integer.abs() <= MAX_SAFE_INTEGER {
        Some(json!({"kind": "number_cell", "number_value": integer as i64}))
    } else {
        Some(big_number_cell(integer as f64, integer.to_string()))
    }
}

fn big_number_cell(approximation: f64, digits: String) -> Json {
    json!({"kind": "number_cell", "number_value": approximation, "string_value": digits})
}

fn float_cell(number: f64) -> Json {
    let number_value = Number::from_f64(number).map_or(Json::Null, Json::Number);
    json!({"kind": "number_cell", "number_value": number_value})
}

/// Formats a date or timestamp as an ISO 8601 instant in UTC with
/// milliseconds, as JavaScript's `Date.toISOString` does.
fn instant(value: &Value) -> Option<String> {
    let micros = match value {
        Value::Date32(days) => i64::from(*days) * MICROS_PER_DAY,
        Value::Timestamp(unit, amount) => match unit {
            TimeUnit::Second => amount.checked_mul(1_000_000)?,
            TimeUnit::Millisecond => amount.checked_mul(1_000)?,
            TimeUnit::Microsecond => *amount,
            TimeUnit::Nanosecond => amount.div_euclid(1_000),
        },
        _ => return None,
    };
    Some(format_instant(micros))
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn format_instant(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let millis = in_day / 1_000;
    let (hour, minute, second, milli) = (
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1_000 % 60,
        millis % 1_000,
    );
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        // JavaScript writes years outside 0..=9999 with a sign and six digits.
        format!("{}{:06}", if year < 0 { '-' } else { '+' }, year.abs())
    };
    format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date, with
/// Howard Hinnant's `civil_from_days` algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Converts a value to plain JSON, for `json_cell` and `sql_native_cell`
/// text.
fn plain_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(flag) => json!(flag),
        Value::Text(text) | Value::Enum(text) => json!(text),
        Value::List(items) | Value::Array(items) => items.iter().map(plain_json).collect(),
        Value::Struct(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), plain_json(value)))
                .collect(),
        ),
        Value::Map(map) => Json::Object(
            map.iter()
                .map(|(key, value)| (display(key), plain_json(value)))
                .collect(),
        ),
        Value::Date32(_) | Value::Timestamp(..) => json!(instant(value)),
        other => match number_cell(other) {
            Some(cell) => match cell.get("string_value") {
                Some(digits) => digits.clone(),
                None => cell["number_value"].clone(),
            },
            None => json!(display(other)),
        },
    }
}

/// Formats a value as text, for string columns that hold another type.
fn display(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Boolean(flag) => flag.to_string(),
        Value::Text(text) | Value::Enum(text) => text.clone(),
        Value::Blob(bytes) | Value::Geometry(bytes) => bytes
            .iter()
            .map(|byte| match byte {
                0x20..=0x7e if *byte != b'\\' => char::from(*byte).to_string(),
                _ => format!("\\x{byte:02X}"),
            })
            .collect(),
        Value::Time64(unit, amount) => {
            let micros = unit.to_micros(*amount);
            let seconds = micros / 1_000_000;
            let fraction = micros % 1_000_000;
            let clock = format!(
                "{:02}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            );
            if fraction == 0 {
                clock
            } else {
                format!("{clock}.{fraction:06}")
            }
        }
        Value::Interval {
            months,
            days,
            nanos,
        } => format!("{months} months {days} days {} microseconds", nanos / 1_000),
        Value::Date32(_) | Value::Timestamp(..) => instant(value).unwrap_or_default(),
        Value::Union(inner) => display(inner),
        other => plain_json(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
    }

    #[test]
    fn instants_have_milliseconds_and_z() {
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_instant(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_instant(1_709_296_496_789_123),
            "2024-03-01T12:34:56.789Z"
        );
    }
}
