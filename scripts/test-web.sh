#!/usr/bin/env bash
# Builds the playground and runs the web tests (node --test):
#   playground.test.mjs      the page in headless Chromium against our server
#   conformance-sql.test.mjs browser build vs native build on every
#                            conformance case (needs the conformance kit)
#   jco-host.test.mjs        the compiler component under jco, with the host
#                            interface written in JavaScript
#   format.test.mjs          value formatting and notebook parsing
#
# Usage: scripts/test-web.sh [node --test options]
#   CHROMIUM_PATH   the Chromium binary (default /usr/bin/chromium; on
#                   Debian: apt-get install chromium)
#   CONFORMANCE_DIR the conformance kit (default: ../shared/conformance
#                   beside the repository)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "test-web.sh: no Chromium at $chromium; install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
  exit 2
fi

scripts/build-web.sh

echo "==> Compiler component (wasm32-wasip2, $COMPONENT_PROFILE) and the server's debug binaries"
cargo build -p malloy-compiler --target wasm32-wasip2 --profile "$COMPONENT_PROFILE"
cargo build -p malloy-publisher --bins

echo "==> Web tests"
cd web
node --test "$@" tests/*.test.mjs
