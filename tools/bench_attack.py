#!/usr/bin/env python
"""Benchmark of EAD (ead_repro.attack) on the committed MNIST model; writes results/bench_attack.json.

Measures, on the same images, targets and budget:
1. EAD's time per iteration over the floor of Algorithm 1 (one forward+backward at y plus one
   forward at x per iteration), early abort off, one binary-search step (goal <= 1.15x);
2. the per-sample early exit: a full 9-step search with early abort (samples leave the batch)
   against the same search running every iteration for every sample (goal <= 0.5);
3. side by side with torchattacks' EADEN/EADL1 and foolbox's EADAttack (optional extras, see
   tools/requirements-bench.txt): wall time, ASR and mean L1/L2/Linf, all re-checked the same way
   (`AttackResult.from_adversarial`: the model is re-run on the returned images);
4. (`--parts pair`) both decision rules from one optimisation (`EAD(decision_rule=("EN", "L1"))`)
   against the two single-rule runs: interleaved repeats, the order rotated, the load average
   (os.getloadavg) recorded around each repeat, identity of the results checked (goal <= 0.55x);
5. (`--parts batch`) whether a sample's result depends on its batch: each image attacked alone
   against all of them together, ours and torchattacks', in float32 and float64;
6. (`--parts occupancy`) how full the batch stays as rows abort early: the rows of each gradient
   pass against the batch's rows, over a whole search at the given budget (every target of
   `--occupancy-n` images). On a device whose pass costs the same for any batch up to the full one
   (a GPU at MNIST sizes), 1 - occupancy is the share of its time spent on emptied slots, and
   1 / occupancy what refilling the slots from a queue of waiting rows could gain at most; each batch size
   of `--occupancy-batches` runs chunked (the default) and refilled (`EAD(refill=True)`) on the same rows.

Usage: .venv/bin/python tools/bench_attack.py [--n 20] [--exit-n 100] [--iterations 100] [--steps 9] [--threads 1]
       [--parts per_iteration early_exit compare batch] [--out FILE]   (default: the first three)
The paper's budget, side by side only (about half an hour on one core):
       .venv/bin/python tools/bench_attack.py --iterations 1000 --parts compare --out results/bench_attack_I1000.json
The EN + L1 pair:
       .venv/bin/python tools/bench_attack.py --parts pair --out results/bench_attack_pair.json
The batch's occupancy, chunked and refilled (90 rows: ~8 min on one core; 900 rows: ~40 min):
       .venv/bin/python tools/bench_attack.py --parts occupancy --iterations 1000 --occupancy-batches 90 30 \
           --out results/bench_attack_occupancy.json
       .venv/bin/python tools/bench_attack.py --parts occupancy --iterations 1000 --occupancy-n 100 \
           --occupancy-batches 900 --out results/bench_attack_occupancy_900.json
"""
import argparse, dataclasses, datetime, json, os, platform, statistics, sys, time
from pathlib import Path
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ead_repro.models import load_model, model_card
from ead_repro.data import load_mnist, select_attack_set
from ead_repro.attack import EAD, AttackResult
recheck = AttackResult.from_adversarial  # success re-checked on the returned images

class Counting(nn.Module):
    "Wraps a model; counts the images it is run on, and those run with an input gradient."
    def __init__(self, model):
        super().__init__()
        self.model, self.rows, self.grad_passes = model, 0, []  # rows of each gradient pass
    @property
    def grad_rows(self) -> int: return sum(self.grad_passes)
    def forward(self, x):
        self.rows += len(x)
        if torch.is_grad_enabled() and x.requires_grad: self.grad_passes.append(len(x))
        return self.model(x)

def counted(fn, model, *a):
    "Run `fn(counting_model, *a)`; return its output and the model rows it used."
    cm = Counting(model).eval()
    out = fn(cm, *a)
    return out, {"model_rows": cm.rows, "grad_rows": cm.grad_rows}

class EADNoExit(EAD):
    "EAD without the (result-preserving) exit at x0: with abort_early=False, every iteration for every sample."
    _fixed_at_x0 = False

