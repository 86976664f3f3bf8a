"Each notebook in nbs/ is one test, executed with nbdev's own test runner."
import os
import pytest
import torch
from conftest import NBS, ROOT

MAX_NOTEBOOK_BYTES = 2 * 2**20  # pages show committed figure files; they do not embed copies of them


@pytest.fixture
def global_state_restored():
    "Whatever a notebook changes of torch's threads or the environment is put back after it."
    threads, env = torch.get_num_threads(), dict(os.environ)
    yield
    torch.set_num_threads(threads)
    os.environ.clear()
    os.environ.update(env)


@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT / "nbs")) for p in NBS])
def test_notebook(nb, monkeypatch, global_state_restored):
    from nbdev.test import test_nb
    from nbdev.config import get_config
    skip = (get_config().tst_flags or "").split()
    force = os.environ.get("EAD_TEST_FLAGS", "").split()
    skip = [f for f in skip if f not in force]
    monkeypatch.chdir(nb.parent)
    threads = torch.get_num_threads()
    ok, secs = test_nb(nb, skip_flags=skip, force_flags=force, do_print=False, basepath=ROOT)
    assert ok, f"{nb.name} failed (see the traceback above)"
    assert torch.get_num_threads() == threads, f"{nb.name} left torch's thread count changed"


@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT / "nbs")) for p in NBS])
def test_notebook_size(nb):
    size = nb.stat().st_size
    assert size <= MAX_NOTEBOOK_BYTES, f"{nb.name} weighs {size / 2**20:.1f} MB: show figure files, not copies"
