#!/usr/bin/env python
"""Rewrite every record store's kept images (`parts/*.npz` under results/) compressed, in place.

The arrays are unchanged (checked before each file is replaced); only the bytes shrink, about
half. `RecordStore` writes compressed parts itself since 2026-12-07; this converts older ones.

    .venv/bin/python tools/compress_records.py [ROOT]     # default: results/
"""
import io, os, sys, zipfile
from pathlib import Path
import numpy as np


def compressed(path:Path) -> bool:
    "Whether every array of the `.npz` at `path` is stored deflated."
    with zipfile.ZipFile(path) as z: return all(i.compress_type == zipfile.ZIP_DEFLATED
                                                for i in z.infolist())


def compress(path:Path) -> int:
    "Rewrite `path` compressed (atomically), checking the arrays are equal; bytes saved."
    with np.load(path) as f: arrays = {k: f[k] for k in f.files}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    with np.load(io.BytesIO(buf.getvalue())) as g:
        assert set(g.files) == set(arrays) and all(np.array_equal(g[k], v)
                                                  for k, v in arrays.items()), path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    before = path.stat().st_size
    os.replace(tmp, path)
    return before - len(buf.getvalue())


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
    files = [p for p in sorted(root.rglob("parts/*.npz")) if not compressed(p)]
    saved = sum(compress(p) for p in files)
    print(f"{len(files)} files compressed under {root}; {saved / 1e6:.1f} MB saved")


if __name__ == "__main__": main()
