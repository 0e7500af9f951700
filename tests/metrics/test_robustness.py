"""Robustness metrics that re-explain: closed forms on a linear model, a transcription of
Quantus 0.6's computation of each (same perturbation draws), and batch invariance."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from _metric_toys import WEIGHTS, additive_task

import xai_bench as xb
from xai_bench import Modality, Task
from xai_bench._rng import sample_rngs
from xai_bench.metrics.robustness import (
    NORMALISE_RULE,
    avg_sensitivity,
    consistency,
    continuity,
    local_lipschitz_estimate,
    sensitivity_max,
)

X3 = np.array([[0.2, 0.5, 0.9], [0.6, 0.1, 0.3], [0.4, 0.4, 0.1]])


def _draws(X, seed, S, draw):
    """The metric's per-sample draws, (S, n, ...): each sample's own generator."""
    return np.stack([draw(rng, (S, *X.shape[1:])) for rng in sample_rngs(X, seed)], axis=1)


# ---- closed forms ------------------------------------------------------------------------


def test_avg_sensitivity_of_w_times_x_and_of_a_constant(closed_form):
    times_x, const = closed_form
    task = additive_task(X=X3)
    ex = times_x().explain(task, X3)
    res = avg_sensitivity(task, X3, ex, radius=0.05, n_samples=7, seed=3)
    delta = _draws(X3, 3, 7, lambda r, s: r.uniform(-0.05, 0.05, size=s))
    # phi(x + d) - phi(x) = w * d
    expected = (
        np.linalg.norm(WEIGHTS * delta, axis=2) / np.linalg.norm(WEIGHTS * X3, axis=1)
    ).mean(0)
    np.testing.assert_allclose(res.scores, expected, rtol=1e-12)
    np.testing.assert_array_equal(res.extra["reexplained"], 7.0)  # the re-explanation cost
    # the same draws as sensitivity_max: the mean is below the max, per sample
    top = sensitivity_max(task, X3, ex, radius=0.05, n_samples=7, seed=3).scores
    assert np.all(res.scores < top)
    flat = avg_sensitivity(task, X3, const().explain(task, X3), radius=0.05, n_samples=7)
    np.testing.assert_array_equal(flat.scores, 0.0)


def test_local_lipschitz_of_w_times_x_and_of_a_constant(closed_form):
    times_x, const = closed_form
    task = additive_task(X=X3)
    ex = times_x(b=0.25).explain(task, X3)
    res = local_lipschitz_estimate(task, X3, ex, sigma=0.1, n_samples=9, seed=1, normalise=False)
    eps = _draws(X3, 1, 9, lambda r, s: r.normal(0.0, 0.1, size=s))
    ratio = np.linalg.norm(WEIGHTS * eps, axis=2) / (np.linalg.norm(eps, axis=2) + 1e-10)
    np.testing.assert_allclose(res.scores, ratio.max(0), rtol=1e-12)
    assert np.all(res.scores <= WEIGHTS.max())  # ||w * d|| / ||d|| <= max |w|
    flat = local_lipschitz_estimate(task, X3, const().explain(task, X3), n_samples=9)
    np.testing.assert_array_equal(flat.scores, 0.0)


def _image_task(X: np.ndarray) -> Task:
    def predict(batch):
        p = np.clip(np.asarray(batch, dtype=np.float64).reshape(len(batch), -1).mean(1), 0, 1)
        return np.column_stack([1 - p, p])

    return Task("toy.image", Modality.IMAGE, X, predict, baseline=np.zeros(X.shape[1:]))


def test_continuity_of_the_identity_map_is_the_l1_over_l2_ratio(closed_form):
    times_x, _ = closed_form
    X = np.random.default_rng(0).uniform(0.1, 1.0, size=(2, 1, 3, 4))
    task = _image_task(X)
    ex = times_x(w=(1.0,)).explain(task, X)  # phi = x
    res = continuity(task, X, ex, steps=8, normalise=False, absolute=False)
    W = 4
    expected = np.zeros(2)
    for s in range(-W + 1, W + 1):  # steps = 2W: every shift; 0 leaves the image as it is
        if s == 0:
            continue
        moved = np.empty_like(X)
        for i in range(2):
            for j in range(W):  # x'[..., j] = x[..., j - s], the image's minimum outside
                moved[i, ..., j] = X[i, ..., j - s] if 0 <= j - s < W else X[i].min()
        d = (X - moved).reshape(2, -1)
        r = np.abs(d).sum(1) / (np.linalg.norm(d, axis=1) + 1e-9)  # phi' - phi = x' - x
        expected = np.maximum(expected, r)
    np.testing.assert_allclose(res.scores, expected, rtol=1e-12)
    assert res.params["shifts"] == [-3, -2, -1, 0, 1, 2, 3, 4]


def test_consistency_of_a_constant_explanation_is_the_share_predicted_alike(closed_form):
    _, const = closed_form
    X = np.random.default_rng(1).uniform(0, 1, size=(12, 3))
    task = additive_task(X=X)
    ex = const().explain(task, X)  # one label for everyone
    res = consistency(task, X, ex, n_reference=12)
    pred = task.predicted(X)
    same = (pred[:, None] == pred[None]).sum(1) - 1  # the other references predicted alike
    np.testing.assert_allclose(res.scores, same / 11)
    np.testing.assert_array_equal(res.extra["matches"], 11)


# ---- transcriptions of Quantus 0.6 (same draws; one sample per Quantus call) -------------


def _normalise_by_max(a):
    """quantus.functions.normalise_func.normalise_by_max over the whole (1-sample) batch."""
    return a if np.all(a == 0.0) else a / np.max(np.abs(a))


def _explain(task, explainer, x, y):
    """Quantus's explain_func on a batch of one."""
    return explainer.explain(task, x[None], targets=[y]).flat()[0]


