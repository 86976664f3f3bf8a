#!/usr/bin/env python
"""Measure `BudgetEAD` (ead_repro.budget) beside the committed peers runs (results/<scale>/peers),
as the peers page measures: 2000 passes per sample counted by hooks, per-sample L1, re-checked.
Adds the least L1 seen among all the model's inputs during the run (`best_seen`).

Writes results/<scale>/budget/<dataset>/runs/<setting>/<slug>.json (one part per batch of images,
resumable: a part is skipped when present) and, with --summarise, results/<scale>/budget/
<dataset>/summary.json (summary-<n>.json for fewer images than the scale's): per setting and
attack, ASR, median L1 (returned and best seen), passes per sample, the median-L1 ratio to the
best peer with a paired bootstrap 95% interval (images resampled), the median per-image L1 ratio
to the best peer, to EAD.preset("l1-minimal") and to the peers page's BudgetEAD row (the
dimension rule) where the scale has them, with theirs, and attackbenchlib 2.x optimality (its
metrics/distances.py `eval_optimality`, clean accuracy 1: the attack set holds correctly
classified images only).

The peers' runs are read from the peers section's record stores (results/<scale>/records/
<dataset>-peers-<setting>/); this benchmark's own runs stay in its run files.

Usage: nice -n 10 .venv/bin/python tools/budget_bench.py --dataset mnist --settings untargeted
       --configs adapt-ista spend ...          (a config: ~2 min per 100 MNIST images on an idle core)
       .venv/bin/python tools/budget_bench.py --dataset mnist --summarise
       .venv/bin/python tools/budget_bench.py --dataset mnist --images 50 --look
       .venv/bin/python tools/budget_bench.py --scale cpu --dataset cifar --images 50 \
       --configs rule-l2-d rule-lr rule-l2-0 rule-c0     (CIFAR-10: ~5 min per config and goal)
"""
import argparse, importlib.util, json, math, sys, time
from collections import namedtuple
from pathlib import Path
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ead_repro.attack import AttackResult, count_passes
from ead_repro.budget import BudgetEAD, best_seen, DIMENSION_RULE, dimension_beta
from ead_repro.formulation import margin
from ead_repro.data import load_dataset, select_attack_set
from ead_repro.store import provenance, write_atomic, to_json
from ead_repro.models import load_model, model_card
from ead_repro.runner import section_run, section_jobs, job_stores
from ead_repro.sections.peers import (Attack, attacks_for, job_runs, PEERS, PRESET_ROW, ATTACKS,
                                      SECTION, BUDGET_ROW)

Bench = namedtuple("Bench", "name images budget images_per_batch seed")
SCALES = {"quick": Bench("quick", {"mnist": 100, "cifar": 30}, 2000, 50, 0),  # the peers' quick
          "cpu": Bench("cpu", {"mnist": 100, "cifar": 100}, 2000, 25, 0)}  # the peers' cpu


def run_key(attack, setting, s, card, aset, images):
    "What a run file of this benchmark holds results of; a file resumes only under an equal key."
    return dict(attack=attack.name, settings=attack.settings, setting=setting, budget=s.budget,
                images=images, images_per_batch=s.images_per_batch, seed=s.seed,
                data_source=aset.source, model=card["name"], model_epochs=card["epochs"],
                model_accuracy=card.get("test_accuracy"))


def attack_batch(attack, model, x, labels, targets, budget):
    "Per-sample success and L1/L2/L∞ of one attack call, with its passes (rows) and wall time."
    t0 = time.perf_counter()
    with count_passes(model) as passes:
        adv = attack.run(model, x, labels, targets, budget)
    secs = time.perf_counter() - t0
    r = AttackResult.from_adversarial(model, x, adv.detach(), labels, targets)
    return dict(n=len(x), success=r.success.tolist(), l1=r.l1.tolist(), l2=r.l2.tolist(),
                linf=r.linf.tolist(), forward=passes.forward, backward=passes.backward,
                time_s=secs)


def load_run(path):
    "A run file's per-sample arrays (success, l1, l2, linf; failures +∞) and totals."
    doc = json.loads(Path(path).read_text(), parse_constant=float)
    parts = doc["parts"]
    arr = lambda k: np.array([v for p in parts for v in p[k]], dtype=float)
    out = {k: arr(k) for k in ("success", "l1", "l2", "linf")}
    for k in ("l1", "l2", "linf"): out[k][out["success"] == 0] = math.inf
    tot = lambda k: sum(p[k] for p in parts)
    return dict(out, n=sum(p["n"] for p in parts), forward=tot("forward"),
                backward=tot("backward"), time_s=tot("time_s"), key=doc["key"])


