//! Problems reported by translation: messages, codes and positions.

mod common;

use common::{request, shop_problems, TestHost};
use malloy_compiler::{compile_model, compile_query, Position};

fn first(query: &str) -> (String, String, Position) {
    let problems = shop_problems(query);
    let problem = &problems[0];
    (
        problem.code.clone(),
        problem.message.clone(),
        problem.range.start,
    )
}

fn at(line: u32, character: u32) -> Position {
    Position { line, character }
}

#[test]
fn undefined_field_points_at_the_path() {
    let (code, message, start) = first("run: users -> {\n  group_by: users_state\n}");
    assert_eq!(code, "field-not-found");
    assert_eq!(message, "'users_state' is not defined");
    assert_eq!(start, at(1, 12));
}

#[test]
fn undefined_source() {
    let (code, message, start) = first("run: people -> { group_by: x }");
    assert_eq!(code, "source-or-query-not-found");
    assert_eq!(message, "Reference to undefined object 'people'");
    assert_eq!(start, at(0, 5));
}

#[test]
fn aggregate_in_group_by() {
    let (code, _, start) = first("run: users -> { group_by: user_count }");
    assert_eq!(code, "group-by-aggregate");
    assert_eq!(start, at(0, 26));
}

#[test]
fn aggregate_in_where() {
    let (code, message, _) = first("run: users -> { where: user_count > 3; group_by: state }");
    assert_eq!(code, "aggregate-in-where");
    assert_eq!(
        message,
        "Aggregate expressions are not allowed in `where:`; use `having:`"
    );
}

#[test]
fn arithmetic_on_a_string() {
    let (code, message, start) = first("run: users -> { select: x is state * 2 }");
    assert_eq!(code, "arithmetic-operation-type-mismatch");
    assert_eq!(
        message,
        "The '*' operator requires a number, not a 'string'"
    );
    assert_eq!(start, at(0, 29));
}

#[test]
fn time_compared_with_a_number() {
    let (code, message, _) = first("run: users -> { where: signed_up = 5; select: id }");
    assert_eq!(code, "time-comparison-type-mismatch");
    assert_eq!(message, "Cannot compare a date to a number");
}

#[test]
fn sum_across_join_many_needs_a_path() {
    let (code, message, _) = first("run: users -> { aggregate: x is sum(lines.sale_price) }");
    assert_eq!(code, "aggregate-traverses-join-many");
    assert_eq!(
        message,
        "Join path is required for this calculation; use `lines.sale_price.sum()`"
    );
}

#[test]
fn order_by_must_name_an_output() {
    let (code, message, start) = first("run: users -> {\n  group_by: state\n  order_by: age\n}");
    assert_eq!(code, "order-by-not-found-in-output");
    assert_eq!(message, "Unknown field age in output space");
    assert_eq!(start, at(2, 2));
}

#[test]
fn restricted_query_rejects_tables_and_raw_calls() {
    let (code, _, start) = first("run: duckdb.table('users.parquet') -> { select: id }");
    assert_eq!(code, "restricted-construct-forbidden");
    assert_eq!(start, at(0, 5));
    let (code, message, _) = first("run: users -> { select: x is md5!string(state) }");
    assert_eq!(code, "restricted-construct-forbidden");
    assert!(message.starts_with("`md5!string(...)` cannot be used in a restricted query"));
}

#[test]
fn unrestricted_query_may_read_tables() {
    let mut unrestricted = request(
        "shop.malloy",
        "run: duckdb.table('users.parquet') -> { select: id }",
    );
    unrestricted.restricted = false;
    assert!(compile_query(&common::shop_host(), &unrestricted).is_ok());
}

#[test]
fn missing_import_is_reported_on_the_model() {
    let host = TestHost::default().file("a.malloy", "import \"missing.malloy\"\n");
    let problems = compile_model(&host, "a.malloy").expect_err("the import is missing");
    assert!(problems
        .iter()
        .any(|p| p.url == "a.malloy" && p.message.contains("missing.malloy")));
}

