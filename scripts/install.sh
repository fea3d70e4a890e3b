#!/usr/bin/env bash
# Installs what resque-compat needs on a fresh Debian machine: redis-server (when missing)
# and the package itself. Pass "dev" to add the test tools and node-resque for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq redis-server >/dev/null
    fi
fi

if [ "${1:-}" = "dev" ]; then
    python3 -m pip install -q -e '.[dev]'
    if command -v npm >/dev/null 2>&1; then
        npm ci --silent --no-audit --no-fund --prefix compat_tests/node
    fi
else
    python3 -m pip install -q -e .
fi
