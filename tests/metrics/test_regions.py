"""Region Perturbation and Selectivity: transcriptions of Quantus 0.6's region loops, the
relation to aopc, hand-built regions, batch invariance."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import WEIGHTS, additive_task, assert_batch_invariant, explanation

import xai_bench as xb
from xai_bench.metrics.deletion import aopc
from xai_bench.metrics.regions import (
    region_labels,
    region_perturbation,
    resolve_patch,
    selectivity,
)


def quantus_regions(predict, x, y, a, patch, regions=None, drops=True):
    """Plain transcription of Quantus 0.6 RegionPerturbation / Selectivity.evaluate_batch
    for one (C, H, W) image with a (1, H, W) attribution map, baseline "black" (the image's
    minimum, unchanged by the cumulative replacement).

    Its regions are the blocks of skimage's ``view_as_blocks`` over the input padded to a
    multiple of ``patch`` (``get_padding_size``: floor of half the padding before, ceil
    after), ranked by ``np.argsort(-sums)``; not every window at every pixel (the greedy
    non-overlapping search of Quantus's older evaluate_instance)."""

    def padding(dim):
        total = (patch - dim % patch) % patch
        return (total // 2, total - total // 2)

    (top, bottom), (left, right) = padding(x.shape[1]), padding(x.shape[2])
    width = ((0, 0), (top, bottom), (left, right))
    y_pred = predict(x[None])[0, y]
    a_pad = np.pad(a, width)  # mode="constant"
    shape = np.pad(x, width).shape
    sums, corners = [], []
    for i in range(shape[1] // patch):  # np.unravel_index over (blocks_h, blocks_w)
        for j in range(shape[2] // patch):
            rows, cols = slice(i * patch, (i + 1) * patch), slice(j * patch, (j + 1) * patch)
            sums.append(a_pad[:, rows, cols].sum())
            corners.append((rows, cols))
    order = np.argsort(-np.array(sums), kind="stable")  # no ties on these maps
    chosen = [corners[k] for k in order[:regions]]
    black = x.min()
    x_pad, out = np.pad(x, width, mode="edge"), []
    for rows, cols in chosen:
        x_pad[:, rows, cols] = black
        x_pert = x_pad[:, top : shape[1] - bottom, left : shape[2] - right]
        p = predict(x_pert[None])[0, y]
        out.append(y_pred - p if drops else p)
    return np.array(out)


@pytest.mark.parametrize(("patch", "regions"), [(2, 100), (3, 5), (5, 100)])
def test_region_perturbation_equals_quantus_transcription(digits_task, patch, regions):
    X = digits_task.X[:4]
    ex = xb.get_explainer("random", seed=1).explain(digits_task, X)
    res = region_perturbation(digits_task, X, ex, patch=patch, regions=regions, baseline="min")
    for i in range(len(X)):
        ref = quantus_regions(
            digits_task.predict, X[i], ex.targets[i], ex.attributions[i], patch, regions
        )
        L = res.extra["n_regions"][i]
        assert len(ref) == L
        np.testing.assert_allclose(res.curves[i, :L], ref, rtol=1e-5, atol=1e-6)
        assert np.isnan(res.curves[i, L:]).all()
        np.testing.assert_allclose(res.scores[i], ref.mean(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res.extra["auc"][i], np.trapezoid(ref), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("patch", [2, 3])
def test_selectivity_equals_quantus_transcription(digits_task, patch):
    X = digits_task.X[4:8]
    ex = xb.get_explainer("captum.saliency").explain(digits_task, X)
    res = selectivity(digits_task, X, ex, patch=patch, baseline="min")
    for i in range(len(X)):
        ref = quantus_regions(
            digits_task.predict, X[i], ex.targets[i], ex.attributions[i], patch, drops=False
        )
        L = res.extra["n_regions"][i]
        np.testing.assert_allclose(res.curves[i, :L], ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res.scores[i], np.trapezoid(ref), rtol=1e-5, atol=1e-6)


def test_regions_are_a_centred_grid_on_a_hand_built_map():
    amap = np.zeros((1, 4, 4))
    amap[0, 1:3, 1:3] = 1.0  # a centred 2x2 peak: with patch 3 it falls into all 4 blocks
    amap[0, 3, 3] = 0.5  # the bottom-right block wins
    # 4 -> 6 with one padded row/column before and one after: blocks {0,1}, {2,3}
    labels = region_labels(amap, 3, None, np.zeros((1, 16), np.uint64))
    assert (labels[0, 2:, 2:] == 0).all() and set(np.unique(labels[0])) == {0, 1, 2, 3}
    assert (labels[0, :2, :2] != 0).all() and len(np.unique(labels[0, :2, :2])) == 1
    one = region_labels(amap, 3, 1, np.zeros((1, 16), np.uint64))
    assert (one[0] == np.where(labels[0] == 0, 0, -1)).all()
    # a row of 5 with patch 2: padded after (floor of half before): cells {0,1}, {2,3}, {4}
    row = region_labels(np.array([[[0.1, 0.2, 0.0, 0.0, 0.4]]]), 2, None, np.zeros((1, 5)))
    np.testing.assert_array_equal(row[0, 0], [1, 1, 2, 2, 0])


def test_patch_one_on_tabular_rows_is_aopc_without_its_step_zero(linear_task):
    X = linear_task.X[:6]
    ex = xb.get_explainer("random", seed=2).explain(linear_task, X)
    rp = region_perturbation(linear_task, X, ex, patch=1)
    ao = aopc(linear_task, X, ex)
    K = X.shape[1]
    np.testing.assert_allclose(rp.scores, ao.scores * (K + 1) / K, rtol=1e-12)


def test_region_perturbation_closed_form_on_an_additive_model():
    X = np.array([[0.9, 0.1, 0.6], [0.2, 0.8, 0.4]])
    task = additive_task(X=X)
    ex = explanation(WEIGHTS * X)
    res = region_perturbation(task, X, ex, patch=1, baseline="zero")
    # features removed by descending w*x; drop after k regions = sum of the top k of w*x
    top = -np.sort(-WEIGHTS * X, axis=1)
    np.testing.assert_allclose(res.curves, np.cumsum(top, axis=1), atol=1e-12)
    sel = selectivity(task, X, ex, patch=1, baseline="zero")
    p = (WEIGHTS * X).sum(axis=1, keepdims=True) - np.cumsum(top, axis=1)
    np.testing.assert_allclose(sel.scores, np.trapezoid(p, axis=1), atol=1e-12)


@pytest.mark.parametrize("name", ["region_perturbation", "selectivity"])
def test_batch_invariance_params_and_skips(digits_task, name):
    X = digits_task.X[:5]
    ex = xb.get_explainer("random").explain(digits_task, X)
    metric = xb.get_metric(name, patch=3)
    scores = assert_batch_invariant(metric, digits_task, X, ex)
    assert np.ptp(scores) > 0
    res = metric.score(digits_task, X, ex)
    assert res.params["patch"] == 3 and "grid" in res.params["regions"]
    assert metric.info.family == "faithfulness"
    text = xb.load_task("sentiment.transformer")
    tex = xb.get_explainer("random").explain(text, text.X[:2])
    with pytest.raises(xb.IncompatibleError):
        metric.score(text, text.X[:2], tex)


def test_default_patch_is_an_eighth_of_the_image_side(digits_task, linear_task):
    X = digits_task.X[:2]
    ex = xb.get_explainer("random").explain(digits_task, X)
    res = selectivity(digits_task, X, ex)
    assert res.params["patch"] == 1 and res.params["patch_rule"].startswith("default")
    np.testing.assert_array_equal(res.extra["n_regions"], 64)  # one pixel per region
    rgb = xb.Task(
        name="toy.rgb",
        modality=xb.Modality.IMAGE,
        X=np.zeros((1, 3, 32, 24)),
        predict_proba=lambda b: np.full((len(b), 2), 0.5),
    )
    assert resolve_patch(rgb, None)[0] == 3  # 24 // 8
    lex = xb.get_explainer("random").explain(linear_task, linear_task.X[:1])
    assert region_perturbation(linear_task, linear_task.X[:1], lex, patch=8).params["patch"] == 8
