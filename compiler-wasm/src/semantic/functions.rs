//! The Malloy functions that map directly onto DuckDB functions, with their
//! argument counts and return types.

use super::types::{DataType, NumberSubtype};

/// The rule that derives a function's return type.
#[derive(Debug, Clone, Copy)]
pub enum Returns {
    String,
    Boolean,
    /// A number without a subtype.
    Number,
    Integer,
    Timestamp,
    /// The type of the first argument.
    FirstArgument,
}

#[derive(Debug, Clone, Copy)]
pub struct FunctionSpec {
    pub name: &'static str,
    /// The DuckDB function, or a `__` name that the SQL generator spells
    /// out because Malloy's semantics differ from the plain function.
    pub sql_name: &'static str,
    pub min_args: usize,
    pub max_args: usize,
    pub returns: Returns,
    /// Argument types, one letter each: `s` string, `n` number, `t` date or
    /// timestamp, `a` any. Arguments past the end are not checked.
    pub signature: &'static str,
}

const MANY: usize = usize::MAX;

const fn f(
    name: &'static str,
    sql_name: &'static str,
    min_args: usize,
    max_args: usize,
    returns: Returns,
) -> FunctionSpec {
    FunctionSpec {
        name,
        sql_name,
        min_args,
        max_args,
        returns,
        signature: "",
    }
}

const fn typed(spec: FunctionSpec, signature: &'static str) -> FunctionSpec {
    FunctionSpec { signature, ..spec }
}

static FUNCTIONS: &[FunctionSpec] = &[
    f("concat", "CONCAT", 0, MANY, Returns::String),
    typed(f("length", "LENGTH", 1, 1, Returns::Number), "s"),
    typed(
        f("byte_length", "__byte_length", 1, 1, Returns::Number),
        "s",
    ),
    typed(f("upper", "UPPER", 1, 1, Returns::String), "s"),
    typed(f("lower", "LOWER", 1, 1, Returns::String), "s"),
    typed(f("substr", "SUBSTR", 2, 3, Returns::String), "snn"),
    typed(f("trim", "TRIM", 1, 2, Returns::String), "ss"),
    typed(f("ltrim", "LTRIM", 1, 2, Returns::String), "ss"),
    typed(f("rtrim", "RTRIM", 1, 2, Returns::String), "ss"),
    typed(f("strpos", "STRPOS", 2, 2, Returns::Number), "ss"),
    typed(
        f(
            "starts_with",
            "__false_if_null:STARTS_WITH",
            2,
            2,
            Returns::Boolean,
        ),
        "ss",
    ),
    typed(
        f(
            "ends_with",
            "__false_if_null:SUFFIX",
            2,
            2,
            Returns::Boolean,
        ),
        "ss",
    ),
    typed(f("reverse", "REVERSE", 1, 1, Returns::String), "s"),
    typed(f("repeat", "REPEAT", 2, 2, Returns::String), "sn"),
    typed(f("ascii", "ASCII", 1, 1, Returns::Number), "s"),
    typed(f("unicode", "__unicode", 1, 1, Returns::Number), "s"),
    typed(f("chr", "__chr", 1, 1, Returns::String), "n"),
    typed(
        f("regexp_extract", "REGEXP_EXTRACT", 2, 3, Returns::String),
        "sa",
    ),
    typed(f("round", "ROUND", 1, 2, Returns::Number), "nn"),
    typed(f("trunc", "TRUNC", 1, 2, Returns::Number), "nn"),
    typed(f("floor", "FLOOR", 1, 1, Returns::Number), "n"),
    typed(f("ceil", "CEIL", 1, 1, Returns::Number), "n"),
    typed(f("abs", "ABS", 1, 1, Returns::Number), "n"),
    typed(f("sign", "SIGN", 1, 1, Returns::Number), "n"),
    typed(f("sqrt", "SQRT", 1, 1, Returns::Number), "n"),
    typed(f("pow", "POW", 2, 2, Returns::Number), "nn"),
    typed(f("exp", "EXP", 1, 1, Returns::Number), "n"),
    typed(f("ln", "LN", 1, 1, Returns::Number), "n"),
    typed(f("log", "__log", 2, 2, Returns::Number), "nn"),
    typed(f("div", "__div", 2, 2, Returns::Number), "nn"),
    f("pi", "PI", 0, 0, Returns::Number),
    typed(f("cos", "COS", 1, 1, Returns::Number), "n"),
    typed(f("sin", "SIN", 1, 1, Returns::Number), "n"),
    typed(f("tan", "TAN", 1, 1, Returns::Number), "n"),
    typed(f("acos", "ACOS", 1, 1, Returns::Number), "n"),
    typed(f("asin", "ASIN", 1, 1, Returns::Number), "n"),
    typed(f("atan", "ATAN", 1, 1, Returns::Number), "n"),
    typed(f("atan2", "ATAN2", 2, 2, Returns::Number), "nn"),
    f("rand", "RANDOM", 0, 0, Returns::Number),
    typed(
        f("is_nan", "__false_if_null:ISNAN", 1, 1, Returns::Boolean),
        "n",
    ),
    typed(
        f("is_inf", "__false_if_null:ISINF", 1, 1, Returns::Boolean),
        "n",
    ),
    f(
        "greatest",
        "__null_if_any_null:GREATEST",
        1,
        MANY,
        Returns::FirstArgument,
    ),
    f(
        "least",
        "__null_if_any_null:LEAST",
        1,
        MANY,
        Returns::FirstArgument,
    ),
    f("coalesce", "COALESCE", 1, MANY, Returns::FirstArgument),
    f("ifnull", "IFNULL", 2, 2, Returns::FirstArgument),
    f("nullif", "NULLIF", 2, 2, Returns::FirstArgument),
    f("now", "CURRENT_TIMESTAMP", 0, 0, Returns::Timestamp),
    typed(f("dayname", "DAYNAME", 1, 1, Returns::String), "t"),
    f("list_extract", "LIST_EXTRACT", 2, 2, Returns::String),
    typed(
        f("to_timestamp", "TO_TIMESTAMP", 1, 1, Returns::Timestamp),
        "n",
    ),
];

pub fn lookup(name: &str) -> Option<&'static FunctionSpec> {
    let lower = name.to_ascii_lowercase();
    FUNCTIONS.iter().find(|spec| spec.name == lower)
}

/// The return type of a call, given the types of its arguments.
pub fn return_type(spec: &FunctionSpec, arguments: &[DataType]) -> DataType {
    match spec.returns {
        Returns::String => DataType::String,
        Returns::Boolean => DataType::Boolean,
        Returns::Number => DataType::Number(None),
        Returns::Integer => DataType::Number(Some(NumberSubtype::Integer)),
        Returns::Timestamp => DataType::Timestamp(None),
        Returns::FirstArgument => arguments
            .iter()
            .find(|t| **t != DataType::Null)
            .map(|t| t.without_timeframe())
            .unwrap_or(DataType::Null),
    }
}

/// Returns whether the argument types fit the function's signature. NULLs and
/// untyped values fit anything.
pub fn arguments_fit(spec: &FunctionSpec, arguments: &[DataType]) -> bool {
    spec.signature.chars().zip(arguments).all(|(kind, ty)| {
        matches!(
            (kind, ty),
            (_, DataType::Null | DataType::Error | DataType::SqlNative(_))
                | ('s', DataType::String)
                | ('n', DataType::Number(_))
                | ('t', DataType::Date(_) | DataType::Timestamp(_))
                | ('a', _)
        )
    })
}
