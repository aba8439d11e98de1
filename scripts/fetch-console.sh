#!/usr/bin/env bash
# Downloads the official Malloy Publisher web console (the npm package
# @malloy-publisher/app, a prebuilt single-page app) with `npm pack` and
# unpacks it into .deps/console/, so the server can serve .deps/console/dist
# at `/`.
#
#   scripts/fetch-console.sh          fetch once; skip when already present
#   scripts/fetch-console.sh --force  fetch again
#
# CONSOLE_PACKAGE overrides the package and version.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REPO_ROOT"

package="${CONSOLE_PACKAGE:-@malloy-publisher/app@0.2.3}"
target="$REPO_ROOT/.deps/console"
stamp="$target/.package"

if [ "${1:-}" != "--force" ] && [ -f "$target/dist/index.html" ] \
  && [ "$(cat "$stamp" 2>/dev/null)" = "$package" ]; then
  echo "fetch-console: $package is already in $target"
  exit 0
fi

if ! command -v npm >/dev/null; then
  echo "fetch-console: npm is missing; install Node.js 20 or later" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "==> npm pack $package"
tarball="$(cd "$work" && npm pack --silent "$package" | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work"
if [ ! -f "$work/package/dist/index.html" ]; then
  echo "fetch-console: $package has no dist/index.html; is it the web console?" >&2
  exit 1
fi

rm -rf "$target"
mkdir -p "$target"
cp -R "$work/package/." "$target/"
echo "$package" > "$stamp"
echo "fetch-console: unpacked $package into $target"
