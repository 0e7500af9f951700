"""kill -9 mid-run, then resume: same final scores, no duplicates, an intact store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.runner.store import Store

HERE = Path(__file__).parent
SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    import runner_plugins
    runner_plugins.register_all()
    from test_resume import bench
    bench().run(store={store!r}, backend="processes")
""")


pytestmark = pytest.mark.usefixtures("plugins")  # the subprocess registers its own


def bench(seconds=0.15):
    return xb.Benchmark(
        ["synthetic.linear"],
        [("test.slow", {"seconds": seconds})],
        [("deletion_auc", {"steps": 4}), "test.top_mass"],
        n_samples=24,
        chunk_size=2,
        seed=[0, 1],
        workers=1,
        progress=False,
    )


def n_jobs(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    store = tmp_path / "killed.sqlite"
    code = SCRIPT.format(here=str(HERE), store=str(store))
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 60
    while n_jobs(store) < 10 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = n_jobs(store)
    expected_jobs = 2 * 12 * 2 + 2 * 12 * 2 * 2  # explain (slow+random) + 2 metrics
    assert 10 <= partial < expected_jobs, "the kill must land mid-run"

    with Store(store) as db:
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    resumed = bench().run(store=store, backend="processes")
    fresh = bench().run(store=tmp_path / "fresh.sqlite", backend="processes")

    assert len(resumed.jobs) == expected_jobs
    assert set(resumed.jobs["status"]) == {"ok"}
    keys = ["task", "explainer", "metric", "seed", "sample"]
    a = resumed.scores.sort_values(keys).reset_index(drop=True)
    b = fresh.scores.sort_values(keys).reset_index(drop=True)
    assert not a.duplicated(keys).any()
    assert len(a) == 2 * 24 * 2 * 2
    np.testing.assert_array_equal(a[keys].to_numpy(), b[keys].to_numpy())
    np.testing.assert_array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    with Store(store) as db:
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dupes = db.conn.execute(
            "SELECT COUNT(*) FROM (SELECT key FROM jobs GROUP BY run_id, key HAVING COUNT(*) > 1)"
        ).fetchone()[0]
        assert dupes == 0


def test_resume_computes_only_missing_jobs(tmp_path):
    store = tmp_path / "s.sqlite"
    first = bench(0.0).run(store=store, backend="local")
    keys_before = set(first.jobs["key"])
    with Store(store) as db:  # forget two finished jobs, as if the run died before them
        db.conn.execute("DELETE FROM jobs WHERE key IN (SELECT key FROM jobs ORDER BY key LIMIT 2)")
        db.conn.execute("UPDATE jobs SET seconds = -1")  # marks the rows that must be kept
    again = bench(0.0).run(store=store, backend="local")
    assert set(again.jobs["key"]) == keys_before
    assert (again.jobs["seconds"] == -1).sum() == len(keys_before) - 2
    no_resume = bench(0.0).run(store=store, backend="local", resume=False)
    assert (no_resume.jobs["seconds"] >= 0).all()
