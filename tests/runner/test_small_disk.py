"""The WAL stays bounded, so a run whose finished store fits on a small disk completes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from xai_bench.metrics.base import MetricResult
from xai_bench.runner.jobs import score_key
from xai_bench.runner.store import Store

HERE = Path(__file__).parent


def test_wal_stays_bounded_over_many_jobs(tmp_path):
    path = tmp_path / "s.sqlite"
    db = Store(path)
    biggest = 0
    for i in range(400):  # ~4 MiB of page writes: past SQLite's default 1000-page WAL
        job = type("J", (), {})()
        job.key, job.kind, job.task, job.explainer = (
            score_key("t", "e", "m", i, 0),
            "score",
            "t",
            "e",
        )
        job.metric, job.chunk, job.seed, job.samples = "m", i, 0, np.arange(4 * i, 4 * i + 4)
        result = MetricResult("m", np.full(4, i / 400), curves=np.full((4, 16), i / 400.0))
        db.record("r", job, {"status": "ok", "result": result})
        biggest = max(biggest, Path(f"{path}-wal").stat().st_size)
    assert biggest <= 2**20 + 64 * 1024  # a checkpoint every ~1 MiB, plus one job
    assert len(db.done_keys("r")) == 400
    db.close()


SCRIPT = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {here!r})
    import runner_plugins
    runner_plugins.register_all()
    import xai_bench as xb
    b = xb.Benchmark(["synthetic.linear"], [("test.slow", {{"seconds": 0}})],
                     [("deletion_auc", {{"steps": 16}}), "test.top_mass"],
                     n_samples=100, chunk_size=2, seed=[0, 1], progress=False)
    res = b.run({store!r}, backend="local")
    print(json.dumps({{"jobs": len(res.jobs), "status": sorted(set(res.jobs["status"])),
                      "store": os.path.getsize({store!r})}}))
""")


@pytest.mark.usefixtures("plugins")
def test_run_completes_on_a_3_mib_filesystem(tmp_path):
    """600 jobs, a 1 MiB store, ~4 MiB of WAL traffic: it used to stop at 152 jobs."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a private tmpfs")
    code = SCRIPT.format(here=str(HERE), store=str(disk / "s.sqlite"))
    probe = subprocess.run(
        ["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
        capture_output=True,
    )
    if probe.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    proc = subprocess.run(
        [
            "unshare",
            "-rm",
            "sh",
            "-c",
            'mount -t tmpfs -o size=3m tmpfs "$1" && exec "$2" -c "$3"',
            "sh",
            str(disk),
            sys.executable,
            code,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"jobs": 600, "status": ["ok"], "store": out["store"]}
    assert 512 * 1024 < out["store"] < 3 * 2**20  # the finished store alone fits
