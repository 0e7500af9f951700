"""Smooth MPRT, Efficient MPRT (Hedström et al., 2023) and Random Logit (Sixt et al., 2020).

Each is checked against a closed form where one exists and against a plain-numpy
transcription of Quantus 0.6's computation (``quantus/metrics/randomisation/*.py``), fed the
same random draws and the same randomised layers.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import xai_bench as xb
from xai_bench.metrics.randomisation import (
    efficient_mprt,
    histogram_entropy,
    layers,
    model_randomisation,
    random_logit,
    smooth_inputs,
    smooth_mprt,
)

SALIENCY = {"abs": False, "space": "logit"}  # the signed logit gradient


def _linear_task(n_classes=4, n_features=6, n=10, seed=0):
    """A torch linear classifier: the logit gradient for class c is w_c at every x."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Linear(n_features, n_classes).double()
    X = np.random.default_rng(seed).standard_normal((n, n_features))
    return xb.Task.from_torch(model, X, name="linear.torch"), model.weight.detach().numpy()


def _saliency(task, X, targets=None):
    return xb.get_explainer("captum.saliency", **SALIENCY).explain(task, X, targets=targets)


def _quantus_spearman(a, b):
    """Quantus's ``correlation_spearman(batched=True)``: the diagonal of one spearmanr call."""
    rho = scipy.stats.spearmanr(a, b, axis=1)[0]
    return np.diag(rho[: len(a), len(a) :])


def _second_moment(a):
    """Quantus's ``normalise_by_average_second_moment_estimate`` (over the whole batch)."""
    return a / np.sqrt(np.sum(a**2) / a.size)


def _reset_all(task, seed, upto=None):
    """Re-initialise the top ``upto`` layers with xai-bench's per-layer seeds (Quantus's
    generator seeds every layer with ``seed + 1``: the bench maps it to these)."""
    import torch

    for i, layer in enumerate(layers(task.model)[:upto]):
        torch.manual_seed(seed + i + 1)
        layer.reset_parameters()


# --- Random Logit -----------------------------------------------------------------------


def test_random_logit_on_a_linear_model_is_the_correlation_of_two_weight_rows():
    task, W = _linear_task()
    X = task.X
    ex = _saliency(task, X)
    res = random_logit(task, X, ex, method="pearson")
    other, y = res.extra["other_class"], ex.targets
    assert (other != y).all() and ((other >= 0) & (other < 4)).all()
    want = [np.corrcoef(W[t], W[o])[0, 1] for t, o in zip(y, other, strict=True)]
    np.testing.assert_allclose(res.scores, want, atol=1e-12)
    np.testing.assert_allclose(res.extra["other_attributions"], W[other], atol=1e-12)
    assert res.params["explainer_calls"] == 1 and res.params["explained_rows"] == len(X)
    assert res.params["similarity"] == "Pearson of phi"


def test_random_logit_on_two_softmax_classes_is_minus_one_signed_and_one_in_magnitude():
    """With two classes, d p_1 / dx = -d p_0 / dx for any model: the other class's saliency
    is the exact negative (Sixt et al.'s failure case for |gradient| maps)."""
    task, _ = _linear_task(n_classes=2)
    X = task.X
    ex = xb.get_explainer("captum.saliency", abs=False).explain(task, X)  # probability
    np.testing.assert_allclose(random_logit(task, X, ex, method="pearson").scores, -1.0)
    np.testing.assert_allclose(random_logit(task, X, ex, order="abs").scores, 1.0)
    np.testing.assert_array_equal(random_logit(task, X, ex).extra["other_class"], 1 - ex.targets)


def test_random_logit_equals_a_transcription_of_quantus(digits_task):
    """Quantus 0.6 ``RandomLogit.evaluate_batch`` with Spearman and our class draws."""
    X = digits_task.X[:12]
    ex = _saliency(digits_task, X)
    res = xb.get_metric("random_logit").score(digits_task, X, ex)
    y, num_classes, batch_size = ex.targets, 10, len(X)
    # Quantus: y_off_indices = np.random.randint(0, num_classes - 1, batch_size); the draw
    # that picks our class among the other classes is its index in the filtered list
    y_off_indices = res.extra["other_class"] - (res.extra["other_class"] > y)
    y_classes = np.stack([np.arange(num_classes) for _ in range(batch_size)])
    y_mask = np.ones_like(y_classes)
    y_mask[np.arange(y.shape[0])[None, :], y] = 0
    y_filtered = y_classes[y_mask.astype(bool)].reshape(batch_size, -1)
    y_off = y_filtered[np.arange(batch_size)[None, :], y_off_indices].flatten()
    a_perturbed = _saliency(digits_task, X, y_off).attributions
    a_batch = ex.attributions / np.abs(ex.attributions).max()  # normalise_by_max, abs=False
    want = _quantus_spearman(
        a_batch.reshape(batch_size, -1),
        (a_perturbed / np.abs(a_perturbed).max()).reshape(batch_size, -1),
    )
    np.testing.assert_allclose(res.scores, want, atol=1e-12)


