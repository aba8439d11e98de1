//! Result schemas and model descriptions in Malloy's stable JSON form
//! (`Malloy.Schema`, `Malloy.ModelInfo`).

use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::drill;
use crate::semantic::ir::Literal;
use crate::semantic::model::{
    FieldKind, OutputField, OutputValue, ParameterInfo, SourceDef, Stage, StageKind, ViewDef,
};
use crate::semantic::types::{DataType, NumberSubtype};

/// Translates a view of a source, named as given, into its output stage.
pub type ViewStage<'a> = dyn FnMut(&Rc<SourceDef>, &str, &ViewDef) -> Option<Stage> + 'a;

/// The metadata tagline of a result field computed by an aggregate.
pub const CALCULATION_TAG: &str = "#(malloy) calculation\n";

/// The metadata tagline of a nested view's result field.
pub const DRILLABLE_TAG: &str = "#(malloy) drillable\n";

pub fn type_json(ty: &DataType) -> Value {
    match ty {
        DataType::String => json!({"kind": "string_type"}),
        DataType::Boolean => json!({"kind": "boolean_type"}),
        DataType::Number(subtype) => {
            let mut value = json!({"kind": "number_type"});
            if let Some(subtype) = subtype {
                value["subtype"] = json!(match subtype {
                    NumberSubtype::Integer => "integer",
                    NumberSubtype::Bigint => "bigint",
                    NumberSubtype::Decimal => "decimal",
                });
            }
            value
        }
        DataType::Date(timeframe) => {
            let mut value = json!({"kind": "date_type"});
            if let Some(unit) = timeframe {
                value["timeframe"] = json!(unit.name());
            }
            value
        }
        DataType::Timestamp(timeframe) => {
            let mut value = json!({"kind": "timestamp_type"});
            if let Some(unit) = timeframe {
                value["timeframe"] = json!(unit.name());
            }
            value
        }
        DataType::Array(element) => {
            json!({"kind": "array_type", "element_type": type_json(element)})
        }
        DataType::Record(fields) => {
            let fields: Vec<Value> = fields
                .iter()
                .map(|(name, ty)| json!({"name": name, "type": type_json(ty)}))
                .collect();
            json!({"kind": "record_type", "fields": fields})
        }
        DataType::Json => json!({"kind": "json_type"}),
        DataType::SqlNative(sql_type) => json!({"kind": "sql_native_type", "sql_type": sql_type}),
        DataType::Null | DataType::Regex | DataType::Duration(_) | DataType::Error => {
            json!({"kind": "sql_native_type"})
        }
    }
}

fn annotations_json(annotations: &[String]) -> Option<Value> {
    if annotations.is_empty() {
        return None;
    }
    Some(Value::Array(
        annotations.iter().map(|a| json!({"value": a})).collect(),
    ))
}

/// Returns the type of an output field, with nests as arrays of records whose
/// fields carry their own annotations. `drill` is the path of views and
/// nests to the field's stage when the result carries drill metadata.
fn output_type_json(field: &OutputField, drill: Option<&[String]>) -> Value {
    match &field.value {
        OutputValue::Nest(stage) => {
            let nested_path = drill.map(|path| {
                let mut path = path.to_vec();
                path.push(field.name.clone());
                path
            });
            json!({
                "kind": "array_type",
                "element_type": {
                    "kind": "record_type",
                    "fields": record_fields_json(stage, nested_path.as_deref()),
                },
            })
        }
        _ => type_json(&field.data_type()),
    }
}

