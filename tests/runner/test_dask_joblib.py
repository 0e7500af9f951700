"""Jobs on the dask backend run their libraries' joblib locally: LIME used to hang there."""

from __future__ import annotations

import pytest

import xai_bench as xb

pytest.importorskip("distributed")
pytest.importorskip("lime")
pytestmark = pytest.mark.distributed


@pytest.mark.timeout(240)
def test_lime_tabular_on_the_dask_backend_finishes(tmp_path, monkeypatch):
    # lime -> sklearn pairwise_distances -> joblib, which inherited the dask backend
    # inside the job and blocked in Client.nthreads
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # dask scratch space goes under tmp_path
    bench = xb.Benchmark(
        ["synthetic.linear"],
        [("lime.tabular", {"n_samples": 50})],
        [("deletion_auc", {"steps": 4})],
        n_samples=4,
        chunk_size=2,
        workers=2,
        timeout=30,
        progress=False,
    )
    res = bench.run(backend="dask")
    assert set(res.jobs["status"]) == {"ok"}, res.failures[["status", "reason"]]
    assert len(res.jobs) == 2 * 2 * 2  # (lime, random) x 2 chunks, explain + score
    local = bench.run(backend="local", resume=False)
    lime = lambda r: r.attributions[("synthetic.linear", "lime.tabular", 0)].attributions  # noqa: E731
    assert (lime(res) == lime(local)).all()  # seeded: the same numbers on either backend
