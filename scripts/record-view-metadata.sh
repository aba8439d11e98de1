#!/usr/bin/env bash
# Records the reference Malloy compiler's `#(malloy)` metadata lines for
# every view of the sample packages, so host/tests/view_metadata.rs can
# compare ours with them.
#
#   scripts/record-view-metadata.sh
#
# Runs `run: <source> -> <view>` for each view listed in
# host/tests/fixtures/model_info/ (record those first with
# scripts/record-model-info.sh) and writes
# host/tests/fixtures/view_metadata.json: per view, the metadata line of
# the result and of each field (nested fields as `nest.field`), with the
# reference's random `reference_id` removed.
#
# Needs Node.js 20+ and python3. MALLOY_REF overrides the reference CLI
# (default: /work/shared/conformance/malloy-ref).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

MALLOY_REF="${MALLOY_REF:-/work/shared/conformance/malloy-ref}"
if [ ! -x "$MALLOY_REF" ]; then
  echo "record-view-metadata: the reference CLI $MALLOY_REF is missing; set MALLOY_REF" >&2
  exit 2
fi

requests="$(mktemp)"
answers="$(mktemp)"
trap 'rm -f "$requests" "$answers"' EXIT

python3 - "$requests" <<'PY'
import glob, json, os, sys
with open(sys.argv[1], "w") as out:
    for model in sorted(glob.glob("malloy-samples/*/*.malloy")):
        package = model.split("/")[1]
        name = os.path.basename(model)[: -len(".malloy")]
        with open(f"host/tests/fixtures/model_info/{package}/{name}.json") as f:
            description = json.load(f)
        for source in description["sources"]:
            for view in source["views"]:
                query = f"run: {source['name']} -> {view['name']}"
                out.write(json.dumps({
                    "id": f"{package}/{name}.malloy {query}",
                    "model": os.path.abspath(model),
                    "query": query,
                }) + "\n")
PY

"$MALLOY_REF" batch --with-result --compact <"$requests" >"$answers"

python3 - "$requests" "$answers" <<'PY'
import json, re, sys
requests = {}
for line in open(sys.argv[1]):
    request = json.loads(line)
    requests[request["id"]] = request

def metadata(value):
    return re.sub(r'reference_id = "[^"]*" ?', "", value).strip()

def field_lines(fields, prefix, out):
    for field in fields:
        for annotation in field.get("annotations", []):
            if annotation["value"].startswith("#(malloy)"):
                out.append([prefix + field["name"], metadata(annotation["value"])])
        element = field["type"].get("element_type", {})
        if field["type"]["kind"] == "array_type" and element.get("kind") == "record_type":
            field_lines(element["fields"], prefix + field["name"] + ".", out)

views = []
for line in open(sys.argv[2]):
    answer = json.loads(line)
    result = answer.get("result")
    if result is None:
        sys.exit(f"record-view-metadata: the reference failed on {answer['id']}: {answer}")
    package_model, query = answer["id"].split(" ", 1)
    lines = []
    field_lines(result["schema"]["fields"], "", lines)
    for annotation in result["annotations"]:
        if annotation["value"].startswith("#(malloy)"):
            lines.append(["", metadata(annotation["value"])])
    views.append({"model": package_model, "query": query, "metadata": lines})
with open("host/tests/fixtures/view_metadata.json", "w") as out:
    json.dump(views, out, indent=1)
    out.write("\n")
print(f"recorded {len(views)} views in host/tests/fixtures/view_metadata.json")
PY
