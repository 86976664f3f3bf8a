"The library is what the notebooks export, and the notebooks are committed clean."
import json, subprocess, sys
from pathlib import Path
from conftest import ROOT, NBS

def test_library_in_sync_with_notebooks(tmp_path):
    "Exporting the notebooks into a scratch copy reproduces ead_repro/ byte for byte."
    from nbdev.export import nb_export
    from nbdev.config import get_config
    for nb in NBS: nb_export(nb, lib_path=tmp_path)
    made = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.py") if p.name != "_modidx.py"}
    assert made, "no notebook exports anything"
    for rel, text in made.items():
        have = ROOT / "ead_repro" / rel
        assert have.exists(), f"{rel} is exported by a notebook but missing from ead_repro/"
        assert have.read_text() == text, f"ead_repro/{rel} differs from its notebook: run nbdev_export"

def test_notebooks_clean():
    "No execution counts, no stray metadata: what `nbdev_clean` leaves."
    for nb in NBS:
        d = json.loads(nb.read_text())
        for c in d["cells"]:
            assert c.get("execution_count") is None, f"{nb.name}: execution counts left; run nbdev_clean"
            assert not c.get("metadata"), f"{nb.name}: cell metadata left; run nbdev_clean"
