"""tools/compress_records.py: older record stores' kept images rewritten compressed, arrays equal."""
import subprocess, sys, zipfile
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

def test_compress_records(tmp_path):
    parts = tmp_path / "cpu" / "records" / "mnist" / "cw" / "parts"
    parts.mkdir(parents=True)
    x = np.zeros((3, 1, 28, 28), np.float32)
    x[:, :, 10:14, 10:14] = np.random.default_rng(0).random((3, 1, 4, 4))
    np.savez(parts / "part-000001.npz", image=np.arange(3), target=np.arange(3), x_adv=x)
    before = (parts / "part-000001.npz").stat().st_size
    out = subprocess.run([sys.executable, str(ROOT / "tools/compress_records.py"), str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("1 files compressed"), out
    with zipfile.ZipFile(parts / "part-000001.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    assert (parts / "part-000001.npz").stat().st_size < before / 2
    with np.load(parts / "part-000001.npz") as f:
        assert np.array_equal(f["x_adv"], x) and np.array_equal(f["target"], np.arange(3))
    assert list(parts.iterdir()) == [parts / "part-000001.npz"]  # no temporary file left
