//! SQL generation: joins, fan-out, nests, ordering and limits.

mod common;

use common::{request, shop_host, shop_query};
use malloy_compiler::compile_query;

#[test]
fn root_count_without_fanout_counts_rows() {
    let sql = shop_query("run: users -> { aggregate: user_count }").sql;
    assert!(sql.contains("COUNT(1) AS \"user_count\""), "{sql}");
    assert!(!sql.contains("DISTINCT"), "{sql}");
    assert!(!sql.contains("LEFT JOIN"), "{sql}");
}

#[test]
fn join_many_makes_root_aggregates_symmetric() {
    let sql =
        shop_query("run: users -> { aggregate: user_count, total_age, lines.line_count }").sql;
    assert!(
        sql.contains("COUNT(DISTINCT base.\"id\") AS \"user_count\""),
        "{sql}"
    );
    // The sum counts each user's age once, however many lines they have.
    assert!(
        sql.contains("LIST(DISTINCT {'k': base.\"id\", 'v': base.\"age\"})"),
        "{sql}"
    );
    assert!(
        sql.contains(
            "LEFT JOIN 'lines.parquet' AS \"lines__j\" ON (base.\"id\" = \"lines__j\".\"user_id\")"
        ),
        "{sql}"
    );
}

#[test]
fn joined_many_side_sums_plainly() {
    let sql = shop_query("run: users -> { aggregate: lines.revenue }").sql;
    assert!(
        sql.contains("COALESCE(SUM(\"lines__j\".\"sale_price\"), 0) AS \"revenue\""),
        "{sql}"
    );
}

#[test]
fn join_one_target_is_counted_distinctly() {
    let sql =
        shop_query("run: order_lines -> { aggregate: line_count, products.product_count }").sql;
    assert!(sql.contains("COUNT(1) AS \"line_count\""), "{sql}");
    assert!(
        sql.contains("COUNT(DISTINCT \"products__j\".\"id\") AS \"product_count\""),
        "{sql}"
    );
    assert!(
        sql.contains("ON (\"products__j\".\"id\" = base.\"product_id\")"),
        "{sql}"
    );
}

#[test]
fn keyless_cross_join_gets_generated_key() {
    let query =
        "run: users extend { join_cross: sites } -> { aggregate: user_count, sites.site_count }";
    let sql = shop_query(query).sql;
    assert!(
        sql.contains("GEN_RANDOM_UUID() AS \"__distinct_key\""),
        "{sql}"
    );
    assert!(
        sql.contains("COUNT(DISTINCT \"sites__j\".\"__distinct_key\")"),
        "{sql}"
    );
    assert!(sql.contains("ON TRUE"), "{sql}");
}

#[test]
fn filtered_measure_uses_case() {
    let sql =
        shop_query("run: users -> { aggregate: adults is user_count { where: is_adult } }").sql;
    assert!(
        sql.contains("COUNT(CASE WHEN (base.\"age\" >= 18) THEN 1 END)"),
        "{sql}"
    );
}

#[test]
fn default_order_is_first_aggregate_descending() {
    let sql = shop_query("run: users -> { group_by: state; aggregate: user_count }").sql;
    assert!(
        sql.ends_with("ORDER BY \"user_count\" DESC NULLS LAST"),
        "{sql}"
    );
}

#[test]
fn default_order_prefers_time_descending() {
    let sql =
        shop_query("run: users -> { group_by: y is signed_up.year; aggregate: user_count }").sql;
    assert!(sql.contains("ORDER BY \"y\" DESC NULLS LAST"), "{sql}");
    assert!(
        sql.contains("CAST(DATE_TRUNC('year', base.\"signed_up\") AS DATE)"),
        "{sql}"
    );
}

#[test]
fn select_has_no_default_order() {
    let sql = shop_query("run: users -> { select: id, state }").sql;
    assert!(!sql.contains("ORDER BY"), "{sql}");
    assert!(!sql.contains("GROUP BY"), "{sql}");
}

#[test]
fn default_row_limit_applies_only_without_limit() {
    let mut with_default = request("shop.malloy", "run: users -> { group_by: state }");
    with_default.default_row_limit = Some(1000);
    let output = compile_query(&shop_host(), &with_default).expect("compiles");
    assert!(output.sql.ends_with("LIMIT 1000"), "{}", output.sql);
    assert_eq!(output.row_limit, Some(1000));

    let mut own_limit = request("shop.malloy", "run: users -> { group_by: state; limit: 5 }");
    own_limit.default_row_limit = Some(1000);
    let output = compile_query(&shop_host(), &own_limit).expect("compiles");
    assert!(output.sql.ends_with("LIMIT 5"), "{}", output.sql);
    assert_eq!(output.row_limit, Some(5));
}