/// Returns a result field's tags, then the metadata line the reference
/// adds: `calculation` for aggregates and calculations, `drillable` for
/// nests, and with `drill` set, the field's drill expression.
// NOTE: the reference also adds a random `reference_id`, left out here.
fn output_annotations(stage: &Stage, field: &OutputField, drill: Option<&[String]>) -> Vec<String> {
    let mut annotations = field.annotations.clone();
    if let Some(path) = drill {
        let words = drill::field_metadata(stage, field, path);
        if !words.is_empty() {
            annotations.push(format!("#(malloy) {}\n", words.join(" ")));
        }
        return annotations;
    }
    match &field.value {
        OutputValue::Aggregate(_) | OutputValue::Calculate(_) => {
            annotations.push(CALCULATION_TAG.to_string());
        }
        OutputValue::Nest(_) => annotations.push(DRILLABLE_TAG.to_string()),
        OutputValue::Dimension(_) => {}
    }
    annotations
}

fn record_fields_json(stage: &Stage, drill: Option<&[String]>) -> Vec<Value> {
    stage
        .fields
        .iter()
        .map(|field| {
            let mut value = json!({"name": field.name, "type": output_type_json(field, drill)});
            if let Some(annotations) = annotations_json(&output_annotations(stage, field, drill)) {
                value["annotations"] = annotations;
            }
            value
        })
        .collect()
}

/// `{fields: [...]}` for the output of a stage; every field is a
/// dimension, as in a `Malloy.Result`.
pub fn result_schema(stage: &Stage) -> Value {
    schema_with_drill(stage, None)
}

/// [`result_schema`] of a query's result, with the drill metadata of its
/// fields; `view` names the view that `source -> view` runs.
pub fn query_result_schema(stage: &Stage, view: Option<&str>) -> Value {
    let path: Vec<String> = view.map(str::to_string).into_iter().collect();
    schema_with_drill(stage, Some(&path))
}

fn schema_with_drill(stage: &Stage, drill: Option<&[String]>) -> Value {
    let fields: Vec<Value> = stage
        .fields
        .iter()
        .map(|field| {
            let mut value = json!({
                "kind": "dimension",
                "name": field.name,
                "type": output_type_json(field, drill),
            });
            if let Some(annotations) = annotations_json(&output_annotations(stage, field, drill)) {
                value["annotations"] = annotations;
            }
            value
        })
        .collect();
    json!({ "fields": fields })
}

/// Returns the `#(malloy)` tagline of a result: its limit and ordering.
pub fn result_metadata_tag(stage: &Stage, limit: Option<u64>) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(limit) = limit {
        parts.push(format!("limit = {limit}"));
    }
    parts.extend(drill::filters_word(stage));
    if stage.kind != StageKind::Index {
        parts.push("drillable".to_string());
    }
    if !stage.order_by.is_empty() {
        let terms: Vec<String> = stage
            .order_by
            .iter()
            .enumerate()
            .map(|(position, (index, descending))| {
                let name = &stage.fields[*index].name;
                if stage.order_unstated.contains(&position) {
                    format!("{{ {name} }}")
                } else {
                    let direction = if *descending { "desc" } else { "asc" };
                    format!("{{ {name} = {direction} }}")
                }
            })
            .collect();
        parts.push(format!("ordered_by = [{}]", terms.join(", ")));
    }
    if let Some(zone) = &stage.timezone {
        parts.push(format!("query_timezone = {}", tag_string(zone)));
    }
    if parts.is_empty() {
        None
    } else {
        Some(format!("#(malloy) {}\n", parts.join(" ")))
    }
}

/// Quotes a value of a Malloy tag line.
fn tag_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `{kind: "source", name, schema}` for a source. `view_stage` translates a
/// view of the source into its output stage.
pub fn source_info(name: &str, source: &Rc<SourceDef>, view_stage: &mut ViewStage<'_>) -> Value {
    let mut value = json!({
        "kind": "source",
        "name": name,
        "schema": source_schema(source, view_stage),
    });
    if let Some(annotations) = annotations_json(&source.annotations) {
        value["annotations"] = annotations;
    }
    if let Some(template) = &source.template {
        let parameters: Vec<Value> = template.signature.iter().map(parameter_json).collect();
        value["parameters"] = Value::Array(parameters);
    }
    value
}

