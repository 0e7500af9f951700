"""Crash isolation with real processes: raise, hang, os._exit and segfault are contained."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import xai_bench as xb

pytestmark = pytest.mark.usefixtures("plugins")  # the test.* explainers, this module only

BAD = ["test.raises", "test.sleeps", "test.exits", "test.segfaults", "test.killed"]
METRICS = [("deletion_auc", {"steps": 4})]


def run(explainers, backend="processes", **kw):
    bench = xb.Benchmark(
        ["synthetic.linear"], explainers, METRICS, n_samples=8, chunk_size=4, progress=False, **kw
    )
    return bench.run(backend=backend)


@pytest.fixture(scope="module")
def faulty(plugins):
    start = time.perf_counter()
    res = run(["oracle", *BAD], timeout=2.0, workers=2)
    return res, time.perf_counter() - start


def test_each_fault_is_recorded_with_its_reason(faulty):
    res, _ = faulty
    fails = res.failures.set_index("explainer")
    # 2 chunks each: both chunks of every bad explainer fail the same way
    assert fails.groupby("explainer").size().to_dict() == {e: 2 for e in BAD}
    by = fails.groupby("explainer").first()
    assert by.loc["test.raises", "status"] == "failed"
    assert "RuntimeError: boom from the test explainer" in by.loc["test.raises", "reason"]
    assert by.loc["test.sleeps", "status"] == "timeout"
    assert "2 s timeout" in by.loc["test.sleeps", "reason"]
    assert by.loc["test.exits", "status"] == "crashed"
    assert "exited with code 3" in by.loc["test.exits", "reason"]
    assert by.loc["test.segfaults", "status"] == "crashed"
    assert "SIGSEGV" in by.loc["test.segfaults", "reason"]
    assert by.loc["test.killed", "status"] == "crashed"
    assert "SIGKILL (out of memory?)" in by.loc["test.killed", "reason"]


def test_the_hang_is_killed_at_the_timeout(faulty):
    _, seconds = faulty
    # two hung chunks on two workers, 2 s each; nowhere near the 60 s the explainer sleeps
    assert seconds < 20
    assert np.all(faulty[0].jobs.query("status == 'timeout'")["seconds"] < 5)


def test_other_explainers_are_intact(faulty):
    res, _ = faulty
    clean = run(["oracle"], backend="local")
    got = res.scores.sort_values(["explainer", "sample"]).reset_index(drop=True)
    want = clean.scores.sort_values(["explainer", "sample"]).reset_index(drop=True)
    assert set(got["explainer"]) == {"oracle", "random"}
    assert len(got) == 16
    np.testing.assert_array_equal(got["score"].to_numpy(), want["score"].to_numpy())
    assert res.summary()["explainer"].tolist() == ["oracle", "random"]


def test_incompatible_pairs_are_skips_not_failures():
    # the oracle needs ground truth; breast_cancer.gbt has none; IG needs a torch model
    bench = xb.Benchmark(["breast_cancer.gbt"], ["oracle"], METRICS, n_samples=4, progress=False)
    res = bench.run(backend="local")
    row = res.failures.set_index("explainer").loc["oracle"]
    assert row["status"] == "skipped"
    assert "ground truth" in row["reason"]
    assert set(res.scores["explainer"]) == {"random"}


def test_local_backend_records_raising_explainer():
    res = run(["test.raises"], backend="local")
    assert set(res.failures["status"]) == {"failed"}
    assert len(res.scores) == 8  # the random control still ran


def test_two_workers_run_jobs_concurrently_in_two_reused_processes():
    bench = xb.Benchmark(
        ["synthetic.linear"],
        [("test.slow", {"seconds": 0.3})],
        [("deletion_auc", {"steps": 4})],
        n_samples=8,
        chunk_size=2,
        workers=2,
        progress=False,
    )
    jobs = bench.run(backend="processes").jobs
    slow = jobs.query("explainer == 'test.slow' and kind == 'explain'")
    # a pool of two forked workers: each is reused, and both were busy at once
    assert len(slow) == 4 and set(slow["status"]) == {"ok"}
    assert jobs["pid"].nunique() == 2
    assert set(jobs["worker_pid"]) == {os.getpid()}


def test_resume_keeps_failures_unless_asked_to_retry(tmp_path):
    from xai_bench.runner.store import Store

    store = tmp_path / "f.sqlite"
    bench = xb.Benchmark(
        ["synthetic.linear"], ["test.raises"], METRICS, n_samples=4, progress=False
    )
    assert len(bench.run(store=store, backend="local").failures) == 1
    with Store(store) as db:  # mark the stored failure, to see whether it is rerun
        db.conn.execute("UPDATE jobs SET seconds = -1 WHERE status = 'failed'")
    kept = bench.run(store=store, backend="local").jobs.query("status == 'failed'")
    assert kept["seconds"].tolist() == [-1]
    retried = bench.run(store=store, backend="local", retry_failed=True)
    again = retried.jobs.query("status == 'failed'")
    assert len(again) == 1 and again["seconds"].iloc[0] >= 0
    assert "boom" in retried.failures["reason"].iloc[0]


def test_ctrl_c_in_a_worker_stops_the_run_and_leaves_the_job_missing(tmp_path):
    from xai_bench.runner.store import Store

    store = tmp_path / "i.sqlite"
    bench = xb.Benchmark(
        ["synthetic.linear"], ["test.interrupted"], METRICS, n_samples=4, progress=False, workers=1
    )
    with pytest.raises(KeyboardInterrupt):
        bench.run(store=store, backend="processes")
    with Store(store) as db:
        statuses = [r[0] for r in db.conn.execute("SELECT status FROM jobs")]
    assert "crashed" not in statuses and "interrupted" not in statuses
