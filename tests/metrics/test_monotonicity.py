"""Monotonicity-Arya: closed forms on additive models, a transcription of Quantus's loop
(restoring x's values, as Arya et al. define it), Quantus 0.6's constant curve, batch
invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _metric_toys import WEIGHTS, additive_task, assert_batch_invariant, explanation

import xai_bench as xb
from xai_bench.metrics.monotonicity import monotonicity_arya


def quantus_monotonicity_arya(predict, x, y, a, step, restore=True):
    """Plain transcription of Quantus 0.6 Monotonicity.evaluate_batch (abs=True,
    normalise_by_max, ascending, baseline "black"). With ``restore=False`` the step is
    Quantus 0.6's literal one: its default perturb_func replaces the group of the
    all-baseline input by the baseline again; ``restore=True`` puts x's values back (Arya
    et al.'s definition, Quantus's earlier ``fixed_values`` perturbation)."""
    b = len(x)
    a = np.abs(a.reshape(b, -1))
    a = a / a.max(axis=1, keepdims=True)
    idx = np.argsort(a, axis=1)
    xf = x.reshape(b, -1)
    x_base = np.broadcast_to(xf.min(axis=1, keepdims=True), xf.shape).copy()
    rows = np.arange(b)[:, None]
    preds = []
    for k in range(math.ceil(xf.shape[1] / step)):
        ix = idx[:, k * step : (k + 1) * step]
        source = xf if restore else x_base.min(axis=1, keepdims=True) + 0 * xf
        x_base[rows, ix] = source[rows, ix]
        preds.append(predict(x_base.reshape(x.shape))[np.arange(b), y])
    return np.all(np.diff(np.stack(preds, 1), axis=1) >= 0, axis=1), np.stack(preds, 1)


def test_additive_model_with_positive_contributions_is_monotone():
    X = np.array([[0.9, 0.1, 0.6], [0.2, 0.8, 0.4]])
    task = additive_task(X=X)
    for attr in (WEIGHTS * X, -WEIGHTS * X, np.ones_like(X) * [1, 2, 3]):
        res = monotonicity_arya(task, X, explanation(attr), baseline="zero")
        np.testing.assert_array_equal(res.scores, 1.0)  # every restored feature adds w*x >= 0
    res = monotonicity_arya(task, X, explanation(WEIGHTS * X), baseline="zero")
    # restored least relevant first: the curve is the cumulative sum of the sorted w*x
    np.testing.assert_allclose(res.curves, np.cumsum(np.sort(WEIGHTS * X, axis=1), 1), atol=1e-12)


def test_a_negative_contribution_breaks_monotonicity_unless_it_comes_first():
    w = np.array([0.5, -0.3, 0.2])
    X = np.array([[0.9, 0.9, 0.2]])  # contributions 0.45, -0.27, 0.04
    task = additive_task(X=X, weights=w)
    ex = explanation(w * X)
    # |phi| ascending: 0.04, then -0.27 (p drops to 0), then 0.45
    assert monotonicity_arya(task, X, ex, baseline="zero").scores[0] == 0.0
    # signed ascending: -0.27 first (p clipped at 0), then 0.04 (still 0), then 0.45
    assert monotonicity_arya(task, X, ex, baseline="zero", order="signed").scores[0] == 1.0


@pytest.mark.parametrize("step", [1, 5])
def test_equals_quantus_transcription(mlp_task, step):
    X = mlp_task.X[:8]
    ex = xb.get_explainer("random", seed=7).explain(mlp_task, X)
    res = monotonicity_arya(mlp_task, X, ex, step=step, baseline="min")
    ok, preds = quantus_monotonicity_arya(mlp_task.predict, X, ex.targets, ex.attributions, step)
    np.testing.assert_allclose(res.curves, preds, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(res.scores, ok.astype(float))


def test_quantus_06_literal_loop_never_restores_x(mlp_task):
    # the deliberate difference: Quantus 0.6's default perturbation re-writes the baseline,
    # so its curve is flat and every explanation scores True
    X = mlp_task.X[:6]
    ex = xb.get_explainer("random", seed=7).explain(mlp_task, X)
    ok, preds = quantus_monotonicity_arya(
        mlp_task.predict, X, ex.targets, ex.attributions, 1, restore=False
    )
    assert ok.all() and np.ptp(preds, axis=1).max() == 0


def test_batch_invariance_and_params(mlp_task):
    X = mlp_task.X[:6]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    metric = xb.get_metric("monotonicity_arya", step=3)
    assert_batch_invariant(metric, mlp_task, X, ex)
    res = metric.score(mlp_task, X, ex)
    assert res.params["order"].startswith("abs attribution, ascending") and res.params["step"] == 3
    assert res.curves.shape == (6, 10)
