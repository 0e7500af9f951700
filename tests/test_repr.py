"""Short reprs (one line, no array dumps) and escaped HTML views for notebooks."""

from __future__ import annotations

import numpy as np
import pandas as pd

import xai_bench as xb
from xai_bench.explanation import Explanation
from xai_bench.metrics.base import MetricResult
from xai_bench.runner.results import Results
from xai_bench.task import Modality, Task

EVIL = "<script>alert('x')</script>"


def big_task() -> Task:
    X = np.random.default_rng(0).standard_normal((500, 40))
    return Task(
        name="big.task",
        modality=Modality.TABULAR,
        X=X,
        predict_proba=lambda Z: np.full((len(Z), 2), 0.5),
        feature_names=tuple(f"f{i}" for i in range(40)),
        class_names=("no", "yes"),
        ground_truth=X > 0,
    )


def test_task_repr_is_one_short_line():
    text = repr(big_task())
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith("Task('big.task', tabular, X=(500, 40) float64")
    assert "classes=[no, yes]" in text and "features=[f0, f1, f2, … +37]" in text


def test_explanation_repr_is_one_short_line():
    attr = np.arange(1000 * 50, dtype=float).reshape(1000, 50)
    e = Explanation(attr, np.zeros(1000, int), "shap.kernel", seconds=1.5)
    assert (
        repr(e)
        == "Explanation('shap.kernel', 1000 samples x (50,), targets=[0, 0, 0, … +997], 1.5 s)"
    )
    masked = Explanation(attr[:2, :4], [1, 0], "x", mask=[[1, 1, 0, 0], [1, 1, 1, 0]])
    assert "5 of 8 entries real" in repr(masked)


def test_metric_result_repr_gives_mean_and_flag_counts():
    scores = np.linspace(0, 1, 300)
    res = MetricResult(
        "deletion_auc",
        scores,
        curves=np.zeros((300, 11)),
        flags={"degenerate": scores > 0.9, "flat_baseline": np.zeros(300, bool)},
    )
    text = repr(res)
    assert text == (
        "MetricResult('deletion_auc', n=300, mean=0.5, curves=(300, 11) float64,"
        f" flags=[degenerate:{int((scores > 0.9).sum())}])"
    )


def test_explanation_html_lists_top_features_by_magnitude_and_escapes():
    attr = np.array([[0.1, -3.0, 2.0, 0.0], [5.0, 0.0, 0.0, -1.0]])
    e = Explanation(attr, [1, 0], EVIL, params={"baseline": EVIL})
    html = e._repr_html_(top=2)
    assert "<script>" not in html and "&lt;script&gt;" in html
    rows = html.split("<tr>")[2:]
    assert len(rows) == 2
    assert rows[0].index(">1: -3<") < rows[0].index(">2: 2<") and ">0: 0.1<" not in rows[0]
    assert ">0: 5<" in rows[1] and ">3: -1<" in rows[1]
    assert "rgba(31,119,180,0.60)" in rows[0]  # -3 of max 5: blue (against), alpha 0.6


def small_results() -> Results:
    rng = np.random.default_rng(1)
    rows = [
        (t, e, "deletion_auc", s, 0, float(rng.random()) + (e == "random"))
        for t in ("task.a",)
        for e in ("random", EVIL)
        for s in range(12)
    ]
    scores = pd.DataFrame(rows, columns=["task", "explainer", "metric", "sample", "seed", "score"])
    failures = pd.DataFrame(
        [("task.a", "x", None, 0, "failed", "boom"), ("task.a", "y", None, 0, "skipped", "n/a")],
        columns=["task", "explainer", "metric", "seed", "status", "reason"],
    )
    return Results(
        scores=scores,
        failures=failures,
        metric_info={"deletion_auc": {"higher_is_better": False}},
        provenance={"run_id": "demo-1"},
    )


def test_results_repr_counts_the_run():
    assert repr(small_results()) == (
        "Results(run 'demo-1', 1 tasks, 2 explainers, 1 metrics, 24 scores, 1 failed, 1 skipped)"
    )


def test_results_html_is_the_escaped_summary_table():
    res = small_results()
    html = res._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    summary = res.summary()
    for mean in summary["mean"]:
        assert f"{mean:.4g}" in html
    assert html.count("<tr") == len(summary) + 1  # header + one row per cell


def test_public_objects_print_short():
    task = xb.load_task("synthetic.linear")
    expl = xb.get_explainer("random").explain(task, task.X[:64])
    res = xb.get_metric("deletion_auc", steps=4).score(task, task.X[:64], expl)
    for obj in (task, expl, res):
        assert len(repr(obj)) < 200 and "\n" not in repr(obj)
