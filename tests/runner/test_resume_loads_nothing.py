"""Resuming a completed run loads no task and decodes no explanation."""

from __future__ import annotations

import pandas as pd

import xai_bench as xb
from xai_bench.runner import benchmark, jobs


def grid():
    return xb.Benchmark(
        ["synthetic.linear", "breast_cancer.gbt"],
        ["random", "shap.tree", "captum.saliency"],  # shap.tree and captum skip a task each
        [("deletion_auc", {"steps": 4}), "model_randomisation"],  # the latter skips the gbt
        n_samples=8,
        chunk_size=4,
        progress=False,
        workers=1,
    )


def test_resume_of_a_finished_run_loads_no_task(tmp_path, monkeypatch):
    store = tmp_path / "r.sqlite"
    first = grid().run(store, backend="processes")
    assert {"ok", "skipped"} <= set(first.jobs["status"])

    loaded, decoded = [], []
    monkeypatch.setattr(jobs, "_TASKS", {})  # a fresh process: nothing loaded yet
    monkeypatch.setattr(benchmark, "_TASKS", jobs._TASKS)
    real_load, real_decode = jobs.resolve_task, benchmark.explanation_from_row
    monkeypatch.setattr(benchmark, "resolve_task", lambda ref: loaded.append(ref) or real_load(ref))
    monkeypatch.setattr(
        benchmark, "explanation_from_row", lambda row: decoded.append(1) or real_decode(row)
    )
    again = grid().run(store, backend="processes")
    assert loaded == [] and decoded == []
    pd.testing.assert_frame_equal(again.scores, first.scores, check_exact=True)
    pd.testing.assert_frame_equal(again.jobs, first.jobs)


def test_resume_loads_only_the_task_with_missing_jobs(tmp_path, monkeypatch):
    store = tmp_path / "r.sqlite"
    first = grid().run(store, backend="processes")
    with xb.runner.store.Store(store) as db:  # lose one score job of the gbt task
        db.conn.execute(
            "DELETE FROM jobs WHERE kind='score' AND task='breast_cancer.gbt'"
            " AND metric='deletion_auc' AND explainer='shap.tree' AND chunk=1"
        )
    loaded: list = []
    monkeypatch.setattr(jobs, "_TASKS", {})
    monkeypatch.setattr(benchmark, "_TASKS", jobs._TASKS)
    real_load = jobs.resolve_task
    monkeypatch.setattr(benchmark, "resolve_task", lambda ref: loaded.append(ref) or real_load(ref))
    again = grid().run(store, backend="processes")
    assert loaded == []  # the score job's task is loaded by the job itself, in its worker
    pd.testing.assert_frame_equal(again.scores, first.scores, check_exact=True)
