#!/usr/bin/env bash
# Builds what is missing (scripts/setup.sh, which skips finished steps, and
# the browser playground), then starts the release server. Without a publisher.config.json in the
# working directory (or --config / --server_root), it serves the packages
# in malloy-samples/ as project "home" on 127.0.0.1:4000 and [::1]:4000.
#
# Usage: scripts/serve.sh [malloy-publisher options, e.g. --port 4001]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

"$REPO_ROOT/scripts/setup.sh" release >&2
if [ ! -f "$REPO_ROOT/web/dist/index.html" ]; then
  "$REPO_ROOT/scripts/build-web.sh" >&2
fi
exec "$CARGO_TARGET_DIR/release/malloy-publisher" "$@"
