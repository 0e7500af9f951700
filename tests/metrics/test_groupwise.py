"""Faithfulness Estimate and Monotonicity-Nguyen: closed forms on an additive model,
transcriptions of Quantus 0.6's computations, batch invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _metric_toys import WEIGHTS, additive_task, assert_batch_invariant, explanation
from scipy.stats import pearsonr, spearmanr

import xai_bench as xb
from xai_bench.metrics.groupwise import faithfulness_estimate, monotonicity_nguyen


def _black(x_flat: np.ndarray) -> np.ndarray:
    """Quantus's "black" baseline: each sample's minimum."""
    return np.broadcast_to(x_flat.min(axis=1, keepdims=True), x_flat.shape)


def quantus_faithfulness_estimate(predict, x, y, a, step):
    """Plain transcription of Quantus 0.6 FaithfulnessEstimate.evaluate_batch
    (normalise_by_max, abs=False, baseline "black", pearson)."""
    b = len(x)
    a = a.reshape(b, -1)
    a = a / np.abs(a).max(axis=1, keepdims=True)
    idx = np.argsort(-a, axis=1)
    xf = x.reshape(b, -1)
    y_pred = predict(x)[np.arange(b), y]
    deltas, sums = [], []
    for k in range(math.ceil(a.shape[1] / step)):
        ix = idx[:, k * step : (k + 1) * step]
        xp = xf.copy()
        rows = np.arange(b)[:, None]
        xp[rows, ix] = _black(xf)[rows, ix]
        deltas.append(y_pred - predict(xp.reshape(x.shape))[np.arange(b), y])
        sums.append(a[rows, ix].sum(axis=1))
    d, s = np.stack(deltas, 1), np.stack(sums, 1)
    return np.array([pearsonr(s[i], d[i]).statistic for i in range(b)])


def quantus_monotonicity_nguyen(predict, x, y, a, step, nr_samples=3, eps=1e-5):
    """Plain transcription of Quantus 0.6 MonotonicityCorrelation.evaluate_batch
    (abs=True, normalise_by_max, ascending, spearman) with a deterministic "black" baseline
    (its nr_samples draws are then equal)."""
    b = len(x)
    a = np.abs(a.reshape(b, -1))
    a = a / a.max(axis=1, keepdims=True)
    y_pred = predict(x)[np.arange(b), y]
    inv = np.ones(b)
    inv[np.abs(y_pred) >= eps] = 1.0 / np.abs(y_pred[np.abs(y_pred) >= eps])
    inv = inv**2
    idx = np.argsort(a, axis=1)
    xf = x.reshape(b, -1)
    atts, variances = [], []
    for k in range(math.ceil(a.shape[1] / step)):
        ix = idx[:, k * step : (k + 1) * step]
        rows = np.arange(b)[:, None]
        preds = []
        for _ in range(nr_samples):
            xp = xf.copy()
            xp[rows, ix] = _black(xf)[rows, ix]
            preds.append(predict(xp.reshape(x.shape))[np.arange(b), y])
        preds = np.stack(preds, 1)
        variances.append(np.mean((preds - y_pred[:, None]) ** 2, axis=1) * inv)
        atts.append(a[rows, ix].sum(axis=1))
    s, v = np.stack(atts, 1), np.stack(variances, 1)
    return np.array([spearmanr(s[i], v[i]).statistic for i in range(b)])


def test_exact_attributions_of_a_linear_model_score_one():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.05, 0.9, (6, 3))
    task = additive_task(X=X * 0.9)
    ex = explanation(WEIGHTS * task.X)
    fe = faithfulness_estimate(task, task.X, ex, baseline="zero")
    np.testing.assert_allclose(fe.scores, 1.0)
    # each group alone: the drop is exactly w_j x_j
    np.testing.assert_allclose(fe.extra["delta"], fe.extra["attr_sum"], atol=1e-12)
    np.testing.assert_allclose(monotonicity_nguyen(task, task.X, ex, baseline="zero").scores, 1)
    # reversed attributions anti-correlate
    rev = explanation(-WEIGHTS * task.X)
    np.testing.assert_allclose(faithfulness_estimate(task, task.X, rev, baseline="zero").scores, -1)


@pytest.mark.parametrize("step", [1, 3])
def test_faithfulness_estimate_equals_quantus_transcription(mlp_task, step):
    X = mlp_task.X[:8]
    ex = xb.get_explainer("random", seed=3).explain(mlp_task, X)
    ours = faithfulness_estimate(mlp_task, X, ex, step=step, baseline="min").scores
    ref = quantus_faithfulness_estimate(mlp_task.predict, X, ex.targets, ex.attributions, step)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_faithfulness_estimate_equals_quantus_on_images(digits_task):
    X = digits_task.X[:4]
    ex = xb.get_explainer("captum.saliency").explain(digits_task, X)
    ex = xb.Explanation(ex.attributions + 1e-9 * np.arange(64).reshape(1, 1, 8, 8), ex.targets, "s")
    ours = faithfulness_estimate(digits_task, X, ex, step=4, baseline="min").scores
    ref = quantus_faithfulness_estimate(digits_task.predict, X, ex.targets, ex.attributions, 4)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("step", [1, 4])
def test_monotonicity_nguyen_equals_quantus_transcription(mlp_task, step):
    X = mlp_task.X[:8]
    ex = xb.get_explainer("random", seed=5).explain(mlp_task, X)
    ours = monotonicity_nguyen(mlp_task, X, ex, step=step, baseline="min").scores
    ref = quantus_monotonicity_nguyen(mlp_task.predict, X, ex.targets, ex.attributions, step)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["faithfulness_estimate", "monotonicity_nguyen"])
def test_batch_invariance_params_and_info(mlp_task, name):
    X = mlp_task.X[:8]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    metric = xb.get_metric(name, step=2)
    scores = assert_batch_invariant(metric, mlp_task, X, ex)
    finite = scores[np.isfinite(scores)]  # saturated samples: no drop, no correlation
    assert len(finite) >= 3 and np.ptp(finite) > 0
    res = metric.score(mlp_task, X, ex)
    assert res.params["step"] == 2 and "not cumulatively" in res.params["groups"]
    assert metric.info.family == "faithfulness" and metric.info.formula
    assert name in xb.list_metrics("faithfulness")
    with pytest.raises(xb.InvalidInputError, match="step=0"):
        xb.get_metric(name, step=0)


def test_text_padding_is_never_a_group():
    task = xb.load_task("sentiment.transformer")
    X = task.X[:3]
    ex = xb.get_explainer("random").explain(task, X)
    res = faithfulness_estimate(task, X, ex)
    n_valid = task.valid_mask(X).sum(axis=1)
    np.testing.assert_array_equal(np.isfinite(res.extra["delta"]).sum(axis=1), n_valid)
