//! Planning: which joins a query stage needs, in which order, and which
//! aggregates would count a row more than once because of a join's fan-out.

use std::rc::Rc;

use crate::semantic::ir::{AggregateFunction, Expr, ExprKind};
use crate::semantic::model::{FieldKind, JoinDef, JoinKind, Relation, SourceDef};

/// One join of a stage, addressed by its path from the root source.
#[derive(Debug, Clone)]
pub struct PlannedJoin {
    pub path: Vec<String>,
    pub join: Rc<JoinDef>,
    /// The join condition, rebased to the root.
    pub condition: Option<Expr>,
}

/// The joins a stage uses, parents before children.
#[derive(Debug, Clone, Default)]
pub struct JoinTree {
    pub joins: Vec<PlannedJoin>,
}

impl JoinTree {
    /// Collects the joins needed for `exprs` over `root`, including the
    /// joins that their conditions use.
    pub fn build(root: &SourceDef, exprs: &[&Expr]) -> JoinTree {
        let mut pending: Vec<Vec<String>> = Vec::new();
        for expr in exprs {
            expr.join_paths(&mut pending);
        }
        let mut tree = JoinTree::default();
        while let Some(path) = pending.pop() {
            for length in 1..=path.len() {
                let prefix = &path[..length];
                if tree.joins.iter().any(|j| j.path == prefix) {
                    continue;
                }
                let Some(join) = find_join(root, prefix) else {
                    break;
                };
                let parent = &prefix[..length - 1];
                let condition = join.condition.as_ref().map(|c| c.rebase(parent));
                if let Some(condition) = &condition {
                    let mut more = Vec::new();
                    condition.join_paths(&mut more);
                    for extra in more {
                        if extra != prefix && !tree.joins.iter().any(|j| j.path == extra) {
                            pending.push(extra);
                        }
                    }
                }
                tree.joins.push(PlannedJoin {
                    path: prefix.to_vec(),
                    join,
                    condition,
                });
            }
        }
        // Parents first, then the order in which paths were found.
        tree.joins.sort_by_key(|j| j.path.len());
        tree
    }

    pub fn kind_of(&self, path: &[String]) -> Option<JoinKind> {
        self.joins
            .iter()
            .find(|j| j.path == path)
            .map(|j| j.join.kind)
    }

    /// Returns whether the rows of the table at `path` can appear more than once
    /// in the joined rows: some other join fans out, or a join on the way
    /// to `path` maps many parent rows onto one row of it.
    pub fn is_fanned(&self, path: &[String]) -> bool {
        let crosses_other_fanout = self.joins.iter().any(|j| {
            !path.starts_with(&j.path) && matches!(j.join.kind, JoinKind::Many | JoinKind::Cross)
        });
        let shared_on_the_way = (1..=path.len()).any(|length| {
            matches!(
                self.kind_of(&path[..length]),
                Some(JoinKind::One) | Some(JoinKind::Cross)
            )
        });
        crosses_other_fanout || shared_on_the_way
    }

    /// Returns the source at `path`, which is the root for an empty path.
    pub fn source_at<'a>(&'a self, root: &'a SourceDef, path: &[String]) -> Option<&'a SourceDef> {
        if path.is_empty() {
            return Some(root);
        }
        self.joins
            .iter()
            .find(|j| j.path == path)
            .map(|j| &*j.join.source)
    }
}

/// Returns the join at `path` below `root`.
pub fn find_join(root: &SourceDef, path: &[String]) -> Option<Rc<JoinDef>> {
    let mut current = root;
    let mut found = None;
    for step in path {
        let field = current.field(step)?;
        let join = match (&field.kind, &field.unnest) {
            (FieldKind::Join(join), _) => join,
            (_, Some(unnest)) => unnest,
            _ => return None,
        };
        found = Some(join.clone());
        current = &join.source;
    }
    found
}

/// Whether an aggregate at `path` must count each row of that table once,
/// however many joined rows it appears in.
pub fn needs_distinct(tree: &JoinTree, function: AggregateFunction, path: &[String]) -> bool {
    matches!(
        function,
        AggregateFunction::Count | AggregateFunction::Sum | AggregateFunction::Avg
    ) && tree.is_fanned(path)
}

