//! Lexing and parsing: Malloy text to an [`ast::Document`] and a list of
//! syntax problems. The parser recovers after an error, so one pass reports
//! every syntax problem of a file.

pub mod ast;
pub mod lexer;
pub mod parser;

pub use parser::parse;
