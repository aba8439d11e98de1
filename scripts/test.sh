#!/usr/bin/env bash
# Builds everything and runs the whole test suite: the compiler's and the
# server's cargo tests, then the conformance cases against a running server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

scripts/setup.sh dev

echo "==> cargo test"
cargo test --workspace

echo "==> Conformance cases against the server"
scripts/conformance.sh
