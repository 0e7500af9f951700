"""A report is never written over the results store or over a file that is not a report."""

from __future__ import annotations

import textwrap

import pytest

from xai_bench import cli
from xai_bench.errors import InvalidInputError
from xai_bench.runner.results import Results
from xai_bench.runner.store import Store, check_report_path

CONFIG = """
name: clobber
tasks: [synthetic.linear]
explainers: [oracle]
metrics:
  - id: deletion_auc
    params: {steps: 4}
n_samples: 4
backend: local
store: runs/x.sqlite
output: OUTPUT
"""


def config(tmp_path, output):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("OUTPUT", output))
    return path


def test_check_report_path(tmp_path):
    store = tmp_path / "runs" / "x.sqlite"
    Store(store).close()
    for bad in (store, tmp_path / "runs" / ".." / "runs" / "x.sqlite", tmp_path / "runs"):
        with pytest.raises(InvalidInputError):
            check_report_path(bad, store)
    with pytest.raises(InvalidInputError, match="an SQLite database"):
        check_report_path(store)  # another run's store is not a report either
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(InvalidInputError, match="not HTML"):
        check_report_path(notes, store)
    with pytest.raises(InvalidInputError, match="is the results store"):
        check_report_path(tmp_path / "new.sqlite", tmp_path / "new.sqlite")  # not made yet
    old = tmp_path / "old.html"
    old.write_text("<!DOCTYPE html>\n<html>an older report</html>")
    check_report_path(old, store)  # replacing a report is fine
    check_report_path(tmp_path / "reports" / "new.html", store)


def test_run_and_validate_refuse_the_store_as_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = config(tmp_path, "runs/x.sqlite")
    assert cli.main(["validate", str(cfg)]) == 2
    assert "is the results store" in capsys.readouterr().err
    assert cli.main(["run", str(cfg)]) == 2
    assert not (tmp_path / "runs" / "x.sqlite").exists()  # refused before the run


def test_report_refuses_to_overwrite_its_store(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", str(config(tmp_path, "reports/r.html"))]) == 0
    store = tmp_path / "runs" / "x.sqlite"
    before = Results.load(store).scores
    assert cli.main(["report", str(store), "-o", str(store)]) == 2
    err = capsys.readouterr().err
    assert "is the results store" in err and "-o reports/NAME.html" in err
    assert store.read_bytes().startswith(b"SQLite format 3")  # not overwritten by HTML
    after = Results.load(store).scores
    assert len(after) == 2 * 4 and after.equals(before)  # oracle and random, 4 samples
    assert cli.main(["report", str(store), "-o", "reports/r.html"]) == 0  # a report: replaced