/// `{name, type, default_value?}` of a source parameter (`Malloy.ParameterInfo`).
fn parameter_json(parameter: &ParameterInfo) -> Value {
    let mut value = json!({"name": parameter.name, "type": type_json(&parameter.ty)});
    let default = match &parameter.default {
        Some(Literal::Number(digits)) => match digits.parse::<f64>() {
            Ok(number) => Some(json!({"kind": "number_literal", "number_value": number})),
            Err(_) => None,
        },
        Some(Literal::String(text)) => {
            Some(json!({"kind": "string_literal", "string_value": text}))
        }
        Some(Literal::Boolean(flag)) => {
            Some(json!({"kind": "boolean_literal", "boolean_value": flag}))
        }
        Some(Literal::Date(date)) => Some(json!({"kind": "date_literal", "date_value": date})),
        Some(Literal::Timestamp(timestamp)) => Some(json!({
            "kind": "timestamp_literal",
            "timestamp_value": timestamp,
        })),
        Some(Literal::ZonedTimestamp { value, zone }) => Some(json!({
            "kind": "timestamp_literal",
            "timestamp_value": value,
            "timezone": zone,
        })),
        Some(Literal::Null) => Some(json!({"kind": "null_literal"})),
        Some(Literal::Regex(_)) | None => None,
    };
    if let Some(default) = default {
        value["default_value"] = default;
    }
    value
}

fn source_schema(source: &Rc<SourceDef>, view_stage: &mut ViewStage<'_>) -> Value {
    // Scalar dimensions and measures come first, then array and record
    // dimensions, joins and views, each in definition order, as in the
    // reference's ModelInfo.
    let rank = |kind: &FieldKind| match kind {
        FieldKind::Dimension(expr)
            if matches!(expr.ty, DataType::Array(_) | DataType::Record(_)) =>
        {
            1
        }
        FieldKind::Dimension(_) | FieldKind::Measure(_) => 0,
        FieldKind::Join(_) => 2,
        FieldKind::View(_) => 3,
    };
    let mut ordered: Vec<&crate::semantic::model::Field> =
        source.fields.iter().filter(|f| !f.hidden).collect();
    ordered.sort_by_key(|f| rank(&f.kind));
    let mut fields: Vec<Value> = Vec::new();
    for field in ordered {
        let mut value = match &field.kind {
            FieldKind::Dimension(expr) => {
                if expr.ty == DataType::Error {
                    continue;
                }
                json!({"kind": "dimension", "name": field.name, "type": type_json(&expr.ty)})
            }
            FieldKind::Measure(expr) => {
                json!({"kind": "measure", "name": field.name, "type": type_json(&expr.ty)})
            }
            FieldKind::Join(join) => {
                // A join without tags of its own carries the joined
                // source's, as the reference lists them.
                let mut value = json!({
                    "kind": "join",
                    "name": field.name,
                    "relationship": join.kind.relationship(),
                    "schema": source_schema(&join.source, view_stage),
                });
                let annotations = if field.annotations.is_empty() {
                    &join.source.annotations
                } else {
                    &field.annotations
                };
                if let Some(annotations) = annotations_json(annotations) {
                    value["annotations"] = annotations;
                }
                fields.push(value);
                continue;
            }
            FieldKind::View(view) => {
                let Some(stage) = view_stage(source, &field.name, view) else {
                    continue;
                };
                let mut value =
                    json!({"kind": "view", "name": field.name, "schema": result_schema(&stage)});
                let mut annotations = source.view_annotations(&field.name);
                if let Some(tag) = result_metadata_tag(&stage, stage.limit) {
                    annotations.push(tag);
                }
                if let Some(annotations) = annotations_json(&annotations) {
                    value["annotations"] = annotations;
                }
                fields.push(value);
                continue;
            }
        };
        if let Some(annotations) = annotations_json(&field.annotations) {
            value["annotations"] = annotations;
        }
        fields.push(value);
    }
    let mut schema = Map::new();
    schema.insert("fields".into(), Value::Array(fields));
    Value::Object(schema)
}
