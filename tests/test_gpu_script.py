"""The GPU script's code path at the smoke scale on the CPU.

`tools/gpu_paper.sh run` (what a lent GPU machine runs, at the paper scale) is run here with SCALE=smoke
and DEVICE=cpu: fastcore and the MNIST file must come from what the script carries (build/gpu, made by
`tools/gpu_paper.sh prepare`), the MNIST comparison must finish within the time limit, and its tables,
provenance and run log must be in $OUT, with EAD's two rules from one optimisation. Without build/gpu
(no `prepare` run on this checkout) the python driver is run directly, on the installed packages."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(out):
    env = {**os.environ, "SCALE": "smoke", "DEVICE": "cpu", "MINUTES": "10", "OUT": str(out),
           "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "GPU_PAPER_ARGS": "--probe-sizes 4 2 --refill"}
    if (ROOT / "build" / "gpu" / "wheels").exists(): cmd = ["bash", "tools/gpu_paper.sh", "run"]
    else: cmd = [sys.executable, "tools/gpu_paper.py", "--scale", "smoke", "--device", "cpu",
                 "--out", str(out), "--minutes", "10", "--probe-sizes", "4", "2", "--refill"]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return cmd[0] == "bash"


def test_gpu_script_smoke(tmp_path):
    carried = _run(tmp_path)
    log = json.loads((tmp_path / "gpu_run.json").read_text())
    assert log["status"] == "complete" and log["finished_in_time"], log["status"]
    assert log["provenance"]["device"] == "cpu" and log["scale"] == "smoke"
    assert log["refill"]  # batches refilled, as the paper scale runs them on the GPU
    if carried:
        for what in ("fastcore", "mnist"):
            assert str(ROOT / "build" / "gpu" / "site") in log["carried"][what], log["carried"]
    tables = json.loads((tmp_path / "results/smoke/comparison/mnist/tables.json").read_text())
    assert tables["status"] == "complete" and tables["provenance"]["scale"] == "smoke"
    l1 = sorted((tmp_path / "results/smoke/records/mnist/ead-l1-b0.001/parts").glob("part-*.json"))
    assert l1 and all(json.loads(f.read_text())["shared_with"] == ["ead-en-b0.001"] for f in l1)
    assert all("refill" in json.loads(f.read_text())["attack"] for f in l1)
    assert set(log["probe_s_per_iteration"]) == {"4", "2"}
    assert all(0 < v <= 1 for v in log["occupancy"].values()) and log["occupancy"]