/// Returns the join paths whose tables need a generated row key, because a
/// distinct aggregate runs over a table without a primary key.
pub fn paths_needing_generated_key(
    root: &SourceDef,
    tree: &JoinTree,
    exprs: &[&Expr],
) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    for expr in exprs {
        expr.visit(&mut |e| {
            if let ExprKind::Aggregate(aggregate) = &e.kind {
                let counts_joined_rows =
                    aggregate.function == AggregateFunction::Count && !aggregate.path.is_empty();
                if needs_distinct(tree, aggregate.function, &aggregate.path) || counts_joined_rows {
                    // Array elements are keyed by their parent row, so the
                    // key belongs to the nearest table above them.
                    let mut path: &[String] = &aggregate.path;
                    while !path.is_empty()
                        && matches!(
                            tree.source_at(root, path).map(|s| &s.relation),
                            Some(Relation::Unnest(_))
                        )
                    {
                        path = &path[..path.len() - 1];
                    }
                    let has_key = tree
                        .source_at(root, path)
                        .and_then(|s| s.key_expr())
                        .is_some();
                    if !has_key && !paths.iter().any(|p| p == path) {
                        paths.push(path.to_vec());
                    }
                }
            }
        });
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::ir::Eval;
    use crate::semantic::model::Field;
    use crate::semantic::types::DataType;

    fn table(name: &str, joins: Vec<(&str, JoinKind, SourceDef)>) -> SourceDef {
        let id = Expr::new(
            ExprKind::Column {
                path: vec![],
                name: "id".into(),
            },
            DataType::number(),
            Eval::Scalar,
        );
        let mut fields = vec![Field::new("id", FieldKind::Dimension(id), vec![], "duckdb")];
        for (join_name, kind, source) in joins {
            let join = FieldKind::Join(Rc::new(JoinDef {
                kind,
                source: Rc::new(source),
                condition: None,
            }));
            fields.push(Field::new(join_name, join, vec![], "duckdb"));
        }
        SourceDef {
            name: name.into(),
            connection: "duckdb".into(),
            relation: Relation::Table(format!("{name}.parquet")),
            fields,
            primary_key: Some("id".into()),
            filters: vec![],
            annotations: vec![],
            template: None,
            timezone: None,
        }
    }

    fn column(path: &[&str]) -> Expr {
        Expr::new(
            ExprKind::Column {
                path: path.iter().map(|s| s.to_string()).collect(),
                name: "id".into(),
            },
            DataType::number(),
            Eval::Scalar,
        )
    }

    #[test]
    fn join_one_fans_out_joined_rows_only() {
        let root = table(
            "flights",
            vec![("carriers", JoinKind::One, table("carriers", vec![]))],
        );
        let expr = column(&["carriers"]);
        let tree = JoinTree::build(&root, &[&expr]);
        assert_eq!(tree.joins.len(), 1);
        assert!(!tree.is_fanned(&[]));
        assert!(tree.is_fanned(&["carriers".to_string()]));
    }

    #[test]
    fn join_many_fans_out_the_root() {
        let root = table(
            "users",
            vec![("lines", JoinKind::Many, table("lines", vec![]))],
        );
        let expr = column(&["lines"]);
        let tree = JoinTree::build(&root, &[&expr]);
        assert!(tree.is_fanned(&[]));
        assert!(!tree.is_fanned(&["lines".to_string()]));
    }

    #[test]
    fn nested_paths_add_their_parents() {
        let models = table("models", vec![]);
        let aircraft = table("aircraft", vec![("models", JoinKind::One, models)]);
        let root = table("flights", vec![("aircraft", JoinKind::One, aircraft)]);
        let expr = column(&["aircraft", "models"]);
        let tree = JoinTree::build(&root, &[&expr]);
        let paths: Vec<String> = tree.joins.iter().map(|j| j.path.join(".")).collect();
        assert_eq!(paths, vec!["aircraft", "aircraft.models"]);
    }
}