def test_random_logit_draws_per_sample_and_skips_regression(mlp_task):
    X = mlp_task.X[:6]
    ex = _saliency(mlp_task, X)
    both = random_logit(mlp_task, X, ex, seed=3)
    alone = random_logit(mlp_task, X[2:3], ex.subset([2]), seed=3)
    assert alone.scores[0] == pytest.approx(both.scores[2], abs=1e-12)
    reg = xb.load_task("synthetic.regression")
    with pytest.raises(xb.IncompatibleError, match="regression"):
        random_logit(reg, reg.X[:2], xb.get_explainer("random").explain(reg, reg.X[:2]))
    with pytest.raises(xb.IncompatibleError, match="SSIM"):
        random_logit(mlp_task, X, ex, method="ssim")


# --- Efficient MPRT ---------------------------------------------------------------------


def test_histogram_entropy_closed_forms_and_numpy_bins():
    one_per_bin = np.arange(100.0)[None]
    assert histogram_entropy(one_per_bin, np.ones((1, 100), bool))[0] == pytest.approx(np.log(100))
    halves = np.r_[np.zeros(5), np.ones(5)][None]  # two bins of equal mass
    assert histogram_entropy(halves, np.ones((1, 10), bool), bins=7)[0] == pytest.approx(np.log(2))
    assert histogram_entropy(np.full((1, 9), 2.5), np.ones((1, 9), bool))[0] == 0.0
    # padding is left out; the values' bins are np.histogram's, bit for bit
    rng = np.random.default_rng(1)
    v = rng.standard_normal((20, 37)) * np.logspace(-6, 3, 20)[:, None]
    v[3] = np.round(v[3], 1)
    valid = rng.random(v.shape) > 0.2
    got = histogram_entropy(v, valid, bins=13)
    want = [
        scipy.stats.entropy(np.histogram(r[m], bins=13)[0]) for r, m in zip(v, valid, strict=True)
    ]
    np.testing.assert_array_equal(got, want)


def test_efficient_mprt_equals_a_transcription_of_quantus(digits_task):
    """Quantus 0.6 ``EfficientMPRT`` (skip_layers=True, abs=False, normalise=False, n_bins=100):
    ``(H(a_random) - H(a)) / H(a)`` with ``discrete_entropy`` = scipy entropy of np.histogram."""
    import copy

    X = digits_task.X[:10]
    ex = _saliency(digits_task, X)
    res = xb.get_metric("efficient_mprt").score(digits_task, X, ex)
    state = copy.deepcopy(digits_task.model.state_dict())
    try:
        _reset_all(digits_task, seed=0)
        a_random = _saliency(digits_task, X, ex.targets).attributions
    finally:
        digits_task.model.load_state_dict(state)

    def discrete_entropy(a):
        return scipy.stats.entropy(pk=np.histogram(a, bins=100)[0])

    orig = [discrete_entropy(a) for a in ex.attributions]
    rand = [discrete_entropy(a) for a in a_random]
    want = [(b - a) / a for a, b in zip(orig, rand, strict=True)]
    np.testing.assert_allclose(res.scores, want, rtol=1e-12)
    np.testing.assert_allclose(res.extra["entropy"], orig, rtol=1e-12)
    assert res.params["explainer_calls"] == 1 and res.params["layer_seeds"].startswith("layer i")
    # the model is restored; the fully randomised model is MPRT's last cascade step
    mprt = model_randomisation(digits_task, X, ex, order="signed")
    np.testing.assert_allclose(
        mprt.extra["randomised_attributions"], res.extra["randomised_attributions"]
    )


def test_efficient_mprt_rises_for_a_model_dependent_explainer_and_flags_flat_maps(mlp_task):
    X = mlp_task.X[:4]
    flat = xb.Explanation(np.ones((4, 30)), mlp_task.predicted(X), "captum.saliency", {**SALIENCY})
    res = efficient_mprt(mlp_task, X, flat)
    assert res.flags["undefined"].all() and np.isnan(res.scores).all()
    with pytest.raises(xb.InvalidInputError, match="bins"):
        xb.get_metric("efficient_mprt", bins=0)
    with pytest.raises(xb.InvalidInputError, match="order"):
        efficient_mprt(mlp_task, X, flat, order="up")