def floor_per_iteration(model, x, iters):
    "Seconds per iteration of the floor: forward+backward (input gradient) at y, forward at x."
    t = time.perf_counter()
    for _ in range(iters):
        y = x.clone().requires_grad_()
        g, = torch.autograd.grad(model(y).sum(), y)
        with torch.no_grad(): model(x)
    return (time.perf_counter() - t) / iters

def per_iteration(model, s, iters, repeats):
    "Alternating measurements of EAD's per-iteration time and the floor; ratios of the minima and medians."
    rows = []
    for _ in range(repeats):
        f = floor_per_iteration(model, s.x, iters)
        r = EADNoExit(max_iterations=iters, binary_search_steps=1, abort_early=False, initial_const=1.0)(model, s.x, s.y, s.target)
        rows.append({"floor_ms": 1e3 * f, "ead_ms": 1e3 * r.time_s / iters})
    fl, ea = [r["floor_ms"] for r in rows], [r["ead_ms"] for r in rows]
    return {"iterations": iters, "repeats": rows, "floor_ms": min(fl), "ead_ms": min(ea), "ratio": min(ea) / min(fl),
            "ratio_of_medians": statistics.median(ea) / statistics.median(fl),
            "note": "ratio = min EAD / min floor over alternating repeats (the minimum is the least disturbed by other "
                    "jobs); EAD's time includes its fixed costs (input checks, final re-check)"}

class TinyLinear(nn.Module):
    "A model that costs almost nothing: EAD's time on it is its own overhead."
    def __init__(self, p, k=10):
        super().__init__(); self.lin = nn.Linear(p, k)
    def forward(self, x): return self.lin(x.flatten(1))

def overhead_per_iteration(s, iters, repeats):
    "EAD's own per-iteration cost (everything but the model), measured where the model is nearly free."
    torch.manual_seed(0)
    tiny = TinyLinear(s.x[0].numel()).eval()
    y = tiny(s.x).argmax(1); t = (y + 1) % 10
    fl, ea = [], []
    for _ in range(repeats):                          # alternating; minimum of each
        fl.append(floor_per_iteration(tiny, s.x, iters))
        ea.append(EADNoExit(max_iterations=iters, binary_search_steps=1, abort_early=False, initial_const=1.0)(tiny, s.x, y, t).time_s / iters)
    return 1e3 * (min(ea) - min(fl))

def summary(name, res, wall, counts=None):
    return {"attack": name, "wall_s": wall, **(counts or {}), "asr": res.asr, "mean_l1": res.mean("l1"), "mean_l2": res.mean("l2"),
            "mean_linf": res.mean("linf"), "n_success": int(res.success.sum())}

def run_ours(model, s, rule, args, abort_early=True):
    r = (EAD if abort_early else EADNoExit)(decision_rule=rule, max_iterations=args.iterations, binary_search_steps=args.steps,
            abort_early=abort_early)(model, s.x, s.y, s.target)
    return r, r.time_s

def run_torchattacks(model, s, rule, args):
    import torchattacks
    cls = torchattacks.EADEN if rule == "EN" else torchattacks.EADL1
    atk = cls(model, kappa=0, lr=1e-2, binary_search_steps=args.steps, max_iterations=args.iterations,
              abort_early=True, initial_const=1e-3, beta=1e-3)
    atk.set_mode_targeted_by_function(lambda images, labels: s.target)
    x = s.x.clone()
    t = time.perf_counter(); adv = atk(x, s.y); wall = time.perf_counter() - t
    return recheck(model, s.x, adv, s.y, s.target), wall, bool((x != s.x).any())

