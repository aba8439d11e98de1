//! SQL generation: planned stages to DuckDB SQL text, and the result
//! schema in Malloy's JSON form.

pub mod dialect;
pub mod drill;
pub mod expr;
pub mod schema;
pub mod stage;

pub use dialect::{Dialect, DuckDb};
pub use stage::Generator;
