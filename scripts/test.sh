#!/usr/bin/env bash
# The whole check, as CI runs it: lint, types, then the tests against a real redis-server
# that the suite starts itself, node-resque, and the real Ruby Resque.
#
# Ruby: when the shared Ruby source trees sit beside the checkout (../shared/ruby, as on CI
# and the project's machines), Debian's Ruby packages are installed when missing and every
# Ruby-facing test must run (RESQUE_COMPAT_REQUIRE_RUBY makes a missing runtime an error,
# never a skip). Elsewhere the tests use RESQUE_RUBY_LIB or an installed resque gem, or skip
# saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev
if [ -d ../shared/ruby ]; then
    bash scripts/install-ruby.sh
    export RESQUE_COMPAT_REQUIRE_RUBY=1
fi
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m mypy
python3 -m pytest "$@"
