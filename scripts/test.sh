#!/usr/bin/env bash
# Builds everything and runs the whole test suite: the compiler's and the
# server's cargo tests, the official web console and Python client against
# the server, the k6 smoke and CRUD presets, the conformance cases against a
# running server, and the playground's tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

scripts/install-test-tools.sh
scripts/setup.sh dev

echo "==> cargo test"
cargo test --workspace

echo "==> Web console and Python client"
scripts/test-console.sh

echo "==> k6 smoke preset against the samples"
scripts/k6-smoke.sh

echo "==> k6 CRUD preset"
scripts/k6-crud.sh

echo "==> Conformance cases against the server"
scripts/conformance.sh

echo "==> Playground, browser build and jco host"
scripts/test-web.sh
