"""Job keys are unique whatever the labels hold, and older stores' keys are upgraded."""

from __future__ import annotations

import json

import pytest

import xai_bench as xb
from xai_bench.runner.jobs import explain_key, score_key
from xai_bench.runner.store import Store

pytestmark = pytest.mark.usefixtures("plugins")


def test_keys_of_labels_with_the_old_separator_differ():
    assert score_key("t", "sal|deletion_auc", "x", 0, 0) != score_key(
        "t", "sal", "deletion_auc|x", 0, 0
    )
    assert json.loads(score_key("t|1", "e", "m", 2, 3)) == ["score", "t|1", "e", "m", 2, 3]
    assert json.loads(explain_key("t", "e", -1, 0)) == ["explain", "t", "e", -1, 0]


def colliding(explainers=("sal", "sal|deletion_auc"), metrics=("x", "deletion_auc|x")):
    return xb.Benchmark(
        ["synthetic.linear"],
        [{"id": "test.slow", "label": e, "params": {"seconds": 0}} for e in explainers],
        [{"id": "test.top_mass", "label": m} for m in metrics],
        n_samples=4,
        chunk_size=2,
        progress=False,
    )


def test_colliding_labels_keep_every_job(tmp_path):
    res = colliding().run(tmp_path / "s.sqlite", backend="local")
    # 3 explainers (with random) x 2 chunks explain jobs, x 2 metrics score jobs
    assert len(res.jobs) == 3 * 2 + 3 * 2 * 2
    pairs = set(zip(res.jobs["explainer"], res.jobs["metric"], strict=True))
    assert {("sal|deletion_auc", "x"), ("sal", "deletion_auc|x")} <= pairs


def test_a_store_of_an_earlier_release_resumes_without_recomputing(tmp_path):
    path = tmp_path / "old.sqlite"
    plain = lambda: colliding(("sal", "sal2"), ("x", "y"))  # noqa: E731
    first = plain().run(path, backend="local")
    with Store(path) as db:  # the key format of earlier releases: fields joined by "|"
        for table, cols in (
            ("jobs", "kind, task, explainer, metric, chunk, seed"),
            ("explanations", "'explain', task, explainer, NULL, chunk, seed"),
            ("metric_results", "'score', task, explainer, metric, chunk, seed"),
        ):
            rows = db.conn.execute(f"SELECT rowid, {cols} FROM {table}").fetchall()
            for rowid, *fields in rows:
                old = "|".join(str(f) for f in fields if f is not None)
                db.conn.execute(f"UPDATE {table} SET key=? WHERE rowid=?", (old, rowid))
        db.conn.execute("UPDATE jobs SET seconds = -1")
        db.conn.execute("ALTER TABLE jobs DROP COLUMN startup")  # nor did they record it
    again = plain().run(path, backend="local")
    assert len(again.jobs) == len(first.jobs)
    assert (again.jobs["seconds"] == -1).all()  # nothing was recomputed
    assert set(again.jobs["key"]) == set(first.jobs["key"])
    with Store(path) as db:
        n = db.conn.execute("SELECT COUNT(*) FROM explanations").fetchone()[0]
    assert n == 3 * 2
