#!/usr/bin/env bash
# Serves the conformance package with the dev build of the server on a free
# loopback port and checks the conformance cases against it.
#
# Usage: scripts/conformance.sh [run-cases options]
#   CONFORMANCE_DIR   the conformance kit (default: ../shared/conformance
#                     beside the repository)
#   CONFORMANCE_AREAS comma-separated areas to check (default: all of them)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

kit="${CONFORMANCE_DIR:-$REPO_ROOT/../shared/conformance}"
if [ ! -x "$kit/run-cases" ]; then
  echo "conformance.sh: no conformance kit at $kit (set CONFORMANCE_DIR)" >&2
  exit 2
fi
kit="$(cd "$kit" && pwd)"
areas="${CONFORMANCE_AREAS:-}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/publisher.config.json" <<JSON
{
  "frozenConfig": true,
  "projects": [
    { "name": "conformance",
      "packages": [ { "name": "conformance", "location": "$kit/package" } ] }
  ]
}
JSON

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$CARGO_TARGET_DIR/debug/malloy-publisher" --host 127.0.0.1 --port "$port" \
  --config "$work/publisher.config.json" >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 120); do
  if curl -sf "http://127.0.0.1:$port/api/v0/status" >/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "conformance.sh: the server exited; its log:" >&2; cat "$work/server.log" >&2; exit 1
  fi
  sleep 0.5
done

area_options=()
if [ -n "$areas" ]; then
  area_options=(--area "$areas")
fi
echo "Checking areas: ${areas:-all}, with exact error messages and result types"
"$kit/run-cases" --server "http://127.0.0.1:$port" --project conformance --package conformance \
  "${area_options[@]}" --strict-errors --check-types -j 2 "$@"
