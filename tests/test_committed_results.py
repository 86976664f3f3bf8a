"""The library reproduces the committed results. For MNIST and CIFAR-10 (JPEG copy), the rows below
are attacked again at the `quick` scale with the committed checkpoint, on the committed attack set in
one batch as the committed run had it, and their average case must match the committed report's
within the main job's tolerance (`ead_repro.cli.largest_difference` below 1% of the largest entry,
the ASR included) with the same ASR. Bit-identity is not to be had here: the same code, torch and
thread count on two machines of this project's kind differ by up to ~5% in one attack's mean L1
(measured when the section layout landed), from the CPUs' floating-point paths. (When the code
changes, old and new are compared bit for bit on one machine; this test is what stays in CI.) The
rows cover each update rule of the attack loop: Adam on tanh (COV, which C&W is at β = 0), FISTA
with both decision rules, FGM's ε search and I-FGM. The ImageNet section's committed `cpu` stores
are found under the keys its jobs make now, with nothing left to do. So are the adversarial-training
section's committed `quick` stores: its examples under the keys its jobs make now, the retrained
models' committed cards with the recipes of those examples (no network to retrain), and every
attack on them complete (no network to load), so that the report rebuilt from them is the
committed one; and the fidelity section's: its variants' `cpu` stores, its seeds' and I-FGM gaps'
files, and its `cpu` and `cpu100` reports rebuilt from its stores."""
import json
import pytest
import torch
from conftest import ROOT

ROWS = {"cov": ["COV β=1e-2"], "comparison": ["EAD (EN rule)", "EAD (L1 rule)", "I-FGM-L1", "FGM-L1"]}


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("dataset", ["mnist", "cifar"])
def test_quick_results_reproduced(dataset, one_thread):
    from ead_repro.cli import largest_difference
    from ead_repro.evaluate import case_table, load_tables
    from ead_repro.store import RecordStore, run_attack_set, to_json
    from ead_repro.runner import get_scale, setup_run, attack_spec, make_attack, records_dir, store_key
    root, quick = ROOT / "results", get_scale("quick")
    model, card, aset = setup_run(dataset, quick)
    for section, rows in ROWS.items():
        committed = load_tables(root / "quick" / section / dataset / "tables.json")[0]["ours"].loc[rows]
        records = {}
        for row in rows:
            spec = attack_spec(row)
            key = json.loads(to_json(store_key(spec, quick, card, aset)))
            assert RecordStore(records_dir(root, quick, dataset, spec)).meta["key"] == key, \
                f"{row}: the committed records are of other settings or another model"
            records[row] = run_attack_set(make_attack(spec, quick), model, aset, progress=False,
                                          images_per_batch=quick.images_per_batch).records()
        ours = case_table(records).reindex(rows)["Average case"]
        want = committed["Average case"]
        assert (ours["ASR"] == want["ASR"]).all(), f"{dataset} {section}: ASR\n{ours}\n{want}"
        diff = largest_difference(ours, want)
        assert diff < 0.01, f"{dataset} {section}: largest difference {diff:.2%}\n{ours}\n{want}"


def test_imagenet_cpu_records_resume(one_thread):
    "The ImageNet section's committed cpu stores, under the keys its jobs make now: nothing to do."
    from ead_repro.store import RecordStore, to_json
    from ead_repro.runner import AttackJob, job_store, open_store, section_jobs
    from ead_repro.sections import imagenet as im
    run = im.imagenet_run("cpu", ROOT / "results")
    try: model, card, aset = im.imagenet_setup(run)
    except (ImportError, FileNotFoundError) as e: pytest.skip(f"no ImageNet model or photos: {e}")
    jobs = [j for j in section_jobs(run) if isinstance(j, AttackJob)]
    assert [j.row for j in jobs] == im.RUN_ORDER
    for j in jobs:
        folder, key = job_store(j, run.scale, "imagenet", run.out, card, aset)
        assert RecordStore(folder).meta["key"] == json.loads(to_json(key)), f"{j.row}: another key"
        assert len(open_store(folder, key).done()) == len(aset) == 18, j.row  # 0 rows to do
    assert im.figure1_todo(run) == 0  # Figure 1's store, under its key


def test_adversarial_training_quick_records_resume(one_thread):
    "The committed quick stores and cards: nothing to attack, no network to retrain or load."
    from ead_repro.evaluate import load_tables
    from ead_repro.store import RecordStore, to_json
    from ead_repro.runner import (AttackJob, FileJob, job_store, job_scale, job_complete,
                                  section_run, section_jobs)
    from ead_repro.sections import adversarial_training as adv
    run = section_run(adv.SECTION, "quick", "mnist", ROOT / "results")
    jobs = section_jobs(run)
    examples = [j for j in jobs if isinstance(j, AttackJob) and j.scale is not None]
    model, card, aset = examples[0].setup("cpu")
    for j in examples:
        folder, key = job_store(j, job_scale(j, run.scale), "mnist", run.out, card, aset)
        assert RecordStore(folder).meta["key"] == json.loads(to_json(key)), f"{j.row}: another key"
    assert all(j.is_done() for j in jobs if isinstance(j, FileJob))  # no network retrained
    assert all(job_complete(j, run.scale, "mnist", run.out) for j in jobs
               if isinstance(j, AttackJob))  # 0 rows to do, no network loaded
    folder = run.out / "quick" / "adversarial_training" / "mnist"
    committed = (folder / "table.csv").read_text()
    rep = adv.adv_table(run, *_stores_and_records(run, jobs))
    assert rep["csv"] == committed
    assert load_tables(folder / "tables.json")[1]["test_accuracy"] == rep["saved"]["test_accuracy"]


def _stores_and_records(run, jobs):
    "As `write_report` reads them: each job's store, and its records of the images it attacks."
    from ead_repro.runner import AttackJob, job_stores, job_images
    stores = job_stores(run, [j for j in jobs if isinstance(j, AttackJob)])
    records = {j: st.records() for j, st in stores.items()}
    return stores, {j: r[r["image"] < job_images(j, run.scale)] for j, r in records.items()}


def test_fidelity_records_resume(one_thread):
    "The fidelity section's committed stores and files, under the keys its jobs make now."
    from ead_repro.store import RecordStore, to_json
    from ead_repro.runner import (AttackJob, FileJob, job_store, job_complete, section_run,
                                  section_jobs, setup_run)
    from ead_repro.sections import fidelity as fid
    run = section_run(fid.SECTION, "cpu", "mnist", ROOT / "results")
    jobs = section_jobs(run)
    _, card, aset = setup_run("mnist", run.scale)
    for j in (j for j in jobs if isinstance(j, AttackJob)):  # the variants (and ours), 20 images
        folder, key = job_store(j, run.scale, "mnist", run.out, card, aset)
        assert RecordStore(folder).meta["key"] == json.loads(to_json(key)), f"{j.label}: another key"
        assert job_complete(j, run.scale, "mnist", run.out), f"{j.label}: rows to do"
    assert all(j.is_done() for j in jobs if isinstance(j, FileJob))  # the seeds' nets
    big = section_run(fid.SECTION, "cpu100", "mnist", ROOT / "results")
    assert section_jobs(big)[-1].is_done()  # the I-FGM gaps' file
    for r in (run, big):  # the reports rebuilt from the stores are the committed ones
        rep = fid.fidelity_report(r, *_stores_and_records(r, section_jobs(r)))
        assert rep["csv"] == (r.out / r.scale.name / "fidelity" / "mnist" / "table.csv").read_text()
