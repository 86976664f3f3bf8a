#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) and install ead_repro into it.
# Idempotent: a stamp holding the hash of the requirement files skips the work when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# KaTeX, which the docs build (tools/build_docs.py) runs with Node.js to typeset the maths as MathML:
# pinned in tools/katex/package-lock.json, installed there by npm (a stamp skips it when unchanged).
kstamp=tools/katex/node_modules/.setup-stamp
kwant=$(sha256sum tools/katex/package-lock.json | cut -c1-16)
if [ ! -f "$kstamp" ] || [ "$(cat "$kstamp")" != "$kwant" ]; then
  if command -v npm >/dev/null && command -v node >/dev/null; then
    echo "[setup] installing KaTeX into tools/katex (npm ci)" >&2
    (cd tools/katex && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
      || { echo "[setup] npm ci in tools/katex failed" >&2; exit 1; }
    echo "$kwant" > "$kstamp"
  else
    echo "[setup] WARNING: Node.js/npm not found: the docs build will report every formula as not typeset" >&2
  fi
fi
stamp=.venv/.setup-stamp
want=$(cat tools/requirements.txt tools/requirements-nodeps.txt setup.py settings.ini | sha256sum | cut -c1-16)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
echo "[setup] installing into .venv (first run takes a few minutes)" >&2
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pipi() {  # pip install, hiding the machine's harmless "Location ... is ignored" warnings
  local log; log=$(mktemp)
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" >&2; rm -f "$log"; echo "[setup] pip install $* failed" >&2; exit 1
  fi
  rm -f "$log"
}
pipi --upgrade pip
pipi -r tools/requirements.txt
pipi --no-deps -r tools/requirements-nodeps.txt
pipi --no-deps --no-build-isolation -e .
.venv/bin/python -c "import torch, nbdev, ead_repro, mnist" 
echo "$want" > "$stamp"
echo "[setup] done" >&2
