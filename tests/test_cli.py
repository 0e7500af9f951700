"""The xai-bench command: list, validate, run, report, export."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from xai_bench import cli, registry
from xai_bench.adapters.baselines import RandomExplainer

CONFIG = """
name: clitest
tasks: [synthetic.linear]
explainers: [oracle]
metrics:
  - id: deletion_auc
    params: {steps: 4}
n_samples: 4
backend: local
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return path


def test_list_is_fast_and_imports_no_heavy_library():
    code = (
        "import sys; from xai_bench.cli import main; main(['list', 'explainers']);"
        " heavy = [m for m in ('torch', 'shap', 'pandas', 'captum') if m in sys.modules];"
        " print('HEAVY', heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "shap.kernel" in out.split() and "random" in out.split()


def test_list_shows_modalities_requirements_and_missing_libraries(monkeypatch, capsys):
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(
        cli.importlib.util, "find_spec", lambda name, *a: None if name == "eli5" else real(name, *a)
    )
    assert cli.main(["list", "explainers"]) == 0
    out = capsys.readouterr().out
    valid, unavailable = out.split("\nunavailable explainers:\n")
    assert (
        "  eli5.permutation_importance: eli5 is not installed: pip install 'xai-bench[eli5]'"
    ) in unavailable.splitlines()
    assert "eli5" not in valid  # never among the usable ids
    rows = {line.split()[0]: line for line in valid.splitlines() if line.strip()}
    assert rows["shap.kernel"].split()[1:] == ["tabular"]
    assert rows["shap.tree"].split()[1:] == ["tabular", "(requires", "sklearn_model)"]
    assert rows["lime.text"].split()[1:] == ["text", "(requires", "classifier,", "tokenizer)"]
    assert cli.main(["list", "tasks"]) == 0
    assert "synthetic.linear" in capsys.readouterr().out.split()


def test_validate_ok_and_bad(config, tmp_path, capsys):
    assert cli.main(["validate", str(config)]) == 0
    assert "ok - 1 task(s), 2 explainer(s) incl. the random control" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent(CONFIG).replace("explainers: [oracle]", "explainers: [orcale]"))
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert (
        "explainers[0].id: unknown id 'orcale'. Did you mean 'oracle'? Valid explainer ids:" in err
    )
    # params are checked against the class signature
    assert cli.main(["validate", str(config), "--set", "metrics.0.params.stepz=3"]) == 2
    assert "stepz" in capsys.readouterr().err


