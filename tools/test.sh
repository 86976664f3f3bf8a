#!/usr/bin/env bash
# The test command: sets up .venv if needed, then runs every notebook (nbdev's runner, `slow`
# and `cuda` cells skipped; EAD_TEST_FLAGS="slow" adds them) and the pytest tests.
# Ends with pytest's "N passed" line; fails when no notebook ran. Tests run in 2 processes
# (pytest-xdist; EAD_TEST_WORKERS=N for another number, 0 for one process), each test module in
# one of them, so that a module's costly fixture (the docs site, an installed wheel) is built once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/setup-chromium.sh
source tools/env.sh
exec .venv/bin/python -m pytest tests -p no:cacheprovider -q -rf --durations=40 \
  -n "${EAD_TEST_WORKERS:-2}" --dist loadscope "$@"
