//! SQL text for query stages.
//!
//! A stage becomes one SELECT per nesting level. A level groups by the keys
//! of the levels around it and by its own dimensions. Each nest is computed
//! by its own level query, folded into a list of records per parent group,
//! and joined back to the parent on the parent's keys. `all()` and
//! `exclude()` values come from a separate grouped query joined to the
//! source rows on the dimensions they keep.

use super::dialect::Dialect;
use super::expr::{alias, unnest_alias, ExprContext, GENERATED_KEY, ROW_NUMBER_COLUMN};
use crate::plan::{paths_needing_generated_key, JoinTree};
use crate::semantic::ir::{Eval, Expr, ExprKind, Literal, UngroupKind};
use crate::semantic::model::{OutputValue, Query, Relation, SourceDef, Stage, StageKind};
use crate::semantic::types::DataType;

pub struct Generator<'d> {
    pub dialect: &'d dyn Dialect,
}

/// The keys and filters a nesting level inherits from the levels around it.
#[derive(Clone, Default)]
struct Level {
    /// Grouping names and expressions of the enclosing levels.
    keys: Vec<(String, Expr)>,
    /// `where:` conditions of the enclosing levels.
    filters: Vec<Expr>,
    /// The rows to read instead of the stage's source, for the later stages
    /// of a nest.
    relation: Option<String>,
}

fn key_column(index: usize) -> String {
    format!("__k{index}")
}

/// Returns a copy of `expr` with `all()` and `exclude()` replaced by NULL, for
/// deciding which joins the level itself needs.
fn without_ungrouped(expr: &Expr) -> Expr {
    let mut copy = expr.clone();
    copy.visit_mut(&mut |e| {
        if matches!(e.kind, ExprKind::Ungrouped { .. }) {
            *e = Expr::new(
                ExprKind::Literal(Literal::Null),
                DataType::Null,
                Eval::Aggregate,
            );
        }
    });
    copy
}

