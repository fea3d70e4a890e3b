#!/usr/bin/env bash
# The whole check, as CI runs it: lint, types, then the tests against a real redis-server
# that the suite starts itself (and node-resque; Ruby Resque too when RESQUE_RUBY_LIB is set).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
python3 -m pytest "$@"
