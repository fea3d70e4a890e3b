#!/usr/bin/env bash
# Set up and run the demo: Python enqueues sample jobs and a Python worker runs them,
# against $REDIS_URL or, when unset, a private redis-server started for the demo.
#
# Debian's own python3 refuses pip installs outside a virtualenv (PEP 668): there, the
# package goes into .venv in the checkout, and `. .venv/bin/activate` puts resque-compat
# on the PATH afterwards. Inside a virtualenv, or with a Python of one's own, it installs
# where pip installs.
set -euo pipefail
cd "$(dirname "$0")/.."
externally_managed() {
    python3 - <<'PY'
import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(marker) else 1)
PY
}
if externally_managed; then
    [ -x .venv/bin/python3 ] || python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
    echo "This python3 is managed by the system (PEP 668): installing into .venv;"
    echo "run '. .venv/bin/activate' to put resque-compat on your PATH."
fi
bash scripts/install.sh
exec python3 -m resque_compat demo "$@"
