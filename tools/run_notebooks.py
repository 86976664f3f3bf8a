#!/usr/bin/env python
"""Execute notebooks in place, saving their outputs (what the docs and README render).

Cells flagged `#| cuda` are skipped (their outputs cleared) where no GPU is visible; `#| slow`
cells run. Each notebook runs in its own folder, as nbdev's tests run it.

    .venv/bin/python tools/run_notebooks.py nbs/01_models.ipynb nbs/sections/03_comparison.ipynb
"""
import os, re, sys, time
from pathlib import Path
import torch
from execnb.shell import CaptureShell

def _skip(cell, flags):
    if cell.cell_type != "code": return False
    m = re.findall(r"^#\|\s*(\w+)\s*$", cell.source, re.M)
    if any(f in flags for f in m):
        cell.outputs, cell.execution_count = [], None
        return True
    return False

def main(paths):
    flags = set() if torch.cuda.is_available() else {"cuda"}
    home = Path.cwd()
    for p in (Path(x).resolve() for x in paths):
        t = time.time(); os.chdir(p.parent)
        try: CaptureShell().execute(p, p, exc_stop=True, preproc=lambda c: _skip(c, flags))
        finally: os.chdir(home)
        print(f"{p}: executed in {time.time() - t:.0f}s (skipped flags: {sorted(flags) or 'none'})", flush=True)

if __name__ == "__main__":
    main(sys.argv[1:])
