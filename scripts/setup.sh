#!/usr/bin/env bash
# Installs what the build needs, then builds the compiler component, the
# server and the sample data. Safe to run again: finished steps are skipped.
#
# Usage: scripts/setup.sh [release|dev]   (the server's cargo profile;
#                                          default release)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

profile="${1:-release}"
case "$profile" in
  release) bin_dir="$CARGO_TARGET_DIR/release" ;;
  dev) bin_dir="$CARGO_TARGET_DIR/debug" ;;
  *) echo "setup.sh: unknown profile '$profile' (expected release or dev)" >&2; exit 2 ;;
esac

echo "==> Rust targets for the compiler component and the browser build"
rustup target add wasm32-wasip2 wasm32-unknown-unknown >/dev/null

if [ ! -f "$DUCKDB_LIB_DIR/libduckdb.so" ]; then
  echo "==> Fetching libduckdb.so from $DUCKDB_NPM_PACKAGE"
  work="$(mktemp -d)"
  (cd "$work" && npm pack --silent "$DUCKDB_NPM_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$DUCKDB_LIB_DIR"
  cp "$work/package/libduckdb.so" "$DUCKDB_LIB_DIR/"
  rm -rf "$work"
fi

echo "==> Building the compiler component (wasm32-wasip2, $COMPONENT_PROFILE)"
cargo build -p malloy-compiler --target wasm32-wasip2 --profile "$COMPONENT_PROFILE"

echo "==> Building the server ($profile)"
cargo build -p malloy-publisher --profile "$profile" --bins

echo "==> Generating sample data"
"$bin_dir/generate-samples" --root "$REPO_ROOT/malloy-samples"
