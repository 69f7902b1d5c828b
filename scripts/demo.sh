#!/usr/bin/env bash
# Set up feedserver in .venv, load the bundled demo sources (local files: no network needed) and
# serve them on http://127.0.0.1:8000/. Extra arguments go to `feedserver serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/feedserver check
.venv/bin/feedserver refresh --all
exec .venv/bin/feedserver serve "$@"
