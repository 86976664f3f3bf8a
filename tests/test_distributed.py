"""Runs shared by processes (`ead_repro run ... --nproc 2`: torchrun, gloo, 2 CPU processes): a
shared run killed mid-way and run again repeats no finished batch, loses none, and ends with the
records, tables and figures of a run in one process, bit for bit, for a section of rows (`rule`) and
for a section declared by its jobs (`transferability`: attacks at several κ into its own stores,
every adversarial image kept, a file made once, its own table), for the ImageNet section (its
own network and attack set, EAD's two rules in one optimisation; not killed: one batch per store)
for adversarial training (attacks at a scale of their own on training images, networks trained
by the main process, attacks on them; not killed), and for the peers section (attacks no row of
the paper names, adv_lib's among them, each within a budget of model passes per sample: killed,
resumed with no finished batch repeated or changed, then nothing left to do)."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from test_cli import ead

ROOT = Path(__file__).resolve().parents[1]
RULE = ["run", "rule", "--scale", "smoke", "--dataset", "mnist", "--no-progress", "--threads", "1"]


def _args(root:Path) -> list:
    return [*RULE, "--out", root / "results", "--figures", root / "figures"]


def _stores(root:Path) -> dict:
    return {p.parent.name: p.parent for p in sorted((root / "results").rglob("meta.json"))}


def _rows_written(store:Path) -> list:
    "Every (image, target) of every part of a store, repeats kept."
    return [(r["image"], r["target"]) for f in sorted((store / "parts").glob("part-*.json"))
            for r in json.loads(f.read_text())["records"]]


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> Path:
    "The rule section at the smoke scale in one process."
    root = tmp_path_factory.mktemp("alone")
    r = ead(*_args(root))
    assert r.returncode == 0, r.stderr[-2000:]
    return root


def _kill_when_parts(cmd:list, n:int):
    "Start `ead_repro cmd` in its own process group; kill all of it once `n` parts are written."
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    p = subprocess.Popen([sys.executable, "-m", "ead_repro.cli", *map(str, cmd)], env=env,
                         cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t0, root = time.time(), Path(cmd[cmd.index("--out") + 1])
    while time.time() - t0 < 300 and p.poll() is None and len(list(root.rglob("part-*.json"))) < n:
        time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL)  # the command, torchrun and both processes, mid-run
    p.wait()


def test_killed_shared_run_resumes_to_the_one_process_run(alone, tmp_path):
    from ead_repro.store import RecordStore
    _kill_when_parts([*_args(tmp_path), "--nproc", "2"], 3)
    before = {n: _rows_written(s) for n, s in _stores(tmp_path).items()}
    n_before = sum(map(len, before.values()))
    assert 0 < n_before < sum(len(_rows_written(s)) for s in _stores(alone).values()), n_before
    r = ead(*_args(tmp_path), "--nproc", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("rule: complete") == 1, r.stdout  # the main process reports, once
    shared, one = _stores(tmp_path), _stores(alone)
    assert list(shared) == list(one) and len(one) == 16, (list(shared), list(one))
    ranks = set()
    for name, store in shared.items():
        rows = _rows_written(store)
        assert len(rows) == len(set(rows)) == 18, name  # none lost, no finished batch repeated
        assert set(before.get(name, [])) <= set(rows)
        assert not (store / "claims").exists()  # cleared at the end
        ranks |= {f.stem.rsplit("-", 1)[-1] for f in (store / "parts").glob("*.json")}
        a, b = RecordStore(store), RecordStore(one[name])
        pd.testing.assert_frame_equal(a.records(), b.records(), check_exact=True)
        adv_a, adv_b = a.adversarial(), b.adversarial()
        assert set(adv_a) == set(adv_b) and all((adv_a[k] == adv_b[k]).all() for k in adv_a)
    assert {"r0", "r1"} <= ranks, ranks  # both processes wrote
    table = Path("results") / "smoke" / "rule" / "mnist" / "table.csv"
    assert (tmp_path / table).read_bytes() == (alone / table).read_bytes()
    for fig in (alone / "figures").glob("*.png"):
        assert (tmp_path / "figures" / fig.name).read_bytes() == fig.read_bytes(), fig.name


TRANSFER = ["run", "transferability", "--scale", "smoke", "--dataset", "mnist", "--no-progress",
            "--threads", "1"]


def _transfer_args(root:Path) -> list:
    return [*TRANSFER, "--out", root / "results", "--figures", root / "figures"]


@pytest.fixture(scope="module")
def transfer_alone(tmp_path_factory) -> Path:
    "The transferability section at the smoke scale in one process."
    root = tmp_path_factory.mktemp("transfer_alone")
    r = ead(*_transfer_args(root))
    assert r.returncode == 0, r.stderr[-2000:]
    return root


def test_killed_shared_transfer_run_resumes_to_the_one_process_run(transfer_alone, tmp_path):
    from ead_repro.store import RecordStore
    _kill_when_parts([*_transfer_args(tmp_path), "--nproc", "2"], 3)
    before = {n: _rows_written(s) for n, s in _stores(tmp_path).items()}
    n_before = sum(map(len, before.values()))
    assert 0 < n_before < 9 * 18, n_before
    r = ead(*_transfer_args(tmp_path), "--nproc", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("transferability: complete") == 1, r.stdout
    shared, one = _stores(tmp_path), _stores(transfer_alone)
    assert list(shared) == list(one) and len(one) == 9, (list(shared), list(one))
    ranks = set()
    for name, store in shared.items():
        rows = _rows_written(store)
        assert len(rows) == len(set(rows)) == 18, name  # none lost, no finished batch repeated
        assert set(before.get(name, [])) <= set(rows)
        assert not (store / "claims").exists()
        ranks |= {f.stem.rsplit("-", 1)[-1] for f in (store / "parts").glob("*.json")}
        a, b = RecordStore(store), RecordStore(one[name])
        pd.testing.assert_frame_equal(a.records(), b.records(), check_exact=True)
        adv_a, adv_b = a.adversarial(), b.adversarial()
        assert set(adv_a) == set(adv_b) == set(rows)  # every adversarial image kept
        assert all((adv_a[k] == adv_b[k]).all() for k in adv_a)
    assert {"r0", "r1"} <= ranks, ranks
    l1 = json.loads(sorted((one["ead-l1-b0.001-k20"] / "parts").glob("*.json"))[0].read_text())
    assert l1["shared_with"] == ["ead-en-b0.001-k20"]  # EN and L1 at one κ: one optimisation
    folder = Path("results") / "smoke" / "transferability" / "mnist"
    for f in ("table.csv", "examples.csv"):
        assert (tmp_path / folder / f).read_bytes() == (transfer_alone / folder / f).read_bytes(), f
    assert (tmp_path / folder / "abort_check.csv").exists()  # made once (its times differ)
    for fig in (transfer_alone / "figures").glob("*.png"):
        assert (tmp_path / "figures" / fig.name).read_bytes() == fig.read_bytes(), fig.name


IMAGENET = ["run", "imagenet", "--scale", "smoke", "--no-progress", "--threads", "1"]


def test_shared_imagenet_run_is_the_one_process_run(tmp_path):
    from ead_repro.data import load_imagenet_photos
    from ead_repro.models import efficientnet_lite0
    try: efficientnet_lite0(), load_imagenet_photos(64)
    except (ImportError, FileNotFoundError) as e: pytest.skip(f"no ImageNet model or photos: {e}")
    runs = {n: tmp_path / n for n in ("alone", "shared")}
    for n, root in runs.items():
        nproc = ["--nproc", "2"] if n == "shared" else []
        r = ead(*IMAGENET, "--out", root / "results", "--figures", root / "figures", *nproc)
        assert r.returncode == 0, r.stderr[-2000:]
        assert r.stdout.count("imagenet: complete") == 1, r.stdout
        assert "(ead-en-b0.001): 2 of 2 rows to do; one run with ead-l1-b0.001" in r.stdout
    shared, one = _stores(runs["shared"]), _stores(runs["alone"])
    assert list(shared) == list(one) and len(one) == 10, list(one)  # 9 rows and Figure 1's
    for name, store in shared.items():
        assert sorted(_rows_written(store)) == sorted(_rows_written(one[name])), name
    l1 = json.loads(sorted((shared["ead-l1-b0.001"] / "parts").glob("*.json"))[0].read_text())
    assert l1["shared_with"] == ["ead-en-b0.001"]  # EN and L1: one optimisation
    table = Path("results") / "smoke" / "imagenet" / "imagenet" / "table.csv"
    assert (runs["shared"] / table).read_bytes() == (runs["alone"] / table).read_bytes()
    for fig in (runs["alone"] / "figures").glob("*.png"):
        assert (runs["shared"] / "figures" / fig.name).read_bytes() == fig.read_bytes(), fig.name


ADV = ["run", "adversarial_training", "--scale", "smoke", "--no-progress", "--threads", "1"]


def test_shared_adversarial_training_run_is_the_one_process_run(tmp_path):
    from ead_repro.store import RecordStore
    runs = {n: tmp_path / n for n in ("alone", "shared")}
    for n, root in runs.items():
        nproc = ["--nproc", "2"] if n == "shared" else []
        r = ead(*ADV, "--out", root / "results", "--figures", root / "figures", *nproc,
                timeout=900)  # five nets trained: minutes on a busy machine
        assert r.returncode == 0, r.stderr[-2000:]
        assert r.stdout.count("adversarial_training: complete") == 1, r.stdout
        assert r.stdout.count("making ") == 5, r.stdout  # five networks, trained once
    every = lambda root: sorted(p.parent for p in (root / "results").rglob("meta.json"))
    shared, one = every(runs["shared"]), every(runs["alone"])
    assert len(one) == len(shared) == 3 + 12, one  # the examples' stores, the models' attacks
    examples = sorted((runs["alone"] / "results/smoke/records/mnist-train").glob("*/meta.json"))
    assert len(examples) == 3
    for meta in examples:  # the examples (deterministic attacks): the same, bit for bit
        a = RecordStore(meta.parent)
        b = RecordStore(runs["shared"] / meta.parent.relative_to(runs["alone"]))
        pd.testing.assert_frame_equal(a.records(), b.records(), check_exact=True)
        adv_a, adv_b = a.adversarial(), b.adversarial()
        assert set(adv_a) == set(adv_b) == set(_rows_written(meta.parent))  # every image kept
        assert all((adv_a[k] == adv_b[k]).all() for k in adv_a)
    table = Path("results") / "smoke" / "adversarial_training" / "mnist" / "table.csv"
    assert (runs["shared"] / table).read_bytes() == (runs["alone"] / table).read_bytes()


PEERS = ["run", "peers", "--scale", "smoke", "--dataset", "mnist", "--no-progress", "--threads", "1"]


def test_killed_shared_peers_run_resumes(tmp_path):
    "Attacks no row names, at a budget of passes (adv_lib's and EAD), shared, killed, resumed."
    from ead_repro.sections.peers import has_adv_lib, SEARCH
    if not has_adv_lib(): pytest.skip("adv_lib is not installed (the peers section's extra)")
    args = [*PEERS, "--out", tmp_path / "results", "--figures", tmp_path / "figures"]
    every = lambda: {p.parent.relative_to(tmp_path): p.parent
                     for p in sorted((tmp_path / "results").rglob("meta.json"))}
    _kill_when_parts([*args, "--nproc", "2"], 3)
    before = {n: {f: f.read_bytes() for f in (s / "parts").glob("*.json")}
              for n, s in every().items()}
    assert 0 < sum(map(len, before.values())) < 13 + len(SEARCH), before
    r = ead(*args, "--nproc", "2", timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("peers: complete") == 1, r.stdout  # the main process reports, once
    stores, ranks = every(), set()
    assert len(stores) == 13 + len(SEARCH), list(stores)  # 7 untargeted, 6 targeted, the search
    for name, store in stores.items():
        rows = _rows_written(store)
        assert len(rows) == len(set(rows)) == 2, name  # none lost, no finished batch repeated
        for f, b in before.get(name, {}).items(): assert f.read_bytes() == b, f  # kept as it was
        assert not (store / "claims").exists()
        ranks |= {f.stem.rsplit("-", 1)[-1] for f in (store / "parts").glob("*.json")}
    assert {"r0", "r1"} <= ranks, ranks  # both processes attacked
    assert (tmp_path / "results/smoke/peers/mnist/table.csv").exists()
    assert (tmp_path / "figures/smoke-peers-mnist-robust-accuracy.png").exists()
    again = ead(*args, "--nproc", "2", timeout=900)
    assert again.returncode == 0 and "computed 0 (image, target) rows" in again.stdout, again.stdout
