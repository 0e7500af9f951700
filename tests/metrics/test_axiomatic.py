"""Axiomatic family: completeness as a relative gap, Quantus's isclose kept, batch invariance;
non-sensitivity and input invariance against closed forms and Quantus 0.6 transcriptions."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import additive_task, explanation

import xai_bench as xb
from xai_bench.metrics.axiomatic import completeness, input_invariance, non_sensitivity


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


# ---- non-sensitivity -------------------------------------------------------------------


def test_non_sensitivity_counts_features_whose_attribution_and_effect_disagree(linear_task):
    X = np.asarray(linear_task.X[:4])
    truth = np.where(np.arange(8) < 3, X, 0.0)  # features 3-7 have weight 0: no effect
    res = non_sensitivity(linear_task, X, explanation(truth, linear_task.predicted(X)))
    np.testing.assert_array_equal(res.scores, 0.0)
    flat = non_sensitivity(linear_task, X, explanation(np.ones((4, 8)), 1))
    np.testing.assert_array_equal(flat.scores, 5.0)  # attribution on the 5 dead features
    np.testing.assert_allclose(flat.extra["share"], 5 / 8)
    missed = truth.copy()
    missed[:, 0] = 0.0  # feature 0 matters but gets nothing
    res = non_sensitivity(linear_task, X, explanation(missed, linear_task.predicted(X)))
    np.testing.assert_array_equal(res.scores, 1.0)
    assert res.params["eps"] == 1e-5 and "one feature at a time" in res.params["removal"]


def test_non_sensitivity_matches_a_quantus_transcription(mlp_task):
    X = np.asarray(mlp_task.X[:5], dtype=np.float64)
    sal = xb.get_explainer("captum.saliency").explain(mlp_task, X)
    a = sal.flat().copy()
    a[:, [0, 5, 10, 20]] = 0.0  # some exact non-features
    ex = explanation(a, sal.targets)
    eps = 1e-3
    # Quantus 0.6 NonSensitivity(eps, features_in_step=1, perturb_baseline="black"),
    # abs=True and normalise=True (normalise_by_max over a batch of one)
    expected = []
    for i in range(5):
        ai = np.abs(a[i] / np.max(np.abs(a[i])))
        non_features = ai < eps
        y_pred = mlp_task.predict(X[i : i + 1])[0, ex.targets[i]]
        preds = []
        for j in range(30):
            x_p = X[i].copy()
            x_p[j] = X[i].min()  # "black": the sample's minimum
            preds.append(mlp_task.predict(x_p[None])[0, ex.targets[i]])
        expected.append(((np.abs(np.array(preds) - y_pred) < eps) ^ non_features).sum())
    res = non_sensitivity(mlp_task, X, ex, eps=eps, baseline="min")
    np.testing.assert_array_equal(res.scores, expected)
    assert 0 < res.scores.sum() < 150


# ---- input invariance ------------------------------------------------------------------


def test_saliency_is_input_invariant_and_input_x_gradient_is_not(linear_task):
    X = linear_task.X[:6]
    sal = xb.get_explainer("captum.saliency").explain(linear_task, X)
    res = input_invariance(linear_task, X, sal)
    np.testing.assert_array_equal(res.scores, 1.0)  # m'(x + c) has m's gradient at x
    ixg = xb.get_explainer("captum.input_x_gradient").explain(linear_task, X)
    res = input_invariance(linear_task, X, ixg, shift=-1.0)
    np.testing.assert_array_equal(res.scores, 0.0)
    # grad * (x + c) - grad * x = c * grad: the largest change is |c| max |grad|
    np.testing.assert_allclose(res.extra["max_abs_change"], sal.flat().max(axis=1), rtol=1e-5)
    np.testing.assert_array_equal(res.extra["reexplained"], 1.0)
    assert res.params["shift"] == -1.0


def _tiny_cnn():
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(32, 2)
    )
    with torch.no_grad():  # live ReLUs and outputs away from 1/2: attributions of order 0.1
        net[0].bias.fill_(0.5)
        net[3].weight.mul_(10.0)
    X = np.random.default_rng(0).uniform(0, 1, size=(5, 1, 6, 6))
    return net.eval(), X


@pytest.mark.parametrize(("method", "invariant"), [("saliency", 1.0), ("input_x_gradient", 0.0)])
def test_input_invariance_matches_a_quantus_transcription(method, invariant):
    import copy

    import torch

    net, X = _tiny_cnn()
    task = xb.Task.from_torch(net, X, modality="image")
    explainer = xb.get_explainer(f"captum.{method}")
    ex = explainer.explain(task, X)
    c = -1.0
    # Quantus 0.6 InputInvariance: x + c, and PyTorchModel.add_mean_shift_to_first_layer
    shifted = copy.deepcopy(net)
    conv = list(shifted.named_modules())[1][1]
    with torch.no_grad():
        fw = conv.forward(torch.zeros(size=(1, 1, 6, 6)).fill_(c))[0]
        for i in range(conv.out_channels):
            conv.bias[i] = torch.nn.Parameter(2 * conv.bias[i] - torch.unique(fw[i])[0])
    x_shifted = X + c
    a_shifted = explainer.explain(
        xb.Task.from_torch(shifted, x_shifted, modality="image"), x_shifted, targets=ex.targets
    ).flat()
    quantus = np.all(np.isclose(ex.flat(), a_shifted, atol=1e-4), axis=1)
    res = input_invariance(task, X, ex, shift=c)
    np.testing.assert_array_equal(res.scores, quantus.astype(float))
    np.testing.assert_array_equal(res.scores, invariant)
    change = np.abs(ex.flat() - a_shifted).max(axis=1)
    np.testing.assert_allclose(res.extra["max_abs_change"], change, rtol=1e-4, atol=1e-6)


def test_input_invariance_keeps_the_reference_unless_asked():
    net, X = _tiny_cnn()
    task = xb.Task.from_torch(net, X, modality="image")
    ig = xb.get_explainer("captum.integrated_gradients").explain(task, X)
    fixed = input_invariance(task, X, ig)  # IG from a zero baseline: not invariant
    np.testing.assert_array_equal(fixed.scores, 0.0)
    moved = input_invariance(task, X, ig, shift_reference=True)  # baseline shifted too
    assert moved.params["reference"].startswith("background and removal value shifted")
    assert (moved.extra["max_abs_change"] < fixed.extra["max_abs_change"]).all()
