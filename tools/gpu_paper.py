#!/usr/bin/env python
"""The MNIST comparison (Tables 2 and 8) at a named scale on one device, into one folder, with a time limit.

Run by tools/gpu_paper.sh on a GPU machine (scale `paper`); CI runs the same code at the `smoke` scale
on the CPU (tests/test_gpu_script.py). Writes into --out:
  results/<scale>/...     the record stores and the section's tables.json (with provenance), as
                          `ead_repro run comparison` writes them; a rerun resumes from them
  figures/                the section's figures
  gpu_run.json            the run's log: device, versions, per-attack wall times, whether it
                          finished within --minutes, and the batch-occupancy probe below
The paper scale's attacks refill their batches (`refill=True`: a row leaving its binary-search step hands
its slot to the next row waiting); `--refill` makes another scale do the same (CI's smoke run does).
Batch occupancy: per-sample early exit shrinks the attacked batch as rows finish. Whether that leaves a
GPU idle depends on how the time of one iteration scales with the rows in it; the probe times EAD
iterations at several batch sizes and, from the records, reports the fraction of row-iterations
actually run (iterations / (steps x I) per row). Flat time per iteration + a small fraction = idle GPU.
"""
import argparse, dataclasses, json, os, platform, sys, time
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def probe_iteration_time(model, aset, device, sizes, iters=20):
    "Seconds per EAD iteration (one step, abort off) at each batch size of `sizes` (rows)."
    from ead_repro.attack import EAD
    x, y, t = (v.to(device) for v in (aset.x, aset.y, aset.target))
    out = {}
    for n in sizes:
        reps = -(-n // len(x))
        xb, yb, tb = (v.repeat_interleave(reps, 0)[:n] for v in (x, y, t))
        atk = EAD(max_iterations=iters, binary_search_steps=1, abort_early=False, initial_const=1.0)
        atk(model, xb, yb, tb)                       # warm-up (kernels, allocator)
        if device.type == "cuda": torch.cuda.synchronize()
        r = atk(model, xb, yb, tb)
        if device.type == "cuda": torch.cuda.synchronize()
        out[n] = r.time_s / iters
    return out

def occupancy(stores:dict, scale) -> dict:
    "Per EAD/C&W store: the fraction of the row-iterations budget (steps x I per row) actually run."
    out = {}
    for row, st in stores.items():
        r = st.records()
        if len(r) and r["iterations"].max() > 0:
            out[row] = float(r["iterations"].sum() / (len(r) * scale.binary_search_steps * scale.max_iterations))
    return out

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="paper")
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", default="build/gpu-out")
    p.add_argument("--minutes", type=float, default=8.0, help="stop starting attacks after this long")
    p.add_argument("--probe-sizes", type=int, nargs="*", default=[900, 450, 90, 9])
    p.add_argument("--refill", action="store_true",
                   help="EAD and C&W refill their batches even where the scale does not (the paper scale does)")
    args = p.parse_args(argv)
    t_start = time.time()
    from ead_repro.runner import get_scale, run_rows, write_report, draw_figures, setup_run, section_table
    from ead_repro.store import provenance, write_atomic, to_json
    from ead_repro.sections.comparison import SECTION
    s, dev, out = get_scale(args.scale), torch.device(args.device), Path(args.out)
    if args.refill: s = dataclasses.replace(s, refill=True)
    if dev.type == "cuda" and not torch.cuda.is_available(): raise SystemExit("no GPU here: --device cpu")
    torch.manual_seed(0)
    log = {"provenance": provenance(s.name, dev, None, s.seed, experiment=SECTION.name, dataset="mnist"),
           "scale": s.name, "refill": s.refill, "minutes": args.minutes, "attacks": {}, "carried": _origins()}
    model, card, aset = setup_run("mnist", s, dev)
    res_root, deadline = out / "results", t_start + 60 * args.minutes
    for group in _groups(SECTION.rows):
        if time.time() > deadline: break
        t0 = time.time()
        done = run_rows(group, s, "mnist", res_root, dev, progress=False, log=print)
        log["attacks"][" + ".join(group)] = {"rows_computed": done, "wall_s": time.time() - t0}
    rep = write_report(SECTION, s, "mnist", res_root, dev)
    log["status"], log["finished_in_time"] = rep["status"], rep["status"] == "complete"
    log["figures"] = [str(f) for f in draw_figures(SECTION, s, "mnist", res_root, out / "figures", rep)]
    log["occupancy"] = occupancy(section_table(SECTION, s, "mnist", res_root)[2], s)
    log["attacks_wall_s"] = time.time() - t_start
    log["probe_s_per_iteration"] = probe_iteration_time(model, aset, dev, args.probe_sizes)
    log["wall_s"] = time.time() - t_start
    write_atomic(out / "gpu_run.json", to_json(log))
    print(json.dumps({k: log[k] for k in ("status", "wall_s", "probe_s_per_iteration", "occupancy")}, indent=1))
    return 0

def _origins() -> dict:
    "Where fastcore and the MNIST file were found (tools/gpu_paper.sh carries both)."
    import importlib.util, fastcore
    return {"fastcore": str(Path(fastcore.__file__).parent),
            "mnist": str(list(importlib.util.find_spec("mnist").submodule_search_locations)[0])}

def _groups(rows):
    "The section's rows, EAD's two rules together (one optimisation), each other row alone."
    ead = [r for r in rows if r.startswith("EAD (")]
    return ([ead] if ead else []) + [[r] for r in rows if r not in ead]

if __name__ == "__main__":
    sys.exit(main())
