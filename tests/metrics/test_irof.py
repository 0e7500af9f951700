"""IROF: a transcription of Quantus 0.6's segment loop (grid and SLIC segments), a closed
form on an additive image model, batch invariance."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import assert_batch_invariant

import xai_bench as xb
from xai_bench import Modality, Task
from xai_bench.metrics.irof import irof, segment_images


def quantus_irof(predict, x, y, a, segments):
    """Plain transcription of Quantus 0.6 IROF.evaluate_instance for one (C, H, W) image,
    given its segments, baseline "black" (the image's minimum)."""
    y_pred = predict(x[None])[0, y]
    nr = len(np.unique(segments))
    att = np.array([np.mean(a[:, segments == s]) for s in range(nr)])
    preds, prev = [], x
    for s in np.argsort(-att):
        xp = prev.copy()
        xp[:, segments == s] = x.min()
        preds.append(predict(xp[None])[0, y] / y_pred)
        prev = xp
    return len(preds) - np.trapezoid(np.array(preds))


@pytest.mark.parametrize(("segmentation", "n_segments"), [("grid", 16), ("grid", 9), ("slic", 20)])
def test_irof_equals_quantus_transcription(digits_task, segmentation, n_segments):
    X = digits_task.X[:4]
    ex = xb.get_explainer("random", seed=4).explain(digits_task, X)
    res = irof(digits_task, X, ex, segmentation=segmentation, n_segments=n_segments, baseline="min")
    segs = segment_images(X, segmentation, n_segments)
    ref = [
        quantus_irof(digits_task.predict, X[i], ex.targets[i], ex.attributions[i], segs[i])
        for i in range(len(X))
    ]
    np.testing.assert_allclose(res.scores, ref, rtol=1e-5, atol=1e-6)
    assert res.params["segmentation"] == segmentation


def test_grid_segments_are_equal_blocks():
    seg = segment_images(np.zeros((2, 3, 8, 8)), "grid", 16)
    assert seg.shape == (2, 8, 8) and set(np.unique(seg)) == set(range(16))
    np.testing.assert_array_equal(np.bincount(seg[0].ravel()), 4)
    assert seg[0, 0, 0] == seg[0, 1, 1] != seg[0, 0, 2]


def _additive_image_task(w):
    """p(class 1) = sum of w * x over a (1, 4, 4) image in [0, 1]."""

    def predict_proba(batch):
        p = np.clip(np.asarray(batch, dtype=np.float64).reshape(len(batch), -1) @ w.ravel(), 0, 1)
        return np.column_stack([1 - p, p])

    X = np.full((1, 1, 4, 4), 1.0)
    return Task(name="toy.image", modality=Modality.IMAGE, X=X, predict_proba=predict_proba)


def test_irof_closed_form_on_an_additive_image_model():
    w = np.zeros((1, 4, 4))
    w[0, :2, :2] = 0.4 / 4  # the top-left quarter holds 0.4 of the probability
    w[0, 2:, 2:] = 0.5 / 4
    task = _additive_image_task(w)
    ex = xb.Explanation(w * task.X, np.array([1]), "exact")
    res = irof(task, task.X, ex, n_segments=4, baseline="zero")
    # removal order: bottom-right (0.5), top-left (0.4), then the two empty quarters
    ratios = np.array([0.4, 0.0, 0.0, 0.0]) / 0.9
    np.testing.assert_allclose(res.curves[0], ratios, atol=1e-12)
    np.testing.assert_allclose(res.scores, 4 - np.trapezoid(ratios), atol=1e-12)
    worst = irof(
        task,
        task.X,
        xb.Explanation(-w * task.X, np.array([1]), "rev"),
        n_segments=4,
        baseline="zero",
    )
    assert worst.scores[0] < res.scores[0]


def test_irof_batch_invariance_and_skips(digits_task, linear_task):
    X = digits_task.X[:5]
    ex = xb.get_explainer("random").explain(digits_task, X)
    scores = assert_batch_invariant(xb.get_metric("irof"), digits_task, X, ex)
    assert np.ptp(scores) > 0
    with pytest.raises(xb.IncompatibleError):
        xb.get_metric("irof").score(linear_task, linear_task.X[:2], ex.subset(slice(0, 2)))
    with pytest.raises(xb.InvalidInputError, match="segmentation='felzenszwalb'"):
        xb.get_metric("irof", segmentation="felzenszwalb")
