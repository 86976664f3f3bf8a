#!/usr/bin/env python
"""Benchmark of a run shared by processes: `ead_repro run SECTION --scale SCALE --dataset mnist` as
1 process x 2 torch threads against 2 processes x 1 thread (`--nproc 2`, torchrun, gloo), each from
an empty results folder, back to back in the order given; writes results/bench_shard.json.

Records the wall time of each command, the load average (os.getloadavg) before and after each,
the machine, and whether the two runs' tables are identical (the largest difference between them
otherwise: 2 threads and 1 thread may round convolutions differently).

Also: each run's attack seconds per rank, from its record parts (how evenly 2 processes shared the
work), and with `--order one two single` 1 process x 1 thread, what threads and processes each gain.

Usage: .venv/bin/python tools/bench_shard.py [--section comparison] [--scale cpu] [--order one two]
       [--out results/bench_shard.json]      (the cpu-scale MNIST comparison: tens of minutes)
"""
import argparse, datetime, json, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONFIGS = {"one": ("1 process x 2 threads", ["--threads", "2"]),
           "two": ("2 processes x 1 thread", ["--nproc", "2", "--threads", "1"]),
           "single": ("1 process x 1 thread", ["--threads", "1"])}


def busy_by_rank(results:Path) -> dict:
    "{rank: attack seconds} from the record parts a run wrote (a shared optimisation counted once)."
    busy = {}
    for f in results.glob("*/records/*/*/parts/part-*.json"):
        part, rank = json.loads(f.read_text()), f.stem.rsplit("-r", 1)
        r = int(rank[1]) if len(rank) == 2 and rank[1].isdigit() else 0
        busy[r] = busy.get(r, 0.0) + part["time_s"] / (1 + len(part.get("shared_with", [])))
    return dict(sorted(busy.items()))


def timed_run(section, scale, extra, folder) -> dict:
    "One `ead_repro run` into `folder`: wall time, load before and after, exit status."
    cmd = [sys.executable, "-m", "ead_repro.cli", "run", section, "--scale", scale, "--dataset",
           "mnist", "--no-progress", "--out", str(folder / "results"), "--figures",
           str(folder / "figures"), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    load, t0 = os.getloadavg(), time.perf_counter()
    p = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode: sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    return {"command": " ".join(cmd[2:]), "wall_s": wall, "load_before": load,
            "load_after": os.getloadavg()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--section", default="comparison")
    p.add_argument("--scale", default="cpu")
    p.add_argument("--order", nargs="+", default=["one", "two"], choices=list(CONFIGS),
                   help="configurations, run in this order; 'one' and 'two' are required")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_shard.json"))
    args = p.parse_args()
    import torch
    from ead_repro.evaluate import load_tables
    from ead_repro.cli import largest_difference
    runs, tables = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.order:
            label, extra = CONFIGS[name]
            print(f"{label} ...", flush=True)
            runs[name] = {"label": label, **timed_run(args.section, args.scale, extra,
                                                       Path(tmp) / name)}
            print(runs[name], flush=True)
            runs[name]["busy_s_by_rank"] = busy_by_rank(Path(tmp) / name / "results")
            rep = Path(tmp) / name / "results" / args.scale / args.section / "mnist"
            tables[name] = load_tables(rep / "tables.json")[0]["ours"]
    diff = largest_difference(tables["one"], tables["two"])
    out = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "torch": torch.__version__,
           "machine": {"platform": platform.platform(), "processor": platform.machine(),
                       "cpu_count": os.cpu_count(), "device": "cpu"},
           "section": args.section, "scale": args.scale, "dataset": "mnist", "runs": runs,
           "speedup": runs["one"]["wall_s"] / runs["two"]["wall_s"],
           "tables_identical": bool(tables["one"].equals(tables["two"])),
           "largest_difference": diff, "goal": 1.6,
           "note": "speedup = wall time of 1 process x 2 threads / 2 processes x 1 thread, one run "
                   "each from empty results, back to back; load = os.getloadavg() (1, 5, 15 min) "
                   "on a machine that may be shared with other jobs"}
    out["goal_met"] = out["speedup"] >= out["goal"]
    two = runs["two"]  # how evenly the two processes shared the work: attack time / (2 x wall)
    out["two_busy_share"] = sum(two["busy_s_by_rank"].values()) / (2 * two["wall_s"])
    if "single" in runs:  # what each way gains over one process with one thread
        out["threads_speedup"] = runs["single"]["wall_s"] / runs["one"]["wall_s"]
        out["processes_speedup"] = runs["single"]["wall_s"] / runs["two"]["wall_s"]
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("speedup", "tables_identical", "largest_difference")}))


if __name__ == "__main__":
    main()
