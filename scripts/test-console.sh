#!/usr/bin/env bash
# Runs the tests of the official clients against our server:
#   tests/console/console.test.mjs  the web console @malloy-publisher/app in
#                                   headless Chromium (fetched first by
#                                   scripts/fetch-console.sh)
#   tests/python/test_client.py     the PyPI client malloy-publisher-client
#                                   0.1.1, installed into a fresh venv
#
# Usage: scripts/test-console.sh
#   CHROMIUM_PATH   the Chromium binary (default /usr/bin/chromium; on
#                   Debian: apt-get install chromium)
#   CONFORMANCE_DIR the conformance kit (default: ../shared/conformance
#                   beside the repository; its walk fails without it)
#   CONSOLE_SCREENSHOT_DIR  keep the console test's screenshots there
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "test-console.sh: no Chromium at $chromium; install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
  exit 2
fi
export CHROMIUM_PATH="$chromium"

scripts/fetch-console.sh

echo "==> Compiler component (wasm32-wasip2, $COMPONENT_PROFILE) and the server's debug binary"
cargo build -p malloy-compiler --target wasm32-wasip2 --profile "$COMPONENT_PROFILE"
cargo build -p malloy-publisher --bin malloy-publisher
export MALLOY_PUBLISHER_BIN="$CARGO_TARGET_DIR/debug/malloy-publisher"

echo "==> Web console in Chromium"
(cd tests/console && npm ci --no-audit --no-fund --silent && node --test console.test.mjs)

echo "==> PyPI client malloy-publisher-client 0.1.1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check malloy-publisher-client==0.1.1
"$work/venv/bin/python" tests/python/test_client.py
