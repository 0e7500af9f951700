"""Ground-truth agreement (OpenXAI): hand-computed cases, transcriptions of OpenXAI's
definitions, the coefficients as an oracle, random attributions, skips and batch invariance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from _metric_toys import additive_task, explanation
from scipy.stats import pearsonr, rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import xai_bench as xb
from xai_bench._rng import sample_rngs

TOPK = ["feature_agreement", "rank_agreement", "sign_agreement", "signed_rank_agreement"]
ALL = [*TOPK, "rank_correlation", "pairwise_rank_agreement"]


def _fitted(n_features=6, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((80, n_features))
    w = rng.standard_normal((n_features, n_classes))
    y = (X @ w).argmax(axis=1)
    return LogisticRegression(max_iter=500).fit(X, y), X


def _task(coef):
    """A task whose model is a torch nn.Linear with the given (C, F) weights."""
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float32))
    lin = torch.nn.Linear(coef.shape[1], coef.shape[0], bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(coef))
    X = np.linspace(-1, 1, 4 * coef.shape[1], dtype=np.float32).reshape(4, -1)
    if coef.shape[0] == 1:
        return xb.Task.from_torch(lin, X, output="binary_logit"), X
    return xb.Task.from_torch(lin, X), X


# OpenXAI's definitions, transcribed per sample (metrics.py: _construct_topk_dfs,
# _single_k_gt_faith, rankcorr, pairwise_comp), with stable argsort for ties.
def openxai_topk(e, g, k, metric):
    keys = []
    for a in (e, g):
        idx = np.argsort(-np.abs(a), kind="stable")[:k]
        rank = rankdata(-np.abs(a), method="dense")[idx]
        sign = np.sign(a)[idx].astype(int)
        fields = [idx] + ([rank] if "rank" in metric else []) + ([sign] if "sign" in metric else [])
        keys.append([tuple(int(f[j]) for f in fields) for j in range(k)])
    if metric in ("overlap", "sign"):
        return len(set(keys[0]) & set(keys[1])) / k
    return sum(a == b for a, b in zip(*keys, strict=True)) / k


def openxai_rankcorr(e, g):
    return pearsonr(rankdata(-np.abs(e), method="dense"), rankdata(-np.abs(g), method="dense"))[0]


def openxai_pairwise(e, g):
    re, rg = rankdata(-np.abs(e), method="dense"), rankdata(-np.abs(g), method="dense")
    pairs = list(itertools.combinations(range(len(e)), 2))
    return sum((re[i] < re[j]) == (rg[i] < rg[j]) for i, j in pairs) / len(pairs)


def _score(name, task, X, attr, targets, **kw):
    return xb.get_metric(name, **kw).score(task, X, explanation(attr, targets=targets)).scores


def test_hand_computed():
    # truth for class 1: [3, -2, 1, 0.5]; top-2 = {0, 1} with signs (+, -)
    task, X = _task([[3.0, -2.0, 1.0, 0.5]])
    attr = np.array(
        [
            [3.0, -2.0, 1.0, 0.5],  # the truth
            [-2.0, 3.0, 0.5, 1.0],  # same top-2 set, swapped ranks, flipped signs
            [0.1, 0.2, 3.0, 2.0],  # disjoint top-2; only the pair (2, 3) ordered alike
            [3.0, 2.0, 1.0, 0.5],  # right ranks, sign of feature 1 wrong
        ]
    )
    t = np.ones(4, dtype=int)
    np.testing.assert_allclose(_score("feature_agreement", task, X, attr, t, k=2), [1, 1, 0, 1])
    np.testing.assert_allclose(_score("sign_agreement", task, X, attr, t, k=2), [1, 0, 0, 0.5])
    np.testing.assert_allclose(_score("rank_agreement", task, X, attr, t, k=2), [1, 0, 0, 1])
    np.testing.assert_allclose(
        _score("signed_rank_agreement", task, X, attr, t, k=2), [1, 0, 0, 0.5]
    )
    np.testing.assert_allclose(_score("rank_correlation", task, X, attr, t), [1, 0.6, -0.8, 1])
    # pairs ordered alike: row 1 has 6 pairs, 2 swapped (0-1, 2-3) -> 4/6
    np.testing.assert_allclose(
        _score("pairwise_rank_agreement", task, X, attr, t), [1, 4 / 6, 1 / 6, 1]
    )
    # class 0 explains the negated coefficients: the truth row flips its signs
    np.testing.assert_allclose(_score("sign_agreement", task, X, -attr, 1 - t, k=2)[0], 1.0)
    np.testing.assert_allclose(_score("sign_agreement", task, X, attr, 1 - t, k=2)[0], 0.0)


def test_equal_openxai_transcriptions():
    rng = np.random.default_rng(1)
    model, Xs = _fitted(n_features=7, n_classes=3)
    X = Xs[:9]
    task = xb.Task.from_sklearn(model, X)
    attr = rng.standard_normal((9, 7))
    attr[2] = np.round(attr[2])  # ties
    targets = rng.integers(0, 3, 9)
    truth = model.coef_[targets]
    for name, metric in zip(TOPK, ["overlap", "rank", "sign", "ranksign"], strict=True):
        for k in (1, 3, 7):
            expected = [openxai_topk(a, g, k, metric) for a, g in zip(attr, truth, strict=True)]
            np.testing.assert_allclose(_score(name, task, X, attr, targets, k=k), expected)
    np.testing.assert_allclose(
        _score("rank_correlation", task, X, attr, targets),
        [openxai_rankcorr(a, g) for a, g in zip(attr, truth, strict=True)],
        rtol=1e-12,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        _score("pairwise_rank_agreement", task, X, attr, targets),
        [openxai_pairwise(a, g) for a, g in zip(attr, truth, strict=True)],
    )


def test_coefficients_score_one_and_random_scores_low():
    model, Xs = _fitted(n_features=12, n_classes=2)
    X = Xs[:40]
    task = xb.Task.from_sklearn(model, X)
    targets = model.predict(X)
    oracle = np.where((targets == 1)[:, None], model.coef_[0], -model.coef_[0])
    noise = np.random.default_rng(2).standard_normal(oracle.shape)
    for name in ALL:
        kw = {"k": 4} if name in TOPK else {}
        np.testing.assert_allclose(_score(name, task, X, oracle, targets, **kw), 1.0)
        assert np.mean(_score(name, task, X, noise, targets, **kw)) < 0.6, name


def test_params_and_features_of_interest():
    task, X = _task([[5.0, 4.0, 3.0, 2.0, 1.0]])
    attr = np.array([[5.0, 4.0, 3.0, 1.0, 2.0]])  # wrong only outside the top-3
    res = xb.get_metric("rank_correlation", k=3).score(task, X[:1], explanation(attr))
    assert res.scores[0] == pytest.approx(1.0) and res.params["k_used"] == 3
    assert "coefficients" in res.params["truth"] and "ties" in res.params
    assert _score("pairwise_rank_agreement", task, X[:1], attr, 1)[0] == pytest.approx(0.9)
    big = xb.get_metric("feature_agreement", k=50).score(task, X[:1], explanation(attr))
    assert big.params["k_used"] == 5 and big.scores[0] == 1.0


def test_not_a_linear_model_is_a_recorded_skip():
    _, Xs = _fitted()
    tree = DecisionTreeClassifier(max_depth=2).fit(Xs, (Xs[:, 0] > 0).astype(int))
    task = xb.Task.from_sklearn(tree, Xs[:3])
    with pytest.raises(xb.IncompatibleError, match="linear model"):
        xb.get_metric("feature_agreement").score(task, Xs[:3], explanation(np.ones((3, 6))))


def test_bad_k_is_refused():
    with pytest.raises(xb.InvalidInputError, match="k"):
        xb.get_metric("rank_agreement", k=0)


@pytest.mark.parametrize("name", ALL)
def test_batch_invariance_and_info(name):
    model, Xs = _fitted(n_features=6, n_classes=3)
    X = Xs[:5]
    task = xb.Task.from_sklearn(model, X)
    ex = explanation(np.random.default_rng(3).standard_normal((5, 6)), targets=model.predict(X))
    metric = xb.get_metric(name)
    assert metric.info.family == "ground_truth" and name in xb.list_metrics("ground_truth")
    full = metric.score(task, X, ex).scores
    single = [metric.score(task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(5)]
    np.testing.assert_allclose(full, single, rtol=1e-12)


# --- PGI / PGU ------------------------------------------------------------------------


def _additive(n=6, F=5, seed=4):
    w = np.array([0.05, 0.03, 0.01, 0.005, 0.002])[:F]
    X = 0.5 + 0.01 * np.random.default_rng(seed).standard_normal((n, F))
    return additive_task(X=X, weights=w), X, w


def openxai_gap(task, x, phi, target, k, invert, sigma, n_samples, seed):
    """OpenXAI's _single_idx_pred_faith for one sample, with our per-sample generator."""
    mask = np.zeros(len(phi), dtype=bool)
    mask[np.argsort(-np.abs(phi), kind="stable")[:k]] = True
    mask = ~mask if invert else mask
    rng = sample_rngs(x[None], seed)[0]
    xp = x + rng.standard_normal((n_samples, len(x))) * sigma * mask
    y = task.predict(x[None])[0, target]
    return np.mean(np.abs(task.predict(xp)[:, target] - y))


