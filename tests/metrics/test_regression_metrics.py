"""Metrics on a regressor: curves on the raw prediction, recorded conventions, refusals."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError
from xai_bench.metrics.deletion import curve

W = np.array([3.0, -2.0, 1.0, 0.0])


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    return xb.Task(
        "toy.regression", "tabular", X, lambda b: np.asarray(b) @ W + 10.0,
        background=X, output_kind="regression",
    )  # fmt: skip


def _explanation(task, X):
    return xb.get_explainer("captum.feature_ablation").explain(task, X)


def test_deletion_curve_runs_from_f_x_to_f_baseline_on_the_raw_prediction(task):
    X = task.X[:5]
    e = _explanation(task, X)
    base = task.removal_value()
    res = curve(task, X, e, kind="deletion", steps=None)
    f_x, f_b = X @ W + 10.0, base @ W + 10.0
    np.testing.assert_allclose(res.curves[:, 0], f_x)
    np.testing.assert_allclose(res.curves[:, -1], f_b)
    # exact for a linear model: feature j removed = f minus its ablation effect w_j (x_j - b_j)
    order = np.argsort(-e.attributions, axis=1, kind="stable")
    effect = np.take_along_axis(W * (X - base), order, axis=1)
    np.testing.assert_allclose(res.curves, np.column_stack([f_x, f_x[:, None] - effect.cumsum(1)]))
    assert res.params["space"] == "prediction"
    assert res.params["normalisation"].startswith("none")
    assert res.params["flat_tol"] == pytest.approx(0.01 * np.std(task.X @ W))
    ins = curve(task, X, e, kind="insertion", steps=None)
    np.testing.assert_allclose(ins.curves[:, 0], f_b)
    np.testing.assert_allclose(ins.curves[:, -1], f_x)


@pytest.mark.parametrize(
    "metric",
    ["deletion_auc", "insertion_auc", "comprehensiveness", "sufficiency", "aopc", "abpc",
     "ablation_spearman", "faithfulness_correlation", "infidelity"],
)  # fmt: skip
def test_every_perturbation_metric_scores_the_prediction_and_refuses_log_odds(task, metric):
    X = task.X[:4]
    e = _explanation(task, X)
    res = xb.get_metric(metric).score(task, X, e)
    assert np.isfinite(res.scores).all() and res.params["space"] == "prediction"
    with pytest.raises(InvalidInputError, match="log_odds"):
        xb.get_metric(metric, space="log_odds").score(task, X, e)


def test_comprehensiveness_on_a_regressor_is_in_prediction_units(task):
    X = task.X[:3]
    e = _explanation(task, X)
    res = xb.get_metric("comprehensiveness", fractions=(0.25,)).score(task, X, e)
    # 25% of 4 features = the top one removed: f(x) - f(x without it) = its ablation effect
    top = np.argmax(e.attributions, axis=1)
    want = (W * (X - task.removal_value()))[np.arange(3), top]
    np.testing.assert_allclose(res.scores, want)


def test_precision_at_k_and_oracle_on_the_builtin_regression_task():
    task = xb.load_task("synthetic.regression")
    assert task.output_kind == "regression" and task.meta["r2"] > 0.95
    X = task.X[:10]
    w = task.model[0].weight.detach().numpy()
    assert (w[:, 3:] == 0).all()  # features 3-7 cannot reach the prediction
    np.testing.assert_allclose(task.predict(X), task.predict(X + [0, 0, 0, 5, 5, 5, 5, 5]))
    pk = xb.get_metric("precision_at_k")
    oracle = xb.get_explainer("oracle").explain(task, X)
    np.testing.assert_array_equal(pk.score(task, X, oracle).scores, 1.0)
    ig = xb.get_explainer("captum.integrated_gradients").explain(task, X)
    assert ig.meta["output_space"] == "prediction"
    np.testing.assert_array_equal(pk.score(task, X, ig).scores, 1.0)
    rnd = xb.get_explainer("random").explain(task, X)
    assert pk.score(task, X, rnd).scores.mean() < 0.8
    dele = xb.get_metric("deletion_auc", steps=8)
    assert dele.score(task, X, ig).scores.mean() < dele.score(task, X, rnd).scores.mean()
