//! Model compilation: ModelInfo entries, summaries and imports.

mod common;

use common::{request, shop_model, TestHost, SHOP_MODEL};
use malloy_compiler::{compile_model, compile_query, QuerySpec};
use serde_json::{json, Value};

fn entries(model_info: &str) -> Vec<Value> {
    let info: Value = serde_json::from_str(model_info).expect("model info is JSON");
    info["entries"].as_array().expect("entries").clone()
}

#[test]
fn sources_list_fields_joins_and_views() {
    let output = shop_model();
    let entries = entries(&output.model_info);
    let users = entries
        .iter()
        .find(|e| e["name"] == json!("users"))
        .expect("users entry");
    let fields = users["schema"]["fields"].as_array().expect("fields");
    let kinds: Vec<(&str, &str)> = fields
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or(""),
                f["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("id", "dimension"));
    // Scalars and measures first, then arrays and records, joins and views.
    let position = |name: &str| kinds.iter().position(|(n, _)| *n == name).expect(name);
    assert!(position("mean_age") < position("tags"));
    assert!(position("address") < position("lines"));
    assert!(position("lines") < position("by_state"));
    let lines = &fields[position("lines")];
    assert_eq!(lines["relationship"], json!("many"));
    let view = &fields[position("by_state")];
    assert_eq!(view["schema"]["fields"][1]["name"], json!("user_count"));

    let summary = output
        .sources
        .iter()
        .find(|s| s.name == "users")
        .expect("users summary");
    assert_eq!(summary.views.len(), 1);
    assert_eq!(summary.views[0].name, "by_state");
}

#[test]
fn named_queries_are_source_entries() {
    let text = format!("{SHOP_MODEL}\n# table\nquery: states is users -> by_state\n");
    let host = common::shop_host().file("shop.malloy", &text);
    let output = compile_model(&host, "shop.malloy").expect("compiles");
    let entries = entries(&output.model_info);
    let states = entries
        .iter()
        .find(|e| e["name"] == json!("states"))
        .expect("states entry");
    assert_eq!(states["kind"], json!("source"));
    assert_eq!(states["schema"]["fields"][0]["name"], json!("state"));
    assert_eq!(output.queries[0].name, "states");
    assert_eq!(output.queries[0].source_name.as_deref(), Some("users"));
    assert_eq!(output.queries[0].annotations, vec!["# table\n".to_string()]);
}

#[test]
fn named_query_runs_by_name() {
    let text = format!("{SHOP_MODEL}\nquery: states is users -> by_state\n");
    let host = common::shop_host().file("shop.malloy", &text);
    let mut by_name = request("shop.malloy", "");
    by_name.query = QuerySpec::Named {
        source_name: None,
        query_name: "states".into(),
    };
    let output = compile_query(&host, &by_name).expect("compiles");
    assert_eq!(output.query_name.as_deref(), Some("states"));
    assert_eq!(output.source_name.as_deref(), Some("users"));

    by_name.query = QuerySpec::Named {
        source_name: Some("users".into()),
        query_name: "by_state".into(),
    };
    let output = compile_query(&host, &by_name).expect("compiles");
    assert!(output.sql.contains("GROUP BY 1"), "{}", output.sql);
}

#[test]
fn selective_import_renames_and_limits_names() {
    let host = common::shop_host().file(
        "report.malloy",
        "import { people is users } from \"shop.malloy\"\nsource: grown is people extend { where: is_adult }\n",
    );
    let output = compile_model(&host, "report.malloy").expect("compiles");
    let names: Vec<&str> = output.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["grown"]);
    let output = compile_query(
        &host,
        &request("report.malloy", "run: people -> { aggregate: user_count }"),
    )
    .expect("the alias is usable in queries");
    assert!(output.sql.contains("'users.parquet'"), "{}", output.sql);
}

#[test]
fn model_annotations_are_kept() {
    let host = TestHost::default()
        .file(
            "m.malloy",
            "## renderer=x\nsource: s is duckdb.table('t')\n",
        )
        .table("t", &[("a", "INTEGER")]);
    let output = compile_model(&host, "m.malloy").expect("compiles");
    assert_eq!(
        output.model_annotations,
        vec!["## renderer=x\n".to_string()]
    );
}

#[test]
fn imported_query_runs_without_its_source() {
    let host = common::shop_host()
        .file(
            "base.malloy",
            &format!("{SHOP_MODEL}\nquery: states is users -> by_state\n"),
        )
        .file("report.malloy", "import { states } from \"base.malloy\"\n");
    for query in [
        "run: states",
        "run: states + { limit: 2 }",
        "run: states -> { aggregate: n is count() }",
    ] {
        let output = compile_query(&host, &request("report.malloy", query))
            .unwrap_or_else(|problems| panic!("{query}: {problems:#?}"));
        assert!(
            output.sql.contains("'users.parquet'"),
            "{query}\n{}",
            output.sql
        );
    }
}

#[test]
fn imported_parameterized_source_keeps_its_names() {
    let host = common::shop_host()
        .file(
            "base.malloy",
            &format!(
                "{SHOP_MODEL}\nsource: older(min_age::number is 30) is users extend {{ where: age >= min_age }}\n"
            ),
        )
        .file("report.malloy", "import { older } from \"base.malloy\"\n");
    let output = compile_query(
        &host,
        &request(
            "report.malloy",
            "run: older(min_age is 70) -> { aggregate: user_count }",
        ),
    )
    .unwrap_or_else(|problems| panic!("{problems:#?}"));
    assert!(
        output.sql.contains("(base.\"age\" >= 70)"),
        "{}",
        output.sql
    );
}