def test_gap_equals_openxai_transcription_and_closed_form():
    task, X, w = _additive()
    attr = np.tile(w, (len(X), 1)) * np.array([1, -1, 1, 1, -1])  # signs do not matter
    for name, invert in (("pgi", False), ("pgu", True)):
        res = xb.get_metric(name, k=2, sigma=0.2, n_samples=64, seed=3).score(
            task, X, explanation(attr)
        )
        expected = [
            openxai_gap(task, x, a, 1, 2, invert, 0.2, 64, 3) for x, a in zip(X, attr, strict=True)
        ]
        np.testing.assert_allclose(res.scores, expected, rtol=1e-12)
        assert res.params["n_samples"] == 64 and res.params["seed"] == 3
    # f linear: E|w_S . eps| = sigma ||w_S|| sqrt(2 / pi)
    big = xb.get_metric("pgi", k=2, sigma=0.2, n_samples=20000).score(task, X, explanation(attr))
    np.testing.assert_allclose(
        big.scores, 0.2 * np.linalg.norm(w[:2]) * np.sqrt(2 / np.pi), rtol=0.03
    )


def test_gap_ranks_the_oracle_above_random():
    task, X, w = _additive(n=20)
    oracle = explanation(np.tile(w, (len(X), 1)))
    reverse = explanation(np.tile(w[::-1], (len(X), 1)))
    pgi_ = xb.get_metric("pgi", k=2)
    pgu_ = xb.get_metric("pgu", k=2)
    assert pgi_.score(task, X, oracle).mean > 2 * pgi_.score(task, X, reverse).mean
    assert pgu_.score(task, X, oracle).mean < 0.5 * pgu_.score(task, X, reverse).mean


@pytest.mark.parametrize("name", ["pgi", "pgu"])
def test_gap_batch_invariance_and_info(name, digits_task):
    X = digits_task.X[:4]
    ex = xb.get_explainer("captum.saliency").explain(digits_task, X)
    metric = xb.get_metric(name, k=10, n_samples=8)
    assert metric.info.family == "faithfulness" and name not in xb.list_metrics("ground_truth")
    full = metric.score(digits_task, X, ex).scores
    single = [metric.score(digits_task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(4)]
    # same noise either way; the float32 CNN's outputs differ by batch size in the last bit
    np.testing.assert_allclose(full, single, rtol=1e-5, atol=1e-6)
    assert np.all(full >= 0) and np.ptp(full) > 1e-4