def run_foolbox(model, s, rule, args):
    import foolbox as fb
    fmodel = fb.PyTorchModel(model, bounds=(0, 1))
    atk = fb.attacks.EADAttack(binary_search_steps=args.steps, steps=args.iterations, initial_stepsize=1e-2,
                               confidence=0.0, initial_const=1e-3, regularization=1e-3, decision_rule=rule, abort_early=True)
    x = s.x.clone()
    t = time.perf_counter()
    adv = atk.run(fmodel, x, fb.criteria.TargetedMisclassification(s.target))
    wall = time.perf_counter() - t
    return recheck(model, s.x, adv, s.y, s.target), wall, bool((x != s.x).any())

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20, help="MNIST test images (correctly classified, seeded choice)")
    p.add_argument("--iterations", type=int, default=100, help="iterations per binary-search step (paper: 1000)")
    p.add_argument("--steps", type=int, default=9, help="binary-search steps (paper: 9)")
    p.add_argument("--per-iter-iterations", type=int, default=20)
    p.add_argument("--repeats", type=int, default=15, help="interleaved repeats of the per-iteration measurement")
    p.add_argument("--exit-repeats", type=int, default=2, help="alternating repeats of the early-exit pair (min kept)")
    p.add_argument("--exit-n", type=int, default=100, help="images for the early-exit pair (small batches cost more per row: the ratio is measured at a realistic batch)")
    p.add_argument("--compare-repeats", type=int, default=2, help="interleaved repeats of the side-by-side runs (min wall time kept)")
    p.add_argument("--pair-n", type=int, default=50, help="images for the EN + L1 pair against two runs")
    p.add_argument("--pair-repeats", type=int, default=3, help="interleaved repeats of the pair measurement")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is steadier on a shared machine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--parts", nargs="+", default=["per_iteration", "early_exit", "compare"],
                   choices=["per_iteration", "early_exit", "compare", "batch", "pair", "occupancy"],
                   help="which measurements to make")
    p.add_argument("--occupancy-n", type=int, default=10, help="images (x 9 targets) for the occupancy part")
    p.add_argument("--occupancy-batches", type=int, nargs="*", default=[], help="batch sizes of the occupancy part (default: all rows)")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_attack.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads); torch.manual_seed(args.seed)
    model = load_model("mnist")
    s = select_attack_set(model, load_mnist("test"), n=args.n, seed=args.seed)
    out = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "torch": torch.__version__,
           "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                       "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": "cpu"},
           "scale": {"model": "mnist", "model_card": {k: model_card("mnist").get(k) for k in ("date", "epochs", "test_accuracy")}, "n_images": args.n,
                     "max_iterations": args.iterations, "binary_search_steps": args.steps, "targets": "random incorrect class (select_attack_set)",
                     "beta": 1e-3, "kappa": 0.0, "learning_rate": 1e-2, "initial_const": 1e-3, "seed": args.seed,
                     "note": (("the paper's budget; " if args.iterations >= 1000 else "reduced budget (paper: I=1000) to run on a shared 2-core CPU; ")
                              + "wall times are noisy, model_rows (images run through the model, all passes) is the noise-free cost")},
           "parts": args.parts}
    goals = {}
    if "per_iteration" in args.parts: per_iteration_part(out, model, s, args, goals)
    if "early_exit" in args.parts: early_exit_part(out, model, args, goals)
    if "compare" in args.parts: compare_part(out, model, s, args, goals)
    if "batch" in args.parts: batch_part(out, model, s, args)
    if "pair" in args.parts: pair_part(out, model, args, goals)
    if "occupancy" in args.parts: occupancy_part(out, model, args)
    out["goals"] = goals
    path = Path(args.out); path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp"); tmp.write_text(json.dumps(out, indent=2) + "\n"); os.replace(tmp, path)
    print(json.dumps(goals, indent=2))

def per_iteration_part(out, model, s, args, goals):
    print("per-iteration time over the floor ...", flush=True)
    out["per_iteration"] = per_iteration(model, s, args.per_iter_iterations, args.repeats)
    ov = overhead_per_iteration(s, 500, 9)
    out["per_iteration"].update({"overhead_ms_tiny_model": ov, "ratio_from_overhead": (out["per_iteration"]["floor_ms"] + ov) / out["per_iteration"]["floor_ms"],
                                 "overhead_note": "EAD minus floor per iteration on a nearly free linear model (same images): the loop's own cost; "
                                                  "ratio_from_overhead = (MNIST floor + that) / MNIST floor"})
    print(out["per_iteration"], flush=True)
    goals.update({"per_iteration_ratio": out["per_iteration"]["ratio"], "per_iteration_ratio_of_medians": out["per_iteration"]["ratio_of_medians"],
                  "per_iteration_ratio_from_overhead": out["per_iteration"]["ratio_from_overhead"], "per_iteration_goal_1.15_met": out["per_iteration"]["ratio"] <= 1.15})

