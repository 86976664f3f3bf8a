#!/usr/bin/env bash
# Build the documentation site offline into _site/ (no Quarto needed; maths typeset as MathML at
# build time, so the pages need no network) and refresh README.md from nbs/index.ipynb.
# Open _site/index.html in a browser. Options go to tools/build_docs.py (--out DIR, --strict,
# --workers N), except:
#   --screenshot   also refresh figures/docs-index.png (headless Chromium; installs it if missing)
# Users with Quarto can run nbdev's own `nbdev_docs` / `nbdev_preview` instead (settings: _quarto.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
source tools/env.sh
shot=0; args=()
for a in "$@"; do if [ "$a" = --screenshot ]; then shot=1; else args+=("$a"); fi; done
out=_site
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --out ] && out=${args[$((i + 1))]}; done
.venv/bin/python tools/readme.py
.venv/bin/python tools/build_docs.py "${args[@]+"${args[@]}"}"
if [ "$shot" = 1 ]; then  # the built index page in headless Chromium, with the network off
  bash tools/setup-chromium.sh
  .venv/bin/python tools/browse.py "$out/index.html" --out figures/docs-index.png
  echo "[docs] wrote figures/docs-index.png"
fi
echo "[docs] open $out/index.html"