#[test]
fn nest_list_ordered_limited_and_joined() {
    let query = "run: users -> {
      group_by: state
      nest: top_status is {
        group_by: lines.status
        aggregate: lines.line_count
        order_by: line_count desc
        limit: 3
      }
    }";
    let sql = shop_query(query).sql;
    assert!(
        sql.contains("LIST(STRUCT_PACK(\"status\" := rows.\"status\", \"line_count\" := rows.\"line_count\") ORDER BY rows.\"line_count\" DESC NULLS LAST))[1:3]"),
        "{sql}"
    );
    assert!(
        sql.contains("core.\"state\" IS NOT DISTINCT FROM nest0.__k0"),
        "{sql}"
    );
    assert!(sql.contains("COALESCE(nest0.\"top_status\", [])"), "{sql}");
}

#[test]
fn nest_under_aggregate_only_joins_on_true() {
    let query = "run: users -> { aggregate: user_count; nest: states is { group_by: state } }";
    let sql = shop_query(query).sql;
    assert!(sql.contains(") AS nest0 ON TRUE"), "{sql}");
}

#[test]
fn all_uses_an_ungrouped_subquery() {
    let query = "run: users -> { group_by: state; aggregate: user_count, share is user_count / all(user_count) }";
    let sql = shop_query(query).sql;
    assert!(sql.contains("MAX(\"__ungrouped0\".\"__value\")"), "{sql}");
    assert!(sql.contains("AS \"__ungrouped0\" ON TRUE"), "{sql}");
}

#[test]
fn pipeline_reads_previous_stage() {
    let query = "run: users -> { group_by: state; aggregate: user_count } -> { aggregate: states is count() }";
    let sql = shop_query(query).sql;
    assert!(
        sql.contains("FROM (\nSELECT \"state\", \"user_count\""),
        "{sql}"
    );
}

#[test]
fn array_elements_are_unnested_laterally() {
    let sql = shop_query("run: users -> { group_by: tag is tags.each; aggregate: user_count }").sql;
    assert!(
        sql.contains("LEFT JOIN LATERAL UNNEST(base.\"tags\") WITH ORDINALITY AS \"tags__u\"(\"tags__j\", __row_id) ON TRUE"),
        "{sql}"
    );
    assert!(
        sql.contains("COUNT(DISTINCT base.\"id\") AS \"user_count\""),
        "{sql}"
    );
}

#[test]
fn record_fields_are_struct_access() {
    let sql = shop_query("run: users -> { group_by: address.city }").sql;
    assert!(
        sql.contains("(base.\"address\").\"city\" AS \"city\""),
        "{sql}"
    );
}

#[test]
fn calculate_is_a_window_over_the_stage_order() {
    let query = "run: users -> { group_by: state; aggregate: user_count; order_by: state; calculate: previous is lag(user_count) }";
    let sql = shop_query(query).sql;
    assert!(
        sql.contains("LAG(COUNT(1)) OVER (ORDER BY base.\"state\" ASC NULLS LAST) AS \"previous\""),
        "{sql}"
    );
}

#[test]
fn not_equal_and_not_keep_nulls() {
    let sql = shop_query("run: users -> { where: state != 'CA' and not is_adult; select: id }").sql;
    assert!(
        sql.contains("COALESCE(base.\"state\" != 'CA', TRUE)"),
        "{sql}"
    );
    assert!(
        sql.contains("COALESCE(NOT ((base.\"age\" >= 18)), TRUE)"),
        "{sql}"
    );
}

#[test]
fn filter_expression_becomes_in_list() {
    let sql = shop_query("run: users -> { where: state ~ f'CA, NY'; select: id }").sql;
    assert!(sql.contains("(base.\"state\" IN ('CA', 'NY'))"), "{sql}");
}

#[test]
fn named_view_and_refinement() {
    let sql = shop_query("run: users -> by_state + { limit: 2 }").sql;
    assert!(sql.contains("GROUP BY 1"), "{sql}");
    assert!(sql.ends_with("LIMIT 2"), "{sql}");
}

