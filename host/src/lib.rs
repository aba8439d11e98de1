//! The Malloy Publisher server as a library: DuckDB per package, the
//! conversion of query rows to `Malloy.Result`, and the compiler's view of a
//! package. The `malloy-publisher` and `malloy-cli` binaries build on it.

pub mod db;
pub mod package_host;
pub mod result;
pub mod sandbox;
