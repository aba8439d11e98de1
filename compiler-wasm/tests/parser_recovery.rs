//! Syntax errors and recovery: each text below was checked against the
//! reference Malloy compiler (`malloy-ref model`), which reports the same
//! messages at the same 1-based lines and columns.

use malloy_compiler::diagnostics::LineIndex;
use malloy_compiler::syntax::parse;

/// Parses `text` and returns its problems as (line, column, message) with
/// 1-based lines and columns, checking that each is a syntax error.
fn problems(text: &str) -> Vec<(u32, u32, String)> {
    let (_, diagnostics) = parse(text);
    let index = LineIndex::new(text);
    diagnostics
        .into_iter()
        .map(|diagnostic| {
            assert_eq!(diagnostic.code, "syntax-error", "{text}");
            let position = index.position(diagnostic.span.start);
            (
                position.line + 1,
                position.character + 1,
                diagnostic.message,
            )
        })
        .collect()
}

type Case = (&'static str, &'static [(u32, u32, &'static str)]);

const CASES: &[Case] = &[
    (
        "source: a is duckdb.table(\"x\") extend {\n  dimension x is 1\n  measure: m is count()\n}\nsource: b is a extend {\n  primary key: y\n  join: c on 1 = 1\n}\nrun: a -> {\n  group by: x\n  aggregate: count()\n  foo: bar\n  select: q as r\n}\n",
        &[
            (2, 3, "Expected ':' following 'dimension'"),
            (6, 3, "Unexpected 'primary'. Did you mean 'primary_key:'?"),
            (10, 3, "Unexpected 'group'. Did you mean 'group_by:'?"),
            (11, 14, "'aggregate:' entries must include a name (ex: `some_name is count()`)"),
            (13, 13, "Unsupported keyword 'as'. Use 'is' to name something (ex: `select: new_name is column_name`)"),
        ],
    ),
    (
        "run: flights -> { group_by: carrier",
        &[
            (1, 36, "Missing '}' at '<EOF>'"),
        ],
    ),
    (
        "source: a is duckdb.table(\"x\") extend {\n  dimension: x is 1\nrun: a -> { select: x }\n",
        &[
            (3, 1, "Missing '}' at 'run:'"),
        ],
    ),
    (
        "source: a is duckdb.table(\"x\") { dimension: y is 1 }\n",
        &[
            (1, 32, "Unexpected '{' following source expression. Expected: 'extend', 'include', '+' or '->'"),
        ],
    ),
    (
        "source: a is duckdb.table(\"x\") extend {\n  view: { group_by: x }\n}\n",
        &[
            (2, 9, "'view:' must be followed by '<identifier> is {'"),
        ],
    ),
    (
        "source: a is duckdb.table(\"x\") extend {\n  dimension: x as 1\n}\n",
        &[
            (2, 16, "Unsupported keyword 'as'. Use 'is' to name something (ex: `dimension: name is expression`)"),
        ],
    ),
    (
        "run: a -> { select: x is string }\n",
        &[
            (1, 26, "Unexpected type 'string' in dimension definition. Expected an expression or field reference."),
        ],
    ),
    (
        "run: a -> { group_by: x + }\nrun: a -> { where: x = }\n",
        &[
            (1, 25, "unexpected '+'"),
            (2, 24, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { group_by: x,, y }\n",
        &[
            (1, 25, "unexpected ','"),
        ],
    ),
    (
        "run: a -> { limit: x }\n",
        &[
            (1, 20, "missing a number before 'x'"),
        ],
    ),
    (
        "run: a -> { aggregate: c is count(distinct x), d is sum(y }\n",
        &[
            (1, 35, "`count(distinct expression)` deprecated, use `count(expression)` instead."),
            (1, 59, "missing ')' before '}'"),
        ],
    ),
    (
        "query: q is a -> { group_by: x }\nquery: r a -> { group_by: x }\n",
        &[
            (2, 10, "missing 'is' before 'a'"),
        ],
    ),
    (
        "run: a -> {\n  group_by: x\n}}\nrun: b -> { select: y }\n",
        &[
            (3, 2, "unexpected '}'"),
        ],
    ),
    (
        "source: a is duckdb.table(\"x\") extend {\n  join: c on 1 = 1\n  primarykey: y\n  foo: bar\n}\n",
        &[
            (2, 3, "Unexpected 'join:'. Did you mean 'join_one:', 'join_many:' or 'join_cross:'?"),
        ],
    ),
    (
        "run: a -> { select: x is 1 +* 2 }\n",
        &[
            (1, 29, "unexpected '*'"),
        ],
    ),
    (
        "run: a -> { select: x is (1 + 2 }\n",
        &[
            (1, 33, "missing ')' before '}'"),
        ],
    ),
    (
        "run: a -> { select: x is f(1, 2 }\n",
        &[
            (1, 33, "missing ')' before '}'"),
        ],
    ),
    (
        "run: a -> { select: x is pick 1 }\n",
        &[
            (1, 33, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { select: 3x }\n",
        &[
            (1, 21, "unexpected '3x'"),
        ],
    ),
    (
        "run: a -> { select: x is a.b. }\n",
        &[
            (1, 31, "something is missing before '}'"),
        ],
    ),
    (
        "source: s is a extend { measure: }\n",
        &[
            (1, 34, "missing a `quoted` name or a name before '}'"),
        ],
    ),
    (
        "run: a -> { group_by: x } -> \n",
        &[
            (2, 1, "unexpected '<EOF>'"),
        ],
    ),
    (
        "run: a -> { having: }\n",
        &[
            (1, 21, "unexpected '}'"),
        ],
    ),
    (
        "run: a ->\n",
        &[
            (2, 1, "unexpected '<EOF>'"),
        ],
    ),
    (
        "run: a -> { group_by: }\n",
        &[
            (1, 23, "unexpected '}'"),
        ],
    ),
    (
        "source: s is a extend { join_one: }\n",
        &[
            (1, 35, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { order_by: }\n",
        &[
            (1, 23, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { nest: }\n",
        &[
            (1, 19, "unexpected '}'"),
        ],
    ),
    (
        "source: s is a extend { except: }\n",
        &[
            (1, 33, "missing a `quoted` name or a name before '}'"),
        ],
    ),
    (
        "run: a -> { select: x is 1 + }\n",
        &[
            (1, 30, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { select: x is (1 + 2 }\n",
        &[
            (1, 33, "missing ')' before '}'"),
        ],
    ),
    (
        "run: a -> { select: x is case when 1 then 2 }\n",
        &[
            (1, 45, "unexpected '}', expected 'else', 'end' or 'when'"),
        ],
    ),
    (
        "run: a -> { select: x is y::foo }\n",
        &[
            (1, 29, "unexpected 'foo'"),
        ],
    ),
    (
        "run: a -> { select: x is a ? }\n",
        &[
            (1, 30, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { limit: 10.5 }\n",
        &[
            (1, 20, "missing a number before '10.5'"),
        ],
    ),
    (
        "run: a -> { top: }\n",
        &[
            (1, 18, "missing a number before '}'"),
        ],
    ),
    (
        "run: a -> { aggregate: x.sum(y) }\n",
        &[
            (1, 30, "unexpected 'y', expected ')'"),
        ],
    ),
    (
        "run: a -> { group_by: count }\n",
        &[
            (1, 23, "'count' is a reserved word, so to use it as a name you must quote it: `count`"),
        ],
    ),
    (
        "run: a -> { group_by: x is date }\n",
        &[
            (1, 28, "Unexpected type 'date' in dimension definition. Expected an expression or field reference."),
        ],
    ),
    (
        "source: s is a extend { dimension: count is 1 }\n",
        &[
            (1, 36, "'count' is a reserved word, so to use it as a name you must quote it: `count`"),
        ],
    ),
    (
        "run: a -> { group_by: a.count }\n",
        &[
            (1, 31, "unexpected '}', expected '('"),
        ],
    ),
    (
        "run: a -> { group_by: x is sum }\n",
        &[
            (1, 32, "unexpected '}', expected '('"),
        ],
    ),
    (
        "run: a -> { group_by: year }\n",
        &[
            (1, 23, "'year' is a reserved word, so to use it as a name you must quote it: `year`"),
        ],
    ),
    (
        "source: s is a extend { rename: x is year }\n",
        &[
            (1, 38, "'year' is a reserved word, so to use it as a name you must quote it: `year`"),
        ],
    ),
    (
        "source: year is a\n",
        &[
            (1, 9, "'year' is a reserved word, so to use it as a name you must quote it: `year`"),
        ],
    ),
    (
        "run: a -> { nest: desc }\n",
        &[
            (1, 19, "'desc' is a reserved word, so to use it as a name you must quote it: `desc`"),
        ],
    ),
    (
        "source: s is a extend { primary_key: }\n",
        &[
            (1, 38, "missing a `quoted` name or a name before '}'"),
        ],
    ),
    (
        "run: a -> { order_by: x asc desc }\n",
        &[
            (1, 29, "'desc' is a reserved word, so to use it as a name you must quote it: `desc`"),
        ],
    ),
    (
        "run: a -> { select: x is a.b. }\n",
        &[
            (1, 31, "something is missing before '}'"),
        ],
    ),
    (
        "run: a -> { where: x ~ }\n",
        &[
            (1, 24, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { select: x is @ }\n",
        &[
            (1, 26, "unexpected '@'"),
        ],
    ),
    (
        "run: a -> { select: x is pick \"a\" when 1 pick \"b\" }\n",
        &[
            (1, 51, "unexpected '}'"),
        ],
    ),
    (
        "run: a -> { select: x is [1, 2 }\n",
        &[
            (1, 32, "unexpected '}', expected ']' or ','"),
        ],
    ),
    (
        "import { a, b from \"x.malloy\"\n",
        &[
            (1, 15, "unexpected 'from', expected '}' or ','"),
        ],
    ),
    (
        "import { a b } from \"x.malloy\"\n",
        &[
            (1, 12, "unexpected 'b', expected '}' or ','"),
        ],
    ),
    (
        "import 5\n",
        &[
            (1, 8, "unexpected '5', expected a quoted string, '{' or '\"\"\"'"),
        ],
    ),
];

#[test]
fn errors_match_reference_positions() {
    for (text, expected) in CASES {
        let expected: Vec<(u32, u32, String)> = expected
            .iter()
            .map(|(line, column, message)| (*line, *column, message.to_string()))
            .collect();
        assert_eq!(problems(text), expected, "{text}");
    }
}

/// The reference reports the first, third and fourth of these errors at
/// the same places. After the first, its recovery takes `m is` as the end
/// of `1 + ...` and reports `count`, where this parser resumes at
/// `measure:` and reports the unclosed call.
#[test]
fn recovery_reports_each_error_once() {
    let text = "\
source: a is duckdb.table('x') extend {
  dimension: d is 1 +
  measure: m is count(
  view: v is { group_by: d }
}
source: b is a extend { primary_key id }
run: a -> { group_by: d; limit: 'x' }
run: b -> { select: * }
";
    let found = problems(text);
    assert_eq!(
        found,
        vec![
            (3, 3, "unexpected 'measure:'".to_string()),
            (4, 3, "unexpected 'view:'".to_string()),
            (6, 25, "Expected ':' following 'primary_key'".to_string()),
            (7, 33, "missing a number before ''x''".to_string()),
        ]
    );
    let (document, _) = parse(text);
    assert_eq!(document.statements.len(), 4, "every statement is kept");
}

#[test]
fn error_spans_point_at_tokens() {
    let text = "run: a -> { where: x = 'open }";
    let (_, diagnostics) = parse(text);
    assert_eq!(diagnostics.len(), 1);
    let span = diagnostics[0].span;
    assert_eq!(&text[span.start as usize..span.end as usize], "'");

    let text = "run: a -> { select: x is 1 +* 2 }";
    let (_, diagnostics) = parse(text);
    let span = diagnostics[0].span;
    assert_eq!(&text[span.start as usize..span.end as usize], "*");

    let text = "run: a -> { group_by: x";
    let (_, diagnostics) = parse(text);
    assert_eq!(diagnostics[0].span.start as usize, text.len());
    assert_eq!(diagnostics[0].span.end as usize, text.len());
}

#[test]
fn count_distinct_keeps_the_call() {
    use malloy_compiler::syntax::ast::*;
    let text = "run: f -> { aggregate: c is count(distinct carrier) }";
    let (document, diagnostics) = parse(text);
    assert_eq!(diagnostics.len(), 1);
    let span = diagnostics[0].span;
    assert_eq!(&text[span.start as usize..span.end as usize], "distinct");
    let StatementKind::Run { query, .. } = &document.statements[0].kind else {
        panic!("expected run");
    };
    let QueryExprKind::Pipeline { stages, .. } = &query.kind else {
        panic!("expected a pipeline");
    };
    let ViewExprKind::Stage(body) = &stages[0].kind else {
        panic!("expected a stage");
    };
    let QueryStatementKind::Aggregate(fields) = &body.statements[0].kind else {
        panic!("expected aggregate");
    };
    let QueryFieldKind::Definition { expr, .. } = &fields[0].kind else {
        panic!("expected a definition");
    };
    let ExprKind::Call(call) = &expr.kind else {
        panic!("expected a call");
    };
    assert!(call.distinct);
    assert_eq!(call.name.name, "count");
    assert_eq!(call.arguments.len(), 1);
}

/// Syntax that Malloy accepts but the AST cannot represent yet is
/// rejected with a message that names it, never dropped silently.
#[test]
fn unsupported_syntax_is_reported() {
    let cases = [
        (
            "source: s is a extend { private dimension: x is 1 }",
            "access label 'private' is not supported",
        ),
        (
            "source: s is a extend { join_one: b left with k }",
            "join type 'left' is not supported",
        ),
        (
            "source: s is a include { x is y }",
            "renaming a field in `include` is not supported; use `rename:` in `extend`",
        ),
        (
            "run: a -> { select: x is pick when > 3 else 0 }",
            "a `pick` without a subject needs a value before `when`",
        ),
    ];
    for (text, message) in cases {
        let (_, diagnostics) = parse(text);
        assert_eq!(diagnostics.len(), 1, "{text}: {diagnostics:?}");
        assert_eq!(diagnostics[0].message, message, "{text}");
    }
}

#[test]
fn orphaned_annotation_is_reported() {
    let text = "run: a -> { group_by: x }\n# orphan\n";
    let (_, diagnostics) = parse(text);
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].code, "orphaned-object-annotation");
    assert_eq!(
        diagnostics[0].message,
        "Object annotation not connected to any object"
    );
    let span = diagnostics[0].span;
    assert_eq!(&text[span.start as usize..span.end as usize], "# orphan\n");

    let text = "# before import\nimport 'x.malloy'\n";
    let (document, diagnostics) = parse(text);
    assert_eq!(diagnostics[0].code, "orphaned-object-annotation");
    assert_eq!(document.statements.len(), 1);
}

/// `order_by:` takes an output field's plain name. The reference reports
/// a path or a reserved word there under its own code.
#[test]
fn order_by_rejects_paths_and_reserved_words() {
    let cases = [
        (
            "run: a -> { order_by: count }",
            "'count' is a reserved word, so to order by it you must quote it: `count`",
        ),
        (
            "run: a -> { order_by: year desc }",
            "'year' is a reserved word, so to order by it you must quote it: `year`",
        ),
        (
            "run: a -> { order_by: a.b }",
            "order_by takes the name of a field in the query output, not a path ('a.b'). To order by 'b', make it an output field and order by its name: b.",
        ),
    ];
    for (text, message) in cases {
        let (_, diagnostics) = parse(text);
        assert_eq!(diagnostics.len(), 1, "{text}: {diagnostics:?}");
        assert_eq!(diagnostics[0].code, "order-by-bad-reference", "{text}");
        assert_eq!(diagnostics[0].message, message, "{text}");
        assert_eq!(diagnostics[0].span.start, 22, "{text}");
    }
    let (_, diagnostics) = parse("run: a -> { order_by: `count` desc }");
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
}