# --- Smooth MPRT ------------------------------------------------------------------------


def test_smooth_mprt_with_one_copy_is_mprt(mlp_task):
    """n_noise=1: the only copy is x itself, so Smooth MPRT is MPRT (deterministic explainer)."""
    X = mlp_task.X[:8]
    ex = _saliency(mlp_task, X)
    sm = smooth_mprt(mlp_task, X, ex, n_noise=1)
    mp = model_randomisation(mlp_task, X, ex)
    np.testing.assert_allclose(sm.curves, mp.curves, atol=1e-12)
    assert sm.params["explainer_calls"] == mp.params["explainer_calls"] + 1


def test_smooth_inputs_are_seeded_per_sample_and_end_with_the_sample():
    X = np.random.default_rng(0).standard_normal((5, 3, 4))
    copies = smooth_inputs(X, 7, 0.2, seed=1)
    assert copies.shape == (7, 5, 3, 4)
    np.testing.assert_array_equal(copies[-1], X)
    np.testing.assert_array_equal(smooth_inputs(X[2:3], 7, 0.2, seed=1)[:, 0], copies[:, 2])
    scale = 0.2 * (X[0].max() - X[0].min())
    z = (copies[:-1, 0] - X[0]) / scale
    assert abs(z.std() - 1) < 0.3  # 6 x 12 draws of N(0, 1)


def test_smooth_mprt_equals_a_transcription_of_quantus(digits_task):
    """Quantus 0.6 ``SmoothMPRT`` (a_batch=None, so smoothed vs smoothed; abs=True,
    normalise_by_average_second_moment_estimate, Spearman, layer_order="top_down"), its
    ``np.random.randn`` draws replaced by ours and its layer seeds by ours."""
    import copy

    X = digits_task.X[:6]
    ex = _saliency(digits_task, X)
    nr_samples = 5
    res = smooth_mprt(digits_task, X, ex, n_noise=nr_samples, noise=0.1, seed=2)
    copies = smooth_inputs(X, nr_samples, 0.1, seed=2)

    def explain_smooth_batch(x_batch, y_batch):
        a_batch_smooth = None
        for n in range(nr_samples):  # the last copy is noise-free, as Quantus's
            a_batch = _saliency(digits_task, copies[n], y_batch).attributions
            if a_batch_smooth is None:
                a_batch_smooth = a_batch / nr_samples
            else:
                a_batch_smooth += a_batch / nr_samples
        return np.abs(_second_moment(a_batch_smooth))

    a_orig = explain_smooth_batch(X, ex.targets).reshape(len(X), -1)
    state = copy.deepcopy(digits_task.model.state_dict())
    curve = []
    try:
        for k in range(1, len(layers(digits_task.model)) + 1):
            digits_task.model.load_state_dict(state)
            _reset_all(digits_task, seed=2, upto=k)  # the cascade after k layers
            a_rand = explain_smooth_batch(X, ex.targets).reshape(len(X), -1)
            curve.append(_quantus_spearman(a_orig, a_rand))
    finally:
        digits_task.model.load_state_dict(state)
    np.testing.assert_allclose(res.curves[:, 1:], np.column_stack(curve), atol=1e-10)
    np.testing.assert_allclose(res.scores, curve[-1], atol=1e-10)
    assert res.params["n_noise"] == nr_samples and res.params["explained_rows"] == 5 * 5 * 6


def test_smooth_mprt_checks_its_inputs(mlp_task):
    X = mlp_task.X[:2]
    ex = _saliency(mlp_task, X)
    with pytest.raises(xb.InvalidInputError, match="n_noise"):
        xb.get_metric("smooth_mprt", n_noise=0)
    with pytest.raises(xb.InvalidInputError, match="noise"):
        smooth_mprt(mlp_task, X, ex, noise=-1.0)
    text = xb.load_task("sentiment.tfidf")
    with pytest.raises(xb.IncompatibleError):
        xb.get_metric("smooth_mprt").score(text, text.X[:2], ex)


def test_the_three_are_registered_in_the_randomisation_family():
    names = xb.list_metrics("randomisation")
    assert {"smooth_mprt", "efficient_mprt", "random_logit", "model_randomisation"} <= set(names)
    assert not xb.get_metric("random_logit").info.higher_is_better
    assert xb.get_metric("efficient_mprt").info.higher_is_better
