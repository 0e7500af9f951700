"""Localisation family: transcriptions of Quantus 0.6's definitions, closed forms, ties,
padding, missing truth and batch invariance."""

from __future__ import annotations

import numpy as np
import pytest
from _metric_toys import explanation
from sklearn.metrics import roc_auc_score

import xai_bench as xb
from xai_bench import Modality, Task
from xai_bench.metrics.localisation import (
    attribution_localisation,
    auc,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
    top_k_intersection,
)

N, F = 9, 16


def truth_task(truth: np.ndarray, seed: int = 0) -> tuple[Task, np.ndarray]:
    """A tabular task whose per-sample ground truth is ``truth`` (the model is irrelevant)."""
    X = np.random.default_rng(seed).random(truth.shape)
    task = Task(
        name="toy.truth",
        modality=Modality.TABULAR,
        X=X,
        predict_proba=lambda b: np.column_stack([np.full(len(b), 0.5)] * 2),
        ground_truth=truth,
    )
    return task, X


@pytest.fixture
def case():
    rng = np.random.default_rng(1)
    truth = rng.random((N, F)) < 0.3
    truth[:, 0] = True  # at least one true and one false feature per sample
    truth[:, 1] = False
    attr = rng.standard_normal((N, F))  # distinct values: no ties
    task, X = truth_task(truth)
    return task, X, explanation(attr), attr, truth


# Quantus 0.6 evaluate_instance bodies, transcribed (their normalisation does not change
# these numbers: normalise_by_negative keeps the order, normalise_by_max scales both sums)
def q_pointing_game(a, s):
    return float(np.any(s[np.argwhere(a == np.max(a))]))


def q_top_k(a, s, k):
    top = np.zeros(a.shape, dtype=bool)
    top[np.argsort(a)[-k:]] = True
    return np.sum(s & top) / k


def q_rank_accuracy(a, s):
    idx = np.where(s)[0]
    return len(np.intersect1d(idx, np.argsort(a)[-len(idx) :])) / len(idx)


def q_mass(a, s):
    return (a * s).sum() / a.sum()


def test_equal_quantus_transcriptions(case):
    task, X, ex, attr, truth = case
    rows = list(zip(attr, truth, strict=True))
    np.testing.assert_array_equal(
        pointing_game(task, X, ex).scores, [q_pointing_game(a, s) for a, s in rows]
    )
    np.testing.assert_allclose(
        top_k_intersection(task, X, ex, k=4).scores, [q_top_k(a, s, 4) for a, s in rows]
    )
    np.testing.assert_allclose(
        relevance_rank_accuracy(task, X, ex).scores, [q_rank_accuracy(a, s) for a, s in rows]
    )
    # Quantus RelevanceMassAccuracy: signed (abs=False); AttributionLocalisation: abs=True
    np.testing.assert_allclose(
        relevance_mass_accuracy(task, X, ex, relevance="signed").scores,
        [q_mass(a, s) for a, s in rows],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        attribution_localisation(task, X, ex).scores,
        [q_mass(np.abs(a), s) for a, s in rows],
        rtol=1e-12,
    )
    np.testing.assert_allclose(  # Quantus AUC: sklearn roc_curve + auc on the signed map
        auc(task, X, ex).scores, [roc_auc_score(s, a) for a, s in rows], rtol=1e-12
    )


def test_auc_counts_ties_half_like_sklearn(case):
    task, X, _, attr, truth = case
    coarse = np.round(attr)  # many ties
    np.testing.assert_allclose(
        auc(task, X, explanation(coarse)).scores,
        [roc_auc_score(s, a) for a, s in zip(coarse, truth, strict=True)],
        rtol=1e-12,
    )


def test_closed_forms_and_positive_mass():
    truth = np.array([[True, True, False, False]])
    task, X = truth_task(truth)
    ex = explanation(np.array([[3.0, -1.0, 1.0, 0.0]]))
    np.testing.assert_allclose(relevance_mass_accuracy(task, X, ex).scores, [3 / 4])  # positive
    np.testing.assert_allclose(attribution_localisation(task, X, ex).scores, [4 / 5])  # |phi|
    np.testing.assert_allclose(
        relevance_mass_accuracy(task, X, ex, relevance="signed").scores, [2 / 3]
    )
    # ranks of the true features among 4: 4 and 1 -> U = 5 - 3 = 2 of 4 pairs
    np.testing.assert_allclose(auc(task, X, ex).scores, [0.5])
    np.testing.assert_allclose(pointing_game(task, X, ex, weighted=True).scores, [0.5])
    res = top_k_intersection(task, X, ex, k=2, concept_influence=True)
    np.testing.assert_allclose(res.scores, [0.5 * 4 / 2])
    assert res.params["k"] == 2 and res.metric == "top_k_intersection"


def test_pointing_game_ties_score_the_expected_hit_not_a_sure_hit():
    truth = np.zeros((2, 10), dtype=bool)
    truth[:, :3] = True
    task, X = truth_task(truth)
    attr = np.zeros((2, 10))
    attr[1, [0, 5]] = 1.0  # two tied maxima, one true
    res = pointing_game(task, X, explanation(attr))
    np.testing.assert_allclose(res.scores, [0.3, 0.5])  # Quantus: 1.0 and 1.0
    np.testing.assert_array_equal(res.flags["degenerate"], [True, False])


def test_missing_truth_skips_and_empty_truth_is_nan(case):
    task, X, ex, _, truth = case
    no_truth = Task(name="t", modality=Modality.TABULAR, X=X, predict_proba=task.predict_proba)
    empty = truth.copy()
    empty[2] = False
    task2, _ = truth_task(empty)
    for name in ("pointing_game", "top_k_intersection", "relevance_rank_accuracy",
                 "relevance_mass_accuracy", "attribution_localisation", "auc"):  # fmt: skip
        metric = xb.get_metric(name)
        assert metric.info.family == "localisation"
        with pytest.raises(xb.IncompatibleError, match="ground truth"):
            metric.score(no_truth, X, ex)
        res = metric.score(task2, X, ex)
        assert np.isnan(res.scores[2]) and res.flags["no_truth"][2], name
        assert np.isfinite(np.delete(res.scores, 2)).all(), name
    with pytest.raises(xb.InvalidInputError, match="relevance"):
        auc(task, X, ex, relevance="absolute")


def test_padding_is_never_a_feature():
    truth = np.array([[True, False, False, False, False]])
    task, X = truth_task(truth)
    attr = np.array([[1.0, 0.5, 0.2, 9.0, 9.0]])  # the padding holds the largest values
    ex = explanation(attr, mask=np.array([[True, True, True, False, False]]))
    assert pointing_game(task, X, ex).scores[0] == 1.0
    np.testing.assert_allclose(relevance_mass_accuracy(task, X, ex).scores, [1 / 1.7])
    np.testing.assert_allclose(auc(task, X, ex).scores, [1.0])


@pytest.mark.parametrize(
    "name",
    ["pointing_game", "top_k_intersection", "relevance_rank_accuracy",
     "relevance_mass_accuracy", "attribution_localisation", "auc"],
)  # fmt: skip
def test_batch_invariance(name, linear_task):
    X = linear_task.X[:6]
    ex = xb.get_explainer("random").explain(linear_task, X)
    ex = explanation(np.round(ex.attributions), targets=ex.targets)  # ties on purpose
    metric = xb.get_metric(name)
    full = metric.score(linear_task, X, ex).scores
    single = [metric.score(linear_task, X[i : i + 1], ex.subset([i])).scores[0] for i in range(6)]
    np.testing.assert_allclose(full, single, rtol=1e-12)
