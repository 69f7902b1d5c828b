#!/usr/bin/env bash
# Install what the tests need beyond .venv: the Node parsers used by the interop tests
# (tests/interop_parsers.py) and Debian's Chromium for the admin page test
# (tests/test_admin_page.py drives it with Playwright; Playwright never downloads a browser).
# Idempotent: each step is skipped when its result is already there.
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
