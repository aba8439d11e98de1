//! The drill metadata that the reference adds to result fields: what a
//! field was computed from, so that a renderer can build a query that
//! drills into one of its values.
//!
//! Inside a named view or a nest, every field refers to itself by name and
//! by the path of views and nests that leads to it, and a dimension also
//! quotes its source text:
//! `drill_expression { kind = field_reference name = n path = [v] code = "..." }`.
//! At the top of an ad-hoc query, a field written as a reference refers to
//! the source's field (with the join path), a dimension written as an
//! expression quotes only its code, and other aggregates carry no drill
//! expression.

use crate::semantic::model::{DrillOrigin, OutputField, OutputValue, Stage};
use crate::semantic::types::{DataType, Timeframe};

/// Returns the `#(malloy)` words of one result field of `stage`, without
/// the prefix: `calculation`, `drillable` and `drill_expression`.
pub fn field_metadata(stage: &Stage, field: &OutputField, path: &[String]) -> Vec<String> {
    let mut words = Vec::new();
    let is_calculation = matches!(
        field.value,
        OutputValue::Aggregate(_) | OutputValue::Calculate(_)
    );
    if is_calculation {
        words.push("calculation".to_string());
    }
    if let OutputValue::Nest(nest) = &field.value {
        words.push("drillable".to_string());
        words.extend(filters_word(nest));
        return words;
    }
    // Arrays and records cannot be drilled into by value.
    if matches!(field.data_type(), DataType::Array(_) | DataType::Record(_)) {
        return words;
    }
    let origin = stage
        .drill_origins
        .iter()
        .find(|(name, _)| *name == field.name)
        .map(|(_, origin)| origin);
    if !path.is_empty() {
        let mut expression = format!(
            "drill_expression {{ kind = field_reference name = {} path = [{}]",
            tag_value(&field.name),
            path.iter()
                .map(|p| tag_value(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !is_calculation {
            if let Some(origin) = origin {
                expression.push_str(&format!(" code = {}", tag_value(&origin.code)));
            }
        }
        expression.push_str(" }");
        words.push(expression);
        return words;
    }
    if let Some(expression) = origin.and_then(|origin| ad_hoc_expression(origin, is_calculation)) {
        words.push(expression);
    }
    words
}

/// Returns the drill expression of a top-level field of an ad-hoc query.
fn ad_hoc_expression(origin: &DrillOrigin, is_calculation: bool) -> Option<String> {
    let Some(steps) = &origin.reference else {
        if is_calculation {
            return None;
        }
        return Some(format!(
            "drill_expression.code = {}",
            tag_value(&origin.code)
        ));
    };
    let (name, joins) = steps.split_last()?;
    if let (Some(unit), [field]) = (Timeframe::parse(name), joins) {
        if !is_calculation {
            return Some(format!(
                "drill_expression {{ kind = time_truncation field_reference.name = {} \
                 truncation = {} code = {} }}",
                tag_value(field),
                unit.name(),
                tag_value(field)
            ));
        }
    }
    let mut expression = format!(
        "drill_expression {{ kind = field_reference name = {}",
        tag_value(name)
    );
    if !joins.is_empty() {
        let joins: Vec<String> = joins.iter().map(|j| tag_value(j)).collect();
        expression.push_str(&format!(" path = [{}]", joins.join(", ")));
    }
    if !is_calculation {
        expression.push_str(&format!(" code = {}", tag_value(&origin.code)));
    }
    expression.push_str(" }");
    Some(expression)
}

/// Returns `drill_filters = [{ code = "..." filter_view = v }, ...]` for
/// the `where:` conditions of a stage, if it has any.
pub fn filters_word(stage: &Stage) -> Option<String> {
    if stage.drill_filters.is_empty() {
        return None;
    }
    let filters: Vec<String> = stage
        .drill_filters
        .iter()
        .map(|filter| match &filter.view {
            Some(view) => format!(
                "{{ code = {} filter_view = {} }}",
                tag_value(&filter.code),
                tag_value(view)
            ),
            None => format!("{{ code = {} }}", tag_value(&filter.code)),
        })
        .collect();
    Some(format!("drill_filters = [{}]", filters.join(", ")))
}

/// Writes a value of a Malloy tag line: bare when it is a plain name,
/// otherwise double-quoted with backslash escapes.
pub fn tag_value(text: &str) -> String {
    let is_plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_plain {
        return text.to_string();
    }
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::tag_value;

    #[test]
    fn tag_values_are_quoted_when_needed() {
        assert_eq!(tag_value("status"), "status");
        assert_eq!(tag_value("products.brand"), "\"products.brand\"");
        assert_eq!(tag_value("a\n 'b' \"c\""), "\"a\\n 'b' \\\"c\\\"\"");
    }
}
