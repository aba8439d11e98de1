#!/usr/bin/env bash
# Prints performance figures for the sample packages:
#   1. compile time per sample model and per view, natively and in the
#      sandboxed component (host/benches/compile.rs);
#   2. query latency of every sample view and named query through the HTTP
#      API of a started release server, p50 and p95 over N runs.
#
#   scripts/bench.sh
#
# Environment: BENCH_ITERATIONS (compile runs, default 30), BENCH_QUERY_RUNS
# (requests per view, default 50). The figures depend on the machine and its
# load, so compare runs made on the same machine only. Needs python3.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

QUERY_RUNS="${BENCH_QUERY_RUNS:-50}"

echo "==> Building the component, the server and the sample data"
scripts/setup.sh

echo
echo "==> Compile times"
cargo bench -p malloy-publisher --bench compile

echo
echo "==> Query latency through the HTTP API"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# An empty server root: without publisher.config.json the server serves
# malloy-samples/ as the project `home`. The result cache is off, so every
# timed run executes its query on DuckDB.
"$CARGO_TARGET_DIR/release/malloy-publisher" \
  --host 127.0.0.1 --port "$port" --server_root "$work" --query_cache_mb 0 \
  --samples "$REPO_ROOT/malloy-samples" --compiler_wasm "$MALLOY_COMPILER_WASM" \
  >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

python3 - "$port" "$QUERY_RUNS" "$work/server.log" <<'PYTHON'
import http.client
import json
import statistics
import sys
import time
import urllib.parse

port, runs, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)


def request(method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def get_json(path):
    status, data = request("GET", path)
    if status != 200:
        sys.exit(f"GET {path} returned {status}: {data.decode(errors='replace')}")
    return json.loads(data)


# Wait until the server listens and has loaded every package.
deadline = time.monotonic() + 180
while True:
    try:
        if get_json("/api/v0/status").get("initialized"):
            break
    except (OSError, http.client.HTTPException):
        connection.close()
    if time.monotonic() > deadline:
        sys.exit("the server did not start within 180 s; its log:\n" + open(log_path).read())
    time.sleep(0.2)

project = "/api/v0/projects/home"
cases = []
for package in get_json(f"{project}/packages"):
    name = package["name"]
    for model in get_json(f"{project}/packages/{name}/models"):
        path = model["path"]
        query_url = f"{project}/packages/{name}/models/{urllib.parse.quote(path, safe='')}/query"
        if model.get("error"):
            print(f"{name}/{path}: skipped, the model does not compile: {model['error']}")
            continue
        listing = get_json(f"{project}/packages/{name}/models/{urllib.parse.quote(path, safe='')}")
        for source in listing.get("sources", []):
            for view in source.get("views", []):
                label = f"{name}/{path}: {source['name']} -> {view['name']}"
                cases.append((label, query_url, {"sourceName": source["name"], "queryName": view["name"]}))
        for query in listing.get("queries", []):
            cases.append((f"{name}/{path}: {query['name']}", query_url, {"queryName": query["name"]}))

print(f"Latency in milliseconds over {runs} sequential requests per view, after one warm-up")
print("request, on one keep-alive connection to a release build.")
print()
print(f"| {'view':<56} | {'rows':>5} | {'p50':>8} | {'p95':>8} | {'mean':>8} |")
print(f"|{'-' * 58}|{'-' * 7}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
failures = []
all_timings = []
for label, url, body in cases:
    status, data = request("POST", url, body)
    if status != 200:
        failures.append(f"{label}: status {status}: {data.decode(errors='replace')[:300]}")
        continue
    result = json.loads(json.loads(data)["result"])
    row_count = len(result.get("data", {}).get("array_value", []))
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        status, _ = request("POST", url, body)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            failures.append(f"{label}: status {status} on a repeated request")
            break
    timings.sort()
    # Nearest-rank percentiles.
    p50 = timings[max(1, -(-len(timings) * 50 // 100)) - 1]
    p95 = timings[max(1, -(-len(timings) * 95 // 100)) - 1]
    all_timings.extend(timings)
    print(f"| {label:<56} | {row_count:>5} | {p50:>8.2f} | {p95:>8.2f} | {statistics.fmean(timings):>8.2f} |")

if all_timings:
    total_seconds = sum(all_timings) / 1000
    print()
    print(f"{len(all_timings)} requests in {total_seconds:.1f} s: {len(all_timings) / total_seconds:.0f} requests/s sequentially")
if failures:
    print()
    print("Failed views:")
    for failure in failures:
        print(f"  {failure}")
PYTHON
