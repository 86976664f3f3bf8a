#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for the docs tests (tests/test_docs.py),
# and a local MathJax (`libjs-mathjax`) so that those tests typeset the pages' maths offline.
# Idempotent: does nothing when both are there. Needs root (or sudo) and the Debian package
# registry; the first run takes a minute or two.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -f /usr/share/javascript/mathjax/MathJax.js ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else echo "[setup-chromium] not root and no sudo: install the Debian package 'chromium' by hand" >&2; exit 1; fi
fi
echo "[setup-chromium] installing the Debian packages chromium and libjs-mathjax (one-time)" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core libjs-mathjax; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2; rm -f "$log"; echo "[setup-chromium] apt-get install chromium failed" >&2; exit 1
fi
rm -f "$log"
/usr/bin/chromium --version >&2
