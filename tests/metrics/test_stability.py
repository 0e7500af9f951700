"""Relative input / output / representation stability: closed forms, the representation
hook, a transcription of Quantus 0.6 (same draws) and the prediction-change rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _metric_toys import WEIGHTS, additive_task

import xai_bench as xb
from xai_bench._rng import sample_rngs
from xai_bench.metrics.stability import (
    relative_input_stability,
    relative_output_stability,
    relative_representation_stability,
    representation,
)

X3 = np.array([[0.2, 0.5, 0.9], [0.6, 0.1, 0.3], [0.4, 0.4, 0.1]])


def _uniform(X, seed, S, low=0.02, high=0.2):
    return np.stack(
        [r.uniform(low, high, size=(S, *X.shape[1:])) for r in sample_rngs(X, seed)], axis=1
    )


def test_ris_of_w_times_x_is_one_and_of_a_constant_zero(closed_form):
    times_x, const = closed_form
    task = additive_task(X=X3)
    ex = times_x().explain(task, X3)
    # (phi(x) - phi(x')) / phi(x) = (x - x') / x: the two relative changes are equal
    res = relative_input_stability(task, X3, ex, n_samples=6, same_prediction=False)
    np.testing.assert_allclose(res.scores, 1.0, rtol=1e-12)
    np.testing.assert_array_equal(res.extra["reexplained"], 6.0)
    flat = relative_input_stability(task, X3, const().explain(task, X3), same_prediction=False)
    np.testing.assert_array_equal(flat.scores, 0.0)


def test_ros_on_probabilities_of_an_additive_model(closed_form):
    times_x, _ = closed_form
    task = additive_task(X=X3)
    ex = times_x().explain(task, X3)
    res = relative_output_stability(
        task, X3, ex, output="probability", n_samples=5, seed=2, same_prediction=False
    )
    u = _uniform(X3, 2, 5)
    num = np.linalg.norm(u / X3[None], axis=2)  # ||(w x - w (x + u)) / (w x)|| = ||u / x||
    den = np.sqrt(2) * np.abs(u @ WEIGHTS)  # h = (1 - p, p), p = w . x
    np.testing.assert_allclose(res.scores, (num / den).max(0), rtol=1e-10)


def test_copies_that_change_the_prediction_do_not_count(closed_form):
    times_x, _ = closed_form
    X = np.array([[0.49, 0.49, 0.49], [0.1, 0.1, 0.1]])  # p = 0.49: any upward noise flips it
    task = additive_task(X=X)
    ex = times_x().explain(task, X)
    res = relative_input_stability(task, X, ex, n_samples=4)
    assert np.isnan(res.scores[0]) and res.flags["all_changed"][0]
    assert res.flags["prediction_changed"][0] and not res.flags["prediction_changed"][1]
    np.testing.assert_allclose(res.scores[1], 1.0)
    np.testing.assert_array_equal(res.extra["kept"], [0, 4])


def test_representation_reads_the_declared_layer(mlp_task, linear_task):
    X = np.asarray(mlp_task.X[:3])
    net = mlp_task.model
    with torch.no_grad():
        first = net[0](torch.as_tensor(X, dtype=torch.float32))
        hidden = net[1](first)
        logits = net[2](hidden)
    np.testing.assert_allclose(representation(mlp_task)(X), hidden.numpy())  # penultimate
    np.testing.assert_allclose(representation(mlp_task, "0")(X), first.numpy())
    np.testing.assert_allclose(representation(mlp_task, "output")(X), logits.numpy())
    every = torch.cat([first, hidden, logits], dim=1)  # Quantus's default: all layers
    np.testing.assert_allclose(representation(mlp_task, "all")(X), every.numpy())
    with pytest.raises(xb.InvalidInputError, match="layer='fc'"):
        representation(mlp_task, "fc")
    with pytest.raises(xb.IncompatibleError, match="no internal representation"):
        representation(linear_task)  # one nn.Linear: the output layer reads the inputs
    gbt = xb.load_task("breast_cancer.gbt")
    with pytest.raises(xb.IncompatibleError, match="torch"):
        representation(gbt)


def test_non_torch_models_skip_logits_but_not_probabilities():
    gbt = xb.load_task("breast_cancer.gbt")
    X = gbt.X[:2]
    ex = xb.get_explainer("random").explain(gbt, X)
    with pytest.raises(xb.IncompatibleError, match="probability"):
        xb.get_metric("relative_output_stability").score(gbt, X, ex)
    res = xb.get_metric("relative_output_stability", output="probability").score(gbt, X, ex)
    assert res.params["output"] == "task.predict" and np.isfinite(res.scores).all()


# ---- a transcription of Quantus 0.6's relative stability objectives ---------------------


def _quantus_objective(e_x, e_xs, d_x, d_xs, eps_min, relative):
    """relative_{input,output,representation}_stability_objective for 2-D batches."""
    nominator = np.linalg.norm((e_x - e_xs) / (e_x + (e_x == 0) * eps_min), axis=-1)
    denominator = d_x - d_xs
    if relative:
        denominator = denominator / (d_x + (d_x == 0) * eps_min)
    denominator = np.linalg.norm(denominator, axis=-1)
    denominator += (denominator == 0) * eps_min
    return nominator / denominator


@pytest.mark.parametrize("kind", ["input", "output", "representation"])
def test_stability_matches_a_quantus_transcription(mlp_task, kind):
    X = np.asarray(mlp_task.X[:6], dtype=np.float64)
    saliency = xb.get_explainer("captum.saliency")
    ex = saliency.explain(mlp_task, X)
    S = 5
    u = _uniform(X, 0, S)
    view = {
        "input": lambda Z: Z,
        "output": representation(mlp_task, "output"),  # model.predict(softmax=False): logits
        # get_hidden_representations(layer_names=["1"]): the ReLU feeding the output layer
        "representation": representation(mlp_task, "1"),
    }[kind]
    pred = mlp_task.predicted(X)
    rows, changed = np.zeros((S, 6)), np.zeros((S, 6), bool)
    for step in range(S):
        x_p = X + u[step]
        a_p = saliency.explain(mlp_task, x_p, targets=ex.targets).flat()
        rows[step] = _quantus_objective(ex.flat(), a_p, view(X), view(x_p), 1e-6, kind != "output")
        changed[step] = mlp_task.predicted(x_p) != pred
    fn = {
        "input": relative_input_stability,
        "output": relative_output_stability,
        "representation": relative_representation_stability,
    }[kind]
    # return_nan_when_prediction_changes=False: the max over every copy
    every = fn(mlp_task, X, ex, n_samples=S, same_prediction=False)
    np.testing.assert_allclose(every.scores, rows.max(0), rtol=1e-5)
    # Quantus's default (True) is NaN once any copy changes the prediction; ours keeps the
    # max over the copies that do not (the paper) and flags the sample
    kept = fn(mlp_task, X, ex, n_samples=S)
    quantus = np.where(changed, np.nan, rows).max(0)
    ok = ~np.isnan(quantus)
    np.testing.assert_allclose(kept.scores[ok], quantus[ok], rtol=1e-5)
    np.testing.assert_array_equal(kept.flags["prediction_changed"], changed.any(0))
