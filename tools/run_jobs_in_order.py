#!/usr/bin/env python
"""Run a section's jobs at a scale in a chosen order (the rest after, in declared order), resuming:
the same record stores as `ead_repro run SECTION --scale SCALE --dataset DATA`, which then writes
the report and figures (nothing left to attack). For a long run on a busy CPU, where the jobs that
decide a comparison should land first.

Usage: nohup nice -n 5 python tools/run_jobs_in_order.py peers cpu cifar \
         "PDPGD-L1, untargeted" "FMN-L1, targeted" ... > log 2>&1 &
"""
import importlib, sys, time
import torch

def main(section:str, scale:str, dataset:str, *first):
    torch.set_num_threads(1)
    from ead_repro.runner import section_run, section_jobs, run_jobs
    mod = importlib.import_module(f"ead_repro.sections.{section}")
    run = section_run(mod.SECTION, scale, dataset, "results")
    jobs = {j.label: j for j in section_jobs(run)}
    unknown = [f for f in first if f not in jobs]
    if unknown: raise SystemExit(f"no such jobs {unknown}; have {list(jobs)}")
    for label in list(first) + [j for j in jobs if j not in first]:
        t0 = time.time()
        done = run_jobs([jobs[label]], run.scale, dataset, run.out, progress=False, log=print)
        print(f"{label}: {done} in {time.time() - t0:.0f} s", flush=True)

if __name__ == "__main__":
    main(*sys.argv[1:])