def early_exit_part(out, model, args, goals):
    print("early exit ...", flush=True)
    t_fulls, t_exs = [], []
    se = select_attack_set(model, load_mnist("test"), n=args.exit_n, seed=args.seed)
    for _ in range(args.exit_repeats):               # alternating; the minimum of each is kept
        full, t = run_ours(model, se, "EN", args, abort_early=False); t_fulls.append(t)
        ex, t = run_ours(model, se, "EN", args, abort_early=True); t_exs.append(t)
    t_full, t_ex = min(t_fulls), min(t_exs)
    budget = args.exit_n * args.steps * args.iterations
    out["early_exit"] = {"n_images": args.exit_n, "time_every_iteration_s_all": t_fulls, "time_early_exit_s_all": t_exs, "time_every_iteration_s": t_full, "time_early_exit_s": t_ex, "time_ratio": t_ex / t_full,
                         "sample_iteration_ratio": ex.iterations.sum().item() / budget,
                         "asr_every_iteration": full.asr, "asr_early_exit": ex.asr,
                         "mean_l1_every_iteration": full.mean("l1"), "mean_l1_early_exit": ex.mean("l1")}
    print(out["early_exit"], flush=True)
    goals.update({"early_exit_time_ratio": out["early_exit"]["time_ratio"], "early_exit_sample_iteration_ratio": out["early_exit"]["sample_iteration_ratio"],
                  "early_exit_goal_0.5_met": out["early_exit"]["time_ratio"] <= 0.5})

def compare_part(out, model, s, args, goals):
    runners = [(f"ead_repro EAD ({rule})", lambda m, rule=rule: run_ours(m, s, rule, args)[:2] + (False,)) for rule in ("EN", "L1")]
    runners += [(f"torchattacks {'EADEN' if rule == 'EN' else 'EADL1'}", lambda m, rule=rule: run_torchattacks(m, s, rule, args)) for rule in ("EN", "L1")]
    runners += [(f"foolbox EADAttack ({rule})", lambda m, rule=rule: run_foolbox(m, s, rule, args)) for rule in ("EN", "L1")]
    walls, rows = {}, {}
    for rep in range(args.compare_repeats):          # interleaved repeats; the minimum wall time is kept
        for label, fn in runners:
            try: (res, wall, mutated), counts = counted(lambda m: fn(m), model)
            except ImportError as e:
                rows[label] = {"attack": label, "error": f"not installed: {e}"}; continue
            walls.setdefault(label, []).append(wall)
            rows[label] = {**summary(label, res, min(walls[label]), counts), "wall_s_all": walls[label], "modified_input": mutated}
            print(rep, label, f"{wall:.1f}s", res, flush=True)
    rows = list(rows.values())
    out["comparison"] = rows
    for rule in ("EN", "L1"):
        ours = next(r for r in rows if r["attack"] == f"ead_repro EAD ({rule})")
        others = [r for r in rows if "wall_s" in r and not r["attack"].startswith("ead_repro") and
                  (("EADEN" in r["attack"] or "(EN)" in r["attack"]) if rule == "EN" else ("EADL1" in r["attack"] or "(L1)" in r["attack"]))]
        if others:
            fastest = min(others, key=lambda r: r["wall_s"])
            goals[f"{rule}_fastest_other"] = fastest["attack"]
            goals[f"{rule}_speedup_vs_fastest"] = fastest["wall_s"] / ours["wall_s"]
            goals[f"{rule}_model_rows_ratio_fastest_over_ours"] = fastest["model_rows"] / ours["model_rows"]
            goals[f"{rule}_asr_at_least_others"] = ours["asr"] >= max(r["asr"] for r in others)
            goals[f"{rule}_mean_l1_at_most_fastest"] = ours["mean_l1"] <= fastest["mean_l1"]
            goals[f"{rule}_goal_2x_met"] = (goals[f"{rule}_speedup_vs_fastest"] >= 2 and goals[f"{rule}_asr_at_least_others"]
                                            and goals[f"{rule}_mean_l1_at_most_fastest"])