def test_avg_sensitivity_and_lipschitz_match_a_quantus_transcription(mlp_task):
    X = np.asarray(mlp_task.X[:4], dtype=np.float64)
    saliency = xb.get_explainer("captum.saliency")
    ex = saliency.explain(mlp_task, X)
    a_batch, y = ex.flat(), ex.targets
    # Quantus AvgSensitivity(nr_samples=5, lower_bound=0.05): batch_uniform_noise in
    # [-0.05, 0.05], similarity a - a', fro_norm(a - a') / fro_norm(a), nanmean
    unif = _draws(X, 0, 5, lambda r, s: r.uniform(-0.05, 0.05, size=s))
    lle_noise = _draws(X, 0, 5, lambda r, s: r.normal(0.0, 0.1, size=s))
    avg, lle = np.full((4, 5), np.nan), np.full((4, 5), np.nan)
    for i in range(4):
        a = _normalise_by_max(a_batch[i])  # LocalLipschitzEstimate normalises (default)
        for step in range(5):
            x_p = X[i] + unif[step, i]
            a_p = _explain(mlp_task, saliency, x_p, y[i])
            avg[i, step] = np.linalg.norm(a_batch[i] - a_p) / np.linalg.norm(a_batch[i])
            x_p = X[i] + lle_noise[step, i]
            a_p = _normalise_by_max(_explain(mlp_task, saliency, x_p, y[i]))
            # lipschitz_constant: distance_euclidean(a, b) / (distance_euclidean(c, d) + 1e-10)
            lle[i, step] = np.sqrt(((a - a_p) ** 2).sum()) / (
                np.sqrt(((X[i] - x_p) ** 2).sum()) + 1e-10
            )
    ours = avg_sensitivity(mlp_task, X, ex, radius=0.05, n_samples=5).scores
    # float32 model: our batched re-explanation rounds differently in the last bits
    np.testing.assert_allclose(ours, np.nanmean(avg, axis=1), rtol=1e-5)
    ours = local_lipschitz_estimate(mlp_task, X, ex, n_samples=5).scores
    np.testing.assert_allclose(ours, np.nanmax(lle, axis=1), rtol=1e-5)


def _quantus_translation(arr, baseline, dx):
    """quantus.functions.perturb_func.batched_translation along x, 'black' = each image's min."""
    b, c, h, w = arr.shape
    pad = np.broadcast_to(arr.reshape(b, -1).min(1)[:, None, None, None], arr.shape)
    pad = np.take(pad, np.arange(-abs(dx), 0), axis=3)
    if dx < 0:
        return np.take(np.concatenate([arr, pad], axis=3), np.arange(-w, 0), axis=3)
    return np.take(np.concatenate([pad, arr], axis=3), np.arange(w), axis=3)


