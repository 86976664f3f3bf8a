"""Run every notebook under nbs/ as a pytest test, the way `nbdev_test` does (cells flagged
`slow`/`cuda` skipped unless EAD_TEST_FLAGS names them), so that CI gets pytest's closing
`N passed` line and a failing notebook names itself."""
import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT / "nbs").rglob("*.ipynb")
             if ".ipynb_checkpoints" not in p.parts and not p.name.startswith(("_", ".")))

def pytest_collection_modifyitems(session, config, items):
    "Refuse to pass when no notebook was collected (an empty run must not look green)."
    if not any("test_notebook" in i.nodeid for i in items) and not config.getoption("-k"):
        raise pytest.UsageError("no notebook collected under nbs/: nothing would be tested")
