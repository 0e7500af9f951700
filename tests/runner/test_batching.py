"""Score jobs run in batches (one worker call each): the same numbers, each job's own status."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import xai_bench as xb
from xai_bench.metrics.base import MetricInfo, MetricResult
from xai_bench.runner import benchmark

METRICS = [
    ("deletion_auc", {"steps": 4}),
    "insertion_auc",
    "comprehensiveness",
    "infidelity",  # random perturbations, seeded per sample
    "faithfulness_correlation",
]


def grid(metrics=METRICS, **kw):
    return xb.Benchmark(
        ["synthetic.linear"],
        ["random", "oracle"],
        metrics,
        n_samples=24,
        chunk_size=3,
        seed=[0, 1],
        progress=False,
        **kw,
    )


@pytest.fixture
def count_batches(monkeypatch):
    made: list[int] = []

    class Counted(benchmark.JobBatch):
        def __init__(self, jobs) -> None:
            super().__init__(jobs)
            made.append(len(jobs))

    monkeypatch.setattr(benchmark, "JobBatch", Counted)
    return made


def test_batched_scores_are_bitwise_those_of_single_jobs(tmp_path, monkeypatch, count_batches):
    batched = grid(workers=2).run(tmp_path / "batched.sqlite", backend="processes")
    assert count_batches and max(count_batches) > 1  # the run did batch its score jobs
    assert sum(count_batches) == 2 * 2 * 8 * len(METRICS)  # explainers, seeds, chunks
    monkeypatch.setattr(benchmark, "SCORE_BATCH", 1)
    count_batches.clear()
    single = grid(workers=2).run(tmp_path / "single.sqlite", backend="processes")
    assert not count_batches

    assert len(batched.scores) == 2 * 2 * 24 * len(METRICS)
    pd.testing.assert_frame_equal(batched.scores, single.scores, check_exact=True)
    pd.testing.assert_frame_equal(batched.curves, single.curves, check_exact=True)
    a, b = batched.scores["score"].to_numpy(), single.scores["score"].to_numpy()
    assert a.tobytes() == b.tobytes()  # bitwise, NaNs included
    timing = [c for c in batched.summary().columns if "seconds" in c]  # wall clock differs
    pd.testing.assert_frame_equal(
        batched.summary().drop(columns=timing),
        single.summary().drop(columns=timing),
        check_exact=True,
    )
    assert set(batched.jobs["status"]) == {"ok"}


class SlowTopFeature:
    """Attribution of feature 0's rank, after a pause (a slow but well-behaved metric)."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="test.slow_metric", higher_is_better=True, range=(0, 1)
    )

    def __init__(self, seconds: float = 0.6) -> None:
        self.seconds = seconds

    def get_params(self):
        return {"seconds": self.seconds}

    def score(self, task, X, explanation):
        time.sleep(self.seconds)
        scores = (explanation.flat().argmax(axis=1) == 0).astype(float)
        return MetricResult("test.slow_metric", scores, params=self.get_params())


def test_a_batch_past_the_timeout_reruns_its_jobs_alone(tmp_path, count_batches):
    # 16 score jobs, 1 worker: batches of 4, two slow jobs each (1.2 s > the 1 s timeout),
    # while every job alone (0.6 s) fits: all are recorded ok, none as timeout
    bench = xb.Benchmark(
        ["synthetic.linear"],
        ["random"],
        [("deletion_auc", {"steps": 4}), SlowTopFeature(0.6)],
        n_samples=16,
        chunk_size=2,
        workers=1,
        timeout=1.0,
        progress=False,
    )
    res = bench.run(tmp_path / "t.sqlite", backend="processes")
    assert count_batches == [4, 4, 4, 4]
    score_jobs = res.jobs[res.jobs["kind"] == "score"]
    assert len(score_jobs) == 16 and set(score_jobs["status"]) == {"ok"}
    slow = res.scores[res.scores["metric"] == "test.slow_metric"]
    assert len(slow) == 16 and np.isin(slow["score"], [0.0, 1.0]).all()