def test_run_report_export(config, tmp_path, capsys, monkeypatch):
    from xai_bench.runner import stats

    monkeypatch.chdir(tmp_path)
    calls = []
    real = stats.summarize
    monkeypatch.setattr(stats, "summarize", lambda r, **kw: calls.append(1) or real(r, **kw))
    store, html = tmp_path / "s.sqlite", tmp_path / "out" / "r.html"
    code = cli.main(["run", str(config), "--store", str(store), "-o", str(html)])
    assert len(calls) == 1  # printed and reported from one computation
    out = capsys.readouterr().out
    assert "oracle" in out and "random" in out and f"results store: {store}" in out
    assert store.is_file()
    assert code == 0 and html.is_file()
    # rerun: everything is already stored, nothing recomputed
    assert cli.main(["run", str(config), "--store", str(store), "-o", str(html)]) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert cli.main(["report", str(store), "-o", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").is_file()
    for name in ("scores.csv", "scores.parquet"):
        assert cli.main(["export", str(store), "-o", str(tmp_path / name)]) == 0
    csv = pd.read_csv(tmp_path / "scores.csv")
    pq = pd.read_parquet(tmp_path / "scores.parquet")
    assert len(csv) == len(pq) == 2 * 4
    assert list(csv.columns[:6]) == ["task", "explainer", "metric", "sample", "seed", "score"]
    assert (
        cli.main(["export", str(store), "-o", str(tmp_path / "s.csv"), "--table", "summary"]) == 0
    )
    summary = pd.read_csv(tmp_path / "s.csv")
    assert {"mean_rank", "p_vs_random", "rel_random"} <= set(summary.columns)
    assert cli.main(["export", str(store), "-o", str(tmp_path / "x.xlsx")]) == 2


def test_run_overrides_and_run_id(config, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "o.sqlite"
    args = [
        "run",
        str(config),
        "--store",
        str(store),
        "-o",
        str(tmp_path / "o.html"),
        "--set",
        "seeds=[0, 1]",
        "--limit",
        "2",
        "--run-id",
        "mine",
    ]
    assert cli.main(args) == 0
    from xai_bench import Results

    res = Results.load(store, "mine")
    assert sorted(res.scores["seed"].unique()) == [0, 1]
    assert sorted(res.scores["sample"].unique()) == [0, 1]
    assert res.provenance["config"]["seeds"] == [0, 1]


def test_report_on_missing_store_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope.sqlite"), "-o", "x.html"]) == 2
    assert "no results store" in capsys.readouterr().err


class _Raises(RandomExplainer):
    name = "test.cli_raises"

    def _attribute(self, task, X, targets, scorer):
        raise RuntimeError("boom from the test explainer")


@pytest.fixture
def raising():
    registry.register_explainer(_Raises)
    yield
    registry.unregister_explainer("test.cli_raises")


def test_run_exit_status_says_whether_every_job_succeeded(config, tmp_path, capsys, raising):
    def run(*args):
        return cli.main(
            [
                "run",
                str(config),
                "--store",
                str(tmp_path / "s.sqlite"),
                "-o",
                str(tmp_path / "r.html"),
                "--no-resume",
                *args,
            ]
        )

    assert run() == 0
    assert run("--explainers", "test.cli_raises") == 1  # random scored, the other failed
    err = capsys.readouterr().err
    assert "xai-bench: 1 job(s) did not finish; exit status 1." in err
    assert (tmp_path / "r.html").is_file()  # the report still shows what there is
    # nothing scored: precision_at_k needs ground truth, which breast_cancer.gbt lacks
    assert run("--set", "tasks=[breast_cancer.gbt]", "--set", "metrics=[precision_at_k]") == 1
    assert "xai-bench: nothing was scored; exit status 1." in capsys.readouterr().err


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("explainers.0.params.n_samples", "'two hundred'"),
        ("metrics.0.params.steps", "-3"),
        ("metrics.0.params.baseline", "purple"),
        ("metrics.0.params.space", "logodds"),
    ],
)
def test_validate_reports_parameter_values_run_would_refuse(tmp_path, capsys, where, value):
    import yaml

    field, index, _, param = where.split(".")
    ident = "shap.kernel" if field == "explainers" else "deletion_auc"
    get = registry.get_explainer if field == "explainers" else registry.get_metric
    try:  # validate builds each component; the constructors' checks are issue 10's
        get(ident, **{param: yaml.safe_load(value)})
    except Exception:
        pass
    else:
        pytest.skip(f"{ident}'s constructor does not check {param} yet")
    path = tmp_path / "ok.yaml"
    path.write_text(textwrap.dedent(CONFIG).replace("[oracle]", "[{id: shap.kernel}]"))
    assert cli.main(["validate", str(path), "--set", f"{where}={value}"]) == 2
    err = capsys.readouterr().err
    assert f"{field}[{index}].params: " in err and param in err
    assert f"(from --set {where}={value})" in err


def test_resuming_a_finished_run_keeps_an_up_to_date_report(
    config, tmp_path, capsys, monkeypatch, raising
):
    import sqlite3

    from xai_bench.runner import stats

    calls = []
    real = stats.summarize
    monkeypatch.setattr(stats, "summarize", lambda r, **kw: calls.append(1) or real(r, **kw))
    store, html = tmp_path / "s.sqlite", tmp_path / "r.html"
    args = ["run", str(config), "--store", str(store), "-o", str(html)]
    args += ["--explainers", "oracle,test.cli_raises"]
    assert cli.main(args) == 1  # one explainer fails: the fast path must keep this status
    first = html.stat()
    capsys.readouterr()
    assert cli.main(args) == 1
    out = capsys.readouterr().out
    assert f"report up to date (no new results since it was written): {html}" in out
    assert (html.stat().st_ino, html.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert len(calls) == 1  # no summary, no render
    # an interrupted run: one job missing; resuming computes it, so the report is rendered
    with sqlite3.connect(store) as conn:
        gone = conn.execute("DELETE FROM jobs WHERE kind='score' AND explainer='oracle'")
        assert gone.rowcount == 1
    conn.close()
    assert cli.main(args) == 1
    assert "report up to date" not in capsys.readouterr().out
    assert html.stat().st_mtime_ns > first.st_mtime_ns and len(calls) == 2
    # a report of another run at that path is never taken as up to date
    other = html.read_text().replace("<dt>run_id</dt><dd>clitest-", "<dt>run_id</dt><dd>x-")
    html.write_text(other)
    assert cli.main(args) == 1 and len(calls) == 3