def peer_runs(s, dataset, out, setting):
    "{attack name: its run} of the peers page's committed records in `setting` (`job_runs`):"
    "every peer, then the other rows with records (EADs, BudgetEAD's row where the scale has it)."
    run = section_run(SECTION, s.name, dataset, out)
    runs = job_runs(job_stores(run, section_jobs(run))).get(setting, {})
    return {**{a.name: runs[a.name] for a in attacks_for(setting) if a.peer and a.name in runs},
            **runs}

RULE_3072 = dict(DIMENSION_RULE, beta=dimension_beta(3072))  # for_dimension(3072)

CONFIGS = {  # slug -> (what it measures, BudgetEAD settings); budget and goal are set per run
    "spend": ("budget spent: the preset's β, α0, c0, 5 phases, binary search, from x0",
              dict(phases=5)),
    "warm": ("+ warm start from the best adversarial", dict(phases=5, warm_start=True)),
    "exact": ("+ exact proximal step (β = 5: threshold 0.05·s(k/K))",
              dict(phases=5, exact_prox=True, beta=5.0)),
    "cosine": ("+ cosine step schedule", dict(phases=5, schedule="cosine")),
    "ista": ("+ no momentum (ISTA)", dict(phases=5, momentum_rule="none")),
    "adapt": ("c adapted per point (γ 1.05), one phase", dict(phases=1, adapt=1.05)),
    "adapt-ista": ("c adapted (γ 1.05), one phase, no momentum",
                   dict(phases=1, adapt=1.05, momentum_rule="none")),
    "combined": ("c adapted (γ 1.05), 2 phases, warm start, no momentum",
                 dict(phases=2, adapt=1.05, warm_start=True, momentum_rule="none")),
    "spend-refine": ("spend + a final bisection of δ's scale (12 forwards)",
                     dict(phases=5, refine=12)),
    "warm-refine": ("warm + a final bisection of δ's scale (12 forwards)",
                    dict(phases=5, warm_start=True, refine=12)),
    "warm-refine-beta-d": ("warm-refine with β = 0.05·784/d, for CIFAR-10's d = 3072",
                           dict(phases=5, warm_start=True, refine=12, beta=0.05 * 784 / 3072)),
    "rule-3072": ("the dimension rule for d = 3072 itself, re-run (the peers page's row)",
                  RULE_3072),
    # CIFAR-10's three candidate causes, each the dimension rule for d = 3072 with ONE change
    "rule-l2-d": ("the dimension rule for d = 3072 with the L2 weight 784/3072 (β's rule on L2)",
                  dict(RULE_3072, l2_weight=784 / 3072)),
    "rule-l2-0": ("the dimension rule for d = 3072 without the L2 term (L2 weight 0)",
                  dict(RULE_3072, l2_weight=0.0)),
    "rule-c0": ("the dimension rule for d = 3072 with c0 = 1 (c0 = 0.1 moves no pixel at x0)",
                dict(RULE_3072, initial_const=1.0)),
    "rule-lr": ("the dimension rule for d = 3072 with α0 = 0.02 (CIFAR-10's gradients ~half)",
                dict(RULE_3072, learning_rate=0.02)),
    "rule-lr-half": ("the dimension rule for d = 3072 with α0 = 0.005 (run after 0.02 lost)",
                     dict(RULE_3072, learning_rate=0.005)),
}


def budget_attack(slug):
    "The peers page's `Attack` for config `slug`."
    what, kw = CONFIGS[slug]
    def run(model, x, labels, targets, budget):
        a = BudgetEAD(budget=budget, targeted=targets is not None, **kw)
        return a(model, x, labels, targets).x_adv
    return Attack(f"BudgetEAD ({slug})", f"budget-{slug}", run, repr(BudgetEAD(**kw)), peer=False)


def peer_attack(slug):
    "The peers page's `Attack` of slug `slug` (e.g. 'pdpgd'), or None."
    return next((a for a in ATTACKS if a.slug == slug), None)


