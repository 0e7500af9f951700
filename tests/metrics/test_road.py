"""ROAD as a metric: a closed form on an additive model, a transcription of Quantus 0.6's
ROAD loop on the shared imputation masker, batch invariance."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import WEIGHTS, additive_task, assert_batch_invariant, explanation

import xai_bench as xb
from xai_bench.metrics.maskers import ImputeMasker
from xai_bench.metrics.road import QUANTUS_PERCENTAGES, road


def quantus_road(predict, x, y, a, percentages, fill):
    """Plain transcription of Quantus 0.6 ROAD.evaluate_batch + custom_postprocess:
    a_size = H * W, top int(a_size * p / 100) features by descending attribution imputed,
    1 where argmax equals y; returns the per-sample booleans and the accuracy per p."""
    b = len(x)
    a = a.reshape(b, -1)
    a = a / np.abs(a).max(axis=1, keepdims=True)
    ordered = np.argsort(-a, axis=1)
    a_size = x.shape[-2] * x.shape[-1]
    results = []
    for p in percentages:
        top = ordered[:, : int(a_size * p / 100)]
        xp = []
        for i in range(b):
            removed = np.zeros((1, a.shape[1]), dtype=bool)
            removed[0, top[i]] = True
            xp.append(fill(x[i].reshape(1, -1).copy(), removed, np.array([i])).reshape(x[i].shape))
        results.append(y == np.argmax(predict(np.stack(xp)), axis=-1))
    per_sample = np.stack(results, axis=1).astype(int)
    return per_sample, per_sample.mean(axis=0)


def test_closed_form_on_an_additive_model():
    X = np.array([[0.9, 0.8, 0.9]])  # w*x = 0.45, 0.24, 0.18; p = 0.87, class 1
    task = additive_task(X=X)
    pct = (34.0, 67.0, 100.0)  # floor(3p/100) = 1, 2, 3 features
    best = road(task, X, explanation(WEIGHTS * X), percentages=pct, baseline="zero")
    np.testing.assert_array_equal(best.curves, [[0, 0, 0]])  # 0.42 after the first removal
    worst = road(task, X, explanation(-WEIGHTS * X), percentages=pct, baseline="zero")
    np.testing.assert_array_equal(worst.curves, [[1, 0, 0]])  # 0.69, then 0.45, then 0
    assert best.scores[0] == 0.0 and worst.scores[0] == pytest.approx(1 / 3)
    floor = road(task, X, explanation(-WEIGHTS * X), percentages=(66.0,), baseline="zero")
    assert floor.curves[0, 0] == 1.0  # floor(1.98) = 1 feature, not 2
    assert floor.params["count"] == "floor(p / 100 * n_valid)"


def test_equals_quantus_transcription_with_the_imputation_masker(digits_task):
    X = digits_task.X[:6]
    ex = xb.get_explainer("random", seed=8).explain(digits_task, X)
    pct = QUANTUS_PERCENTAGES[::5]
    res = road(digits_task, X, ex, percentages=pct)
    fill = ImputeMasker(noise=0.01, seed=0).bind(digits_task, X.reshape(len(X), -1))
    per_sample, accuracy = quantus_road(
        digits_task.predict, X, ex.targets, ex.attributions, pct, fill
    )
    np.testing.assert_array_equal(res.curves, per_sample)
    np.testing.assert_allclose(res.curves.mean(axis=0), accuracy)
    assert 0 < res.curves.mean() < 1
    assert res.params["baseline"].startswith("impute(noise=0.01")


def test_batch_invariance_params_and_skips(digits_task):
    X = digits_task.X[:5]
    ex = xb.get_explainer("random").explain(digits_task, X)
    metric = xb.get_metric("road", percentages=(10.0, 30.0, 50.0, 70.0, 90.0))
    assert_batch_invariant(metric, digits_task, X, ex)
    assert metric.info.family == "faithfulness" and not metric.info.higher_is_better
    reg = xb.load_task("synthetic.regression")
    rex = xb.get_explainer("random").explain(reg, reg.X[:2])
    with pytest.raises(xb.IncompatibleError, match="regressor"):
        metric.score(reg, reg.X[:2], rex)
    with pytest.raises(xb.InvalidInputError, match="percentages"):
        xb.get_metric("road", percentages=(0.0, 50.0))
