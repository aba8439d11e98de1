//! Parser tests: tree shapes, operator precedence and spans.

use malloy_compiler::diagnostics::Span;
use malloy_compiler::syntax::ast::*;
use malloy_compiler::syntax::parse;

fn parse_clean(text: &str) -> Document {
    let (document, diagnostics) = parse(text);
    assert!(diagnostics.is_empty(), "{text}\n{diagnostics:#?}");
    document
}

fn slice(text: &str, span: Span) -> &str {
    &text[span.start as usize..span.end as usize]
}

/// Returns the stages of the first statement of `document`, a `run:`.
fn run_stages(document: &Document) -> &[ViewExpr] {
    match &document.statements[0].kind {
        StatementKind::Run {
            query:
                QueryExpr {
                    kind: QueryExprKind::Pipeline { stages, .. },
                    ..
                },
            ..
        } => stages,
        other => panic!("expected a run of a pipeline, got {other:#?}"),
    }
}

fn first_stage_statements(document: &Document) -> &[QueryStatement] {
    match &run_stages(document)[0].kind {
        ViewExprKind::Stage(body) => &body.statements,
        other => panic!("expected a stage, got {other:#?}"),
    }
}

/// Parses `<expr>` as the field of `run: t -> { select: e is <expr> }`.
fn select_expr(source: &str) -> (Document, String) {
    let text = format!("run: t -> {{ select: e is {source} }}");
    (parse_clean(&text), text)
}

fn only_definition(document: &Document) -> &Expr {
    match &first_stage_statements(document)[0].kind {
        QueryStatementKind::Select(fields) => match &fields[0].kind {
            QueryFieldKind::Definition { expr, .. } => expr,
            other => panic!("expected a definition, got {other:#?}"),
        },
        other => panic!("expected select, got {other:#?}"),
    }
}