def test_continuity_matches_a_quantus_transcription(digits_task):
    X = np.asarray(digits_task.X[:3], dtype=np.float64)
    saliency = xb.get_explainer("captum.saliency")
    ex = saliency.explain(digits_task, X)
    nr_steps = 6
    expected = np.zeros(3)
    for i in range(3):  # Quantus's Continuity.evaluate_batch on a batch of one
        xb_ = X[i : i + 1]
        y = ex.targets[i]
        width = xb_.shape[3]
        dx = (width * 2 + 1) // nr_steps
        current = -width
        a = np.abs(_normalise_by_max(_explain(digits_task, saliency, xb_[0], y)))
        results = []
        for _ in range(nr_steps):
            current += dx
            x_p = _quantus_translation(xb_, "black", current)
            a_p = np.abs(_normalise_by_max(_explain(digits_task, saliency, x_p[0], y)))
            r = np.abs(a - a_p).sum() / (np.sqrt(((xb_ - x_p) ** 2).sum()) + 1e-9)
            results.append(r)
        expected[i] = max(results)
    res = continuity(digits_task, X, ex, steps=nr_steps)
    assert res.params["shifts"] == [-8 + 2 * k for k in range(1, 7)]  # includes 0 ...
    # ... where Quantus's ratio is 0 / 1e-9 = 0 (the same explanation): never the max
    np.testing.assert_allclose(res.scores, expected, rtol=1e-5)


def _quantus_consistency(a_labels, y_pred):
    """Quantus 0.6 Consistency.evaluate_batch (labels already discretised)."""
    n = len(y_pred)
    pred_eq = (y_pred[None] == y_pred[:, None]) * (1 - np.eye(n)).astype(bool)
    lab_eq = (a_labels[None] == a_labels[:, None]) * (1 - np.eye(n)).astype(bool)
    return (pred_eq * lab_eq).sum(axis=-1) / (lab_eq.sum(axis=-1) + 1e-9)


@pytest.mark.parametrize(
    ("explainer", "absolute", "top_n"),
    [("captum.saliency", True, 5), ("captum.input_x_gradient", False, 3)],
)
def test_consistency_matches_a_quantus_transcription(mlp_task, explainer, absolute, top_n):
    X = np.asarray(mlp_task.X[:24])
    task = replace(mlp_task, X=X)  # the reference set is the batch, as in Quantus
    ex = xb.get_explainer(explainer).explain(task, X)
    a = ex.flat()
    a = np.stack([_normalise_by_max(np.abs(r) if absolute else r) for r in a])  # Quantus
    # quantus.functions.discretise_func.top_n_sign: the signs of the first n entries
    labels = np.array([hash(bytes(np.sign(r)[:top_n])) for r in a])
    expected = _quantus_consistency(labels, task.predicted(X))
    res = consistency(
        task, X, ex, n_reference=24, discretise="first_n_sign", top_n=top_n, absolute=absolute
    )
    np.testing.assert_allclose(res.scores, expected, atol=1e-8)  # Quantus adds 1e-9 below
    assert 0 < res.scores.mean() < 1 or absolute


