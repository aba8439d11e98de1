//! Metadata that the reference compiler attaches to models and results:
//! inherited tags, model tags of imported files, result names and source
//! parameters. Expected values were recorded with the reference (Malloy
//! 0.0.431).

mod common;

use common::{request, shop_host, TestHost, SHOP_MODEL};
use malloy_compiler::{compile_model, compile_query};
use serde_json::{json, Value};

fn entry<'a>(info: &'a Value, name: &str) -> &'a Value {
    info["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["name"] == json!(name))
        .unwrap_or_else(|| panic!("no entry {name}"))
}

fn field<'a>(entry: &'a Value, name: &str) -> &'a Value {
    entry["schema"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == json!(name))
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn tag_values(value: &Value) -> Vec<String> {
    value["annotations"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|a| a["value"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const TAGGED_MODEL: &str = r#"
# entity=product
source: products is duckdb.table('products.parquet') extend {
  primary_key: id
  measure: product_count is count()
  # bar_chart
  view: by_category is { group_by: category; aggregate: product_count }
  view: top_categories is by_category + { limit: 2 }
  # size=small
  view: top_one is top_categories + { limit: 1 }
}

source: lines is duckdb.table('lines.parquet') extend {
  join_one: products with product_id
  # joined
  join_one: tagged is products with product_id
}
"#;

fn tagged_info() -> Value {
    let host = shop_host().file("tagged.malloy", TAGGED_MODEL);
    let output = compile_model(&host, "tagged.malloy").expect("compiles");
    serde_json::from_str(&output.model_info).expect("JSON")
}

#[test]
fn join_carries_joined_source_tags() {
    let info = tagged_info();
    let lines = entry(&info, "lines");
    assert_eq!(tag_values(field(lines, "products")), ["# entity=product\n"]);
    // A join's own tags replace the source's.
    assert_eq!(tag_values(field(lines, "tagged")), ["# joined\n"]);
}

#[test]
fn refined_view_inherits_base_tags() {
    let info = tagged_info();
    let products = entry(&info, "products");
    let user_tags = |name: &str| -> Vec<String> {
        tag_values(field(products, name))
            .into_iter()
            .filter(|t| !t.starts_with("#(malloy)"))
            .collect()
    };
    assert_eq!(user_tags("top_categories"), ["# bar_chart\n"]);
    assert_eq!(user_tags("top_one"), ["# bar_chart\n", "# size=small\n"]);

    let host = shop_host().file("tagged.malloy", TAGGED_MODEL);
    let output = compile_model(&host, "tagged.malloy").expect("compiles");
    let summary = output
        .sources
        .iter()
        .find(|s| s.name == "products")
        .expect("products summary");
    let top = summary
        .views
        .iter()
        .find(|v| v.name == "top_categories")
        .expect("top_categories summary");
    assert_eq!(top.annotations, ["# bar_chart\n"]);
}

#[test]
fn model_tags_include_imported_files() {
    let host = TestHost::default()
        .table("SELECT 1 AS x", &[("x", "INTEGER")])
        .file(
            "a.malloy",
            "## A\nsource: a is duckdb.sql(\"SELECT 1 AS x\")\n",
        )
        .file(
            "b.malloy",
            "## B\nimport \"a.malloy\"\n## B2\nsource: b is a\n",
        )
        .file(
            "d.malloy",
            "## D\nsource: d is duckdb.sql(\"SELECT 1 AS x\")\n",
        )
        .file(
            "e.malloy",
            "## E\nimport \"d.malloy\"\nimport \"b.malloy\"\nimport {a} from \"a.malloy\"\n## E2\n",
        );
    let output = compile_model(&host, "e.malloy").expect("compiles");
    // Imported files' tags come first, in import order and each once.
    assert_eq!(
        output.model_annotations,
        ["## D\n", "## A\n", "## B\n", "## B2\n", "## E\n", "## E2\n"]
    );

    let mut query = request("e.malloy", "run: b -> { group_by: x }");
    query.restricted = true;
    let result = compile_query(&host, &query).expect("compiles");
    assert_eq!(result.model_annotations, output.model_annotations);
}

fn result_names(query: &str) -> Vec<String> {
    let model = format!("{SHOP_MODEL}\nquery: q is users -> by_state\n");
    let host = shop_host().file("shop.malloy", &model);
    let output = compile_query(&host, &request("shop.malloy", query)).expect("compiles");
    output
        .annotations
        .into_iter()
        .filter(|a| a.starts_with("#(malloy) source.name") || a.starts_with("#(malloy) query_name"))
        .collect()
}

#[test]
fn result_names_follow_reference() {
    let cases = [
        ("run: users -> by_state", "users", "by_state"),
        ("run: users -> by_state + { limit: 2 }", "users", "__stage0"),
        (
            "run: users -> by_state -> { select: state }",
            "users",
            "__stage1",
        ),
        ("run: users -> { group_by: state }", "users", "__stage0"),
        ("run: q", "users", "q"),
        ("run: q + { limit: 1 }", "users", "q"),
        ("run: q -> { select: state }", "users", "__stage1"),
        // Nests, all() and index queries take more SQL stages.
        ("run: users -> { group_by: state; nest: x is { group_by: age } }", "users", "__stage1"),
        (
            "run: users -> { group_by: state; nest: x is { group_by: age; nest: z is { group_by: id } } }",
            "users",
            "__stage2",
        ),
        (
            "run: users -> { group_by: state; nest: x is { group_by: age } } -> { select: state }",
            "users",
            "__stage2",
        ),
        (
            "run: users -> { group_by: state; nest: x is { group_by: age } -> { select: age } }",
            "users",
            "__stage2",
        ),
        ("run: users -> { group_by: state; aggregate: t is all(user_count) }", "users", "__stage1"),
        ("run: users -> { index: state }", "users", "__stage1"),
        ("run: users -> { group_by: state; calculate: r is rank() }", "users", "__stage0"),
    ];
    for (query, source, name) in cases {
        assert_eq!(
            result_names(query),
            [
                format!("#(malloy) source.name = {source}\n"),
                format!("#(malloy) query_name = {name}\n"),
            ],
            "{query}"
        );
    }
}

#[test]
fn source_parameters_in_model_info() {
    let model = "##! experimental.parameters\n\
        source: p(lo::number is 2, name::string is \"x\", d::date is @2020-01-01, nodef::number) \
        is duckdb.sql(\"SELECT 1 AS x\") extend { where: x < lo }\n";
    let host = TestHost::default()
        .table("SELECT 1 AS x", &[("x", "INTEGER")])
        .file("p.malloy", model);
    let output = compile_model(&host, "p.malloy").expect("compiles");
    let info: Value = serde_json::from_str(&output.model_info).expect("JSON");
    assert_eq!(
        entry(&info, "p")["parameters"],
        json!([
            {"name": "lo", "type": {"kind": "number_type"},
             "default_value": {"kind": "number_literal", "number_value": 2.0}},
            {"name": "name", "type": {"kind": "string_type"},
             "default_value": {"kind": "string_literal", "string_value": "x"}},
            {"name": "d", "type": {"kind": "date_type"},
             "default_value": {"kind": "date_literal", "date_value": "2020-01-01"}},
            {"name": "nodef", "type": {"kind": "number_type"}},
        ])
    );
}

fn metadata_lines(annotations: &Value) -> Vec<String> {
    annotations
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|a| a["value"].as_str())
                .filter(|text| text.starts_with("#(malloy)"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn result_metadata_follows_reference() {
    let result_line = |query: &str| shop_query_annotations(query)[0].clone();
    assert_eq!(
        result_line("run: users -> { timezone: 'Asia/Tokyo'; group_by: state }"),
        "#(malloy) drillable ordered_by = [{ state = asc }] query_timezone = \"Asia/Tokyo\"\n"
    );
    // An order_by item without a direction is listed without one.
    assert_eq!(
        result_line("run: users -> { group_by: state; order_by: state }"),
        "#(malloy) drillable ordered_by = [{ state }]\n"
    );
}

fn shop_query_annotations(query: &str) -> Vec<String> {
    common::shop_query(query)
        .annotations
        .into_iter()
        .filter(|a| a.starts_with("#(malloy)"))
        .collect()
}

#[test]
fn ad_hoc_fields_carry_drill_metadata() {
    let output = common::shop_query(
        "run: users -> { group_by: state, s is upper(state); aggregate: user_count, n is count(); \
         calculate: r is rank(); nest: x is { group_by: age } }",
    );
    let schema: Value = serde_json::from_str(&output.schema).expect("JSON");
    let fields = &schema["fields"];
    let expected = [
        "#(malloy) drill_expression { kind = field_reference name = state code = state }\n",
        "#(malloy) drill_expression.code = \"upper(state)\"\n",
        "#(malloy) calculation drill_expression { kind = field_reference name = user_count }\n",
        "#(malloy) calculation\n",
        "#(malloy) calculation\n",
        "#(malloy) drillable\n",
    ];
    for (index, line) in expected.iter().enumerate() {
        assert_eq!(
            metadata_lines(&fields[index]["annotations"]),
            [*line],
            "field {index}"
        );
    }
    let nested = &fields[5]["type"]["element_type"]["fields"][0];
    assert_eq!(
        metadata_lines(&nested["annotations"]),
        ["#(malloy) drill_expression { kind = field_reference name = age path = [x] code = age }\n"]
    );
}

#[test]
fn view_fields_carry_drill_paths() {
    let output = common::shop_query("run: users -> by_state");
    let schema: Value = serde_json::from_str(&output.schema).expect("JSON");
    let fields = &schema["fields"];
    assert_eq!(
        metadata_lines(&fields[0]["annotations"]),
        ["#(malloy) drill_expression { kind = field_reference name = state path = [by_state] code = state }\n"]
    );
    assert_eq!(
        metadata_lines(&fields[1]["annotations"]),
        ["#(malloy) calculation drill_expression { kind = field_reference name = user_count path = [by_state] }\n"]
    );
}

#[test]
fn truncation_keeps_time_name() {
    let output = common::shop_query("run: order_lines -> { group_by: created_at.month }");
    let schema: Value = serde_json::from_str(&output.schema).expect("JSON");
    let field = &schema["fields"][0];
    assert_eq!(field["name"], json!("created_at"));
    assert_eq!(
        metadata_lines(&field["annotations"]),
        ["#(malloy) drill_expression { kind = time_truncation field_reference.name = created_at \
          truncation = month code = created_at }\n"]
    );
}

const PARAMETER_MODEL: &str = "##! experimental.parameters\n\
    source: p(lo::number is 2, name::string is \"x\", d::date is @2020-01-01, nodef::number) \
    is duckdb.sql(\"SELECT 1 AS x\") extend { where: x < lo }\n";

fn parameter_query(query: &str) -> malloy_compiler::QueryOutput {
    let host = TestHost::default()
        .table("SELECT 1 AS x", &[("x", "INTEGER")])
        .file("p.malloy", PARAMETER_MODEL);
    compile_query(&host, &request("p.malloy", query)).expect("compiles")
}

#[test]
fn restricted_query_uses_parameterized_sql_source() {
    // The SQL belongs to the model, so a restricted query may use it.
    let output = parameter_query("run: p(lo is 5, nodef is 1) -> { group_by: x }");
    assert!(output.sql.contains("SELECT 1 AS x"), "{}", output.sql);
}

#[test]
fn source_line_lists_arguments() {
    let source_line = |query: &str| {
        parameter_query(query)
            .annotations
            .into_iter()
            .find(|a| a.starts_with("#(malloy) source"))
            .expect("a source line")
    };
    assert_eq!(
        source_line("run: p(lo is 5, nodef is 1) -> { group_by: x }"),
        "#(malloy) source { name = p parameters = [\
         { value { kind = number_literal number_value = 5 } name = lo }, \
         { value { kind = number_literal number_value = 1 } name = nodef }] }\n"
    );
    assert_eq!(
        source_line("run: p(nodef is 1, name is \"a b\") -> { group_by: x }"),
        "#(malloy) source { name = p parameters = [\
         { value { kind = number_literal number_value = 1 } name = nodef }, \
         { value { kind = string_literal string_value = \"a b\" } name = name }] }\n"
    );
}
