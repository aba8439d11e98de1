#!/usr/bin/env bash
# Builds the browser playground into web/dist: the compiler for
# wasm32-unknown-unknown, its wasm-bindgen JavaScript glue (--target web) and
# the page itself. The server serves web/dist at /playground.
#
# Usage: scripts/build-web.sh
#   WASM_BINDGEN   the wasm-bindgen binary (default: wasm-bindgen on PATH,
#                  then ~/.cargo/bin; installed with cargo when missing)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

# Must match the wasm-bindgen crate version in compiler-wasm/Cargo.toml:
# the CLI refuses modules built with another version.
WASM_BINDGEN_VERSION="0.2.130"

wasm_bindgen="${WASM_BINDGEN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
if ! "$wasm_bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  echo "==> Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  wasm_bindgen="$HOME/.cargo/bin/wasm-bindgen"
fi

echo "==> Compiler for wasm32-unknown-unknown"
cargo build -p malloy-compiler --target wasm32-unknown-unknown --release

dist="$REPO_ROOT/web/dist"
rm -rf "$dist"
mkdir -p "$dist/pkg"
echo "==> wasm-bindgen --target web"
"$wasm_bindgen" --target web --no-typescript --out-dir "$dist/pkg" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/malloy_compiler.wasm"

echo "==> Page"
cd "$REPO_ROOT/web"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
node build.mjs
echo "Built $dist"
