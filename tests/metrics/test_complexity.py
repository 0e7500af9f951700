"""Complexity family: closed forms, transcriptions of Quantus 0.6's definitions, padding,
all-zero attributions and batch invariance."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from _metric_toys import additive_task, explanation

import xai_bench as xb
from xai_bench.metrics.complexity import complexity, effective_complexity, sparseness


def _quantus_normalised(a):
    """Quantus's preprocessing for these metrics: normalise_by_max, then abs=True."""
    a = np.asarray(a, dtype=np.float64).ravel()
    return np.abs(a / np.max(np.abs(a)))


def quantus_sparseness(a):  # Sparseness.evaluate_instance, transcribed
    a = _quantus_normalised(a) + 0.0000001
    a = np.sort(a)
    n = a.shape[0]
    return np.sum((2 * np.arange(1, n + 1) - n - 1) * a) / (n * np.sum(a))


def quantus_complexity(a):  # Complexity.evaluate_instance, transcribed
    a = _quantus_normalised(a)
    return scipy.stats.entropy(pk=a / np.sum(np.abs(a)))


def quantus_effective_complexity(a, eps=1e-5):  # EffectiveComplexity.evaluate_instance
    return int(np.sum(_quantus_normalised(a) > eps))


def _toy(attr):
    attr = np.asarray(attr, dtype=np.float64)
    X = np.linspace(0, 1, attr.size).reshape(attr.shape)
    return additive_task(X=X, weights=np.full(attr.shape[1], 0.1)), X, explanation(attr)


def test_closed_forms():
    m = 6
    one_hot = np.eye(m)[[2]] * -3.0
    uniform = np.full((1, m), 0.7)
    task, X, ex = _toy(np.vstack([one_hot, uniform]))
    gini = sparseness(task, X, ex, eps=0.0).scores
    np.testing.assert_allclose(gini, [(m - 1) / m, 0.0], atol=1e-15)
    np.testing.assert_allclose(complexity(task, X, ex).scores, [0.0, np.log(m)], atol=1e-15)
    np.testing.assert_array_equal(effective_complexity(task, X, ex).scores, [1, m])


def test_equal_quantus_transcriptions():
    rng = np.random.default_rng(0)
    attr = rng.standard_normal((7, 20)) * rng.random((7, 1))
    attr[3, :15] = 1e-9  # below effective complexity's threshold after normalisation
    task, X, ex = _toy(attr)
    np.testing.assert_allclose(
        sparseness(task, X, ex).scores, [quantus_sparseness(a) for a in attr], rtol=1e-12
    )
    np.testing.assert_allclose(
        complexity(task, X, ex).scores, [quantus_complexity(a) for a in attr], rtol=1e-12
    )
    res = effective_complexity(task, X, ex, eps=1e-5)
    np.testing.assert_array_equal(res.scores, [quantus_effective_complexity(a) for a in attr])
    assert res.scores[3] == 5
    np.testing.assert_allclose(res.extra["fraction"], res.scores / 20)
    assert res.params["eps"] == 1e-5 and "max" in res.params["threshold"]


def test_padding_is_not_a_feature():
    attr = np.array([[3.0, -1.0, 0.5, 0.0, 0.0], [1.0, 1.0, 2.0, 4.0, 0.2]])
    mask = np.array([[True, True, True, False, False], [True] * 5])
    task, X, _ = _toy(attr)
    ex = explanation(attr, mask=mask)
    short_task, short_X, short = _toy(attr[:1, :3])
    for fn in (sparseness, complexity, effective_complexity):
        np.testing.assert_allclose(
            fn(task, X, ex).scores[0], fn(short_task, short_X, short).scores[0], rtol=1e-12
        )


def test_all_zero_attributions_are_undefined_not_best():
    task, X, ex = _toy(np.vstack([np.zeros(4), [1.0, 0, 0, 0]]))
    for fn in (sparseness, complexity, effective_complexity):
        res = fn(task, X, ex)
        assert np.isnan(res.scores[0]) and np.isfinite(res.scores[1]), fn.__name__
        np.testing.assert_array_equal(res.flags["undefined"], [True, False])
    raw = effective_complexity(task, X, ex, normalise=False)
    np.testing.assert_array_equal(raw.scores, [0, 1])


def test_bad_threshold_is_refused():
    task, X, ex = _toy(np.ones((1, 3)))
    with pytest.raises(xb.InvalidInputError, match="eps"):
        effective_complexity(task, X, ex, eps=-1.0)


@pytest.mark.parametrize("name", ["sparseness", "complexity", "effective_complexity"])
def test_batch_invariance_and_info(name, digits_task):
    X = digits_task.X[:5]
    ex = xb.get_explainer("captum.saliency").explain(digits_task, X)
    metric = xb.get_metric(name)
    assert metric.info.family == "complexity"
    full = metric.score(digits_task, X, ex).scores
    single = [metric.score(digits_task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(5)]
    np.testing.assert_allclose(full, single, rtol=1e-12)
