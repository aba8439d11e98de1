//! `GET .../schedules` (April-2025 API): the schedules that the package's
//! sources and named queries declare with a
//! `# schedule <cron> materialize|report <connection>` tag.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::projects::{loaded_package, ReadParams};
use super::{AppError, AppState};

/// A parsed `# schedule` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ScheduleTag {
    cron: String,
    action: String,
    connection: String,
}

pub async fn list_schedules(
    State(state): State<AppState>,
    Path((project, package)): Path<(String, String)>,
    Query(params): Query<ReadParams>,
) -> Result<Json<Value>, AppError> {
    params.check_version()?;
    let (loaded, _) = loaded_package(&state, &project, &package).await?;
    let Ok(loaded) = loaded.as_ref() else {
        unreachable!("loaded_package returns loaded packages only");
    };
    let mut schedules = Vec::new();
    for (model_path, compiled) in &loaded.models {
        let Ok(model) = compiled else { continue };
        let tagged = model
            .sources
            .iter()
            .map(|source| (&source.name, &source.annotations))
            .chain(
                model
                    .queries
                    .iter()
                    .map(|query| (&query.name, &query.annotations)),
            );
        for (name, annotations) in tagged {
            for tag in annotations.iter().filter_map(|line| schedule_tag(line)) {
                // TODO: this server has no scheduler, so a declared
                // schedule never runs; it is listed with lastRunTime 0.
                schedules.push(json!({
                    "resource": format!("{model_path}/{name}"),
                    "schedule": tag.cron,
                    "action": tag.action,
                    "connection": tag.connection,
                    "lastRunTime": 0,
                    "lastRunStatus": "never run",
                }));
            }
        }
    }
    Ok(Json(Value::Array(schedules)))
}

/// Reads `# schedule <cron> <action> <connection>`, where the cron
/// expression is one word (`@daily`) or a quoted string (`"0 * * * *"`).
fn schedule_tag(line: &str) -> Option<ScheduleTag> {
    let rest = line
        .strip_prefix('#')?
        .trim_start()
        .strip_prefix("schedule ")?;
    let rest = rest.trim_start();
    let (cron, rest) = match rest.strip_prefix('"') {
        Some(quoted) => {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        }
        None => rest.split_once(char::is_whitespace)?,
    };
    let mut words = rest.split_whitespace();
    let action = words.next()?;
    let connection = words.next()?;
    if !matches!(action, "materialize" | "report") || words.next().is_some() {
        return None;
    }
    Some(ScheduleTag {
        cron: cron.to_string(),
        action: action.to_string(),
        connection: connection.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(cron: &str, action: &str, connection: &str) -> Option<ScheduleTag> {
        Some(ScheduleTag {
            cron: cron.into(),
            action: action.into(),
            connection: connection.into(),
        })
    }

    #[test]
    fn schedule_tags_parse() {
        assert_eq!(
            schedule_tag("# schedule @daily materialize duckdb\n"),
            tag("@daily", "materialize", "duckdb")
        );
        assert_eq!(
            schedule_tag("# schedule \"0 6 * * 1\" report duckdb\n"),
            tag("0 6 * * 1", "report", "duckdb")
        );
    }

    #[test]
    fn other_tags_are_not_schedules() {
        assert_eq!(schedule_tag("# bar_chart\n"), None);
        assert_eq!(
            schedule_tag("## schedule @daily materialize duckdb\n"),
            None
        );
        assert_eq!(schedule_tag("# schedule @daily refresh duckdb\n"), None);
        assert_eq!(schedule_tag("# schedule @daily materialize\n"), None);
    }
}
