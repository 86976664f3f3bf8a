"""The library reproduces the committed results. For MNIST and CIFAR-10 (JPEG copy), the attacks
below are run again at the `quick` scale with the committed checkpoint, on the committed attack set in
one batch as the committed run had it, and each gives the committed average case within the main
job's tolerance: the same ASR, and mean L1, L2 and L∞ within 1% of the committed ones. (When the
code changes, old and new are also compared bit for bit on one machine; this test is what stays in
CI.) The rows cover each update rule of the attack loop: Adam on tanh (COV, which C&W is at β = 0),
FISTA with both decision rules, FGM's ε search and I-FGM."""
import json
import pytest
import torch
from conftest import ROOT

ROWS = ["COV β=1e-2", "EAD (EN rule)", "EAD (L1 rule)", "I-FGM-L1", "FGM-L1"]
TOLERANCE = 0.01  # relative, as `ead_repro main` judges a reproduction


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("dataset", ["mnist", "cifar"])
def test_quick_results_reproduced(dataset, one_thread):
    from ead_repro.evaluate import RecordStore, run_attack_set, to_json, case_summary
    from ead_repro.runner import get_scale, setup_run, attack_spec, make_attack, records_dir, store_key
    root, quick = ROOT / "results", get_scale("quick")
    model, card, aset = setup_run(dataset, quick)
    problems = []
    for row in ROWS:
        spec = attack_spec(row)
        committed = RecordStore(records_dir(root, quick, dataset, spec))
        key = json.loads(to_json(store_key(spec, quick, card, aset)))
        assert committed.meta["key"] == key, f"{row}: committed records of other settings or model"
        got = run_attack_set(make_attack(spec, quick), model, aset,
                             images_per_batch=quick.images_per_batch, progress=False)
        ours, want = case_summary(got.records())["average"], case_summary(committed.records())["average"]
        if ours["ASR"] != want["ASR"]: problems.append(f"{row}: ASR {ours['ASR']}, committed {want['ASR']}")
        for m in ("L1", "L2", "L∞"):
            if abs(ours[m] - want[m]) > TOLERANCE * abs(want[m]):
                problems.append(f"{row}: mean {m} {ours[m]:.6g}, committed {want[m]:.6g}")
    assert not problems, f"{dataset}: committed results not reproduced within 1%:\n" + "\n".join(problems)
