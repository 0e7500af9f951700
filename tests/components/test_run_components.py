"""Component attribution through the runner, the store, the statistics and the CLI."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

import xai_bench as xb  # noqa: E402
from xai_bench import cli  # noqa: E402
from xai_bench.errors import IncompatibleError  # noqa: E402
from xai_bench.runner import stats  # noqa: E402
from xai_bench.runner.store import Store  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "components.yaml"
EDGE = {"granularity": "edge"}
UNIFORM = {"grid": "uniform", "steps": 6}
EXPLAINERS = [
    "components.activation_patching",
    "components.atp",
    "components.activation_norm",
    "components.random",
    {"id": "components.activation_patching", "label": "patching.edge", "params": EDGE},
    "components.eap",
    "random",  # the input-level control: skips the component task
]
METRICS = [
    ("cpr", UNIFORM),
    ("cmd", UNIFORM),
    ("necessity", UNIFORM),
    "precision_at_truth",
    "auroc_truth",
    "patching_agreement",
    ("deletion_auc", {"steps": 4}),  # input-level: skips the component task
]


def grid() -> xb.Benchmark:
    return xb.Benchmark(
        ["components.first_token", "synthetic.linear"],
        EXPLAINERS,
        METRICS,
        n_samples=8,
        chunk_size=4,
        progress=False,
        workers=1,
    )


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    store = tmp_path_factory.mktemp("components") / "run.sqlite"
    return store, grid().run(store, backend="local")


def _mean(results, explainer, metric, task="components.first_token"):
    s = results.scores
    sub = s[(s.task == task) & (s.explainer == explainer) & (s.metric == metric)]
    return float(sub["score"].mean())  # chunk-level metrics: NaN rows skipped


def test_registry_lists_component_explainers_metrics_and_tasks():
    assert "components.first_token" in xb.list_tasks()
    assert set(xb.list_metrics(family="components")) == {
        "cpr",
        "cmd",
        "necessity",
        "precision_at_truth",
        "auroc_truth",
        "patching_agreement",
    }
    for name in (
        "activation_patching",
        "atp",
        "eap",
        "ig_activations",
        "activation_norm",
        "random",
    ):
        cls = xb.registry.explainer_class(f"components.{name}")
        assert cls.name == f"components.{name}"
        assert {m.value for m in cls.capabilities.modalities} == {"components"}
    # the signature is the implementation's: the runner passes the seed, configs are checked
    assert "seed" in inspect.signature(xb.registry.explainer_class("components.random")).parameters


def test_listing_explainers_and_metrics_imports_no_torch():
    code = (
        "import sys; from xai_bench.cli import main; main(['list', 'explainers']);"
        " main(['list', 'metrics']); print('TORCH', 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "TORCH False" in out
    assert any(
        line.split() == ["components.eap", "components"] for line in out.splitlines()
    )  # the modality column
    assert any(line.split() == ["cpr", "components", "components"] for line in out.splitlines())


def test_every_component_explainer_runs_on_rows_of_x(random_task):
    planted = xb.load_task("components.first_token")
    for name in [e for e in xb.list_explainers() if e.startswith("components.")]:
        # probes read one MLP layer's neurons: the planted model is attention-only
        task = random_task if name.startswith("components.probe_") else planted
        expl = xb.get_explainer(name).explain(task, task.X[[1, 2]])
        assert expl.explainer == name  # the declared id is the implementation's name
        spaces = {"node": len(task.space), "edge": 193, "neuron": task.model.d_mlp}
        assert expl.attributions.shape == (2, spaces[expl.meta["space"]]), name


def test_explain_with_x_explains_those_examples():
    task = xb.load_task("components.first_token")
    explainer = xb.get_explainer("components.activation_patching")
    whole = explainer.explain(task)
    part = explainer.explain(task, task.X[[3, 5]])
    assert part.attributions.shape == (2, len(task.space))
    np.testing.assert_allclose(part.attributions, whole.attributions[[3, 5]], atol=1e-6)


def test_planted_numbers(run):
    _, res = run
    exact, rand = "components.activation_patching", "components.random"
    assert _mean(res, exact, "precision_at_truth") == 1.0
    assert _mean(res, exact, "auroc_truth") == 1.0
    assert _mean(res, rand, "precision_at_truth") < 1.0
    # the loud distractors write where nothing reads: the activation norm ranks them first
    assert _mean(res, "components.activation_norm", "precision_at_truth") == 0.0
    assert _mean(res, exact, "cpr") > _mean(res, rand, "cpr")
    assert _mean(res, exact, "cmd") < _mean(res, rand, "cmd")
    # exact patching agrees with itself; AtP and EAP equal it on this linear model
    for e in (exact, "components.atp", "patching.edge", "components.eap"):
        assert _mean(res, e, "patching_agreement") == pytest.approx(1.0, abs=1e-12)


def test_chunk_level_scores_count_chunks_and_store_their_curves(run):
    _, res = run
    s = res.scores
    cpr = s[(s.task == "components.first_token") & (s.metric == "cpr")]
    per_chunk = cpr.dropna(subset=["score"]).groupby("explainer")["sample"].apply(list)
    assert all(samples == [0, 4] for samples in per_chunk)  # one score per chunk of 4
    info = res.metric_info["cpr"]
    assert info["params"]["grid"] == "uniform" and "chunk of 4" in info["params"]["level"]
    assert res.metric_info["necessity"]["params"]["circuit"] == "all but the top k"
    c = res.curves
    curve = c[(c.metric == "cpr") & (c.explainer == "components.activation_patching")]
    curve = curve.dropna(subset=["y"]).sort_values(["sample", "step"])
    assert curve["x"].tolist()[:7] == pytest.approx(np.linspace(0, 1, 7).tolist())
    assert curve["y"].iloc[-1] == pytest.approx(1.0)  # the full circuit: f(N) = 1
    summary = res.summary()
    row = summary[(summary.metric == "cpr") & (summary.explainer == "components.random")]
    assert row["n_tested"].iloc[0] <= 2  # the paired tests see two chunks, not eight examples


def test_random_components_is_the_control(run):
    _, res = run
    summary = res.summary()
    sub = summary[(summary.task == "components.first_token") & (summary.metric == "cpr")]
    verdicts = dict(zip(sub.explainer, sub.verdict, strict=True))
    assert verdicts["components.random"] == "control"
    assert "components.random" in stats.CONTROLS


def test_each_incompatible_pair_is_one_clean_skip(run):
    _, res = run
    f = res.failures
    assert not (f["status"] != "skipped").any(), f[f["status"] != "skipped"]
    skips = f.groupby(["task", "explainer", "metric"], dropna=False).size()
    assert (skips == 1).all()  # one per pair and seed, even when a chunk raised the skip

    def reason(task, explainer, metric=None):
        rows = f[(f.task == task) & (f.explainer == explainer)]
        rows = rows[rows.metric.isna()] if metric is None else rows[rows.metric == metric]
        return rows["reason"].iloc[0]

    assert "not components" in reason("components.first_token", "random")
    assert "not tabular" in reason("synthetic.linear", "components.atp")
    assert "does not support components" in reason(
        "components.first_token", "components.atp", "deletion_auc"
    )
    assert "does not support tabular" in reason("synthetic.linear", "random", "cpr")
    assert "planted circuit over nodes" in reason(
        "components.first_token", "patching.edge", "precision_at_truth"
    )


def test_truth_metrics_skip_a_task_without_truth():
    task = xb.load_task("components.first_token")
    bare = xb.components.ComponentTask(
        "bare", task.model, task.clean, task.counterfactual, task.answers
    )
    expl = xb.get_explainer("components.atp").explain(bare)
    with pytest.raises(IncompatibleError, match="has none"):
        xb.get_metric("precision_at_truth").score(bare, bare.X, expl)


def test_resume_recomputes_nothing_and_restores_a_lost_score(run, tmp_path):
    store, first = run
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(store.read_bytes())
    with Store(copy) as db:  # lose one score job
        db.conn.execute(
            "DELETE FROM jobs WHERE kind='score' AND metric='cpr'"
            " AND explainer='components.eap' AND chunk=1"
        )
    again = grid().run(copy, backend="local")
    pd.testing.assert_frame_equal(again.scores, first.scores, check_exact=True)
    explain = again.jobs[again.jobs["kind"] == "explain"]
    pd.testing.assert_frame_equal(explain, first.jobs[first.jobs["kind"] == "explain"])


def test_cli_runs_the_example_config_quick(tmp_path, capsys):
    html, store = tmp_path / "components.html", tmp_path / "c.sqlite"
    code = cli.main(
        [
            "run",
            str(EXAMPLE),
            "--quick",
            "--set",
            "n_samples=4",  # one chunk of 4
            "--set",
            "tasks=[components.first_token]",  # planted_induction trains (cached) for ~1 min
            "--set",
            "backend=local",
            "-o",
            str(html),
            "--store",
            str(store),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "components.activation_patching.edge" in out
    res = xb.Results.load(store)
    assert res.failures["status"].eq("skipped").all()
    assert _mean(res, "components.activation_patching", "precision_at_truth") == 1.0
    text = html.read_text()
    assert "components.first_token" in text and "CPR curve" in text


@pytest.mark.parametrize(
    ("explainers", "controls"),
    [
        (["components.atp"], ["components.random"]),
        (["captum.saliency"], ["random"]),
        (["captum.saliency", "components.atp"], ["random", "components.random"]),
        (["components.random", "random"], ["components.random", "random"]),
    ],
)
def test_the_control_of_each_explained_level_is_added_once(explainers, controls):
    bench = xb.Benchmark(tasks=["components.first_token"], explainers=explainers, metrics=["cpr"])
    ids = [c.id for c in bench.explainer_components()]
    assert sorted(i for i in ids if i in ("random", "components.random")) == sorted(controls)
    assert len(ids) == len(set(explainers) | set(controls))
