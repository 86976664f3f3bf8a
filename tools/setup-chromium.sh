#!/usr/bin/env bash
# Install headless Chromium (Debian package `chromium`) for the docs tests (tests/test_docs.py),
# and the DejaVu fonts, whose `DejaVu Math TeX Gyre` (fonts-dejavu-extra) is the OpenType maths font
# the browser lays out the pages' MathML with (readers' systems have their own: Cambria Math, STIX Two).
# Idempotent: does nothing when both are there. Needs root (or sudo) and the Debian package
# registry; the first run takes a minute or two.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else echo "[setup-chromium] not root and no sudo: install the Debian package 'chromium' by hand" >&2; exit 1; fi
fi
echo "[setup-chromium] installing the Debian packages chromium and fonts-dejavu-extra (one-time)" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core fonts-dejavu-extra; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2; rm -f "$log"; echo "[setup-chromium] apt-get install chromium failed" >&2; exit 1
fi
rm -f "$log"
/usr/bin/chromium --version >&2
