"""The peers section's committed measurements, kept through its move onto the runner's executor.

Its `quick` runs were made before the section declared jobs, into run files of its own;
`tools/convert_peer_runs.py` wrote them once as the record stores its jobs fill now. Here: every
job of the committed `quick` runs is complete under the key it makes now (nothing is attacked
again, no network loaded), and the page's tables and claims made now from those stores, by the
section's `table`, and as the committed report gives them back, are the ones committed before
the move (tests/peers_tables_before.json: the old report's tables and claims), number for number.
"""
import json, math
import pandas as pd
import pytest
from conftest import ROOT

BEFORE = json.loads((ROOT / "tests" / "peers_tables_before.json").read_text())


def _before(dataset):
    "The old report's tables as frames, +∞ medians back (as the old page read them)."
    frame = lambda v: pd.DataFrame(v).set_index("attack").replace("inf", math.inf)
    return {k: frame(v).astype(float) for k, v in BEFORE[dataset]["peer_tables"].items()}


def _same(tables, dataset):
    want = _before(dataset)
    assert list(tables) == list(want)
    for k, t in tables.items():
        pd.testing.assert_frame_equal(t, want[k], check_exact=True, obj=f"{dataset} {k}")


@pytest.mark.parametrize("dataset", ["mnist", "cifar"])
def test_committed_peers_tables_unchanged(dataset):
    from ead_repro.runner import (AttackJob, job_complete, job_stores, section_jobs, section_run,
                                  check_claims)
    from ead_repro.sections import peers
    run = section_run(peers.SECTION, "quick", dataset, ROOT / "results")
    jobs = [j for j in section_jobs(run) if isinstance(j, AttackJob)]
    assert all(job_complete(j, run.scale, dataset, run.out) for j in jobs)  # 0 rows to do
    stores = job_stores(run, jobs)
    assert len(stores) == len(jobs)
    parts = peers.peers_table(run, stores, {j: st.records() for j, st in stores.items()})
    _same(peers.peer_tables(parts["ours"]), dataset)  # made now from the stores
    rep = peers.load_peers_report(dataset, ROOT / "results", scales=["quick"])
    _same(rep["tables"], dataset)  # the committed report, as the page reads it
    keep = ("claim", "held", "numbers", "detail")
    now = [{k: c.as_dict()[k] for k in keep}
           for c in check_claims(parts["ours"], peers.SECTION, dataset)]
    assert now == BEFORE[dataset]["claims"]
    assert [{k: c[k] for k in keep} for c in rep["claims"]] == BEFORE[dataset]["claims"]
    assert rep["status"] == "complete"
