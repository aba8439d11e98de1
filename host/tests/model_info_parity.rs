//! Compares our ModelInfo for every model of the sample packages and of the
//! conformance kit's package with the reference compiler's description,
//! recorded in `tests/fixtures/model_info/` by `scripts/record-model-info.sh`.
//!
//! The reference tool prints a digest of `Malloy.ModelInfo`: sources with
//! their fields (type, join relationship, tags) and views (result schema),
//! named queries with their schemas, the model's `##` tags and the count of
//! `run:` statements. This test builds the same digest from our ModelInfo.

mod compiler_kit;

use std::path::{Path, PathBuf};

use compiler_kit::{conformance_dir, open_package};
use serde_json::{json, Map, Value};

/// Returns the sample packages' folder in the repository.
fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../malloy-samples")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_info")
}

/// Returns the tag lines of a `[{value}]` list without their newline,
/// leaving out the compiler's own `#(malloy)` lines.
fn user_tags(annotations: Option<&Value>) -> Vec<Value> {
    let Some(list) = annotations.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|annotation| {
            let text = annotation
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_else(|| annotation.as_str().unwrap_or_default());
            let text = text.strip_suffix('\n').unwrap_or(text);
            (!text.starts_with("#(malloy)")).then(|| json!(text))
        })
        .collect()
}

/// Adds the `annotations` key when there are tags, as the digest does.
fn put_tags(object: &mut Map<String, Value>, tags: Vec<Value>) {
    if !tags.is_empty() {
        object.insert("annotations".into(), Value::Array(tags));
    }
}

/// Returns `{type, subtype?, timeframe?, element?, fields?}` of a `Malloy` type.
fn type_digest(ty: &Value) -> Map<String, Value> {
    let kind = ty["kind"].as_str().unwrap_or_default();
    let mut digest = Map::new();
    match kind {
        "record_type" => {
            digest.insert("type".into(), json!("record"));
            digest.insert("fields".into(), fields_digest(&ty["fields"]));
        }
        "array_type" => {
            digest.insert("type".into(), json!("array"));
            let element = &ty["element_type"];
            if element["kind"] == json!("record_type") {
                digest.insert("fields".into(), fields_digest(&element["fields"]));
            } else {
                digest.insert("element".into(), Value::Object(type_digest(element)));
            }
        }
        _ => {
            digest.insert("type".into(), json!(kind.trim_end_matches("_type")));
            for key in ["subtype", "timeframe"] {
                if let Some(value) = ty.get(key) {
                    digest.insert(key.into(), value.clone());
                }
            }
        }
    }
    digest
}

/// Returns `[{name, ...type, annotations?}]` of a list of schema fields.
fn fields_digest(fields: &Value) -> Value {
    let fields = fields.as_array().cloned().unwrap_or_default();
    Value::Array(
        fields
            .iter()
            .map(|field| {
                let mut digest = Map::new();
                digest.insert("name".into(), field["name"].clone());
                digest.extend(type_digest(&field["type"]));
                put_tags(&mut digest, user_tags(field.get("annotations")));
                Value::Object(digest)
            })
            .collect(),
    )
}

/// Builds the reference tool's digest from our `compile_model` output.
fn digest(output: &malloy_compiler::ModelOutput) -> Value {
    let info: Value = serde_json::from_str(&output.model_info).expect("ModelInfo is JSON");
    let query_names: Vec<&str> = output.queries.iter().map(|q| q.name.as_str()).collect();
    let mut sources = Vec::new();
    let mut queries = Vec::new();
    for entry in info["entries"].as_array().expect("ModelInfo has entries") {
        let name = entry["name"].as_str().unwrap_or_default();
        let tags = user_tags(entry.get("annotations"));
        let empty = Vec::new();
        let fields = entry["schema"]["fields"].as_array().unwrap_or(&empty);
        if entry["kind"] == json!("source") && !query_names.contains(&name) {
            let mut source = Map::new();
            source.insert("name".into(), json!(name));
            put_tags(&mut source, tags);
            let mut plain = Vec::new();
            let mut views = Vec::new();
            for field in fields {
                let mut digest = Map::new();
                digest.insert("name".into(), field["name"].clone());
                digest.insert("kind".into(), field["kind"].clone());
                match field["kind"].as_str() {
                    Some("view") => {
                        digest.insert("schema".into(), fields_digest(&field["schema"]["fields"]));
                    }
                    Some("join") => {
                        digest.insert("relationship".into(), field["relationship"].clone());
                    }
                    _ => digest.extend(type_digest(&field["type"])),
                }
                put_tags(&mut digest, user_tags(field.get("annotations")));
                if field["kind"] == json!("view") {
                    views.push(Value::Object(digest));
                } else {
                    plain.push(Value::Object(digest));
                }
            }
            source.insert("fields".into(), Value::Array(plain));
            source.insert("views".into(), Value::Array(views));
            sources.push(Value::Object(source));
        } else {
            let mut query = Map::new();
            query.insert("name".into(), json!(name));
            put_tags(&mut query, tags);
            query.insert("schema".into(), fields_digest(&entry["schema"]["fields"]));
            queries.push(Value::Object(query));
        }
    }
    let mut digest = Map::new();
    let model_tags: Vec<Value> = output
        .model_annotations
        .iter()
        .map(|text| json!(text))
        .collect();
    put_tags(&mut digest, user_tags(Some(&Value::Array(model_tags))));
    digest.insert("sources".into(), Value::Array(sources));
    digest.insert("queries".into(), Value::Array(queries));
    let runs = info["anonymous_queries"].as_array().map_or(0, Vec::len);
    digest.insert("run_statements".into(), json!(runs));
    Value::Object(digest)
}

/// Returns the package folder of a fixture's package name.
fn package_root(package: &str) -> PathBuf {
    if package == "conformance" {
        conformance_dir().join("package")
    } else {
        samples_dir().join(package)
    }
}

#[test]
fn model_info_matches_reference() {
    let mut packages: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures folder exists")
        .map(|entry| entry.expect("readable fixtures folder").path())
        .collect();
    packages.sort();
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for package in packages {
        let package_name = package.file_name().unwrap().to_string_lossy().to_string();
        let host = open_package(&package_root(&package_name));
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&package)
            .expect("readable package fixtures")
            .map(|entry| entry.expect("readable fixture").path())
            .collect();
        fixtures.sort();
        for fixture in fixtures {
            let model = format!("{}.malloy", fixture.file_stem().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&fixture).expect("readable fixture");
            let expected: Value = serde_json::from_str(&text).expect("fixture is JSON");
            let output = malloy_compiler::compile_model(&host, &model)
                .unwrap_or_else(|problems| panic!("{package_name}/{model}: {problems:?}"));
            let actual = digest(&output);
            checked += 1;
            if actual != expected {
                mismatches.push(format!(
                    "{package_name}/{model}:\n--- ours\n{}\n--- reference\n{}",
                    serde_json::to_string_pretty(&actual).unwrap(),
                    serde_json::to_string_pretty(&expected).unwrap(),
                ));
            }
        }
    }
    assert!(checked >= 14, "only {checked} model fixtures found");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}
