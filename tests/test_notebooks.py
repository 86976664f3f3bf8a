"Each notebook in nbs/ is one test, executed with nbdev's own test runner."
import os
import pytest
from conftest import NBS, ROOT

@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT / "nbs")) for p in NBS])
def test_notebook(nb, monkeypatch):
    from nbdev.test import test_nb
    from nbdev.config import get_config
    skip = (get_config().tst_flags or "").split()
    force = os.environ.get("EAD_TEST_FLAGS", "").split()
    skip = [f for f in skip if f not in force]
    monkeypatch.chdir(nb.parent)
    ok, secs = test_nb(nb, skip_flags=skip, force_flags=force, do_print=False, basepath=ROOT)
    assert ok, f"{nb.name} failed (see the traceback above)"
