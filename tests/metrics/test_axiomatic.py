"""Axiomatic family: completeness as a relative gap, Quantus's isclose kept, batch invariance."""

from __future__ import annotations

import numpy as np
from _metric_toys import additive_task, explanation

import xai_bench as xb
from xai_bench.metrics.axiomatic import completeness


def test_completeness_closed_form_on_a_linear_model():
    w = np.array([0.5, 0.3, 0.2])
    X = np.array([[0.2, 0.4, 0.6], [0.9, 0.1, 0.3]])
    task = additive_task(X=X, weights=w)
    exact = X * w  # w_i (x_i - 0): IG, Shapley values and occlusion agree on a linear model
    res = completeness(task, X, explanation(exact))
    np.testing.assert_allclose(res.scores, 0.0, atol=1e-15)
    np.testing.assert_allclose(res.extra["f_x"] - res.extra["f_baseline"], X @ w, rtol=1e-15)
    assert res.extra["isclose"].all()  # Quantus 0.6's Completeness: np.isclose(sum, delta)
    doubled = completeness(task, X, explanation(2 * exact))
    np.testing.assert_allclose(doubled.scores, 1.0, rtol=1e-12)
    assert not doubled.extra["isclose"].any()
    off = completeness(task, X, explanation(exact + [[0.01, 0, 0], [0, 0, -0.03]]))
    np.testing.assert_allclose(off.scores, [0.01 / (X[0] @ w), 0.03 / (X[1] @ w)], rtol=1e-12)
    assert off.params["baseline"] and off.params["space"] == "probability"


def test_flat_baseline_is_nan_and_flagged():
    task = additive_task(X=np.zeros((1, 3)))
    res = completeness(task, np.zeros((1, 3)), explanation(np.ones((1, 3))))
    assert np.isnan(res.scores[0]) and res.flags["flat_baseline"][0]


def test_completeness_batch_invariance_and_info(digits_task):
    X = digits_task.X[:4]
    ex = xb.get_explainer("captum.integrated_gradients").explain(digits_task, X)
    metric = xb.get_metric("completeness")
    assert metric.info.family == "axiomatic" and not metric.info.higher_is_better
    full = metric.score(digits_task, X, ex).scores
    single = [metric.score(digits_task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(4)]
    np.testing.assert_allclose(full, single, rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(full) & (full >= 0))
