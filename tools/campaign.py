#!/usr/bin/env python
"""The reproduction's long runs as one campaign: the steps of `CAMPAIGN` (the status page,
`ead_repro.status`) in order of value, each an `ead_repro run` that resumes from the
committed records (nothing finished is computed again).

    .venv/bin/python tools/campaign.py --list          # the plan: each step's estimate and progress
    .venv/bin/python tools/campaign.py [--from N]      # run the steps not yet complete, in order
        (in the background: nohup .venv/bin/python tools/campaign.py > campaign.log 2>&1 &)

Estimates are CPU hours on this project's 2-core machine, from committed timings (each step's
basis); the recorded hours beside them come from the stores. Commit `results/` as batches land:
the next session may be a fresh machine.
"""
import argparse, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    from ead_repro.status import CAMPAIGN, step_progress
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="show the plan and its progress")
    p.add_argument("--from", dest="start", type=int, default=1, help="first step to run (1-based)")
    p.add_argument("--nproc", type=int, default=2,
                   help="processes per step, one torch thread each (default: 2)")
    a = p.parse_args()
    for n, step in enumerate(CAMPAIGN, 1):
        section, scale, dataset, rows, hours, basis = step
        g = step_progress(step, ROOT / "results")
        what = f"{section} {scale} {dataset} {', '.join(rows) if rows else 'every row'}"
        print(f"{n}. {what}: {g['rows_done']}/{g['rows']} rows; attack hours recorded (wall): "
              f"{g['hours_recorded']:.2f}; estimate ~{hours} CPU h ({basis})", flush=True)
        if a.list or n < a.start or g["rows_done"] >= g["rows"]: continue
        procs = ["--nproc", str(a.nproc), "--threads", "1"]  # every section shares its run
        cmd = [str(ROOT / ".venv/bin/ead_repro"), "run", section, "--scale", scale, "--dataset",
               dataset, *procs, "--no-progress", *(["--rows", *rows] if rows else [])]
        t0 = time.time()
        rc = subprocess.call(cmd, cwd=ROOT)
        print(f"   step {n} ended with status {rc} after {time.time() - t0:.0f} s", flush=True)
        if rc: sys.exit(rc)


if __name__ == "__main__": main()
