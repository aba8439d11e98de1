//! Converts real DuckDB results of every type to `Malloy.Result` cells.

use std::sync::Arc;

use malloy_compiler::QueryOutput;
use malloy_publisher::db::PackageDatabase;
use malloy_publisher::result::malloy_result;
use serde_json::{json, Value as Json};

fn output(sql: &str, schema: Json) -> QueryOutput {
    QueryOutput {
        sql: sql.to_string(),
        connection_name: "duckdb".into(),
        schema: schema.to_string(),
        annotations: vec!["# bar_chart\n".into()],
        model_annotations: vec![],
        source_name: None,
        query_name: None,
        row_limit: None,
        query_timezone: None,
        problems: vec![],
    }
}

fn dimension(name: &str, malloy_type: Json) -> Json {
    json!({"kind": "dimension", "name": name, "type": malloy_type})
}

/// Runs `sql` and returns the cells of the first row.
fn first_row(sql: &str, fields: Vec<Json>) -> Vec<Json> {
    let folder = tempfile::tempdir().unwrap();
    let database = Arc::new(PackageDatabase::open(folder.path()).unwrap());
    let output = output(sql, json!({ "fields": fields }));
    let rows = database.run_query(sql).unwrap();
    let result = malloy_result(&output, &rows).unwrap();
    assert_eq!(result["data"]["kind"], "array_cell");
    result["data"]["array_value"][0]["record_value"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn scalar_types_become_their_cells() {
    let cells = first_row(
        "SELECT 'a''b' AS s, 42::INTEGER AS i, 2.5::DOUBLE AS d, true AS b, \
         DATE '2024-03-01' AS dt, TIMESTAMP '2024-03-01 12:34:56.789' AS ts, \
         TIMESTAMPTZ '2024-03-01 12:34:56+02' AS tstz, '{\"k\": [1, 2]}'::JSON AS j",
        vec![
            dimension("s", json!({"kind": "string_type"})),
            dimension("i", json!({"kind": "number_type", "subtype": "integer"})),
            dimension("d", json!({"kind": "number_type", "subtype": "decimal"})),
            dimension("b", json!({"kind": "boolean_type"})),
            dimension("dt", json!({"kind": "date_type"})),
            dimension("ts", json!({"kind": "timestamp_type"})),
            dimension("tstz", json!({"kind": "timestamptz_type"})),
            dimension("j", json!({"kind": "json_type"})),
        ],
    );
    assert_eq!(
        cells[0],
        json!({"kind": "string_cell", "string_value": "a'b"})
    );
    assert_eq!(cells[1], json!({"kind": "number_cell", "number_value": 42}));
    assert_eq!(
        cells[2],
        json!({"kind": "number_cell", "number_value": 2.5})
    );
    assert_eq!(
        cells[3],
        json!({"kind": "boolean_cell", "boolean_value": true})
    );
    assert_eq!(
        cells[4],
        json!({"kind": "date_cell", "date_value": "2024-03-01T00:00:00.000Z"})
    );
    assert_eq!(
        cells[5],
        json!({"kind": "timestamp_cell", "timestamp_value": "2024-03-01T12:34:56.789Z"})
    );
    assert_eq!(
        cells[6],
        json!({"kind": "timestamp_cell", "timestamp_value": "2024-03-01T10:34:56.000Z"})
    );
    assert_eq!(cells[7]["kind"], "json_cell");
    let parsed: Json = serde_json::from_str(cells[7]["json_value"].as_str().unwrap()).unwrap();
    assert_eq!(parsed, json!({"k": [1, 2]}));
}

#[test]
fn large_integers_keep_exact_digits() {
    let cells = first_row(
        "SELECT 9007199254740993::BIGINT AS big, \
         170141183460469231731687303715884105727::HUGEINT AS huge, \
         12345678901234567890::UBIGINT AS ubig, 9007199254740991::BIGINT AS safe, \
         -9007199254740993::BIGINT AS negative",
        vec![
            dimension("big", json!({"kind": "number_type", "subtype": "integer"})),
            dimension("huge", json!({"kind": "number_type", "subtype": "integer"})),
            dimension("ubig", json!({"kind": "number_type", "subtype": "integer"})),
            dimension("safe", json!({"kind": "number_type", "subtype": "integer"})),
            dimension(
                "negative",
                json!({"kind": "number_type", "subtype": "integer"}),
            ),
        ],
    );
    assert_eq!(cells[0]["string_value"], "9007199254740993");
    assert_eq!(
        cells[0]["number_value"].as_f64(),
        Some(9007199254740993_f64)
    );
    assert_eq!(
        cells[1]["string_value"],
        "170141183460469231731687303715884105727"
    );
    assert_eq!(cells[2]["string_value"], "12345678901234567890");
    assert_eq!(
        cells[3],
        json!({"kind": "number_cell", "number_value": 9007199254740991_i64})
    );
    assert_eq!(cells[4]["string_value"], "-9007199254740993");
}

#[test]
fn decimals_and_non_finite_numbers() {
    let cells = first_row(
        "SELECT 123.45::DECIMAL(9, 2) AS dec, 12345678901234567890123::DECIMAL(38, 0) AS wide, \
         'NaN'::DOUBLE AS nan, 'inf'::DOUBLE AS inf, 1.5::FLOAT AS f",
        vec![
            dimension("dec", json!({"kind": "number_type", "subtype": "decimal"})),
            dimension("wide", json!({"kind": "number_type", "subtype": "integer"})),
            dimension("nan", json!({"kind": "number_type", "subtype": "decimal"})),
            dimension("inf", json!({"kind": "number_type", "subtype": "decimal"})),
            dimension("f", json!({"kind": "number_type", "subtype": "decimal"})),
        ],
    );
    assert_eq!(
        cells[0],
        json!({"kind": "number_cell", "number_value": 123.45})
    );
    assert_eq!(cells[1]["string_value"], "12345678901234567890123");
    assert_eq!(
        cells[2],
        json!({"kind": "number_cell", "number_value": null})
    );
    assert_eq!(
        cells[3],
        json!({"kind": "number_cell", "number_value": null})
    );
    assert_eq!(
        cells[4],
        json!({"kind": "number_cell", "number_value": 1.5})
    );
}

#[test]
fn nulls_of_every_type_are_null_cells() {
    let cells = first_row(
        "SELECT NULL::VARCHAR AS s, NULL::BIGINT AS n, NULL::DATE AS d, \
         NULL::STRUCT(a INTEGER) AS r, NULL::INTEGER[] AS a",
        vec![
            dimension("s", json!({"kind": "string_type"})),
            dimension("n", json!({"kind": "number_type"})),
            dimension("d", json!({"kind": "date_type"})),
            dimension(
                "r",
                json!({"kind": "record_type", "fields": [{"name": "a", "type": {"kind": "number_type"}}]}),
            ),
            dimension(
                "a",
                json!({"kind": "array_type", "element_type": {"kind": "number_type"}}),
            ),
        ],
    );
    for cell in cells {
        assert_eq!(cell, json!({"kind": "null_cell"}));
    }
}

#[test]
fn nested_views_become_arrays_of_records() {
    let nested_type = json!({
        "kind": "array_type",
        "element_type": {"kind": "record_type", "fields": [
            {"name": "month", "type": {"kind": "date_type", "timeframe": "month"}},
            {"name": "n", "type": {"kind": "number_type", "subtype": "integer"}},
            {"name": "tags", "type": {"kind": "array_type", "element_type": {"kind": "string_type"}}},
            {"name": "inner", "type": {"kind": "array_type", "element_type": {"kind": "record_type",
                "fields": [{"name": "x", "type": {"kind": "boolean_type"}}]}}}
        ]}
    });
    let cells = first_row(
        "SELECT 'shipped' AS status, [ \
           {'month': DATE '2024-01-01', 'n': 1, 'tags': ['a', NULL], 'inner': [{'x': true}]}, \
           {'month': DATE '2024-02-01', 'n': NULL, 'tags': [], 'inner': NULL} \
         ] AS by_month",
        vec![
            dimension("status", json!({"kind": "string_type"})),
            dimension("by_month", nested_type),
        ],
    );
    assert_eq!(
        cells[1],
        json!({"kind": "array_cell", "array_value": [
            {"kind": "record_cell", "record_value": [
                {"kind": "date_cell", "date_value": "2024-01-01T00:00:00.000Z"},
                {"kind": "number_cell", "number_value": 1},
                {"kind": "array_cell", "array_value": [
                    {"kind": "string_cell", "string_value": "a"},
                    {"kind": "null_cell"}
                ]},
                {"kind": "array_cell", "array_value": [
                    {"kind": "record_cell", "record_value": [
                        {"kind": "boolean_cell", "boolean_value": true}
                    ]}
                ]}
            ]},
            {"kind": "record_cell", "record_value": [
                {"kind": "date_cell", "date_value": "2024-02-01T00:00:00.000Z"},
                {"kind": "null_cell"},
                {"kind": "array_cell", "array_value": []},
                {"kind": "null_cell"}
            ]}
        ]})
    );
}

#[test]
fn records_are_positional_in_schema_order() {
    let cells = first_row(
        "SELECT {'b': 2, 'a': 'x', 'big': 9007199254740993::BIGINT} AS r",
        vec![dimension(
            "r",
            json!({"kind": "record_type", "fields": [
                {"name": "a", "type": {"kind": "string_type"}},
                {"name": "b", "type": {"kind": "number_type"}},
                {"name": "big", "type": {"kind": "number_type"}}
            ]}),
        )],
    );
    assert_eq!(cells[0]["kind"], "record_cell");
    assert_eq!(
        cells[0]["record_value"][0],
        json!({"kind": "string_cell", "string_value": "x"})
    );
    assert_eq!(
        cells[0]["record_value"][1],
        json!({"kind": "number_cell", "number_value": 2})
    );
    assert_eq!(
        cells[0]["record_value"][2]["string_value"],
        "9007199254740993"
    );
}

#[test]
fn result_carries_sql_connection_and_annotations() {
    let folder = tempfile::tempdir().unwrap();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let sql = "SELECT 1 AS one";
    let mut compiled = output(
        sql,
        json!({"fields": [dimension("one", json!({"kind": "number_type"}))]}),
    );
    compiled.model_annotations = vec!["## renderer_legacy\n".into()];
    compiled.query_timezone = Some("America/New_York".into());
    let rows = database.run_query(sql).unwrap();
    let result = malloy_result(&compiled, &rows).unwrap();
    assert_eq!(result["sql"], sql);
    assert_eq!(result["connection_name"], "duckdb");
    assert_eq!(result["annotations"], json!([{"value": "# bar_chart\n"}]));
    assert_eq!(
        result["model_annotations"],
        json!([{"value": "## renderer_legacy\n"}])
    );
    assert_eq!(result["query_timezone"], "America/New_York");
    assert_eq!(result["schema"]["fields"][0]["name"], "one");
}

#[test]
fn column_count_mismatch_is_an_error() {
    let folder = tempfile::tempdir().unwrap();
    let database = PackageDatabase::open(folder.path()).unwrap();
    let compiled = output("SELECT 1 AS a, 2 AS b", json!({"fields": []}));
    let rows = database.run_query(&compiled.sql).unwrap();
    let error = malloy_result(&compiled, &rows).unwrap_err();
    assert!(error.to_string().contains("2 columns"), "{error}");
}
