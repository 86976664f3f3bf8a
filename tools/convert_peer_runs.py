#!/usr/bin/env python
"""Convert the peers section's run files into the record stores its jobs fill now, once.

Before the peers section ran on the runner's executor it kept one run file per data set, setting
and attack: results/<scale>/peers/<dataset>/runs/<setting>/<slug>.json, a key and one part per
batch of images (the batch's first image, per-sample success and L1/L2/L∞, its forward and
backward rows, seconds, device). This writes each run file as the store of that attack's job
(`ead_repro.sections.peers.peers_jobs`): folder and key from `job_store`, one store part per run
file part in the same order, one record per image with the attack set's index, label and target
(`attack_rows`), the part's rows counted as its `n_forward`/`n_backward`, its seconds and device;
the store's one session is the old report's provenance with the file it came from. Nothing is
measured again: the run file's numbers are copied as they are, and the run file's key must agree
with the job's (model, its epochs and accuracy, data, seed, images, budget), else it stops.

Usage: python tools/convert_peer_runs.py --scale quick --dataset mnist cifar [--remove]
(--remove deletes each run file once its store is written; then `ead_repro run peers` rewrites the
report from the stores with nothing to attack.)
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ead_repro.store import RecordStore, attack_rows
from ead_repro.runner import (AttackJob, job_scale, job_store, job_attack, section_run,
                              section_jobs, setup_run)
from ead_repro.sections.peers import SECTION


def _records(rows, part):
    "The records of one run-file part: the attack set's rows of its images, its numbers."
    out = []
    for i in range(part["n"]):
        row = rows.iloc[part["start"] + i]
        out.append(dict(image=int(row["image"]), index=int(row["index"]), label=int(row["label"]),
                        target=int(row["target"]), average=bool(row["average"]),
                        n_targets=int(row["n_targets"]), success=bool(part["success"][i]),
                        l1=part["l1"][i], l2=part["l2"][i], linf=part["linf"][i], const=None,
                        iterations=0))
    return out


def convert(job, run, out, old_prov, remove=False):
    "Write the run file of `job` as its store; the store's folder (None: no run file)."
    setting = job.under.rsplit("-peers-", 1)[1]
    s = job_scale(job, run.scale)
    f = out / s.name / "peers" / run.dataset / "runs" / setting / f"{job.folder}.json"
    if not f.exists(): return None
    doc = json.loads(f.read_text(), parse_constant=float)
    _, card, aset = setup_run(run.dataset, s)
    folder, key = job_store(job, s, run.dataset, out, card, aset)
    old = doc["key"]
    same = dict(model=key["model"], model_epochs=key["model_epochs"], seed=key["seed"],
                model_accuracy=key["model_accuracy"], data_source=key["data_source"],
                images=key["images"], budget=run.options["budget"], setting=setting)
    if any(old.get(k) != v for k, v in same.items()):
        raise SystemExit(f"{f}: made under another key ({old}); not converted")
    if (folder / "meta.json").exists(): raise SystemExit(f"{folder} exists; not converted")
    session = {**old_prov, "attack": job.slug, "converted_from": str(f.relative_to(out.parent)),
               "converted_by": "tools/convert_peer_runs.py", "run_file_key": old}
    store = RecordStore(folder, key, session)
    rows, attack = attack_rows(aset), repr(job_attack(job, s))
    for part in sorted(doc["parts"], key=lambda p: p["start"]):
        store.write(_records(rows, part), time_s=part["time_s"], n_forward=part["forward"],
                    n_backward=part["backward"], attack=attack, device=part["device"])
    assert len(store.records()) == sum(p["n"] for p in doc["parts"]) == key["images"], folder
    if remove: f.unlink()
    return folder


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", default="quick")
    p.add_argument("--dataset", nargs="+", default=["mnist", "cifar"])
    p.add_argument("--out", default=str(ROOT / "results"))
    p.add_argument("--remove", action="store_true", help="delete each run file once converted")
    a = p.parse_args()
    out = Path(a.out)
    for dataset in a.dataset:
        run = section_run(SECTION, a.scale, dataset, out)
        report = out / run.scale.name / "peers" / dataset / "tables.json"
        old_prov = json.loads(report.read_text())["provenance"]
        for job in section_jobs(run):
            if not isinstance(job, AttackJob): continue
            folder = convert(job, run, out, old_prov, a.remove)
            print(f"{dataset} {job.label}: {folder or 'no run file'}")


if __name__ == "__main__":
    main()
