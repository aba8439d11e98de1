//! Result schemas: Malloy types and subtypes, nests and annotations.

mod common;

use common::{schema_fields, shop_query};
use serde_json::json;

#[test]
fn aggregate_subtypes_follow_the_reference() {
    let output = shop_query(
        "run: users -> { aggregate: user_count, total_age, mean_age, oldest is max(age), ids is sum(id) }",
    );
    let fields = schema_fields(&output);
    let subtype = |index: usize| fields[index]["type"]["subtype"].clone();
    assert_eq!(subtype(0), json!("integer"), "count");
    assert_eq!(subtype(1), json!("integer"), "sum of INTEGER");
    assert_eq!(subtype(2), json!("decimal"), "avg");
    assert_eq!(subtype(3), json!("integer"), "max of INTEGER");
    assert_eq!(subtype(4), json!("bigint"), "sum of BIGINT");
}

#[test]
fn aggregates_carry_the_calculation_tag() {
    let fields = schema_fields(&shop_query(
        "run: users -> { group_by: state; aggregate: n is count() }",
    ));
    assert_eq!(
        fields[1]["annotations"],
        json!([{"value": "#(malloy) calculation\n"}])
    );
    assert_eq!(fields[1]["kind"], json!("dimension"));
}

#[test]
fn truncation_sets_the_timeframe() {
    let fields = schema_fields(&shop_query(
        "run: order_lines -> { group_by: m is created_at.month, d is created_at.day }",
    ));
    assert_eq!(
        fields[0]["type"],
        json!({"kind": "timestamp_type", "timeframe": "month"})
    );
    assert_eq!(
        fields[1]["type"],
        json!({"kind": "timestamp_type", "timeframe": "day"})
    );
}

#[test]
fn division_is_decimal_and_functions_lose_the_subtype() {
    let fields = schema_fields(&shop_query(
        "run: users -> { select: half is age / 2, f is floor(age), n is age + 1, r is age % 10 }",
    ));
    assert_eq!(
        fields[0]["type"],
        json!({"kind": "number_type", "subtype": "decimal"})
    );
    assert_eq!(fields[1]["type"], json!({"kind": "number_type"}));
    assert_eq!(
        fields[2]["type"],
        json!({"kind": "number_type", "subtype": "integer"})
    );
    assert_eq!(
        fields[3]["type"],
        json!({"kind": "number_type", "subtype": "decimal"}),
        "the reference types % as decimal"
    );
}

#[test]
fn nest_is_an_array_of_records() {
    let fields = schema_fields(&shop_query(
        "run: users -> { group_by: state; nest: ages is { group_by: age } }",
    ));
    let nest = &fields[1]["type"];
    assert_eq!(nest["kind"], json!("array_type"));
    assert_eq!(nest["element_type"]["kind"], json!("record_type"));
    assert_eq!(nest["element_type"]["fields"][0]["name"], json!("age"));
    assert_eq!(
        nest["element_type"]["fields"][0]["type"],
        json!({"kind": "number_type", "subtype": "integer"})
    );
}

#[test]
fn compound_columns_keep_their_types() {
    let fields = schema_fields(&shop_query("run: users -> { select: tags, address }"));
    assert_eq!(
        fields[0]["type"],
        json!({"kind": "array_type", "element_type": {"kind": "string_type"}})
    );
    assert_eq!(fields[1]["type"]["kind"], json!("record_type"));
    assert_eq!(fields[1]["type"]["fields"][1]["name"], json!("zip"));
}

#[test]
fn joined_field_output_uses_its_own_name() {
    let fields = schema_fields(&shop_query(
        "run: order_lines -> { group_by: products.category }",
    ));
    assert_eq!(fields[0]["name"], json!("category"));
}

#[test]
fn result_annotations_list_taglines_and_metadata() {
    let output = shop_query(
        "# bar_chart\nrun: users -> { group_by: state; aggregate: user_count; limit: 3 }",
    );
    assert_eq!(output.annotations[0], "# bar_chart\n");
    assert_eq!(
        output.annotations[1],
        "#(malloy) limit = 3 drillable ordered_by = [{ user_count = desc }]\n"
    );
    assert_eq!(output.annotations[2], "#(malloy) source.name = users\n");
    assert_eq!(output.annotations[3], "#(malloy) query_name = __stage0\n");
    assert_eq!(output.source_name.as_deref(), Some("users"));
}
