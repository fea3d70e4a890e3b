#!/usr/bin/env bash
# Set up and run the demo: Python enqueues sample jobs and a Python worker runs them,
# against $REDIS_URL or, when unset, a private redis-server started for the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m resque_compat demo "$@"
