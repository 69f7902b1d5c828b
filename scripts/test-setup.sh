#!/usr/bin/env bash
# Install the Node parsers used by the interop tests (tests/interop_parsers.py).
# Idempotent: reinstalls only when node_modules is missing or older than the lock file.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
interop=tests/interop
# npm ci writes node_modules/.package-lock.json last, so it marks a complete install.
marker="$interop/node_modules/.package-lock.json"

if [[ ! -f "$marker" || "$interop/package-lock.json" -nt "$marker" ]]; then
    npm ci --prefix "$interop" --no-audit --no-fund
fi

if [[ ! -x /usr/bin/chromium ]]; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
