"""memory_limit: sizes parsed and checked, and a runaway job capped in its forked worker."""

from __future__ import annotations

import textwrap

import pytest

import xai_bench as xb
from xai_bench import cli
from xai_bench.runner.config import ConfigError, load_config
from xai_bench.runner.memory import format_size, parse_size

GIB = 2**30


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [
        ("512MiB", 512 * 2**20),
        ("2GB", 2 * 10**9),
        ("1.5 GiB", 3 * GIB // 2),
        ("4gib", 4 * GIB),
        (2147483648, 2 * GIB),
        ("2147483648", 2 * GIB),
        (None, None),
    ],
)
def test_sizes_parse(text, nbytes):
    assert parse_size(text) == nbytes


@pytest.mark.parametrize("bad", ["lots", "2 parsecs", "-1GB", "1e9", "", True, 100, "1KiB", [1]])
def test_garbage_sizes_say_found_expected_fix(bad):
    with pytest.raises(xb.InvalidInputError) as info:
        parse_size(bad)
    err = info.value
    assert repr(bad) in err.found and "512MiB" in err.expected and "2GiB" in err.fix


def test_format_size():
    assert [format_size(n) for n in (GIB, 3 * GIB // 2, 512 * 2**20)] == [
        "1 GiB",
        "1.5 GiB",
        "512 MiB",
    ]


CONFIG = """
tasks: [synthetic.linear]
explainers: [oracle]
metrics: [deletion_auc]
"""


def test_config_memory_limit_path_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG) + "memory_limit: 2GiB\n")
    cfg = load_config(path)
    assert cfg.memory_limit == 2 * GIB and cfg.benchmark().memory_limit == 2 * GIB
    assert load_config(path, sets=["memory_limit=512MiB"]).memory_limit == 512 * 2**20
    with pytest.raises(ConfigError) as info:
        load_config(path, sets=["memory_limit=heaps"])
    (line,) = info.value.errors
    assert line.startswith("memory_limit: ") and "'heaps'" in line and "512MiB" in line


def test_cli_memory_limit(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG) + "n_samples: 4\nmemory_limit: 4GiB\n")
    assert cli.main(["run", str(path), "--memory-limit", "2 parsecs"]) == 2
    err = capsys.readouterr().err
    assert "--memory-limit '2 parsecs'" in err and "2GiB" in err
    store = tmp_path / "m.sqlite"
    args = ["run", str(path), "--store", str(store), "-o", str(tmp_path / "m.html")]
    assert cli.main([*args, "--memory-limit", "1GiB"]) == 0  # overrides the config's
    assert xb.Results.load(store).provenance["memory_limit"] == GIB


@pytest.mark.usefixtures("plugins")
def test_a_runaway_job_is_capped_and_the_next_job_runs():
    bench = xb.Benchmark(
        ["synthetic.linear"],
        [("test.hog", {"gib": 3.0}), "test.killed", "oracle"],
        [("deletion_auc", {"steps": 4})],
        n_samples=4,
        chunk_size=4,
        workers=1,
        progress=False,
        memory_limit="1GiB",
    )
    res = bench.run(backend="processes")
    jobs = res.jobs.set_index(["kind", "explainer"])
    hog = jobs.loc[("explain", "test.hog")]
    assert hog["status"] == "failed"
    assert "MemoryError" in hog["reason"] and "3.00 GiB" in hog["reason"]
    assert "memory_limit=1 GiB" in hog["reason"] and "--memory-limit" in hog["reason"]
    assert hog["seconds"] < 5  # refused at once, not swapped in
    killed = jobs.loc[("explain", "test.killed")]
    assert killed["status"] == "crashed" and "memory_limit=1 GiB" in killed["reason"]
    # the worker that refused 3 GiB runs the next job; every other job is fine
    assert jobs.loc[("explain", "oracle"), "status"] == "ok"
    assert jobs.loc[("explain", "test.killed"), "pid"] == hog["pid"]
    assert set(res.scores["explainer"]) == {"oracle", "random"} and len(res.scores) == 8
    assert res.provenance["memory_limit"] == GIB