impl Generator<'_> {
    pub fn query_sql(&self, query: &Query, default_limit: Option<u64>) -> String {
        self.stage_sql(query.last_stage(), default_limit)
    }

    /// Returns the SQL of a top-level stage: its level query, ordered and limited.
    pub fn stage_sql(&self, stage: &Stage, default_limit: Option<u64>) -> String {
        let d = self.dialect;
        let level = if stage.kind == StageKind::Index {
            self.index_sql(stage)
        } else {
            self.level_sql(stage, &Level::default())
        };
        let columns: Vec<String> = stage
            .fields
            .iter()
            .map(|f| d.quote_identifier(&f.name))
            .collect();
        let mut sql = format!(
            "SELECT {}\nFROM (\n{}\n) AS result",
            if columns.is_empty() {
                "*".to_string()
            } else {
                columns.join(", ")
            },
            level
        );
        if !stage.order_by.is_empty() {
            let terms: Vec<String> = stage
                .order_by
                .iter()
                .map(|(index, descending)| {
                    d.order_term(&d.quote_identifier(&stage.fields[*index].name), *descending)
                })
                .collect();
            sql.push_str(&format!("\nORDER BY {}", terms.join(", ")));
        }
        if let Some(limit) = stage.limit.or(default_limit) {
            sql.push_str(&format!("\nLIMIT {limit}"));
        }
        sql
    }

    fn relation_sql(&self, source: &SourceDef) -> String {
        match &source.relation {
            Relation::Table(table) => self.dialect.table_relation(table),
            Relation::Sql(sql) => format!("(\n{sql}\n)"),
            Relation::Query(query) => format!("(\n{}\n)", self.query_sql(query, None)),
            // Array elements are joined laterally in `relation_with_joins`; a query
            // cannot start from them.
            Relation::Unnest(_) => "(SELECT NULL WHERE FALSE)".to_string(),
        }
    }

    /// Returns the relation a stage reads: `replacement` when a nest's
    /// earlier stage provides the rows, else the source, sampled on request.
    fn base_relation(
        &self,
        root: &SourceDef,
        sample: Option<&str>,
        replacement: Option<&str>,
    ) -> String {
        if let Some(rows) = replacement {
            return rows.to_string();
        }
        let relation = self.relation_sql(root);
        match sample {
            Some(size) => format!("(SELECT * FROM {relation} AS unsampled USING SAMPLE {size})"),
            None => relation,
        }
    }

    /// `FROM ... LEFT JOIN ...` for the root relation and the planned joins.
    fn relation_with_joins(
        &self,
        base: String,
        tree: &JoinTree,
        keyed: &[Vec<String>],
        context: &ExprContext,
    ) -> String {
        let d = self.dialect;
        let with_key = |relation: String, path: &[String]| {
            if keyed.iter().any(|p| p == path) {
                d.with_generated_key(&relation, GENERATED_KEY)
            } else {
                relation
            }
        };
        let mut sql = format!("FROM {} AS base", with_key(base, &[]));
        for join in &tree.joins {
            if let Relation::Unnest(array) = &join.join.source.relation {
                let parent = &join.path[..join.path.len() - 1];
                sql.push_str(&format!(
                    "\nLEFT JOIN LATERAL UNNEST({}) WITH ORDINALITY AS {}({}, {}) ON TRUE",
                    context.render(&array.rebase(parent)),
                    unnest_alias(d, &join.path),
                    alias(d, &join.path),
                    ROW_NUMBER_COLUMN,
                ));
                continue;
            }
            let relation = with_key(self.relation_sql(&join.join.source), &join.path);
            let mut conditions: Vec<String> = Vec::new();
            if let Some(condition) = &join.condition {
                conditions.push(context.render(condition));
            }
            for filter in &join.join.source.filters {
                conditions.push(context.render(&filter.rebase(&join.path)));
            }
            let on = if conditions.is_empty() {
                "TRUE".to_string()
            } else {
                conditions.join(" AND ")
            };
            sql.push_str(&format!(
                "\nLEFT JOIN {relation} AS {} ON {on}",
                alias(d, &join.path)
            ));
        }
        sql
    }

    /// Builds the SQL of one level's rows: the enclosing keys as `__k0..`, then the
    /// stage's dimensions, aggregates and nests, filtered by `having:` but
    /// neither ordered nor limited.
    fn level_sql(&self, stage: &Stage, level: &Level) -> String {
        let d = self.dialect;
        let source = &*stage.source;
        let mut filters: Vec<Expr> = source.filters.clone();
        filters.extend(level.filters.iter().cloned());
        filters.extend(stage.filters.iter().cloned());

        let dimensions: Vec<(String, Expr)> = stage
            .fields
            .iter()
            .filter_map(|f| match &f.value {
                OutputValue::Dimension(e) => Some((f.name.clone(), e.clone())),
                _ => None,
            })
            .collect();
        let aggregates: Vec<(String, Expr)> = stage
            .fields
            .iter()
            .filter_map(|f| match &f.value {
                OutputValue::Aggregate(e) => Some((f.name.clone(), e.clone())),
                _ => None,
            })
            .collect();

        // Joins come from every expression evaluated at this level.
        let mut analysed: Vec<Expr> = Vec::new();
        analysed.extend(level.keys.iter().map(|(_, e)| e.clone()));
        analysed.extend(filters.iter().cloned());
        analysed.extend(dimensions.iter().map(|(_, e)| e.clone()));
        analysed.extend(aggregates.iter().map(|(_, e)| without_ungrouped(e)));
        analysed.extend(stage.having.iter().map(without_ungrouped));
        analysed.extend(stage.fields.iter().filter_map(|f| match &f.value {
            OutputValue::Calculate(e) => Some(without_ungrouped(e)),
            _ => None,
        }));
        let analysed_refs: Vec<&Expr> = analysed.iter().collect();
        let tree = JoinTree::build(source, &analysed_refs);
        let keyed = paths_needing_generated_key(source, &tree, &analysed_refs);

        // `all()` and `exclude()` subqueries.
        let mut ungrouped_exprs: Vec<Expr> = Vec::new();
        for expr in aggregates.iter().map(|(_, e)| e).chain(stage.having.iter()) {
            expr.visit(&mut |e| {
                if matches!(e.kind, ExprKind::Ungrouped { .. }) && !ungrouped_exprs.contains(e) {
                    ungrouped_exprs.push(e.clone());
                }
            });
        }
        let mut ungrouped: Vec<(Expr, String)> = Vec::new();
        let mut ungrouped_joins: Vec<(String, Vec<Expr>)> = Vec::new();
        for (index, expr) in ungrouped_exprs.iter().enumerate() {
            let ExprKind::Ungrouped {
                expr: inner,
                kind,
                fields,
            } = &expr.kind
            else {
                continue;
            };
            let available: Vec<&(String, Expr)> =
                level.keys.iter().chain(dimensions.iter()).collect();
            let kept: Vec<Expr> = match kind {
                UngroupKind::All => level
                    .keys
                    .iter()
                    .chain(dimensions.iter().filter(|(name, _)| fields.contains(name)))
                    .map(|(_, e)| e.clone())
                    .collect(),
                UngroupKind::Exclude => available
                    .iter()
                    .filter(|(name, _)| !fields.contains(name))
                    .map(|(_, e)| e.clone())
                    .collect(),
            };
            // The reference always groups by the enclosing levels' keys and
            // takes the maximum over the ones `exclude()` names.
            let mut extra: Vec<Expr> = Vec::new();
            if *kind == UngroupKind::Exclude {
                for (_, key) in &level.keys {
                    if !kept.contains(key) && !extra.contains(key) {
                        extra.push(key.clone());
                    }
                }
            }
            let sub = self.ungrouped_sql(stage, level, &filters, &kept, &extra, inner);
            let sub_alias = d.quote_identifier(&format!("__ungrouped{index}"));
            ungrouped.push((expr.clone(), format!("MAX({sub_alias}.\"__value\")")));
            ungrouped_joins.push((format!("(\n{sub}\n) AS {sub_alias}"), kept));
        }

        let mut context = ExprContext {
            dialect: d,
            root: source,
            tree: &tree,
            ungrouped: &ungrouped,
            window_partition: Vec::new(),
            window_order: Vec::new(),
            timezone: stage.timezone.clone(),
        };
        context.window_partition = level.keys.iter().map(|(_, e)| context.render(e)).collect();
        context.window_order = stage
            .order_by
            .iter()
            .filter_map(|(index, descending)| match &stage.fields[*index].value {
                OutputValue::Dimension(e) | OutputValue::Aggregate(e) => {
                    Some(d.order_term(&context.render(e), *descending))
                }
                _ => None,
            })
            .collect();
        let mut select: Vec<String> = Vec::new();
        for (index, (_, key)) in level.keys.iter().enumerate() {
            select.push(format!("{} AS {}", context.render(key), key_column(index)));
        }
        for (name, expr) in &dimensions {
            select.push(format!(
                "{} AS {}",
                context.render(expr),
                d.quote_identifier(name)
            ));
        }
        let group_count = select.len();
        for (name, expr) in &aggregates {
            select.push(format!(
                "{} AS {}",
                context.render(expr),
                d.quote_identifier(name)
            ));
        }
        for field in &stage.fields {
            if let OutputValue::Calculate(expr) = &field.value {
                select.push(format!(
                    "{} AS {}",
                    context.render(expr),
                    d.quote_identifier(&field.name)
                ));
            }
        }
        if stage.kind == StageKind::Reduce && select.is_empty() {
            // A level with only nests still has one row per group.
            select.push("COUNT(1) AS \"__rows\"".to_string());
        }
        let base = self.base_relation(source, stage.sample.as_deref(), level.relation.as_deref());
        let mut core = format!(
            "SELECT {}\n{}",
            select.join(",\n  "),
            self.relation_with_joins(base, &tree, &keyed, &context)
        );
        for (index, (relation, kept)) in ungrouped_joins.iter().enumerate() {
            let sub_alias = d.quote_identifier(&format!("__ungrouped{index}"));
            let conditions: Vec<String> = kept
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    d.null_safe_equal(&context.render(e), &format!("{sub_alias}.\"__u{i}\""))
                })
                .collect();
            let on = if conditions.is_empty() {
                "TRUE".to_string()
            } else {
                conditions.join(" AND ")
            };
            core.push_str(&format!("\nLEFT JOIN {relation} ON {on}"));
        }
        if !filters.is_empty() {
            let conditions: Vec<String> = filters.iter().map(|f| context.render(f)).collect();
            core.push_str(&format!("\nWHERE {}", conditions.join(" AND ")));
        }
        if stage.kind == StageKind::Reduce && group_count > 0 {
            let positions: Vec<String> = (1..=group_count).map(|i| i.to_string()).collect();
            core.push_str(&format!("\nGROUP BY {}", positions.join(", ")));
        }
        if !stage.having.is_empty() {
            let conditions: Vec<String> = stage.having.iter().map(|h| context.render(h)).collect();
            core.push_str(&format!("\nHAVING {}", conditions.join(" AND ")));
        }

        let nests: Vec<(&str, &Stage)> = stage
            .fields
            .iter()
            .filter_map(|f| match &f.value {
                OutputValue::Nest(nested) => Some((f.name.as_str(), &**nested)),
                _ => None,
            })
            .collect();
        if nests.is_empty() {
            return core;
        }

        let mut child = Level {
            keys: level.keys.clone(),
            filters: level.filters.clone(),
            relation: None,
        };
        child.keys.extend(dimensions.iter().cloned());
        child.filters.extend(stage.filters.iter().cloned());
        let mut columns = vec!["core.*".to_string()];
        let mut joins = String::new();
        for (index, (name, nested)) in nests.iter().enumerate() {
            let nest_alias = format!("nest{index}");
            let list = self.nest_list_sql(name, nested, &child);
            let mut conditions: Vec<String> = Vec::new();
            for i in 0..level.keys.len() {
                conditions.push(d.null_safe_equal(
                    &format!("core.{}", key_column(i)),
                    &format!("{nest_alias}.{}", key_column(i)),
                ));
            }
            for (j, (dimension, _)) in dimensions.iter().enumerate() {
                conditions.push(d.null_safe_equal(
                    &format!("core.{}", d.quote_identifier(dimension)),
                    &format!("{nest_alias}.{}", key_column(level.keys.len() + j)),
                ));
            }
            let on = if conditions.is_empty() {
                "TRUE".to_string()
            } else {
                conditions.join(" AND ")
            };
            joins.push_str(&format!("\nLEFT JOIN (\n{list}\n) AS {nest_alias} ON {on}"));
            let quoted = d.quote_identifier(name);
            columns.push(format!(
                "COALESCE({nest_alias}.{quoted}, {}) AS {quoted}",
                d.empty_list()
            ));
        }
        format!(
            "SELECT {}\nFROM (\n{core}\n) AS core{joins}",
            columns.join(", ")
        )
    }

    /// Builds the SQL of an `index:` stage's rows. Each field gets one row
    /// per distinct value, or one `min to max` row for a number, weighted by
    /// the row count or the `by` measure. One more row, with no field,
    /// weighs every row, as in the reference's output.
    fn index_sql(&self, stage: &Stage) -> String {
        let d = self.dialect;
        let source = &*stage.source;
        let Some(index) = &stage.index else {
            return self.level_sql(stage, &Level::default());
        };
        let mut filters: Vec<Expr> = source.filters.clone();
        filters.extend(stage.filters.iter().cloned());
        let mut analysed: Vec<&Expr> = index.fields.iter().map(|(_, e)| e).collect();
        analysed.extend(filters.iter());
        if let Some(weight) = &index.weight {
            analysed.push(weight);
        }
        let tree = JoinTree::build(source, &analysed);
        let keyed = paths_needing_generated_key(source, &tree, &analysed);
        let context = ExprContext {
            dialect: d,
            root: source,
            tree: &tree,
            ungrouped: &[],
            window_partition: Vec::new(),
            window_order: Vec::new(),
            timezone: stage.timezone.clone(),
        };

        let case_of = |arms: Vec<(usize, String)>, otherwise: &str| {
            if arms.is_empty() {
                return d.cast(otherwise, "VARCHAR", false);
            }
            let mut text = String::from("CASE \"__group_set\"");
            for (set, value) in arms {
                text.push_str(&format!(" WHEN {set} THEN {value}"));
            }
            text.push_str(&format!(" ELSE {otherwise} END"));
            text
        };

        let names: Vec<(usize, String)> = index
            .fields
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (i, d.string_literal(name)))
            .collect();
        let types: Vec<(usize, String)> = index
            .fields
            .iter()
            .enumerate()
            .map(|(i, (_, e))| (i, d.string_literal(&e.ty.name())))
            .collect();
        let values: Vec<(usize, String)> = index
            .fields
            .iter()
            .enumerate()
            .filter(|(_, (_, e))| !matches!(e.ty, DataType::Number(_)))
            .map(|(i, (_, e))| (i, d.cast(&context.render(e), "VARCHAR", false)))
            .collect();
        let ranges: Vec<(usize, String)> = index
            .fields
            .iter()
            .enumerate()
            .filter(|(_, (_, e))| matches!(e.ty, DataType::Number(_)))
            .map(|(i, (_, e))| {
                let value = context.render(e);
                (
                    i,
                    format!(
                        "MIN({}) || ' to ' || {}",
                        d.cast(&value, "VARCHAR", false),
                        d.cast(&format!("MAX({value})"), "VARCHAR", false)
                    ),
                )
            })
            .collect();

        let weight = match &index.weight {
            Some(weight) => context.render(weight),
            None => "COUNT(1)".to_string(),
        };

        let mut sql = format!(
            "SELECT {} AS \"fieldName\",\n  {} AS \"fieldPath\",\n  {} AS \"fieldType\",\n  {} AS \"fieldValue\",\n  {weight} AS \"weight\",\n  {} AS \"fieldRange\",\n  \"__group_set\"\n{}",
            case_of(names.clone(), "NULL"),
            case_of(names, "NULL"),
            case_of(types, "NULL"),
            case_of(values, "NULL"),
            case_of(ranges, "NULL"),
            self.relation_with_joins(
                self.base_relation(source, stage.sample.as_deref(), None),
                &tree,
                &keyed,
                &context
            ),
        );

        sql.push_str(&format!(
            "\nCROSS JOIN (SELECT UNNEST(GENERATE_SERIES(0, {}, 1)) AS \"__group_set\") AS group_sets",
            index.fields.len()
        ));
        if !filters.is_empty() {
            let conditions: Vec<String> = filters.iter().map(|f| context.render(f)).collect();
            sql.push_str(&format!("\nWHERE {}", conditions.join(" AND ")));
        }
        sql.push_str("\nGROUP BY 1, 2, 3, 4, 7");
        format!(
            "SELECT \"fieldName\", \"fieldPath\", COALESCE(\"fieldValue\", \"fieldRange\") AS \"fieldValue\", \"fieldType\", \"weight\"\nFROM (\n{sql}\n) AS indexed"
        )
    }

    /// Builds the rows of the last stage of a nest with several stages.
    /// Each stage reads the rows of the one before, keeps the enclosing
    /// keys and limits its rows within each enclosing group.
    fn nest_pipeline_sql(&self, nested: &Stage, level: &Level) -> String {
        let key_count = level.keys.len();
        let first = &nested.preceding[0];
        let mut rows = self.limit_per_group(first, self.level_sql(first, level), key_count);
        let later = nested.preceding[1..].iter().chain(std::iter::once(nested));
        for stage in later {
            let keys = (0..key_count)
                .map(|i| {
                    let column = ExprKind::Column {
                        path: Vec::new(),
                        name: key_column(i),
                    };
                    (
                        key_column(i),
                        Expr::new(column, DataType::Null, Eval::Scalar),
                    )
                })
                .collect();
            let stage_level = Level {
                keys,
                filters: Vec::new(),
                relation: Some(format!("(\n{rows}\n)")),
            };
            rows = self.level_sql(stage, &stage_level);
            if !std::ptr::eq(stage, nested) {
                rows = self.limit_per_group(stage, rows, key_count);
            }
        }
        rows
    }

    /// Keeps the first `limit` rows of each enclosing group, in the stage's
    /// order.
    fn limit_per_group(&self, stage: &Stage, rows: String, key_count: usize) -> String {
        let d = self.dialect;
        let Some(limit) = stage.limit else {
            return rows;
        };
        let mut window: Vec<String> = Vec::new();
        if key_count > 0 {
            let keys: Vec<String> = (0..key_count).map(key_column).collect();
            window.push(format!("PARTITION BY {}", keys.join(", ")));
        }
        if !stage.order_by.is_empty() {
            let terms: Vec<String> = stage
                .order_by
                .iter()
                .map(|(index, descending)| {
                    d.order_term(&d.quote_identifier(&stage.fields[*index].name), *descending)
                })
                .collect();
            window.push(format!("ORDER BY {}", terms.join(", ")));
        }
        format!(
            "SELECT * FROM (\n{rows}\n) AS grouped\nQUALIFY ROW_NUMBER() OVER ({}) <= {limit}",
            window.join(" ")
        )
    }

    /// Builds one row per group of the enclosing levels, with the nest's rows as
    /// an ordered, limited list of records.
    fn nest_list_sql(&self, name: &str, nested: &Stage, level: &Level) -> String {
        let d = self.dialect;
        let rows = if nested.preceding.is_empty() {
            self.level_sql(nested, level)
        } else {
            self.nest_pipeline_sql(nested, level)
        };
        let fields: Vec<(String, String)> = nested
            .fields
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    format!("rows.{}", d.quote_identifier(&f.name)),
                )
            })
            .collect();
        let order: Vec<String> = nested
            .order_by
            .iter()
            .map(|(index, descending)| {
                d.order_term(
                    &format!("rows.{}", d.quote_identifier(&nested.fields[*index].name)),
                    *descending,
                )
            })
            .collect();
        let list = d.aggregate_records(&fields, &order, nested.limit);
        let mut select: Vec<String> = (0..level.keys.len())
            .map(|i| format!("rows.{} AS {}", key_column(i), key_column(i)))
            .collect();
        select.push(format!("{list} AS {}", d.quote_identifier(name)));
        let mut sql = format!("SELECT {}\nFROM (\n{rows}\n) AS rows", select.join(", "));
        if !level.keys.is_empty() {
            let positions: Vec<String> = (1..=level.keys.len()).map(|i| i.to_string()).collect();
            sql.push_str(&format!("\nGROUP BY {}", positions.join(", ")));
        }
        sql
    }

    /// Returns the value of `measure` grouped only by `kept`, for `all()` and
    /// `exclude()`.
    fn ungrouped_sql(
        &self,
        stage: &Stage,
        level: &Level,
        filters: &[Expr],
        kept: &[Expr],
        extra: &[Expr],
        measure: &Expr,
    ) -> String {
        let d = self.dialect;
        let source = &*stage.source;
        let replacement = level.relation.as_deref();
        let mut analysed: Vec<&Expr> = Vec::new();
        analysed.extend(kept.iter());
        analysed.extend(extra.iter());
        analysed.extend(filters.iter());
        analysed.push(measure);
        let tree = JoinTree::build(source, &analysed);
        let keyed = paths_needing_generated_key(source, &tree, &analysed);

        let context = ExprContext {
            dialect: d,
            root: source,
            tree: &tree,
            ungrouped: &[],
            window_partition: Vec::new(),
            window_order: Vec::new(),
            timezone: stage.timezone.clone(),
        };

        let mut select: Vec<String> = kept
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{} AS \"__u{i}\"", context.render(e)))
            .collect();
        select.extend(
            extra
                .iter()
                .enumerate()
                .map(|(i, e)| format!("{} AS \"__x{i}\"", context.render(e))),
        );
        select.push(format!("{} AS \"__value\"", context.render(measure)));
        let mut sql = format!(
            "SELECT {}\n{}",
            select.join(", "),
            self.relation_with_joins(
                self.base_relation(source, None, replacement),
                &tree,
                &keyed,
                &context
            )
        );
        if !filters.is_empty() {
            let conditions: Vec<String> = filters.iter().map(|f| context.render(f)).collect();
            sql.push_str(&format!("\nWHERE {}", conditions.join(" AND ")));
        }

        let group_count = kept.len() + extra.len();
        if group_count > 0 {
            let positions: Vec<String> = (1..=group_count).map(|i| i.to_string()).collect();
            sql.push_str(&format!("\nGROUP BY {}", positions.join(", ")));
        }
        if extra.is_empty() {
            return sql;
        }

        let outer: Vec<String> = (0..kept.len()).map(|i| format!("\"__u{i}\"")).collect();
        let mut wrapped = format!(
            "SELECT {}MAX(\"__value\") AS \"__value\"\nFROM (\n{sql}\n) AS grouped",
            outer.iter().map(|c| format!("{c}, ")).collect::<String>()
        );
        if !kept.is_empty() {
            let positions: Vec<String> = (1..=kept.len()).map(|i| i.to_string()).collect();
            wrapped.push_str(&format!("\nGROUP BY {}", positions.join(", ")));
        }
        wrapped
    }
}
