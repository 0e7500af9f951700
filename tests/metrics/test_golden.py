"""Golden tests: xai-bench against the published definitions and other libraries' conventions.

Quantus 0.6 is not a dependency; its PixelFlipping convention is hand-coded below from
its source (``quantus/metrics/faithfulness/pixel_flipping.py``: ``np.argsort(-a)``, one
feature per step, "black" = ``np.min`` of the current array, no step-0 point, AUC
``trapz(dx=1)``). ERASER's aggregation is hand-coded from ``rationale_benchmark/metrics.py``
(``_instances_aopc``), infidelity from ``infid_sen_utils.get_exp_infid`` of
chihkuanyeh/saliency_evaluation.
"""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import additive_task, explanation

import xai_bench as xb
from xai_bench.metrics.deletion import aopc, deletion_auc
from xai_bench.metrics.eraser import comprehensiveness, perturbation_suite, sufficiency
from xai_bench.metrics.infidelity import infidelity, optimal_scaling_infidelity
from xai_bench.task import CountingScorer


def quantus_pixel_flipping(predict, x, a, y, features_in_step=1):
    """Quantus 0.6 PixelFlipping.evaluate_instance with perturb_baseline="black"."""
    a = a.flatten()
    a_indices = np.argsort(-a)
    preds = []
    x_perturbed = x.copy()
    for i_ix in range(len(range(0, len(a_indices), features_in_step))):
        a_ix = a_indices[features_in_step * i_ix : features_in_step * (i_ix + 1)]
        flat = x_perturbed.reshape(-1).copy()
        flat[a_ix] = np.min(x_perturbed)  # "black": the minimum of the current array
        x_perturbed = flat.reshape(x.shape)
        preds.append(float(predict(x_perturbed[None])[:, y][0]))
    return np.array(preds)


@pytest.mark.parametrize("name", ["breast_cancer.mlp", "digits.cnn"])
def test_deletion_without_step0_equals_quantus_pixel_flipping(name):
    task = xb.load_task(name)
    X = task.X[:5]
    ex = xb.get_explainer("random", seed=4).explain(task, X)
    ours = deletion_auc(task, X, ex, baseline="min", order="signed", steps=None)
    for i in range(5):
        q = quantus_pixel_flipping(task.predict, X[i], ex.attributions[i], ex.targets[i])
        np.testing.assert_allclose(ours.curves[i, 1:], q, atol=1e-6)
        # documented AUC conversion: Quantus trapz(dx=1) = F * ours - (y0 + y1) / 2
        F = q.size
        y = ours.curves[i]
        np.testing.assert_allclose(
            np.trapezoid(q, dx=1), F * ours.scores[i] - (y[0] + y[1]) / 2, atol=F * 1e-6
        )


def eraser_instances_aopc(beta_0, beta_k):
    """ERASER's _instances_aopc: average of beta_0 - beta_k over thresholds and instances."""
    dataset_scores = np.array(
        [[b0 - bk for bk in row] for b0, row in zip(beta_0, beta_k, strict=True)]
    )
    return np.average(dataset_scores), dataset_scores


def test_comprehensiveness_and_sufficiency_hand_computed_and_equal_eraser():
    task = additive_task(X=np.ones((1, 4)), weights=np.array([0.4, 0.3, 0.2, 0.1]))
    ex = explanation([[4.0, 3.0, 2.0, 1.0]])
    comp = comprehensiveness(task, task.X, ex)
    suff = sufficiency(task, task.X, ex)
    # counts round(k * 4) for k = 1, 5, 10, 20, 50 % -> 0, 0, 0, 1, 2
    np.testing.assert_allclose(comp.curves, [[0, 0, 0, 0.4, 0.7]])
    np.testing.assert_allclose(suff.curves, [[1, 1, 1, 0.6, 0.3]])
    np.testing.assert_allclose(comp.scores, [0.22])
    np.testing.assert_allclose(suff.scores, [0.78])
    score, _ = eraser_instances_aopc([1.0], [[1, 1, 1, 0.6, 0.3]])
    np.testing.assert_allclose(
        comp.scores[0], eraser_instances_aopc([1.0], [[1, 1, 1, 0.6, 0.3]])[0]
    )
    np.testing.assert_allclose(
        suff.scores[0], eraser_instances_aopc([1.0], [[0, 0, 0, 0.4, 0.7]])[0]
    )
    assert score == pytest.approx(0.22)


def test_aopc_equals_eraser_aggregation_on_the_step_grid(mlp_task):
    X = mlp_task.X[:20]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    d = deletion_auc(mlp_task, X, ex, steps=10)
    ours = aopc(mlp_task, X, ex, steps=10)
    # ERASER with thresholds = the K+1 grid points (including 0) gives AOPC per instance
    per_instance = [eraser_instances_aopc([row[0]], [row])[0] for row in d.curves]
    np.testing.assert_allclose(ours.scores, per_instance)
    comp = comprehensiveness(mlp_task, X, ex, fractions=tuple(d.x))
    np.testing.assert_allclose(comp.scores, ours.scores)


