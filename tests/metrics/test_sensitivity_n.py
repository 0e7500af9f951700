"""Sensitivity-n: the closed form on an additive model (correlation 1 for every n), a
transcription of Quantus 0.6's pooled loop, batch invariance of the per-sample score."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _metric_toys import additive_task, assert_batch_invariant, explanation
from scipy.stats import pearsonr

import xai_bench as xb
from xai_bench.metrics.sensitivity_n import sensitivity_n, sensitivity_n_pooled


def quantus_sensitivity_n(predict, x, y, a, step, n_max_percentage=0.8):
    """Plain transcription of Quantus 0.6 SensitivityN (evaluate_instance +
    custom_postprocess) with normalise=False and baseline "black": per sample a cumulative
    deletion in descending order, then per step one Pearson coefficient across samples."""
    b = len(x)
    att, deltas = [], []
    for i in range(b):
        ai, xi = a[i].ravel(), x[i].ravel().copy()
        black = xi.min()
        y_pred = predict(x[i][None])[0, y[i]]
        idx = np.argsort(-ai)
        sums, drops = [], []
        for k in range(math.ceil(len(ai) / step)):
            ix = idx[k * step : (k + 1) * step]
            xi[ix] = black
            sums.append(ai[ix].sum())
            drops.append(y_pred - predict(xi.reshape(x[i].shape)[None])[0, y[i]])
        att.append(sums)
        deltas.append(drops)
    att, deltas = np.array(att), np.array(deltas)
    K = int(n_max_percentage * np.prod(x.shape[2:]) // step)
    return np.array([pearsonr(att[:, k], deltas[:, k]).statistic for k in range(K)])


def test_exact_attributions_of_a_linear_model_correlate_perfectly():
    rng = np.random.default_rng(0)
    w = rng.uniform(0.01, 0.2, 8)
    X = rng.uniform(0, 0.6, (4, 8))
    task = additive_task(X=X, weights=w)
    res = sensitivity_n(task, X, explanation(w * X), n_subsets=12, baseline="zero")
    # the drop of removing S is exactly sum_S w x: correlation 1 at every size but |S| = 8
    full = res.x == 1.0
    np.testing.assert_allclose(res.curves[:, ~full], 1.0, atol=1e-9)
    np.testing.assert_allclose(res.scores, 1.0, atol=1e-9)
    np.testing.assert_allclose(res.extra["delta"], res.extra["attr_sum"], atol=1e-12)


@pytest.mark.parametrize("step", [1, 4])
def test_pooled_version_equals_quantus_transcription(digits_task, step):
    X = digits_task.X[:12]
    ex = xb.get_explainer("random", seed=9).explain(digits_task, X)
    ours = sensitivity_n_pooled(digits_task, X, ex, step=step, baseline="min")
    ref = quantus_sensitivity_n(digits_task.predict, X, ex.targets, ex.attributions, step)
    assert len(ours) == len(ref) == int(0.8 * 64 // step)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_per_sample_score_is_batch_invariant_and_seeded(mlp_task):
    X = mlp_task.X[:6]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    metric = xb.get_metric("sensitivity_n", n_subsets=8, fractions=(0.1, 0.5))
    scores = assert_batch_invariant(metric, mlp_task, X, ex)
    other = xb.get_metric("sensitivity_n", n_subsets=8, fractions=(0.1, 0.5), seed=1)
    assert not np.allclose(other.score(mlp_task, X, ex).scores, scores, equal_nan=True)
    res = metric.score(mlp_task, X, ex)
    assert res.curves.shape == (6, 2) and res.params["n_subsets"] == 8
    with pytest.raises(xb.InvalidInputError, match="n_subsets=1"):
        xb.get_metric("sensitivity_n", n_subsets=1)