def measure(slug, setting, s, dataset, model, card, aset, n, out):
    "Attack the first n images in parts, resuming; each part with best_seen."
    a = peer_attack(slug) or budget_attack(slug)
    name = f"peer-{a.slug}" if peer_attack(slug) else a.slug
    path = out / s.name / "budget" / dataset / "runs" / setting / f"{name}.json"
    key = run_key(a, setting, s, card, aset, n)
    doc = json.loads(path.read_text()) if path.exists() else dict(key=key, parts=[])
    if doc["key"] != key: raise SystemExit(f"{path}: made under another key; remove it")
    done = {p["start"] for p in doc["parts"]}
    for i in range(0, n, s.images_per_batch):
        if i in done: continue
        j = min(i + s.images_per_batch, n)
        x, y = aset.x[i:j], aset.y[i:j]
        t = aset.target[i:j] if setting == "targeted" else None
        with best_seen(model, x, y, t) as seen:
            part = attack_batch(a, model, x, y, t, s.budget)
        doc["parts"].append(dict(start=i, **part, best_seen_l1=seen.l1.tolist(),
                                 best_seen_skipped=seen.skipped, device="cpu"))
        doc["parts"].sort(key=lambda p: p["start"])
        what = CONFIGS[slug][0] if slug in CONFIGS else "a peers page attack, re-run with best_seen"
        doc["provenance"] = provenance(s.name, "cpu", aset.source, s.seed, what=what)
        write_atomic(path, to_json(doc))
        print(f"{slug} {setting} {j}/{n}", flush=True)


def gradient_look(s, dataset, n, out):
    "gradients-<n>.json: at x0 of the first n images per goal, the margin's input gradient and"
    "the least c whose first step moves a pixel under the dimension rule: α0·c·|∂f/∂x_i| > β."
    model = load_model(dataset).eval()
    aset = select_attack_set(model, load_dataset(dataset), n=s.images[dataset], seed=s.seed,
                             n_targets=1)
    x = aset.x[:n].clone().requires_grad_()
    rule = BudgetEAD.for_dimension(x[0].numel())
    quartiles = lambda v: [float(u) for u in np.quantile(v.detach().numpy(), [0.25, 0.5, 0.75])]
    doc = dict(provenance=provenance(s.name, "cpu", aset.source, s.seed, images=n,
                                     settings=repr(rule)), goals={})
    for setting in ("untargeted", "targeted"):
        cls = aset.target[:n] if setting == "targeted" else aset.y[:n]
        m = margin(model(x), cls, setting == "targeted")  # f = m at x0: every image is classified
        g, = torch.autograd.grad(m.sum(), x)
        g = g.flatten(1).abs()
        c_move = rule.beta / (rule.learning_rate * g.amax(1))  # the first step moves a pixel above
        doc["goals"][setting] = {"margin": quartiles(m), "mean |grad|": quartiles(g.mean(1)),
                                 "99th percentile |grad|": quartiles(g.quantile(0.99, 1)),
                                 "max |grad|": quartiles(g.amax(1)), "c to move": quartiles(c_move),
                                 "share moved at c0": float((c_move < rule.initial_const).double()
                                                            .mean()),
                                 "share moved at c = 1": float((c_move < 1).double().mean())}
    doc.update(beta=rule.beta, alpha0=rule.learning_rate, c0=rule.initial_const, d=x[0].numel())
    path = out / s.name / "budget" / dataset / f"gradients-{n}.json"
    write_atomic(path, to_json(doc))
    print(path)


def attackbench_distances():
    "attackbenchlib 2.x's metrics/distances.py, loaded alone (its package imports wandb)."
    spec = importlib.util.find_spec("attackbench")
    if spec is None: raise SystemExit("pip install --no-deps attackbenchlib  (2.x)")
    path = Path(list(spec.submodule_search_locations)[0]) / "metrics" / "distances.py"
    s = importlib.util.spec_from_file_location("attackbench_distances", path)
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m


def median_ratio_interval(ours, theirs, resamples=2000, seed=0):
    "median(ours)/median(theirs) and its paired bootstrap 95% interval (images resampled)."
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ours), (resamples, len(ours)))
    r = np.median(ours[idx], 1) / np.median(theirs[idx], 1)
    return float(np.median(ours) / np.median(theirs)), [float(v) for v in
                                                        np.percentile(r, [2.5, 97.5])]


def paired_ratio_interval(ours, theirs, resamples=2000, seed=0):
    "The median of the per-image ratios ours/theirs and its bootstrap 95% interval."
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    both_failed = np.isinf(ours) & np.isinf(theirs)
    r = np.where(both_failed, 1.0, ours / np.where(both_failed, 1.0, theirs))
    rng = np.random.default_rng(seed)
    boot = np.median(r[rng.integers(0, len(r), (resamples, len(r)))], 1)
    return float(np.median(r)), [float(v) for v in np.percentile(boot, [2.5, 97.5])]