#[test]
fn source_parameters_take_arguments_and_defaults() {
    let text = format!(
        "{}\nsource: older(min_age::number is 30) is users extend {{ where: age >= min_age }}\n",
        common::SHOP_MODEL
    );
    let host = shop_host().file("shop.malloy", &text);

    let by_default = compile_query(
        &host,
        &request("shop.malloy", "run: older -> { aggregate: user_count }"),
    )
    .expect("defaults apply");
    assert!(
        by_default.sql.contains("(base.\"age\" >= 30)"),
        "{}",
        by_default.sql
    );

    let with_argument = compile_query(
        &host,
        &request(
            "shop.malloy",
            "run: older(min_age is 65) -> { aggregate: user_count }",
        ),
    )
    .expect("the argument applies");
    assert!(
        with_argument.sql.contains("(base.\"age\" >= 65)"),
        "{}",
        with_argument.sql
    );

    let problems = compile_query(
        &host,
        &request(
            "shop.malloy",
            "run: older(max_age is 1) -> { aggregate: user_count }",
        ),
    )
    .expect_err("max_age is not a parameter");
    assert_eq!(problems[0].code, "source-parameter-not-found");
}

#[test]
fn query_timezone_shifts_truncation_and_literals() {
    let output = shop_query(
        "run: order_lines -> { timezone: 'America/Los_Angeles'; where: created_at > @2024-01-01 00:00; group_by: d is created_at.day }",
    );
    assert_eq!(
        output.query_timezone.as_deref(),
        Some("America/Los_Angeles")
    );
    assert!(
        output.sql.contains(
            "(CAST(base.\"created_at\" AS TIMESTAMPTZ) AT TIME ZONE 'America/Los_Angeles')"
        ),
        "{}",
        output.sql
    );
    assert!(
        output
            .sql
            .contains("CAST(TIMESTAMPTZ '2024-01-01 00:00:00 America/Los_Angeles' AS TIMESTAMP)"),
        "{}",
        output.sql
    );
}

#[test]
fn calculation_partition_and_order() {
    let query = "run: users -> {
      group_by: state, adult is is_adult
      aggregate: user_count
      calculate: r is rank() { partition_by: adult order_by: user_count desc }
    }";
    let sql = shop_query(query).sql;
    assert!(
        sql.contains("RANK() OVER (PARTITION BY (base.\"age\" >= 18) ORDER BY COUNT(1) DESC NULLS LAST) AS \"r\""),
        "{sql}"
    );
}

#[test]
fn nest_with_two_stages_limits_per_group() {
    let query = "run: users -> {
      group_by: state
      nest: top_ages is { group_by: age; aggregate: user_count; order_by: user_count desc; limit: 2 } -> { aggregate: people is user_count.sum() }
    }";
    let sql = shop_query(query).sql;
    assert!(
        sql.contains("QUALIFY ROW_NUMBER() OVER (PARTITION BY __k0 ORDER BY \"user_count\" DESC NULLS LAST) <= 2"),
        "{sql}"
    );
    assert!(sql.contains("base.\"__k0\" AS __k0"), "{sql}");
}

#[test]
fn refinement_limit_drops_the_view_order() {
    let text = format!(
        "{}\nsource: ordered_users is users extend {{ view: by_state_name is {{ group_by: state; aggregate: user_count; order_by: state }} }}\n",
        common::SHOP_MODEL
    );
    let host = shop_host().file("shop.malloy", &text);
    let limited = compile_query(
        &host,
        &request(
            "shop.malloy",
            "run: ordered_users -> by_state_name + { limit: 2 }",
        ),
    )
    .expect("compiles");
    assert!(
        limited
            .sql
            .contains("ORDER BY \"user_count\" DESC NULLS LAST\nLIMIT 2"),
        "{}",
        limited.sql
    );
    let filtered = compile_query(
        &host,
        &request(
            "shop.malloy",
            "run: ordered_users -> by_state_name + { where: is_adult }",
        ),
    )
    .expect("compiles");
    assert!(
        filtered.sql.contains("ORDER BY \"state\" ASC NULLS LAST"),
        "{}",
        filtered.sql
    );
}

#[test]
fn zoned_timestamp_literal_reads_in_zone() {
    for (literal, value) in [
        (
            "@2003-01-01 00:00:00[America/New_York]",
            "2003-01-01 00:00:00",
        ),
        ("@2003-01-01 00:00[America/New_York]", "2003-01-01 00:00:00"),
    ] {
        let sql = shop_query(&format!("run: users -> {{ select: t is {literal} }}")).sql;
        let expected = format!("CAST(TIMESTAMPTZ '{value} America/New_York' AS TIMESTAMP)");
        assert!(sql.contains(&expected), "{sql}");
    }
}