def batch_part(out, model, s, args):
    "Does a sample's result depend on its batch? Each image attacked alone against the same images attacked together."
    print("batch dependence ...", flush=True)
    res = {}
    for dtype in (torch.float32, torch.float64):      # float64: what is left once rounding is out of the way
        res[str(dtype).replace("torch.", "")] = _batch_dependence(model.to(dtype), dataclasses.replace(s, x=s.x.to(dtype)), args)
    model.float()
    out["batch_dependence"] = {"note": "each image attacked alone vs all together, same budget; n_differ: images whose adversarial example "
                                       "moved by more than 1e-3 in some pixel; float32 and float64 (model and images)", **res}

def _batch_dependence(model, s, args):
    res = {}
    for label, fn in [("ead_repro EAD (EN)", lambda m, ss: run_ours(m, ss, "EN", args)[0]),
                      ("torchattacks EADEN", lambda m, ss: run_torchattacks(m, ss, "EN", args)[0])]:
        try: together = fn(model, s)
        except ImportError as e: res[label] = {"error": f"not installed: {e}"}; continue
        except RuntimeError as e: res[label] = {"error": f"fails in {s.x.dtype}: {str(e).splitlines()[0]}"}; print(label, res[label]); continue
        alone = [fn(model, dataclasses.replace(s, **{f: getattr(s, f)[i:i + 1] for f in ('index', 'x', 'y', 'target', 'all_targets')}))
                 for i in range(len(s.x))]
        x_alone = torch.cat([r.x_adv for r in alone])
        differ = (x_alone - together.x_adv).flatten(1).abs().amax(1) > 1e-3   # a visible change, not a last-bit one
        l1_alone, ok_alone = torch.cat([r.l1 for r in alone]), torch.cat([r.success for r in alone])
        res[label] = {"n_images": len(s.x), "n_differ": int(differ.sum()),
                      "asr_together": together.asr, "asr_alone": ok_alone.float().mean().item(),
                      "mean_l1_together": together.mean("l1"), "mean_l1_alone": l1_alone[ok_alone].mean().item(),
                      "max_abs_l1_change": float((l1_alone - together.l1).abs().max())}
        print(label, s.x.dtype, res[label], flush=True)
    return res

def _same(a, b):
    "Whether two AttackResults agree to the bit on everything but costs."
    return all(torch.equal(getattr(a, f), getattr(b, f)) for f in ("x_adv", "success", "l1", "l2", "linf", "iterations")) \
        and torch.equal(a.const.nan_to_num(-1), b.const.nan_to_num(-1))

def pair_part(out, model, args, goals):
    "Both rules from one optimisation against the two single-rule runs, interleaved (order rotated), with the load average."
    print("EN + L1 pair ...", flush=True)
    sp = select_attack_set(model, load_mnist("test"), n=args.pair_n, seed=args.seed)
    budget = dict(max_iterations=args.iterations, binary_search_steps=args.steps)
    attacks = {"EN": EAD(decision_rule="EN", **budget), "L1": EAD(decision_rule="L1", **budget),
               "pair": EAD(decision_rule=("EN", "L1"), **budget)}
    reps = []
    for rep in range(args.pair_repeats):
        order = list(attacks)[rep % 3:] + list(attacks)[:rep % 3]
        row, res = {"order": order, "load_before": os.getloadavg()}, {}
        for k in order:
            res[k], counts = counted(lambda m: attacks[k](m, sp.x, sp.y, sp.target), model)
            row[k] = {"time_s": (res[k]["EN"] if k == "pair" else res[k]).time_s, **counts}
        row["load_after"] = os.getloadavg()
        row["identical"] = all(_same(res["pair"][r], res[r]) for r in ("EN", "L1"))
        row["time_ratio"] = row["pair"]["time_s"] / (row["EN"]["time_s"] + row["L1"]["time_s"])
        row["model_rows_ratio"] = row["pair"]["model_rows"] / (row["EN"]["model_rows"] + row["L1"]["model_rows"])
        print(rep, row, flush=True)
        reps.append(row)
    ratios = [r["time_ratio"] for r in reps]
    out["pair"] = {"n_images": args.pair_n, "repeats": reps, "time_ratio_median": statistics.median(ratios),
                   "time_ratio_min": min(ratios), "time_ratio_max": max(ratios),
                   "model_rows_ratio": statistics.median(r["model_rows_ratio"] for r in reps),
                   "identical": all(r["identical"] for r in reps),
                   "note": "time_ratio = time of one EAD(decision_rule=('EN', 'L1')) run / (EN run + L1 run), per repeat, the three runs "
                           "of a repeat back to back in rotated order; load = os.getloadavg() (1, 5, 15 min) before and after the repeat "
                           "on a machine shared with other jobs; model_rows: images run through the model, the noise-free cost"}
    goals.update({"pair_time_ratio": out["pair"]["time_ratio_median"], "pair_model_rows_ratio": out["pair"]["model_rows_ratio"],
                  "pair_identical": out["pair"]["identical"], "pair_goal_0.55_met": out["pair"]["time_ratio_median"] <= 0.55})

