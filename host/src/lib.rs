//! The Malloy Publisher server as a library: the configuration, the
//! catalog of projects and packages, DuckDB per package, the sandboxed
//! compiler, the conversion of query rows to `Malloy.Result` and the HTTP
//! routes. The `malloy-publisher` and `malloy-cli` binaries build on it.

pub mod catalog;
pub mod config;
pub mod db;
pub mod notebook;
pub mod package_host;
pub mod result;
pub mod sandbox;
pub mod server;
pub mod telemetry;
