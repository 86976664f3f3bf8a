#!/usr/bin/env bash
# The README's main job: sets up .venv if needed, then runs `ead_repro main` (extra arguments pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
source tools/env.sh
exec .venv/bin/ead_repro main "$@"
