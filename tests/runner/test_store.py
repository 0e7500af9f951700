"""The SQLite store: arrays round-trip, concurrent writers, disk full, bad files."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from types import SimpleNamespace

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import StoreError
from xai_bench.explanation import Explanation
from xai_bench.metrics.base import MetricResult
from xai_bench.runner.store import Store, from_blob, to_blob


def job(i, kind="score"):
    return SimpleNamespace(
        key=f"{kind}|t|e|m|{i}|0",
        kind=kind,
        task="t",
        explainer="e",
        metric="m" if kind == "score" else None,
        chunk=i,
        seed=0,
        samples=np.arange(2 * i, 2 * i + 2),
    )


def outcome(i):
    return {
        "status": "ok",
        "result": MetricResult(
            "m", np.array([i, i + 0.5]), curves=np.ones((2, 3)), x=np.linspace(0, 1, 3)
        ),
        "seconds": 0.1,
    }


def test_arrays_round_trip_exactly_without_pickle():
    for arr in [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([True, False]),
        np.array([[1, 2]], dtype=np.int64),
    ]:
        back = from_blob(to_blob(arr))
        assert back.dtype == arr.dtype
        np.testing.assert_array_equal(back, arr)
    assert from_blob(to_blob(None)) is None
    with pytest.raises(ValueError):  # object arrays would need pickle: refused
        to_blob(np.array([{"a": 1}], dtype=object))


def test_explanation_payload_round_trips(tmp_path):
    db = Store(tmp_path / "s.sqlite")
    expl = Explanation(
        np.random.default_rng(0).standard_normal((2, 4)),
        np.array([1, 0]),
        "e",
        params={"n": 3},
        seconds=0.5,
        meta={"model_calls": 7},
        mask=np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool),
    )
    db.record("r", job(0, "explain"), {"status": "ok", "explanation": expl, "seconds": 0.5})
    from xai_bench.runner.load import explanation_from_row

    row = next(db.rows("SELECT * FROM explanations"))
    back = explanation_from_row(row)
    np.testing.assert_array_equal(back.attributions, expl.attributions)
    np.testing.assert_array_equal(back.mask, expl.mask)
    assert back.params == {"n": 3} and back.meta["model_calls"] == 7


def _writer(path, start):
    db = Store(path)
    for i in range(start, start + 50):
        db.record("r", job(i), outcome(i))
    db.close()


def test_four_writer_processes_lose_no_rows(tmp_path):
    path = tmp_path / "w.sqlite"
    Store(path).close()
    procs = [mp.get_context("fork").Process(target=_writer, args=(path, 50 * k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as db:
        assert len(db.done_keys("r")) == 200
        assert db.conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 400
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_disk_full_is_a_clear_error_and_the_store_stays_readable(tmp_path):
    path = tmp_path / "full.sqlite"
    db = Store(path)
    db.record("r", job(0), outcome(0))
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages}")  # the "disk" is now full
    big = {"status": "ok", "result": MetricResult("m", np.zeros(2), curves=np.zeros((2, 50_000)))}
    with pytest.raises(StoreError) as info:
        db.record("r", job(1), big)
    msg = str(info.value)
    assert "is full" in msg and "--resume" in msg and "Free disk space" in msg
    # the failed job left nothing behind; the earlier one is intact and readable
    assert db.done_keys("r") == {job(0).key}
    db.close()
    with Store(path) as again:
        assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        again.record("r", job(1), outcome(1))  # space is back: resume works
        assert len(again.done_keys("r")) == 2


def test_unreadable_store_is_a_store_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the results store"):
        Store(bad)
    with pytest.raises(StoreError, match="no results store"):
        xb.Results.load(tmp_path / "missing.sqlite")


def test_results_load_reads_back_the_latest_run(tmp_path):
    path = tmp_path / "r.sqlite"
    bench = xb.Benchmark(
        ["synthetic.linear"],
        ["oracle"],
        [("deletion_auc", {"steps": 4})],
        n_samples=4,
        progress=False,
    )
    res = bench.run(store=path, backend="local")
    back = xb.Results.load(path)
    assert back.provenance["run_id"] == res.provenance["run_id"]
    np.testing.assert_array_equal(back.scores["score"], res.scores["score"])
    assert back.curves.shape == res.curves.shape == (2 * 4 * 5, 8)
    # flags stay booleans, per-sample extras (f(x), f(baseline)) come back as numbers
    assert back.scores["degenerate"].dtype == bool
    curve = back.curves.query("explainer == 'oracle' and sample == 0")["y"].to_numpy()
    row = back.scores.query("explainer == 'oracle' and sample == 0").iloc[0]
    assert row["f_x"] == pytest.approx(curve[0]) and row["f_baseline"] == pytest.approx(curve[-1])
    info = back.tasks["synthetic.linear"]
    assert info["X"].shape == (4, 8) and info["ground_truth"].shape == (4, 8)
    assert info["feature_names"][0] == "x0" and info["modality"] == "tabular"
    assert back.metric_info["deletion_auc"]["higher_is_better"] is False
    assert back.metric_info["deletion_auc"]["params"]["steps"] == 4
    prov = back.provenance
    assert prov["versions"]["numpy"] == np.__version__ and prov["seeds"] == [0]
    assert prov["config"]["explainers"][0]["id"] == "oracle"
    with pytest.raises(StoreError, match="runs stored"):
        xb.Results.load(path, "nope")
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
