#!/usr/bin/env bash
# Records the reference Malloy compiler's description of every model of the
# sample packages and of the conformance kit's package, so
# host/tests/model_info_parity.rs can compare our ModelInfo with it.
#
#   scripts/record-model-info.sh
#
# Writes host/tests/fixtures/model_info/<package>/<model>.json: the output of
# `malloy-ref model` (sources with fields and views, named queries, model
# tags, the count of run statements) without the reference's version
# number. The reference's own `#(malloy)` tags, which carry random ids, are
# already left out by `malloy-ref`. Re-run it after changing a model.
#
# Needs Node.js 20+ and python3. MALLOY_REF overrides the reference CLI
# (default: /work/shared/conformance/malloy-ref) and MALLOY_CONFORMANCE_DIR
# the conformance kit (default: ../shared/conformance next to the repository).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

MALLOY_REF="${MALLOY_REF:-/work/shared/conformance/malloy-ref}"
if [ ! -x "$MALLOY_REF" ]; then
  echo "record-model-info: the reference CLI $MALLOY_REF is missing; set MALLOY_REF" >&2
  exit 2
fi
conformance="${MALLOY_CONFORMANCE_DIR:-$REPO_ROOT/../shared/conformance}"
if [ ! -d "$conformance/package" ]; then
  echo "record-model-info: no conformance kit at $conformance; set MALLOY_CONFORMANCE_DIR" >&2
  exit 2
fi

out_root=host/tests/fixtures/model_info

# record PACKAGE MODEL_PATH: writes the reference's description of one model.
record() {
  local package="$1" model="$2"
  local name
  name="$(basename "$model" .malloy)"
  mkdir -p "$out_root/$package"
  (cd "$(dirname "$model")" && "$MALLOY_REF" model "$(basename "$model")") |
    python3 -c '
import json, sys
description = json.load(sys.stdin)
description.pop("malloy_version", None)
json.dump(description, sys.stdout, indent=2)
sys.stdout.write("\n")
' >"$out_root/$package/$name.json"
  echo "recorded $out_root/$package/$name.json"
}

for model in malloy-samples/*/*.malloy; do
  record "$(basename "$(dirname "$model")")" "$model"
done
for model in "$conformance"/package/*.malloy; do
  record conformance "$model"
done