def summarise(s, dataset, n, out):
    "summary.json: per setting, every attack's numbers beside the best peer's."
    import importlib.metadata as md
    dist = attackbench_distances()
    doc = dict(provenance=provenance(s.name, "cpu", None, s.seed, images=n, budget=s.budget,
                                     optimality=f"attackbenchlib {md.version('attackbenchlib')} "
                                                "eval_optimality, clean accuracy 1"),
               configs={k: dict(what=w, settings=kw) for k, (w, kw) in CONFIGS.items()},
               settings={})
    for setting in ("untargeted", "targeted"):
        runs = peer_runs(s, dataset, out, setting)
        short = [a for a, r in runs.items() if r["n"] < n]  # a run still under way: left out
        if short: print(f"{setting}: fewer than {n} images, left out: {short}")
        runs = {a: r for a, r in runs.items() if r["n"] >= n}
        seen = {}
        for slug in CONFIGS:
            f = out / s.name / "budget" / dataset / "runs" / setting / f"budget-{slug}.json"
            if not f.exists(): continue
            r = load_run(f)
            if r["n"] < n: continue
            runs[r["key"]["attack"]] = r
            parts = json.loads(f.read_text())["parts"]
            seen[r["key"]["attack"]] = np.array([v for p in parts for v in p["best_seen_l1"]])
        rerun = {}
        for a in attacks_for(setting):
            f = out / s.name / "budget" / dataset / "runs" / setting / f"peer-{a.slug}.json"
            if not f.exists() or load_run(f)["n"] < n: continue
            parts = json.loads(f.read_text())["parts"]
            seen[a.name] = np.array([v for p in parts for v in p["best_seen_l1"]])
            rerun[a.name] = float(np.median(load_run(f)["l1"][:n]))
        l1 = {a: r["l1"][:n] for a, r in runs.items()}
        best = np.min(np.stack(list(l1.values())), 0)
        peer = min((a for a in runs if a in PEERS), key=lambda a: np.median(l1[a]))
        rows = {}
        for a, r in runs.items():
            ratio, ci = median_ratio_interval(l1[a], l1[peer])
            per_peer, per_peer_ci = paired_ratio_interval(l1[a], l1[peer])
            per_preset, per_preset_ci = (paired_ratio_interval(l1[a], l1[PRESET_ROW])
                                         if PRESET_ROW in l1 else (None, None))
            per_rule, per_rule_ci = (paired_ratio_interval(l1[a], l1[BUDGET_ROW.name])
                                     if BUDGET_ROW.name in l1 else (None, None))
            rows[a] = {"ASR %": 100 * float(np.isfinite(l1[a]).mean()),
                       "median L1": float(np.median(l1[a])),
                       "median L1 best seen": float(np.median(seen[a][:n])) if a in seen else None,
                       "median L1 of the re-run": rerun.get(a),
                       "passes": (r["forward"] + r["backward"]) / r["n"],
                       "forward": r["forward"] / r["n"], "backward": r["backward"] / r["n"],
                       "ratio to best peer": ratio, "ratio 95% CI": ci,
                       "per-image ratio to best peer": per_peer,
                       "per-image ratio to best peer 95% CI": per_peer_ci,
                       "per-image ratio to preset": per_preset,
                       "per-image ratio to preset 95% CI": per_preset_ci,
                       "per-image ratio to the rule": per_rule,  # the dimension rule's row
                       "per-image ratio to the rule 95% CI": per_rule_ci,
                       "optimality (attackbenchlib 2.x)": dist.eval_optimality(l1[a], best, 1.0),
                       "seconds": r["time_s"]}
        doc["settings"][setting] = dict(best_peer=peer, images=n, rows=rows, left_out=short)
        key = runs[peer]["key"]  # the data and model the peers' records were made on
        doc["provenance"].update({k: key.get(k) for k in ("data_source", "model", "model_epochs",
                                                          "model_accuracy")})
    name = "summary.json" if n == s.images[dataset] else f"summary-{n}.json"
    path = out / s.name / "budget" / dataset / name
    write_atomic(path, to_json(doc))
    print(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--scale", default="quick")
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--settings", nargs="+", default=["untargeted", "targeted"])
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--summarise", action="store_true")
    p.add_argument("--look", action="store_true",
                   help="the input gradients at x0 and the c that moves a pixel")
    p.add_argument("--out", default=str(ROOT / "results"))
    a = p.parse_args()
    torch.set_num_threads(1)
    s = SCALES[a.scale]
    out = Path(a.out)
    if a.summarise: return summarise(s, a.dataset, a.images, out)
    if a.look: return gradient_look(s, a.dataset, a.images, out)
    model = load_model(a.dataset).eval()
    aset = select_attack_set(model, load_dataset(a.dataset), n=s.images[a.dataset], seed=s.seed,
                             n_targets=1)
    card = model_card(a.dataset)
    for slug in a.configs:
        for setting in a.settings:
            measure(slug, setting, s, a.dataset, model, card, aset, a.images, out)


if __name__ == "__main__":
    main()
