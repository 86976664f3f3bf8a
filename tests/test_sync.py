"The library is what the notebooks export, and the notebooks are committed clean."
import json, os, shutil, subprocess, sys
from pathlib import Path
from conftest import ROOT, NBS

def test_library_in_sync_with_notebooks(tmp_path):
    "`nbdev_export` in a scratch copy of the project reproduces ead_repro/*.py byte for byte."
    work = tmp_path / "proj"
    (work / "ead_repro").mkdir(parents=True)
    shutil.copy(ROOT / "ead_repro" / "__init__.py", work / "ead_repro")  # hand-written in nbdev (top-level imports); export only sets its version
    shutil.copytree(ROOT / "nbs", work / "nbs", ignore=shutil.ignore_patterns(".*", "__pycache__"))
    shutil.copy(ROOT / "settings.ini", work / "settings.ini")
    exe = Path(sys.executable).parent / "nbdev_export"
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}  # nbdev's test_nb sets it; nbdev_export then does nothing
    out = subprocess.run([str(exe)], cwd=work, env=env, check=True, capture_output=True, text=True)
    made = {p.relative_to(work / "ead_repro"): p.read_text() for p in (work / "ead_repro").rglob("*.py")}
    assert len(made) > 2, f"the notebooks export (almost) nothing: {sorted(p.name for p in (work / 'nbs').rglob('*'))}\n{out.stdout}\n{out.stderr}"
    have = {p.relative_to(ROOT / "ead_repro"): p.read_text() for p in (ROOT / "ead_repro").rglob("*.py")}
    assert sorted(made) == sorted(have), f"modules differ: exported {sorted(made)}, committed {sorted(have)}"
    for rel, text in made.items():
        assert have[rel] == text, f"ead_repro/{rel} differs from its notebook: run nbdev_export"

def test_notebooks_clean():
    "No execution counts, no stray cell metadata: what `nbdev_clean` leaves."
    for nb in NBS:
        d = json.loads(nb.read_text())
        for c in d["cells"]:
            assert c.get("execution_count") is None, f"{nb.name}: execution counts left; run nbdev_clean"
            assert not c.get("metadata"), f"{nb.name}: cell metadata left; run nbdev_clean"
