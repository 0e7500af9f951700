"""The dask backend on a LocalCluster with 2 worker processes equals the processes backend."""

from __future__ import annotations

import os

import numpy as np
import pytest

import xai_bench as xb

pytest.importorskip("distributed")
pytestmark = pytest.mark.distributed


def bench(**kw):
    return xb.Benchmark(
        ["synthetic.linear"],
        ["oracle", ("random", {})],
        [("deletion_auc", {"steps": 4}), ("insertion_auc", {"steps": 4})],
        n_samples=16,
        chunk_size=2,
        seed=[0, 1],
        workers=2,
        progress=False,
        **kw,
    )


def test_dask_local_cluster_matches_processes_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # dask scratch space goes under tmp_path
    # the memory cap travels to the dask workers' forked children, and fits these jobs
    dask_res = bench(memory_limit="2GiB").run(backend="dask")
    proc_res = bench().run(backend="processes")
    assert dask_res.provenance["memory_limit"] == 2 * 2**30

    jobs = dask_res.jobs
    assert set(jobs["status"]) == {"ok"} and len(jobs) == 2 * 8 * 2 * 3
    workers = set(jobs["worker_pid"])
    assert len(workers) >= 2, "jobs must spread over both dask worker processes"
    assert os.getpid() not in workers
    keys = ["task", "explainer", "metric", "seed", "sample"]
    a = dask_res.scores.sort_values(keys).reset_index(drop=True)
    b = proc_res.scores.sort_values(keys).reset_index(drop=True)
    np.testing.assert_array_equal(a[keys].to_numpy(), b[keys].to_numpy())
    np.testing.assert_array_equal(a["score"].to_numpy(), b["score"].to_numpy())


def test_dask_address_of_a_running_scheduler_and_a_task_object(tmp_path):
    from dask.distributed import LocalCluster

    task = xb.load_task("synthetic.linear")  # a Task object travels to the workers pickled
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        local_directory=str(tmp_path),
    ) as cluster:
        worker_pids = {w.pid for w in cluster.workers.values()}
        res = xb.Benchmark(
            [task],
            ["oracle"],
            [("deletion_auc", {"steps": 4})],
            n_samples=8,
            chunk_size=2,
            progress=False,
        ).run(backend="dask", address=cluster.scheduler_address)
    assert set(res.jobs["status"]) == {"ok"}
    assert set(res.jobs["worker_pid"]) <= worker_pids
    assert len(res.scores) == 2 * 8
