"""A report renders from every store the runner can leave behind, and says what is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.reports import samples as S
from xai_bench.reports.tables import failures

HERE = Path(__file__).parent
pytestmark = pytest.mark.usefixtures("plugins")
METRICS = [("deletion_auc", {"steps": 4}), "test.top_mass"]


def bench(explainers, n_samples=16, **kw):
    return xb.Benchmark(
        ["synthetic.linear"],
        explainers,
        METRICS,
        n_samples=n_samples,
        chunk_size=4,
        progress=False,
        **kw,
    )


def test_one_failed_chunk_of_four_renders_and_is_listed(tmp_path):
    res = bench(["test.flaky", "test.slow"]).run(tmp_path / "s.sqlite", backend="local")
    failed = res.failures[res.failures["status"] == "failed"]
    assert list(failed["explainer"]) == ["test.flaky"] and list(failed["chunk"]) == [2]
    out = res.to_html(tmp_path / "r.html")
    html = out.read_text()
    assert "boom on the batch with row 8" in html
    # the per-sample views and agreement use the 12 samples every explainer explained
    seed, expls = S.explanations_for(res, "synthetic.linear")
    assert set(expls) == {"test.flaky", "test.slow", "random"}
    for x in expls.values():
        assert S.sample_ids(x).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]
    # row r of every explanation is sample ids[r]: the two |x| explainers agree per row
    np.testing.assert_allclose(expls["test.flaky"].attributions, expls["test.slow"].attributions)
    X = np.asarray(res.tasks["synthetic.linear"]["X"])
    np.testing.assert_allclose(
        expls["test.flaky"].attributions[8], np.abs(X[12]) + np.arange(X.shape[1]) * 1e-3
    )


def test_skipped_pair_and_disjoint_samples_render(tmp_path):
    # flaky fails on chunk 0, a second flaky on chunks 1: no sample is explained by all
    res = bench(
        [("test.flaky", {"bad_row": 0}), ("test.flaky", {"bad_row": 5}), "test.raises"],
        n_samples=8,
    ).run(tmp_path / "s.sqlite", backend="local")
    seed, expls = S.explanations_for(res, "synthetic.linear")
    ids = {S.sample_ids(x).tolist().__str__() for x in expls.values()}
    assert len(ids) == 1 and len(expls) == 2  # random and one flaky: the other is left out
    html = res.to_html(tmp_path / "r.html").read_text()
    assert "boom from the test explainer" in html


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {here!r})
    import runner_plugins
    runner_plugins.register_all()
    from test_partial_stores import bench
    bench([("test.slow", {{"seconds": 0.3}})], n_samples=32, workers=1).run(
        store={store!r}, backend="processes")
""")


def test_killed_run_renders_and_lists_missing_jobs(tmp_path):
    import sqlite3

    store = tmp_path / "killed.sqlite"
    code = SCRIPT.format(here=str(HERE), store=str(store))
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)

    def n_jobs() -> int:
        try:
            with sqlite3.connect(store, timeout=5) as con:
                return con.execute("SELECT COUNT(*) FROM jobs WHERE kind='explain'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    deadline = time.monotonic() + 90
    while n_jobs() < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    res = xb.Results.load(store)
    done = int((res.jobs["explainer"] == "test.slow").sum())
    assert 1 <= done < 8, "the kill must land during the explain stage"
    rows = [r for r in failures(res) if r["status"] == "missing"]
    by = {(r["explainer"], r["metric"]): r["reason"] for r in rows}
    assert by[("test.slow", "")].startswith(f"{8 - done} of 8 explain jobs never ran")
    assert "--resume" in by[("test.slow", "")]
    html = res.to_html(tmp_path / "r.html").read_text()
    assert "never ran" in html
