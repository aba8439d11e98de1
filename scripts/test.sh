#!/usr/bin/env bash
# Builds everything and runs the whole test suite: the compiler's and the
# server's cargo tests, the official web console and Python client against
# the server, the conformance cases against a running server, the
# playground's tests, and the k6 smoke and CRUD presets.
#
# Every stage runs even when an earlier one fails, so one failure does not
# hide the others; the script exits 1 when any stage failed. The k6 stages
# come last because their latency thresholds are the most sensitive to
# other load on the machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

scripts/install-test-tools.sh
scripts/setup.sh dev

failed=()
run_stage() {
  local title="$1"
  shift
  echo "==> $title"
  if ! "$@"; then
    echo "==> FAILED: $title" >&2
    failed+=("$title")
  fi
}

run_stage "cargo test" cargo test --workspace
run_stage "Web console and Python client" scripts/test-console.sh
run_stage "Conformance cases against the server" scripts/conformance.sh
run_stage "Playground, browser build and jco host" scripts/test-web.sh
run_stage "k6 smoke preset against the samples" scripts/k6-smoke.sh
run_stage "k6 CRUD preset" scripts/k6-crud.sh

if [ "${#failed[@]}" -gt 0 ]; then
  echo "Failed stages: ${failed[*]}" >&2
  exit 1
fi
echo "All test stages passed."
