# Sourced by the other scripts: paths and versions shared by the build.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

# DuckDB comes prebuilt from the npm package of its Node.js bindings
# (version 1.5.6, with parquet, json and icu built in); building it from
# source takes over an hour on two cores.
DUCKDB_NPM_PACKAGE="@duckdb/node-bindings-linux-x64@1.5.6-r.1"
export DUCKDB_LIB_DIR="${DUCKDB_LIB_DIR:-$REPO_ROOT/.deps/duckdb}"
export LD_LIBRARY_PATH="$DUCKDB_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The compiled WebAssembly component the server loads.
COMPONENT_PROFILE="${COMPONENT_PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
export MALLOY_COMPILER_WASM="${MALLOY_COMPILER_WASM:-$CARGO_TARGET_DIR/wasm32-wasip2/$COMPONENT_PROFILE/malloy_compiler.wasm}"

# The dev-profile binaries that the Node and Python tests start.
export MALLOY_PUBLISHER_BIN="${MALLOY_PUBLISHER_BIN:-$CARGO_TARGET_DIR/debug/malloy-publisher}"
export MALLOY_CLI_BIN="${MALLOY_CLI_BIN:-$CARGO_TARGET_DIR/debug/malloy-cli}"
