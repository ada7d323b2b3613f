#!/usr/bin/env bash
# Installs what aha builds and tests with, from Debian's packages and npm.
# Safe to run again. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
PKGS="build-essential pkg-config libopenblas-openmp-dev libdnnl-dev libpcre2-dev libcjson-dev libutf8proc-dev
      libopenmpi-dev openmpi-bin iproute2
      clang libclang-rt-14-dev python3 python3-torch python3-numpy python3-pil chromium"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
# Node and npm may come from elsewhere (NodeSource bundles npm and conflicts
# with Debian's npm package): only install what is missing as a command.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "setup: installing $(echo $missing)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/tmp/aha-apt.log 2>&1 \
    || { tail -n 30 /tmp/aha-apt.log; exit 1; }
fi
# Reference implementations used only by the tests (never committed).
# Installed again when package.json names a package node_modules lacks.
node_missing() {
  (cd tests/node && node -e 'const fs = require("fs"), d = require("./package.json").dependencies || {};
    process.exit(Object.keys(d).some((k) => !fs.existsSync("node_modules/" + k + "/package.json")) ? 0 : 1)')
}
if [ -f tests/node/package.json ] && { [ ! -d tests/node/node_modules ] || node_missing; }; then
  echo "setup: npm install (test references)"
  (cd tests/node && npm install --no-audit --no-fund --loglevel=error)
fi
echo "setup: done"
