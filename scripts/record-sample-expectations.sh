#!/usr/bin/env bash
# Records the reference Malloy compiler's result rows for every view and
# named query of the sample models, so host/tests/sample_views.rs can
# compare our server's results with them.
#
#   scripts/record-sample-expectations.sh [PACKAGE...]   (default: every package)
#
# Writes malloy-samples/<package>/expected/<model>.<source>.<view>.json for
# views, <model>.<query>.json for named queries and
# <notebook>.cell<N>.json for each notebook cell that returns rows (N
# counts all cells from 0, as `malloy-ref notebook` does): a JSON array of
# rows, as `malloy-ref run` prints them. Re-run it after changing the data
# generator or a model. It fails when the reference rejects a query or when
# rows tie on their order_by keys, because tied rows may come back in
# another order and would make the comparison flaky.
#
# Needs Node.js 20+ and python3. MALLOY_REF overrides the reference CLI
# (default: /work/shared/conformance/malloy-ref), and SAMPLES_PROFILE the cargo
# profile of the data generator (default: release).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

MALLOY_REF="${MALLOY_REF:-/work/shared/conformance/malloy-ref}"
if [ ! -x "$MALLOY_REF" ]; then
  echo "record-sample-expectations: the reference CLI $MALLOY_REF is missing; set MALLOY_REF" >&2
  exit 2
fi

# Always built, so a stale binary cannot write old data. SAMPLES_PROFILE picks the
# cargo profile (default release; dev reuses a debug build).
profile="${SAMPLES_PROFILE:-release}"
cargo build --profile "$profile" -p malloy-publisher --bin generate-samples
case "$profile" in
  dev) generator="$CARGO_TARGET_DIR/debug/generate-samples" ;;
  *) generator="$CARGO_TARGET_DIR/$profile/generate-samples" ;;
esac
"$generator" --root malloy-samples

if [ "$#" -gt 0 ]; then
  packages=("$@")
else
  packages=()
  for manifest in malloy-samples/*/publisher.json; do
    packages+=("$(basename "$(dirname "$manifest")")")
  done
fi

for package in "${packages[@]}"; do
  dir="malloy-samples/$package"
  if [ ! -f "$dir/publisher.json" ]; then
    echo "record-sample-expectations: $dir/publisher.json not found" >&2
    exit 2
  fi
  echo "==> $package"
  python3 - "$MALLOY_REF" "$dir" <<'PYTHON'
import json
import pathlib
import subprocess
import sys

ref, package = sys.argv[1], pathlib.Path(sys.argv[2])
expected = package / "expected"
expected.mkdir(exist_ok=True)

# One request per view of each source defined in a model, and per named query.
requests = []
for model in sorted(package.glob("*.malloy")):
    listing = subprocess.run([ref, "model", str(model), "--compact"], capture_output=True, text=True)
    info = json.loads(listing.stdout or "{}")
    if listing.returncode != 0 or "error" in info:
        sys.exit(f"{model}: the reference failed to compile the model: {info.get('error', listing.stderr)}")
    for source in info["sources"]:
        for view in source["views"]:
            requests.append({
                "id": f"{model.stem}.{source['name']}.{view['name']}",
                "model": str(model),
                "query": f"run: {source['name']} -> {view['name']}",
            })
    for query in info["queries"]:
        requests.append({"id": f"{model.stem}.{query['name']}", "model": str(model), "query": f"run: {query['name']}"})

batch = subprocess.run(
    [ref, "batch", "--compact"],
    input="".join(json.dumps(request) + "\n" for request in requests),
    capture_output=True,
    text=True,
)
answers = [json.loads(line) for line in batch.stdout.splitlines() if line.strip()]
if batch.returncode != 0 or len(answers) != len(requests):
    sys.exit(f"the reference's batch run failed: {batch.stderr.strip()}")

problems = []
written = set()
for answer in answers:
    if "error" in answer:
        problems.append(f"{answer['id']}: {answer['error'].get('message')}")
        continue
    tied = [level["path"] or "(top level)" for level in answer["levels"] if level["ties"] > 0]
    if tied:
        problems.append(f"{answer['id']}: rows tie on their order_by keys at {', '.join(tied)}")
    path = expected / f"{answer['id']}.json"
    rows = answer["rows"]
    path.write_text("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n")
    written.add(path.name)
    print(f"  {answer['id']}: {len(rows)} rows")

# Every cell of each notebook, run in order by the reference. A cell that
# fails is a problem, and cells without rows (markdown, imports, source
# definitions) get no file.
for notebook in sorted(package.glob("*.malloynb")):
    run = subprocess.run([ref, "notebook", str(notebook), "--compact"], capture_output=True, text=True)
    try:
        cells = json.loads(run.stdout)["cells"]
    except (ValueError, KeyError):
        problems.append(f"{notebook}: the reference failed to run the notebook: {run.stderr.strip()}")
        continue
    for cell in cells:
        cell_id = f"{notebook.stem}.cell{cell['index']}"
        if "error" in cell:
            problems.append(f"{cell_id}: {cell['error'].get('message')}")
            continue
        if "rows" not in cell:
            continue
        path = expected / f"{cell_id}.json"
        path.write_text("[\n" + ",\n".join(json.dumps(row) for row in cell["rows"]) + "\n]\n")
        written.add(path.name)
        print(f"  {cell_id}: {len(cell['rows'])} rows")

for stale in sorted(expected.glob("*.json")):
    if stale.name not in written:
        stale.unlink()
        print(f"  removed {stale.name}: no such view, query or notebook cell any more")

if problems:
    sys.exit("\n".join(problems))
PYTHON
done
