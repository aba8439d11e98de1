//! Parses the conformance kit's models and queries: every model and every
//! query without a syntax error must parse cleanly, and every case that
//! expects a syntax error must get the reference's message and position.
//!
//! The kit is found at `$MALLOY_CONFORMANCE_DIR`, or else at
//! `<workspace root>/../shared/conformance`.

use malloy_compiler::diagnostics::{Diagnostic, LineIndex};
use malloy_compiler::syntax::parse;
use std::path::PathBuf;

fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os("MALLOY_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    };
    assert!(
        dir.join("cases.jsonl").is_file(),
        "conformance kit not found at {}: set MALLOY_CONFORMANCE_DIR to the folder that contains cases.jsonl",
        dir.display()
    );
    dir
}

struct Case {
    id: String,
    query: String,
    /// The expected error's code, message and 1-based line and column.
    error: Option<(String, String, u32, u32)>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(conformance_dir().join("cases.jsonl"))
        .expect("cases.jsonl is readable");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).expect("each line of cases.jsonl is JSON");
            let error = value.get("expected_error").map(|error| {
                (
                    error["code"].as_str().unwrap_or_default().to_string(),
                    error["message"].as_str().unwrap_or_default().to_string(),
                    error["line"].as_u64().unwrap_or(0) as u32,
                    error["column"].as_u64().unwrap_or(0) as u32,
                )
            });
            Case {
                id: value["id"].as_str().expect("a case has an id").to_string(),
                query: value["query"]
                    .as_str()
                    .expect("a case has a query")
                    .to_string(),
                error,
            }
        })
        .collect()
}

fn models() -> Vec<(String, String)> {
    let dir = conformance_dir().join("package");
    let mut models: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("the package folder is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "malloy"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a model is readable");
            (path.display().to_string(), text)
        })
        .collect();
    models.sort();
    assert!(
        models.len() >= 5,
        "expected the conformance models in {}",
        dir.display()
    );
    models
}

fn describe(text: &str, diagnostics: &[Diagnostic]) -> String {
    let index = LineIndex::new(text);
    diagnostics
        .iter()
        .map(|d| {
            let position = index.position(d.span.start);
            format!(
                "{}:{}: {}",
                position.line + 1,
                position.character + 1,
                d.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn conformance_models_parse_cleanly() {
    for (path, text) in models() {
        let (document, diagnostics) = parse(&text);
        assert!(
            diagnostics.is_empty(),
            "{path}:\n{}",
            describe(&text, &diagnostics)
        );
        assert!(!document.statements.is_empty(), "{path} has no statements");
    }
}

#[test]
fn conformance_queries_parse_cleanly() {
    let mut checked = 0;
    for case in cases() {
        if case
            .error
            .as_ref()
            .is_some_and(|(code, ..)| code == "syntax-error")
        {
            continue;
        }
        let (document, diagnostics) = parse(&case.query);
        assert!(
            diagnostics.is_empty(),
            "{}:\n{}\n{}",
            case.id,
            case.query,
            describe(&case.query, &diagnostics)
        );
        assert!(
            !document.statements.is_empty(),
            "{} has no statements",
            case.id
        );
        checked += 1;
    }
    assert!(checked > 300, "only {checked} cases parsed");
}

#[test]
fn syntax_error_cases_match_reference() {
    let mut checked = 0;
    for case in cases() {
        let Some((code, message, line, column)) = &case.error else {
            continue;
        };
        if code != "syntax-error" {
            continue;
        }
        let (_, diagnostics) = parse(&case.query);
        let first = diagnostics
            .first()
            .unwrap_or_else(|| panic!("{}: no syntax error reported", case.id));
        let position = LineIndex::new(&case.query).position(first.span.start);
        assert_eq!(first.code, "syntax-error", "{}", case.id);
        assert_eq!(&first.message, message, "{}", case.id);
        assert_eq!(
            (position.line + 1, position.character + 1),
            (*line, *column),
            "{}",
            case.id
        );
        assert_eq!(
            diagnostics.len(),
            1,
            "{}: {}",
            case.id,
            describe(&case.query, &diagnostics)
        );
        checked += 1;
    }
    assert_eq!(checked, 6, "expected six syntax-error cases");
}

/// Every prefix of every model and query, cut at each character boundary
/// (models at every 7th boundary to keep the test fast).
#[test]
fn truncated_inputs_never_panic() {
    let mut texts: Vec<(String, usize)> = models().into_iter().map(|(_, text)| (text, 7)).collect();
    texts.extend(cases().into_iter().map(|case| (case.query, 1)));
    for (text, step) in texts {
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(step).collect();
        for end in boundaries {
            let prefix = &text[..end];
            let (_, diagnostics) = parse(prefix);
            for diagnostic in diagnostics {
                assert!(diagnostic.span.start <= diagnostic.span.end, "{prefix:?}");
                assert!(diagnostic.span.end as usize <= prefix.len(), "{prefix:?}");
            }
        }
    }
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_byte_soup_never_panics() {
    let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
    let pieces = [
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "->",
        "+",
        "-",
        "*",
        "?",
        "??",
        "|",
        "&",
        ":",
        "::",
        ":::",
        ",",
        ";",
        ".",
        "'",
        "\"",
        "\"\"\"",
        "`",
        "#",
        "##",
        "@2003-",
        "r'",
        "f'",
        "is",
        "pick",
        "when",
        "else",
        "not",
        "and",
        "source:",
        "run:",
        "query:",
        "group_by:",
        "aggregate:",
        "nest:",
        "where:",
        "extend",
        "x",
        "1",
        "\n",
        " ",
        "é",
        "/*",
        "//",
        "!",
        "=",
        "<",
        ">=",
        "~",
        "to",
        "for",
        "days",
        "count(",
        "distinct",
        "join_one:",
        "with",
        "on",
        "import",
        "{ where: ",
        "limit:",
        "order_by:",
        "\u{0}",
        "\\",
    ];
    for _ in 0..3000 {
        let length = (random.next() % 60) as usize;
        let mut text = String::new();
        for _ in 0..length {
            text.push_str(pieces[(random.next() % pieces.len() as u64) as usize]);
        }
        parse(&text);
        let bytes: Vec<u8> = (0..length).map(|_| (random.next() % 128) as u8).collect();
        parse(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn deep_nesting_is_reported() {
    for open in ["(", "{", "[", "- ", "not "] {
        let text = format!("run: a -> {{ select: x is {} 1 }}", open.repeat(10_000));
        let (_, diagnostics) = parse(&text);
        assert!(!diagnostics.is_empty(), "{open}");
    }
    let views = format!("run: a -> {}", "{ nest: b is ".repeat(5_000));
    let (_, diagnostics) = parse(&views);
    assert!(!diagnostics.is_empty());
}
