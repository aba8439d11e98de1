//! Compares the `#(malloy)` metadata lines of every sample view's result
//! (drill expressions, drill filters, calculation and drillable marks,
//! limits, ordering, source and query names) with the reference's,
//! recorded in `tests/fixtures/view_metadata.json` by
//! `scripts/record-view-metadata.sh` without the reference's random
//! `reference_id`s.

mod compiler_kit;

use std::collections::HashMap;
use std::path::Path;

use compiler_kit::open_package;
use malloy_compiler::{QueryRequest, QuerySpec};
use malloy_publisher::package_host::PackageHost;
use serde_json::{json, Value};

/// Collects `[field path, line]` for each metadata line of the fields,
/// nested fields as `nest.field`.
fn field_lines(fields: &[Value], prefix: &str, lines: &mut Vec<Value>) {
    for field in fields {
        let name = format!("{prefix}{}", field["name"].as_str().unwrap_or_default());
        let annotations = field["annotations"].as_array().cloned().unwrap_or_default();
        for annotation in annotations {
            let text = annotation["value"].as_str().unwrap_or_default();
            if text.starts_with("#(malloy)") {
                lines.push(json!([name, text.trim()]));
            }
        }
        let element = &field["type"]["element_type"];
        if field["type"]["kind"] == json!("array_type") && element["kind"] == json!("record_type") {
            let nested = element["fields"].as_array().cloned().unwrap_or_default();
            field_lines(&nested, &format!("{name}."), lines);
        }
    }
}

#[test]
fn view_metadata_matches_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/fixtures/view_metadata.json"))
        .expect("readable view metadata fixture");
    let views: Vec<Value> = serde_json::from_str(&text).expect("fixture is JSON");
    let samples = root.join("../malloy-samples");
    let mut hosts: HashMap<String, PackageHost> = HashMap::new();
    let mut failures = Vec::new();
    for view in &views {
        let model = view["model"].as_str().expect("view has a model");
        let query = view["query"].as_str().expect("view has a query");
        let (package, model_path) = model.split_once('/').expect("model is <package>/<file>");
        let host = hosts
            .entry(package.to_string())
            .or_insert_with(|| open_package(&samples.join(package)));
        let request = QueryRequest {
            model_path: model_path.to_string(),
            query: QuerySpec::Text(query.to_string()),
            restricted: true,
            default_row_limit: Some(1000),
        };
        let output = match malloy_compiler::compile_query(host, &request) {
            Ok(output) => output,
            Err(problems) => {
                failures.push(format!("{model} {query}: {:?}", problems[0].message));
                continue;
            }
        };
        let schema: Value = serde_json::from_str(&output.schema).expect("schema is JSON");
        let mut lines = Vec::new();
        let fields = schema["fields"].as_array().cloned().unwrap_or_default();
        field_lines(&fields, "", &mut lines);
        for annotation in &output.annotations {
            if annotation.starts_with("#(malloy)") {
                lines.push(json!(["", annotation.trim()]));
            }
        }
        let expected = view["metadata"].as_array().cloned().unwrap_or_default();
        if lines != expected {
            failures.push(format!(
                "{model} {query}:\n  ours {}\n  reference {}",
                json!(lines),
                json!(expected)
            ));
        }
    }
    assert!(
        views.len() >= 70,
        "only {} views in the fixture",
        views.len()
    );
    assert!(
        failures.is_empty(),
        "{} views differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