/// Renders an expression with full parentheses, to check precedence.
fn render(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Number(n) => n.clone(),
        ExprKind::String(s) => format!("'{s}'"),
        ExprKind::Boolean(b) => b.to_string(),
        ExprKind::Null => "null".into(),
        ExprKind::Time(t) => format!("@{t}"),
        ExprKind::Regex(r) => format!("r'{r}'"),
        ExprKind::Path(p) => p
            .steps
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Negate(e) => format!("(-{})", render(e)),
        ExprKind::Not(e) => format!("(not {})", render(e)),
        ExprKind::Binary { op, left, right } => {
            format!("({} {op:?} {})", render(left), render(right))
        }
        ExprKind::IsNull { expr, negated } => format!(
            "({} is{} null)",
            render(expr),
            if *negated { " not" } else { "" }
        ),
        ExprKind::In {
            expr,
            list,
            negated,
        } => format!(
            "({}{} in [{}])",
            render(expr),
            if *negated { " not" } else { "" },
            list.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Cast {
            expr,
            type_name,
            safe,
        } => {
            let type_name = match type_name {
                CastType::Malloy(ident) => ident.name.clone(),
                CastType::Sql(literal) => format!("\"{}\"", literal.value),
            };
            format!(
                "({}{}{type_name})",
                render(expr),
                if *safe { ":::" } else { "::" }
            )
        }
        ExprKind::Apply { subject, condition } => {
            format!("({} ? {})", render(subject), render(condition))
        }
        ExprKind::Partial { op, right } => format!("({op:?} {})", render(right)),
        ExprKind::Alternation { op, left, right } => {
            format!("({} {op:?} {})", render(left), render(right))
        }
        ExprKind::Range { from, to } => format!("({} to {})", render(from), render(to)),
        ExprKind::ForRange {
            start,
            length,
            unit,
        } => format!("({} for {} {})", render(start), render(length), unit.name),
        ExprKind::Duration { amount, unit } => format!("({} {})", render(amount), unit.name),
        ExprKind::Pick {
            branches,
            otherwise,
        } => {
            let mut out = String::from("(");
            for branch in branches {
                out.push_str(&format!(
                    "pick {} when {} ",
                    render(&branch.value),
                    render(&branch.when)
                ));
            }
            if let Some(otherwise) = otherwise {
                out.push_str(&format!("else {}", render(otherwise)));
            }
            out.push(')');
            out
        }
        ExprKind::Call(call) => format!(
            "{}{}({}{})",
            call.name.name,
            match &call.raw {
                Some(RawCall {
                    return_type: Some(t),
                }) => format!("!{}", t.name),
                Some(RawCall { return_type: None }) => "!".into(),
                None => String::new(),
            },
            if call.distinct { "distinct " } else { "" },
            call.arguments
                .iter()
                .map(render)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::MethodCall {
            receiver,
            method,
            arguments,
        } => format!(
            "{}.{}({})",
            render(receiver),
            method.name,
            arguments.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Refine { expr, body } => format!(
            "({} {{{} statements}})",
            render(expr),
            body.statements.len()
        ),
        ExprKind::Parens(e) => format!("[{}]", render(e)),
        ExprKind::Array(items) => format!(
            "[{}]",
            items.iter().map(render).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Record(items) => format!(
            "{{{}}}",
            items
                .iter()
                .map(|item| format!(
                    "{}: {}",
                    item.name.as_ref().map_or("_", |n| n.name.as_str()),
                    render(&item.value)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Case {
            subject,
            branches,
            otherwise,
        } => {
            let mut out = String::from("(case");
            if let Some(subject) = subject {
                out.push_str(&format!(" {}", render(subject)));
            }
            for (condition, value) in branches {
                out.push_str(&format!(
                    " when {} then {}",
                    render(condition),
                    render(value)
                ));
            }
            if let Some(otherwise) = otherwise {
                out.push_str(&format!(" else {}", render(otherwise)));
            }
            out.push(')');
            out
        }
        ExprKind::Truncate { expr, unit } => format!("({}).{}", render(expr), unit.name),
        other => format!("{other:?}"),
    }
}

fn check(source: &str, expected: &str) {
    let (document, _) = select_expr(source);
    assert_eq!(render(only_definition(&document)), expected, "{source}");
}

#[test]
fn arithmetic_precedence() {
    check("2 + 3 * 4 - 1", "((2 Add (3 Multiply 4)) Subtract 1)");
    check("10 - 4 - 3", "((10 Subtract 4) Subtract 3)");
    check("2 * 3 % 4", "((2 Multiply 3) Modulo 4)");
    check("-2 * -3", "((-2) Multiply (-3))");
    check("(2 + 3) * 4", "([(2 Add 3)] Multiply 4)");
}

#[test]
fn logical_precedence() {
    check("not a and b or c", "(((not a) And b) Or c)");
    check("not a = b", "(not (a Equal b))");
    check(
        "a = 1 or b < 2 and c",
        "((a Equal 1) Or ((b Less 2) And c))",
    );
    check("a ?? b ?? 'x'", "((a Coalesce b) Coalesce 'x')");
    check("a > 1 ?? b", "((a Greater 1) Coalesce b)");
    check(
        "a is null or b is not null",
        "((a is null) Or (b is not null))",
    );
    check(
        "x in (1, 2) and y not in ('a')",
        "((x in [1, 2]) And (y not in ['a']))",
    );
    check(
        "a ~ r'x$' and b !~ '%a'",
        "((a Match r'x$') And (b NotMatch '%a'))",
    );
}

#[test]
fn apply_and_partials() {
    check("qty ? > 0 & < 10", "(qty ? ((Greater 0) All (Less 10)))");
    check(
        "state ? 'TX' | 'CA' | 'FL'",
        "(state ? (('TX' Any 'CA') Any 'FL'))",
    );
    check("amount ? 0 to 55", "(amount ? (0 to 55))");
    check(
        "d ? @2004-02-27 for 3 days",
        "(d ? (@2004-02-27 for 3 days))",
    );
    check(
        "d ? @2003-03-01 to @2003-03-08",
        "(d ? (@2003-03-01 to @2003-03-08))",
    );
    check(
        "x ? (> 1 | < -1) and y",
        "((x ? [((Greater 1) Any (Less (-1)))]) And y)",
    );
    check("c = 'a' | 'b'", "(c Equal ('a' Any 'b'))");
}

#[test]
fn pick_forms() {
    check(
        "e ? pick 'low' when < 10 pick 'mid' when < 100 else 'high'",
        "(e ? (pick 'low' when (Less 10) pick 'mid' when (Less 100) else 'high'))",
    );
    check(
        "pick 'A' when q > 5 and ok pick 'B' when ok else 'D'",
        "(pick 'A' when ((q Greater 5) And ok) pick 'B' when ok else 'D')",
    );
    check("a ? pick null when 0", "(a ? (pick null when 0 ))");
    check(
        "a ? pick 'none' when is null pick 'some' when is not null",
        "(a ? (pick 'none' when (Equal null) pick 'some' when (NotEqual null) ))",
    );
    check("a ? is null | > 5", "(a ? ((Equal null) Any (Greater 5)))");
}

#[test]
fn casts_calls_and_aggregates() {
    check("x::number + 1", "((x::number) Add 1)");
    check("m:::number", "(m:::number)");
    check("q::string:::number", "((q::string):::number)");
    check("a::\"INTEGER\"", "(a::\"INTEGER\")");
    check(
        "strptime!timestamp(d, '%Y')::date",
        "(strptime!timestamp(d, '%Y')::date)",
    );
    check("md5!(code)", "md5!(code)");
    check("count()", "count()");
    check("lines.sale_price.sum()", "lines.sale_price.sum()");
    check("source.avg(y)", "source.avg(y)");
    check(
        "count() { where: c } / count()",
        "((count() {1 statements}) Divide count())",
    );
    check("days(a to b)", "days((a to b))");
    check("b + 3 hours", "(b Add (3 hours))");
    check("all(flight_count, origin)", "all(flight_count, origin)");
}

#[test]
fn literals() {
    check("1.5E2", "1.5E2");
    check(".25", ".25");
    check("'it\\'s'", "'it's'");
    check("\"\"\"two\nlines\"\"\"", "'two\nlines'");
    check("[1, 2, 3]", "[1, 2, 3]");
    check(
        "{code is id * 10, label is memo}",
        "{code: (id Multiply 10), label: memo}",
    );
    check("@2023-Q1", "@2023-Q1");
    check("@2003-06-01-WK", "@2003-06-01-WK");
    check("@2023-03-01 00:00:00", "@2023-03-01 00:00:00");
    check("genres.each", "genres.each");
    check("true and not false", "(true And (not false))");
}

#[test]
fn spans_cover_source_text() {
    let text = "source: s is duckdb.table('t.parquet') extend {\n  dimension: d is a + b * 2\n}\nrun: s -> { group_by: d }";
    let document = parse_clean(text);
    assert_eq!(document.statements.len(), 2);
    assert_eq!(
        slice(text, document.statements[1].span),
        "run: s -> { group_by: d }"
    );
    let StatementKind::Sources { definitions, .. } = &document.statements[0].kind else {
        panic!("expected a source statement");
    };
    let definition = &definitions[0];
    assert_eq!(slice(text, definition.name.span), "s");
    let SourceExprKind::Extend { base, body } = &definition.source.kind else {
        panic!("expected extend");
    };
    assert_eq!(slice(text, base.span), "duckdb.table('t.parquet')");
    assert_eq!(slice(text, body.span), "{\n  dimension: d is a + b * 2\n}");
    let SourceStatementKind::Dimensions(fields) = &body.statements[0].kind else {
        panic!("expected dimension");
    };
    assert_eq!(
        slice(text, body.statements[0].span),
        "dimension: d is a + b * 2"
    );
    assert_eq!(slice(text, fields[0].span), "d is a + b * 2");
    assert_eq!(slice(text, fields[0].expr.span), "a + b * 2");
    let ExprKind::Binary { right, .. } = &fields[0].expr.kind else {
        panic!("expected a binary expression");
    };
    assert_eq!(slice(text, right.span), "b * 2");
}

#[test]
fn source_forms() {
    let text = "\
source: a is duckdb.sql(\"\"\"select 1\"\"\")
source: b is a extend {
  join_one: c is a with k
  join_many: d is a on x = d.x
  join_cross: e
  join_one: f with g, h with i
  rename: n is o
  except: p, q
  view: v is { group_by: x } -> { select: x }
}
source: c is a -> { group_by: x } extend { primary_key: x }";
    let document = parse_clean(text);
    let definitions: Vec<&SourceDefinition> = document
        .statements
        .iter()
        .flat_map(|s| match &s.kind {
            StatementKind::Sources { definitions, .. } => definitions.iter(),
            _ => panic!("expected sources"),
        })
        .collect();
    assert!(
        matches!(&definitions[0].source.kind, SourceExprKind::Sql { sql, .. } if sql.value == "select 1")
    );
    let SourceExprKind::Extend { body, .. } = &definitions[1].source.kind else {
        panic!()
    };
    let joins: Vec<(&str, bool, Option<&JoinCondition>)> = body
        .statements
        .iter()
        .filter_map(|s| match &s.kind {
            SourceStatementKind::Joins { joins, .. } => Some(joins),
            _ => None,
        })
        .flatten()
        .map(|j| {
            (
                j.name.name.as_str(),
                j.source.is_some(),
                j.condition.as_ref(),
            )
        })
        .collect();
    assert_eq!(joins.len(), 5);
    assert_eq!((joins[0].0, joins[0].1), ("c", true));
    assert!(matches!(joins[1].2, Some(JoinCondition::On(_))));
    assert!(joins[2].2.is_none());
    assert_eq!((joins[3].0, joins[4].0), ("f", "h"));
    let SourceExprKind::Extend { base, .. } = &definitions[2].source.kind else {
        panic!()
    };
    assert!(matches!(&base.kind, SourceExprKind::Query(_)));
}

#[test]
fn query_forms() {
    let document = parse_clean("run: flights -> by_carrier + { limit: 3 }");
    let stages = run_stages(&document);
    assert!(matches!(&stages[0].kind, ViewExprKind::Refine { .. }));

    let document = parse_clean("run: airline_list");
    assert!(matches!(
        &document.statements[0].kind,
        StatementKind::Run {
            query: QueryExpr {
                kind: QueryExprKind::Named(_),
                ..
            },
            ..
        }
    ));

    let document = parse_clean("run: top_q + { limit: 2 }");
    assert!(matches!(
        &document.statements[0].kind,
        StatementKind::Run {
            query: QueryExpr {
                kind: QueryExprKind::Refine { .. },
                ..
            },
            ..
        }
    ));

    let document = parse_clean("run: a -> { group_by: x } -> { select: x }");
    assert_eq!(run_stages(&document).len(), 2);
}

#[test]
fn query_clauses() {
    let text = "run: t -> {
  where: a = 1, b
  group_by: x, y is z.year
  aggregate: n is count() m
  nest: by_x, nested is { group_by: x; limit: 2 }, v + { limit: 1 }
  order_by: 2 asc, x desc y
  limit: 10
  calculate: r is rank() { partition_by: x order_by: y }
  select: *, j.* { except: k }
  having: n > 1
  top: 5
  sample: 10%
  timezone: 'UTC'
  extend: { dimension: w is 1 }
};";
    let document = parse_clean(text);
    let statements = first_stage_statements(&document);
    let names: Vec<&str> = statements
        .iter()
        .map(|s| match &s.kind {
            QueryStatementKind::Where(filters) => {
                assert_eq!(filters.len(), 2);
                "where"
            }
            QueryStatementKind::GroupBy(fields) => {
                assert_eq!(fields.len(), 2);
                "group_by"
            }
            QueryStatementKind::Aggregate(fields) => {
                assert_eq!(fields.len(), 2);
                "aggregate"
            }
            QueryStatementKind::Nest(items) => {
                assert_eq!(items.len(), 3);
                assert!(items[0].name.is_none());
                assert_eq!(
                    items[1].name.as_ref().map(|n| n.name.as_str()),
                    Some("nested")
                );
                assert!(matches!(items[2].view.kind, ViewExprKind::Refine { .. }));
                "nest"
            }
            QueryStatementKind::OrderBy(items) => {
                assert_eq!(items.len(), 3);
                assert!(matches!(items[0].field, OrderKey::Position(2, _)));
                assert_eq!(items[0].direction, Some(OrderDirection::Asc));
                assert_eq!(items[1].direction, Some(OrderDirection::Desc));
                assert_eq!(items[2].direction, None);
                "order_by"
            }
            QueryStatementKind::Limit(limit) => {
                assert_eq!(limit.value, 10);
                "limit"
            }
            QueryStatementKind::Calculate(fields) => {
                let QueryFieldKind::Definition { expr, .. } = &fields[0].kind else {
                    panic!()
                };
                let ExprKind::Refine { body, .. } = &expr.kind else {
                    panic!("{expr:#?}")
                };
                assert_eq!(body.statements.len(), 2);
                assert!(matches!(
                    body.statements[0].kind,
                    QueryStatementKind::PartitionBy(_)
                ));
                "calculate"
            }
            QueryStatementKind::Select(fields) => {
                assert!(matches!(
                    &fields[0].kind,
                    QueryFieldKind::Wildcard { prefix: None, .. }
                ));
                let QueryFieldKind::Wildcard {
                    prefix: Some(prefix),
                    except,
                    ..
                } = &fields[1].kind
                else {
                    panic!("{:#?}", fields[1]);
                };
                assert_eq!(prefix.steps[0].name, "j");
                assert_eq!(except[0].name, "k");
                "select"
            }
            QueryStatementKind::Having(_) => "having",
            QueryStatementKind::Top(top) => {
                assert_eq!(top.value, 5);
                "top"
            }
            QueryStatementKind::Sample(sample) => {
                assert_eq!(sample.kind, ExprKind::Number("10%".into()));
                "sample"
            }
            QueryStatementKind::Timezone(zone) => {
                assert_eq!(zone.value, "UTC");
                "timezone"
            }
            QueryStatementKind::Extend(_) => "extend",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "where",
            "group_by",
            "aggregate",
            "nest",
            "order_by",
            "limit",
            "calculate",
            "select",
            "having",
            "top",
            "sample",
            "timezone",
            "extend"
        ]
    );
}

#[test]
fn annotations_attach_to_items() {
    let text = "## model\n# a\nsource: s is t extend {\n  # b\n  dimension:\n    # c\n    d is 1\n}\n# e\nrun: s -> { # f\n group_by: d }";
    let document = parse_clean(text);
    let StatementKind::ModelAnnotation(model) = &document.statements[0].kind else {
        panic!()
    };
    assert_eq!(model.text, "## model\n");
    let StatementKind::Sources {
        annotations,
        definitions,
    } = &document.statements[1].kind
    else {
        panic!()
    };
    assert_eq!(annotations[0].text, "# a\n");
    let SourceExprKind::Extend { body, .. } = &definitions[0].source.kind else {
        panic!()
    };
    assert_eq!(body.statements[0].annotations[0].text, "# b\n");
    let SourceStatementKind::Dimensions(fields) = &body.statements[0].kind else {
        panic!()
    };
    assert_eq!(fields[0].annotations[0].text, "# c\n");
    let StatementKind::Run { annotations, query } = &document.statements[2].kind else {
        panic!()
    };
    assert_eq!(annotations[0].text, "# e\n");
    let QueryExprKind::Pipeline { stages, .. } = &query.kind else {
        panic!()
    };
    let ViewExprKind::Stage(body) = &stages[0].kind else {
        panic!()
    };
    assert_eq!(body.statements[0].annotations[0].text, "# f\n");
}

#[test]
fn imports() {
    let document = parse_clean("import \"a.malloy\"\nimport { x, y is z } from 'b.malloy'");
    let StatementKind::Import(all) = &document.statements[0].kind else {
        panic!()
    };
    assert_eq!(all.url.value, "a.malloy");
    assert!(all.names.is_empty());
    let StatementKind::Import(some) = &document.statements[1].kind else {
        panic!()
    };
    assert_eq!(some.url.value, "b.malloy");
    assert_eq!(
        some.names[1].alias.as_ref().map(|a| a.name.as_str()),
        Some("y")
    );
    assert_eq!(some.names[1].name.name, "z");
}

#[test]
fn sql_style_and_less_common_forms() {
    check(
        "q like 'a%' and q not like 'b'",
        "((q Match 'a%') And (q NotMatch 'b'))",
    );
    check(
        "x ? pick 'big' when > 3 pick when < 0 else 0",
        "(x ? (pick 'big' when (Greater 3) pick x when (Less 0) else 0))",
    );
    check(
        "case when a then 1 else 2 end",
        "(case when a then 1 else 2)",
    );
    check("case k when 1 then 'x' end", "(case k when 1 then 'x')");
    check("f'> 5 and != 7'", "Filter(\"> 5 and != 7\")");
    check("cast(x as number)", "(x::number)");
    check("now", "now()");
    check("(d + 1 day).year", "([(d Add (1 day))]).year");
    check("@2001-02-03.week", "(@2001-02-03).week");
    check("d.month", "d.month");
}

#[test]
fn source_parameters_and_arguments() {
    let text = "\
source: p(min_year::number is 2000, label::string) is t extend { where: y > min_year }
source: q is p(min_year is 2003) extend {
  join_one: r is p(label is 'x') with k
  join_one: p(min_year is 1) with k
}";
    let document = parse_clean(text);
    let StatementKind::Sources { definitions, .. } = &document.statements[0].kind else {
        panic!()
    };
    let parameters = &definitions[0].parameters;
    assert_eq!(parameters.len(), 2);
    assert_eq!(parameters[0].name.name, "min_year");
    assert_eq!(
        parameters[0].type_name.as_ref().map(|t| t.name.as_str()),
        Some("number")
    );
    assert!(parameters[0].default.is_some());
    assert!(parameters[1].default.is_none());
    assert_eq!(slice(text, parameters[0].span), "min_year::number is 2000");

    let StatementKind::Sources { definitions, .. } = &document.statements[1].kind else {
        panic!()
    };
    let SourceExprKind::Extend { base, body } = &definitions[0].source.kind else {
        panic!()
    };
    let SourceExprKind::Named { arguments, .. } = &base.kind else {
        panic!()
    };
    assert_eq!(
        arguments[0].name.as_ref().map(|n| n.name.as_str()),
        Some("min_year")
    );
    let joins: Vec<&Join> = body
        .statements
        .iter()
        .flat_map(|s| match &s.kind {
            SourceStatementKind::Joins { joins, .. } => joins.iter(),
            _ => panic!("expected joins"),
        })
        .collect();
    assert_eq!(joins[1].name.name, "p");
    let Some(SourceExpr {
        kind: SourceExprKind::Named { name, arguments },
        ..
    }) = &joins[1].source
    else {
        panic!("{:#?}", joins[1]);
    };
    assert_eq!(name.name, "p");
    assert_eq!(arguments.len(), 1);
}

#[test]
fn include_blocks() {
    let text = "source: s is t include {\n  e, *\n  public: a, b\n  private: c\n  except: d\n}";
    let document = parse_clean(text);
    let StatementKind::Sources { definitions, .. } = &document.statements[0].kind else {
        panic!()
    };
    let SourceExprKind::Include { items, .. } = &definitions[0].source.kind else {
        panic!()
    };
    assert_eq!(items.len(), 4);
    assert!(items[0].access.is_none());
    assert_eq!(items[0].fields.len(), 2);
    assert_eq!(items[0].fields[1].steps[0].name, "*");
    assert_eq!(
        items[1].access.as_ref().map(|a| a.name.as_str()),
        Some("public")
    );
    assert_eq!(items[1].fields.len(), 2);
    assert_eq!(
        items[2].access.as_ref().map(|a| a.name.as_str()),
        Some("private")
    );
    assert!(items[3].except);
    assert_eq!(items[3].fields[0].steps[0].name, "d");
    assert_eq!(slice(text, items[1].span), "public: a, b");
}

#[test]
fn keywords_ignore_case_and_backquotes() {
    let document = parse_clean("RUN: `my table` -> { GROUP_BY: `select`, Carrier }");
    let statements = first_stage_statements(&document);
    let QueryStatementKind::GroupBy(fields) = &statements[0].kind else {
        panic!()
    };
    let QueryFieldKind::Reference(path) = &fields[0].kind else {
        panic!()
    };
    assert_eq!(path.steps[0].name, "select");
    let StatementKind::Run { query, .. } = &document.statements[0].kind else {
        panic!()
    };
    let QueryExprKind::Pipeline { source, .. } = &query.kind else {
        panic!()
    };
    assert!(matches!(&source.kind, SourceExprKind::Named { name, .. } if name.name == "my table"));
}

#[test]
fn index_and_reference_aggregates() {
    let document =
        parse_clean("run: t -> { index: *, j.*, a by w } -> { aggregate: x.sum(), y.count() }");
    let stages = run_stages(&document);
    let ViewExprKind::Stage(body) = &stages[0].kind else {
        panic!()
    };
    let QueryStatementKind::Index { fields, by } = &body.statements[0].kind else {
        panic!()
    };
    assert_eq!(fields.len(), 3);
    assert_eq!(by.as_ref().map(|b| b.steps[0].name.as_str()), Some("w"));
    let ViewExprKind::Stage(body) = &stages[1].kind else {
        panic!()
    };
    let QueryStatementKind::Aggregate(fields) = &body.statements[0].kind else {
        panic!()
    };
    assert!(matches!(
        &fields[0].kind,
        QueryFieldKind::Expression(Expr {
            kind: ExprKind::MethodCall { .. },
            ..
        })
    ));
}
