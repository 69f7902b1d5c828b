#!/usr/bin/env bash
# Set up everything the tests need (Python packages in .venv, the Node parsers) and run the whole
# suite: lint, format, types, then pytest (slow end-to-end tests included). Extra arguments go to
# pytest, e.g. `scripts/test.sh -m "not slow"` for a quick run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
scripts/test-setup.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# pytest exits 5 when it collects no test: that fails this script, as it should.
.venv/bin/python -m pytest "$@"
