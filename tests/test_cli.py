"""The `ead_repro` command as a user meets it, run in a fresh process (`python -m ead_repro.cli`):
every expected failure exits with status 2 and one line on stderr naming the problem, with no
traceback; a record file that does not parse is refused, and deleting it recomputes exactly its rows."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / "ead_repro" / "checkpoints"


def ead(*args, env=None, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    "Run the real command with `args` (from this checkout), its output captured."
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    full = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            **(env or {})}
    if "EAD_DEBUG" not in (env or {}): full.pop("EAD_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "ead_repro.cli", *map(str, args)], env=full,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def one_line_error(r:subprocess.CompletedProcess, *words) -> str:
    "Assert `r` exited with status 2 and one line on stderr, no traceback, holding `words`."
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("ead_repro"), lines[0]
    for w in words: assert w in lines[0], (w, lines[0])
    return lines[0]


SMOKE = ["run", "rule", "--scale", "smoke", "--dataset", "mnist", "--no-progress"]
BAD_ARGUMENTS = [
    (["train", "mnist", "--epochs", "-1"], "--epochs: must be a whole number >= 1, got '-1'"),
    (["train", "mnist", "--epochs", "0"], "--epochs: must be a whole number >= 1"),
    (["train", "mnist", "--limit", "0"], "--limit: must be a whole number >= 1"),
    (["train", "svhn"], "invalid choice: 'svhn'"),
    ([*SMOKE, "--threads", "0"], "--threads: must be a whole number >= 1"),
    (["run", "rule", "--scale", "huge"], "invalid choice: 'huge'"),
    (["run", "table3", "--scale", "smoke"], "invalid choice: 'table3'"),
    (["run", "rule", "--scale", "smoke", "--dataset", "svhn"], "invalid choice: 'svhn'"),
    ([*SMOKE, "--device", "gpu"], "--device gpu: not a device here"),
    ([*SMOKE, "--device", "cuda:7"], "--device cuda:7"),
    (["check", "--only", "svhn"], "invalid choice: 'svhn'"),
    (["figures", "rule", "--scale", "smoke", "--out", "no-such-results"], "no saved report"),
    (["run", "transferability", "--scale", "smoke", "--rows", "C&W (L2)"], "no rows to choose"),
    (["run", "transferability", "--scale", "grid"], "has no 'grid' scale"),
]


@pytest.mark.parametrize("argv,says", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_bad_arguments(argv, says, tmp_path):
    one_line_error(ead(*argv, cwd=tmp_path), says)


def test_unwritable_out(tmp_path):
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "results"
    one_line_error(ead(*SMOKE, "--out", out), f"--out {out}: cannot write there")
    one_line_error(ead("train", "mnist", "--folder", out), f"--folder {out}: cannot write there")


def test_missing_and_corrupt_data(tmp_path):
    env = {"EAD_CACHE": str(tmp_path / "cache")}
    missing = tmp_path / "missing.tar.gz"
    r = ead("check", "--only", "cifar", env={**env, "EAD_CIFAR10": str(missing)})
    one_line_error(r, f"CIFAR-10 image-folder source {missing} does not exist")
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not an archive at all")
    r = ead("check", "--only", "cifar", env={**env, "EAD_CIFAR10": str(bad)})
    one_line_error(r, f"CIFAR-10 archive {bad} is corrupt", "replace it")


def test_checkpoint_card_mismatch(tmp_path):
    for f in ("mnist.pt", "mnist.json"): shutil.copy(CHECKPOINTS / f, tmp_path / f)
    card = tmp_path / "mnist.json"
    card.write_text(card.read_text().replace('"arch": "mnist"', '"arch": "cifar"'))
    env = {"EAD_CHECKPOINTS": str(tmp_path)}
    one_line_error(ead("check", "--only", "mnist", env=env),
                   f"checkpoint {tmp_path / 'mnist.pt'} does not load as the 'cifar' network",
                   "retrain it with `ead_repro train mnist`")
    card.write_text("{")
    one_line_error(ead("check", "--only", "mnist", env=env), f"{card} does not parse")


def test_debug_shows_the_traceback(tmp_path):
    r = ead("check", "--only", "cifar", env={"EAD_CIFAR10": str(tmp_path / "none.tar.gz"),
                                             "EAD_DEBUG": "1"})
    assert r.returncode == 2 and "Traceback" in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("ead_repro: error: CIFAR-10"), r.stderr


def _stores(out:Path) -> dict:
    "{store folder: its (image, target) rows, as its parts hold them}."
    stores = {}
    for meta in sorted(out.glob("smoke/records/mnist/*/meta.json")):
        parts = sorted((meta.parent / "parts").glob("part-*.json"))
        stores[meta.parent] = [(r["image"], r["target"]) for p in parts
                               for r in json.loads(p.read_text())["records"]]
    return stores


def test_corrupt_record_refused_then_recomputed(tmp_path):
    out, figs = tmp_path / "results", tmp_path / "figures"
    run = lambda: ead(*SMOKE, "--out", out, "--figures", figs, cwd=tmp_path)
    r = run()
    assert r.returncode == 0, r.stderr
    before = json.loads((out / "smoke/rule/mnist/tables.json").read_text())["tables"]["ours"]
    rows = _stores(out)
    store = sorted(rows)[3]
    part = sorted((store / "parts").glob("part-*.json"))[0]
    n_lost = len(json.loads(part.read_text())["records"])
    part.write_text(part.read_text()[:300])  # truncated, as by a full disk
    one_line_error(run(), f"record file {part} does not parse", "delete it to recompute these rows")
    part.unlink()  # as the message says
    r = run()
    assert r.returncode == 0, r.stderr
    assert f"{n_lost} of 18 rows to do" in r.stdout, r.stdout
    assert f"computed {n_lost} (image, target) rows" in r.stdout, r.stdout
    after = _stores(out)
    assert {k: sorted(v) for k, v in after.items()} == {k: sorted(v) for k, v in rows.items()}
    assert all(len(v) == len(set(v)) for v in after.values())  # no row lost or doubled
    again = json.loads((out / "smoke/rule/mnist/tables.json").read_text())["tables"]["ours"]
    assert again == before  # the same numbers: the attack is deterministic on the CPU
    meta = store / "meta.json"
    m = json.loads(meta.read_text())
    m["key"]["seed"] = 99  # records of another run
    meta.write_text(json.dumps(m))
    one_line_error(run(), f"{store} holds records of another run (differs in ['seed'])",
                   "Remove it to recompute")