def test_suite_shares_forward_passes_and_equals_separate_metrics(mlp_task):
    X = mlp_task.X[:32]
    ex = xb.get_explainer("random").explain(mlp_task, X)
    counter = CountingScorer(mlp_task.predict)
    suite = perturbation_suite(mlp_task, X, ex, steps=30, predict=counter)
    assert counter.calls == 2
    # 30 steps over 30 features: every ERASER bin is on the grid -> no extra rows
    assert counter.rows == 2 * 32 * 31
    kw = {"steps": 30}
    np.testing.assert_allclose(
        suite["deletion_auc"].scores,
        xb.get_metric("deletion_auc", **kw).score(mlp_task, X, ex).scores,
    )
    np.testing.assert_allclose(
        suite["insertion_auc"].scores,
        xb.get_metric("insertion_auc", **kw).score(mlp_task, X, ex).scores,
    )
    np.testing.assert_allclose(
        suite["comprehensiveness"].scores, comprehensiveness(mlp_task, X, ex).scores
    )
    np.testing.assert_allclose(suite["sufficiency"].scores, sufficiency(mlp_task, X, ex).scores)
    # comprehensiveness at 10% = f(x) - deletion curve at x = 0.1 (3 of 30 features)
    d = suite["deletion_auc"].curves
    np.testing.assert_allclose(suite["comprehensiveness"].curves[:, 2], d[:, 0] - d[:, 3])


def authors_infidelity(exp_sum, pdt_diff):
    """get_exp_infid's last lines with kernel weights ks = 1."""
    ks = np.ones(len(exp_sum))
    beta = np.mean(ks * pdt_diff * exp_sum) / np.mean(ks * exp_sum * exp_sum)
    exp_sum = exp_sum * beta
    return np.mean(ks * np.square(pdt_diff - exp_sum)) / np.mean(ks)


def test_infidelity_beta_scaling_equals_authors_code():
    rng = np.random.default_rng(0)
    e, d = rng.normal(size=(5, 50)), rng.normal(size=(5, 50))
    _, ours = optimal_scaling_infidelity(e, d)
    np.testing.assert_allclose(ours, [authors_infidelity(e[i], d[i]) for i in range(5)])


def test_infidelity_closed_forms_on_a_linear_model():
    w = np.array([0.2, -0.1, 0.15, 0.05])
    task = additive_task(X=np.full((2, 4), 0.5) + [[0.1, 0, 0, 0], [0, 0.2, 0, 0]], weights=w)
    # f is linear inside [0, 1], so f(x) - f(x - I) = w . I exactly
    exact = infidelity(task, task.X, explanation(np.tile(w, (2, 1))), noise=0.01)
    np.testing.assert_allclose(exact.scores, 0, atol=1e-20)
    scaled = infidelity(task, task.X, explanation(np.tile(5 * w, (2, 1))), noise=0.01)
    np.testing.assert_allclose(scaled.extra["beta"], 0.2)  # beta undoes any scale
    one = infidelity(
        task, task.X, explanation([[1.0, 0, 0, 0]] * 2), noise=0.01, n_perturbations=20000
    )
    # with phi = e_0: beta -> w_0 and INFD -> sigma^2 * sum_{j>0} w_j^2
    np.testing.assert_allclose(one.scores, 1e-4 * (w[1:] ** 2).sum(), rtol=0.05)
    sub = infidelity(task, task.X, explanation(w * task.X), perturbation="subset", baseline="zero")
    np.testing.assert_allclose(sub.scores, 0, atol=1e-20)


def test_faithfulness_and_ablation_correlation_closed_forms():
    w = np.array([0.3, 0.1, 0.25, 0.05, 0.2])
    rng = np.random.default_rng(1)
    X = rng.uniform(0.1, 0.9, size=(4, 5))
    task = additive_task(X=X, weights=w / 1.5)
    good = explanation(w * X)
    fc = xb.get_metric("faithfulness_correlation", n_runs=30, subset_size=2, baseline="zero")
    np.testing.assert_allclose(fc.score(task, X, good).scores, 1.0)
    np.testing.assert_allclose(fc.score(task, X, explanation(-w * X)).scores, -1.0)
    for m in ("ablation_spearman", "ablation_kendall"):
        res = xb.get_metric(m, baseline="zero").score(task, X, good)
        np.testing.assert_allclose(res.scores, 1.0)
        np.testing.assert_allclose(res.extra["delta"], w / 1.5 * X)