#[test]
fn import_cycle_is_an_error() {
    let host = TestHost::default()
        .file("a.malloy", "import \"b.malloy\"\n")
        .file("b.malloy", "import \"a.malloy\"\n");
    let problems = compile_model(&host, "a.malloy").expect_err("the imports form a cycle");
    assert!(
        problems.iter().any(|p| p.message.contains("import cycle")),
        "{problems:#?}"
    );
}

#[test]
fn model_problem_uses_the_model_url() {
    let host = TestHost::default()
        .file(
            "m.malloy",
            "source: s is duckdb.table('t') extend {\n  dimension: d is nope + 1\n}\n",
        )
        .table("t", &[("a", "INTEGER")]);
    let problems = compile_model(&host, "m.malloy").expect_err("nope is undefined");
    assert_eq!(problems[0].url, "m.malloy");
    assert_eq!(problems[0].range.start, at(1, 18));
}

#[test]
fn pick_without_else_must_match_subject() {
    let (code, message, start) = first("run: users -> { select: x is age ? pick 'old' when > 60 }");
    assert_eq!(code, "pick-default-type-does-not-match");
    assert_eq!(
        message,
        "default type `number` does not match return type `string`"
    );
    assert_eq!(start, at(0, 35));
}

#[test]
fn reference_problems_match_the_reference() {
    let cases = [
        (
            "run: users -> { aggregate: x is count(user_count) }",
            "aggregate-of-aggregate",
            "Aggregate expression cannot be aggregate",
        ),
        (
            "run: users -> { group_by: state; aggregate: x is all(state) }",
            "ungroup-of-non-aggregate",
            "all() expression must be an aggregate",
        ),
        (
            "run: users -> { select: id; aggregate: user_count }",
            "illegal-project-operation",
            "Use of aggregate: is not allowed in a select query",
        ),
        (
            "run: users -> { select: id; having: user_count > 2 }",
            "illegal-operation-in-select-segment",
            "Illegal statement in a select query operation",
        ),
        (
            "run: users -> { select: x is signed_up + 3 }",
            "time-offset-type-mismatch",
            "Can not offset time by 'number'",
        ),
        (
            "run: users -> { select: x is upper(age) }",
            "no-matching-function-overload",
            "No matching overload for function upper(number)",
        ),
        (
            "run: users -> { where: is_adult and age; select: id }",
            "expression-type-error",
            "'logical operator' Can't use type number",
        ),
        (
            "run: users -> { group_by: state, state }",
            "output-name-conflict",
            "Output already has a field named 'state'",
        ),
        (
            "run: users -> { group_by: x is signed_up.yr }",
            "invalid-property-access-in-field-reference",
            "'signed_up' cannot contain a 'yr'",
        ),
        (
            "run: users -> { where: signed_up = @2023-13; select: id }",
            "failed-to-parse-time-literal",
            "Time data parse error",
        ),
    ];
    for (query, code, message) in cases {
        let (got_code, got_message, _) = first(query);
        assert_eq!(got_code, code, "{query}");
        assert_eq!(got_message, message, "{query}");
    }
}

#[test]
fn injected_cast_type_is_rejected() {
    let (code, message, start) =
        first("run: users -> { select: x is state::\"VARCHAR) || (select 1\" }");
    assert_eq!(code, "invalid-sql-native-type");
    assert_eq!(
        message,
        "Cast type `VARCHAR) || (select 1` is invalid for duckdb dialect"
    );
    assert_eq!(start, at(0, 29));
}

#[test]
fn injected_cast_function_type_is_rejected() {
    let (code, _, _) =
        first("run: users -> { select: x is cast(state as \"INTEGER); SELECT 1; --\") }");
    assert_eq!(code, "invalid-sql-native-type");
}