# ---- batch invariance and skips --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["avg_sensitivity", "local_lipschitz_estimate", "consistency", "relative_input_stability",
     "relative_output_stability", "relative_representation_stability"],
)  # fmt: skip
def test_a_sample_scores_the_same_in_any_batch(mlp_task, name):
    X = mlp_task.X[:5]
    ex = xb.get_explainer("captum.saliency").explain(mlp_task, X)
    m = xb.get_metric(name, n_samples=4) if name != "consistency" else xb.get_metric(name)
    full = m.score(mlp_task, X, ex).scores
    single = [m.score(mlp_task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(5)]
    reordered = m.score(mlp_task, X[::-1], ex.subset(slice(None, None, -1))).scores[::-1]
    np.testing.assert_allclose(full, single, rtol=1e-5)
    np.testing.assert_allclose(full, reordered, rtol=1e-5)


def test_continuity_is_batch_invariant_and_refuses_tabular(digits_task, linear_task):
    X = digits_task.X[:3]
    ex = xb.get_explainer("captum.saliency").explain(digits_task, X)
    m = xb.get_metric("continuity", steps=4)
    full = m.score(digits_task, X, ex)
    single = [m.score(digits_task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(3)]
    np.testing.assert_allclose(full.scores, single, rtol=1e-5)
    np.testing.assert_array_equal(full.extra["reexplained"], 4.0)
    tab = xb.get_explainer("random").explain(linear_task, linear_task.X[:2])
    with pytest.raises(xb.IncompatibleError, match="image"):
        m.score(linear_task, linear_task.X[:2], tab)


def test_explainers_that_cannot_reexplain_are_a_recorded_skip(linear_task):
    X = linear_task.X[:3]
    oracle = xb.get_explainer("oracle").explain(linear_task, X)
    for name in ("avg_sensitivity", "local_lipschitz_estimate"):
        with pytest.raises(xb.IncompatibleError, match="re-explain"):
            xb.get_metric(name).score(linear_task, X, oracle)
    # consistency re-explains the task's own inputs, which the oracle knows
    res = xb.get_metric("consistency").score(linear_task, X, oracle)
    assert np.isfinite(res.scores).all()


def test_the_new_metrics_are_listed_in_their_family():
    robustness = set(xb.list_metrics("robustness"))
    assert robustness >= {
        "sensitivity_max", "avg_sensitivity", "local_lipschitz_estimate", "continuity",
        "consistency", "relative_input_stability", "relative_output_stability",
        "relative_representation_stability",
    }  # fmt: skip
    assert set(xb.list_metrics("axiomatic")) >= {"non_sensitivity", "input_invariance"}
    assert xb.get_metric("consistency").info.higher_is_better
    assert not xb.get_metric("local_lipschitz_estimate").info.higher_is_better


def _quantus_lle_batch(task, explainer, X, a_batch, y, noise):
    """Quantus 0.6 LocalLipschitzEstimate.evaluate_batch on one batch, default
    normalise=True: ``normalise_by_max`` runs on the whole batch (normalise_axes = all
    axes), once on a_batch and once per step on the batch of re-explanations."""
    a = _normalise_by_max(a_batch)
    steps = []
    for eps in noise:  # batch_gaussian_noise: one (batch, F) draw per step
        x_p = X + eps
        a_p = _normalise_by_max(explainer.explain(task, x_p, targets=y).flat())
        steps.append(np.linalg.norm(a - a_p, axis=1) / (np.linalg.norm(X - x_p, axis=1) + 1e-10))
    return np.nanmax(np.stack(steps, axis=1), axis=1)


def test_lipschitz_normalises_per_sample_where_quantus_normalises_per_batch(mlp_task):
    X = np.asarray(mlp_task.X[:4], dtype=np.float64)
    saliency = xb.get_explainer("captum.saliency")
    ex = saliency.explain(mlp_task, X)
    noise = _draws(X, 0, 5, lambda r, s: r.normal(0.0, 0.1, size=s))
    ours = local_lipschitz_estimate(mlp_task, X, ex, n_samples=5)
    assert ours.params["normalise"] == NORMALISE_RULE
    # Quantus with batch_size=1 (each sample its own batch) is ours, to float32 rounding
    alone = [
        _quantus_lle_batch(mlp_task, saliency, X[i : i + 1], ex.flat()[i : i + 1],
                           ex.targets[i : i + 1], noise[:, i : i + 1])[0]
        for i in range(len(X))
    ]  # fmt: skip
    np.testing.assert_allclose(ours.scores, alone, rtol=1e-5)
    # on a batch of 4, Quantus divides a and each step's re-explanations by the batch's
    # max |phi|: a sample's score then depends on its batch (digits.cnn, N = 64: mean 0.81
    # vs 1.73 per sample, Spearman 0.27); ours does not
    batch = _quantus_lle_batch(mlp_task, saliency, X, ex.flat(), ex.targets, noise)
    assert np.abs(batch / ours.scores - 1).max() > 0.5
    again = local_lipschitz_estimate(mlp_task, X[2:], ex.subset(slice(2, None)), n_samples=5).scores
    np.testing.assert_allclose(again, ours.scores[2:], rtol=1e-5)