def occupancy_part(out, model, args):
    "How full the batch stays over a whole search, chunked and refilled, at each batch size asked."
    from ead_repro.attack import every_target
    print("occupancy ...", flush=True)
    so = select_attack_set(model, load_mnist("test"), n=args.occupancy_n, seed=args.seed)
    x, y, t = every_target(so.x, so.y, 10)
    runs, results = [], {}
    for batch in args.occupancy_batches or [len(x)]:
        for refill in (False, True):
            counter = Counting(model).eval()
            t0 = time.perf_counter()
            res = EAD(max_iterations=args.iterations, binary_search_steps=args.steps, batch_size=batch,
                      refill=refill)(counter, x, y, t)
            wall, rows = time.perf_counter() - t0, counter.grad_passes
            results[batch, refill] = res
            runs.append({"schedule": "refilled" if refill else "chunked", "batch_size": batch, "passes": len(rows),
                         "row_iterations": sum(rows), "occupancy": sum(rows) / (len(rows) * batch),
                         "passes_if_full": -(-sum(rows) // batch), "time_s": wall, "asr": res.asr,
                         "mean_l1": res.mean("l1"),
                         "occupancy_deciles_10_50_90": [statistics.quantiles(rows, n=10)[k] / batch for k in (0, 4, 8)]
                                                       if len(rows) > 1 else []})
            print(runs[-1], flush=True)
    for r in runs:  # each refilled run against the chunked one at its batch size
        if r["schedule"] == "refilled":
            c, f = results[r["batch_size"], False], results[r["batch_size"], True]
            chunked = next(q for q in runs if q["schedule"] == "chunked" and q["batch_size"] == r["batch_size"])
            r.update(pass_ratio_to_chunked=r["passes"] / chunked["passes"],
                     success_equal=bool(torch.equal(c.success, f.success)),
                     iterations_equal=bool(torch.equal(c.iterations, f.iterations)),
                     max_l1_difference=(c.l1 - f.l1).abs().max().item())
    first = runs[0]  # the chunked run at the first batch size: the fields the page has always read
    out["occupancy"] = {"n_images": args.occupancy_n, "rows_per_batch": first["batch_size"], "passes": first["passes"],
                        "row_iterations": first["row_iterations"], "occupancy": first["occupancy"],
                        "passes_if_refilled": first["passes_if_full"],
                        "pass_ratio_refilled": first["passes_if_full"] / first["passes"],
                        "occupancy_deciles_10_50_90": first["occupancy_deciles_10_50_90"],
                        "time_s": first["time_s"], "asr": first["asr"], "runs": runs,
                        "note": "occupancy = rows of the gradient passes / (passes x batch_size), over the whole binary "
                                "search at this budget; passes_if_full: the passes a batch kept full would need for the "
                                "same row-iterations (a lower bound); chunked = EAD(refill=False), the default, refilled = "
                                "EAD(refill=True) on the same rows; the device-independent part of whether a shrinking "
                                "batch leaves a GPU idle"}

if __name__ == "__main__":
    main()