#[test]
fn structured_cast_type_is_accepted() {
    let output = common::shop_query(
        "run: users -> { select: x is state::\"STRUCT(\\\"a b\\\" VARCHAR, c DECIMAL(10, 2)[])\" }",
    );
    assert!(output
        .sql
        .contains("CAST(base.\"state\" AS STRUCT(\"a b\" VARCHAR, c DECIMAL(10, 2)[]))"));
}

#[test]
fn quoted_raw_function_name_is_rejected() {
    let mut unrestricted = request(
        "shop.malloy",
        "run: users -> { select: x is `abs(1)) --`!number(age) }",
    );
    unrestricted.restricted = false;
    let problems = compile_query(&common::shop_host(), &unrestricted).unwrap_err();
    let code = problems[0].code.clone();
    let message = problems[0].message.clone();
    assert_eq!(code, "invalid-sql-function-name");
    assert_eq!(
        message,
        "SQL function name `abs(1)) --` is invalid: use letters, digits and `_` only"
    );
}

fn chain(terms: usize) -> String {
    vec!["age"; terms].join(" + ")
}

#[test]
fn deep_operator_chain_is_one_error() {
    let query = format!("run: users -> {{ select: x is {} }}", chain(5000));
    let problems = shop_problems(&query);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "failed-field-definition");
    assert_eq!(
        problems[0].message,
        "Expression is too deeply nested: it has more than 256 operator levels"
    );
    assert_eq!(problems[0].range.start, at(0, 29));
}

#[test]
fn operator_chain_at_limit_compiles() {
    // Unoptimized builds use far larger stack frames than the release
    // component, so the deepest accepted tree gets an 8 MiB thread here.
    let worker = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let query = format!("run: users -> {{ select: x is {} }}", chain(256));
            let output = common::shop_query(&query);
            assert!(output.sql.contains("base.\"age\""));

            let query = format!("run: users -> {{ select: x is {} }}", chain(257));
            assert_eq!(shop_problems(&query).len(), 1);
        })
        .expect("the test thread starts");
    worker.join().expect("the limit query compiles");
}

#[test]
fn deep_nesting_of_every_form_is_bounded() {
    // Parentheses, unary minus, `not`, calls and applied conditions nest
    // through the parser's recursion, which has its own smaller limit.
    for query in [
        format!(
            "run: users -> {{ select: x is {}1{} }}",
            "(".repeat(5000),
            ")".repeat(5000)
        ),
        format!("run: users -> {{ select: x is {}1 }}", "-".repeat(5000)),
        format!(
            "run: users -> {{ select: x is {}true }}",
            "not ".repeat(5000)
        ),
        format!(
            "run: users -> {{ select: x is {}1{} }}",
            "abs(".repeat(5000),
            ")".repeat(5000)
        ),
        format!(
            "run: users -> {{ where: age ? {} > 1 }}",
            "> 1 | ".repeat(5000)
        ),
        format!(
            "run: users -> {{ select: x is age{} }}",
            "::number".repeat(5000)
        ),
    ] {
        let problems = shop_problems(&query);
        assert!(!problems.is_empty(), "{}", &query[..60]);
    }
}

#[test]
fn zoned_timestamp_with_bad_zone_is_rejected() {
    let (code, message, _) = first("run: users -> { select: t is @2003-01-01 00:00[] }");
    assert_eq!(code, "failed-to-parse-time-literal");
    assert_eq!(message, "Time data parse error");
}

#[test]
fn order_by_failed_field_is_not_reported() {
    let problems = shop_problems("run: users -> { group_by: s is stat; order_by: s }");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "field-not-found");
}

#[test]
fn order_by_unknown_field_is_reported() {
    let problems = shop_problems("run: users -> { group_by: state; order_by: s }");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].code, "order-by-not-found-in-output");
    assert_eq!(problems[0].message, "Unknown field s in output space");
}
