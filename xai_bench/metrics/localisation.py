"""Localisation: does the attribution fall on the features known to hold the evidence?

Every metric needs ``task.ground_truth`` (a bool mask like ``X``: the object's pixels, the
evidence tokens, the features a synthetic model uses); without it the metric raises
``IncompatibleError`` (a recorded skip). A sample with no true feature gets NaN and the
flag ``no_truth``. Scores are over the valid features (padding excluded), per attribution
entry (per channel for images, where the mask covers all channels).

- **pointing_game** (Zhang et al. 2018): is the top-attributed feature on the truth?
- **top_k_intersection** (Theiner et al. 2021): |top-k ∩ truth| / k.
- **relevance_rank_accuracy** (Arras et al. 2022): |top-|truth| ∩ truth| / |truth|.
- **relevance_mass_accuracy** (Arras et al. 2022): relevance inside the truth / total.
- **attribution_localisation** (Kohlbrenner et al. 2020): the same ratio, of |phi| by default.
- **auc** (Fawcett 2006): ROC AUC of the attributions as a score for the truth.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .groundtruth import _truth, precision_at_k
from .perturb import prepare

__all__ = [
    "AUC",
    "AttributionLocalisation",
    "PointingGame",
    "RelevanceMassAccuracy",
    "RelevanceRankAccuracy",
    "TopKIntersection",
    "attribution_localisation",
    "auc",
    "pointing_game",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "top_k_intersection",
]

RELEVANCES = ("signed", "abs", "positive")
_RELEVANCE = {"signed": "phi", "abs": "|phi|", "positive": "max(phi, 0)"}


def _relevance(a: np.ndarray, relevance: str) -> np.ndarray:
    if relevance == "signed":
        return a
    if relevance == "abs":
        return np.abs(a)
    if relevance == "positive":
        return np.maximum(a, 0.0)
    raise InvalidInputError(
        f"relevance={relevance!r}", f"one of {RELEVANCES}", "Use relevance='positive'."
    )


def localisation_inputs(
    task: Task, X: Any, explanation: Explanation, relevance: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Relevance (n, F), the truth and valid masks (n, F) and the flags, checked once."""
    if task.ground_truth is None:  # a skip, checked before anything else
        raise IncompatibleError(f"task {task.name!r} has no ground truth (known evidence features)")
    Xa, explanation = prepare(task, X, explanation)
    r = _relevance(explanation.flat(), relevance)
    valid = explanation.flat_mask()
    truth = _truth(task, Xa) & valid
    flags = {"degenerate": explanation.degenerate(), "no_truth": ~truth.any(axis=1)}
    return r, truth, valid, flags


def _no_truth(scores: np.ndarray, flags: dict[str, np.ndarray]) -> np.ndarray:
    return np.where(flags["no_truth"], np.nan, scores)


def pointing_game(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    relevance: str = "signed",
    weighted: bool = False,
) -> MetricResult:
    """1 if the top-attributed valid feature is a true one, else 0; in [0, 1], higher is better.

    When several features share the maximum, the score is the share of them that are true
    (the expected hit under a random tie-break), so an all-equal attribution scores the
    truth's share of the features, not 1. ``weighted``: a hit scores 1 - |truth| / m.
    """
    r, truth, valid, flags = localisation_inputs(task, X, explanation, relevance)
    r = np.where(valid, r, -np.inf)
    top = r == r.max(axis=1, keepdims=True)
    hit = (top & truth).sum(axis=1) / top.sum(axis=1)
    if weighted:
        hit = hit * (1 - truth.sum(axis=1) / valid.sum(axis=1))
    return MetricResult(
        metric="pointing_game",
        scores=_no_truth(hit, flags),
        flags=flags,
        params={
            "relevance": _RELEVANCE[relevance],
            "ties": "share of the tied maxima that are true",
            "weighted": "hit x (1 - |truth| / m)" if weighted else "no",
            "truth": "task.ground_truth",
        },
    )


def _renamed(result: MetricResult, name: str, scores: np.ndarray, **params: Any) -> MetricResult:
    return replace(result, metric=name, scores=scores, params={**result.params, **params})


def top_k_intersection(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    k: int = 10,
    order: str = "signed",
    concept_influence: bool = False,
    seed: int = 0,
) -> MetricResult:
    """|top-k valid features ∩ truth| / k; in [0, 1], higher is better.

    ``concept_influence`` multiplies by m / |truth| (Quantus's option; unbounded above).
    """
    res = precision_at_k(task, X, explanation, k=k, order=order, seed=seed)
    res = replace(res, scores=_no_truth(res.scores, dict(res.flags)))  # as Quantus: NaN
    if not concept_influence:
        return _renamed(res, "top_k_intersection", res.scores, concept_influence="no")
    _, truth, valid, _ = localisation_inputs(task, X, explanation, "signed")
    size = truth.sum(axis=1)
    factor = np.divide(valid.sum(axis=1), size, out=np.full(len(size), np.nan), where=size > 0)
    return _renamed(
        res, "top_k_intersection", res.scores * factor, concept_influence="x m / |truth|"
    )


def relevance_rank_accuracy(
    task: Task, X: Any, explanation: Explanation, *, order: str = "signed", seed: int = 0
) -> MetricResult:
    """|top-K ∩ truth| / K with K = |truth| of the sample; in [0, 1], higher is better."""
    res = precision_at_k(task, X, explanation, k=None, order=order, seed=seed)
    return _renamed(res, "relevance_rank_accuracy", res.scores)


def _mass(name: str, task: Task, X: Any, explanation: Explanation, relevance: str) -> MetricResult:
    r, truth, valid, flags = localisation_inputs(task, X, explanation, relevance)
    r = np.where(valid, r, 0.0)
    total = r.sum(axis=1)
    inside = np.where(truth, r, 0.0).sum(axis=1)
    ratio = np.divide(inside, total, out=np.full(len(r), np.nan), where=total != 0)
    flags["undefined"] = total == 0
    return MetricResult(
        metric=name,
        scores=_no_truth(ratio, flags),
        flags=flags,
        params={
            "relevance": _RELEVANCE[relevance],
            "ratio": "sum over the truth / sum over all valid features (NaN when 0)",
            "truth": "task.ground_truth",
        },
    )


def relevance_mass_accuracy(
    task: Task, X: Any, explanation: Explanation, *, relevance: str = "positive"
) -> MetricResult:
    """Share of the relevance that falls on the truth; in [0, 1] unless ``relevance="signed"``."""
    return _mass("relevance_mass_accuracy", task, X, explanation, relevance)


def attribution_localisation(
    task: Task, X: Any, explanation: Explanation, *, relevance: str = "abs"
) -> MetricResult:
    """Inside-total relevance ratio; ``relevance_mass_accuracy`` with |phi| by default."""
    return _mass("attribution_localisation", task, X, explanation, relevance)


def auc(task: Task, X: Any, explanation: Explanation, *, relevance: str = "signed") -> MetricResult:
    """ROC AUC of the relevance as a detector of the true features; in [0, 1], 0.5 is chance.

    The Mann-Whitney form: P(r_true > r_false) + P(r_true = r_false) / 2, which equals
    ``sklearn.metrics.roc_auc_score(truth, r)`` (ties counted half).
    """
    from scipy.stats import rankdata

    r, truth, valid, flags = localisation_inputs(task, X, explanation, relevance)
    r = np.where(valid, r, -np.inf)  # padding ranks lowest; subtracted below
    ranks = rankdata(r, axis=1, method="average") - (~valid).sum(axis=1, keepdims=True)
    pos = truth.sum(axis=1)
    neg = valid.sum(axis=1) - pos
    u = np.where(truth, ranks, 0.0).sum(axis=1) - pos * (pos + 1) / 2
    score = np.divide(u, pos * neg, out=np.full(len(r), np.nan), where=(pos > 0) & (neg > 0))
    flags["undefined"] = (pos > 0) & (neg == 0)
    return MetricResult(
        metric="auc",
        scores=score,
        flags=flags,
        params={
            "relevance": _RELEVANCE[relevance],
            "ties": "counted half (average ranks)",
            "truth": "task.ground_truth",
        },
    )


def _info(name: str, description: str, reference: str, hi: float = 1.0) -> MetricInfo:
    return MetricInfo(
        name=name,
        higher_is_better=True,
        range=(0.0, hi),
        description=description,
        reference=reference,
        family="localisation",
    )


ARRAS = "Arras et al., CLEVR-XAI: A benchmark dataset for the ground truth evaluation of neural network explanations, Information Fusion 2022"  # noqa: E501


class PointingGame(BaseMetric):
    info: ClassVar[MetricInfo] = _info(
        "pointing_game",
        "Whether the top-attributed feature lies on the known evidence",
        "Zhang et al., Top-Down Neural Attention by Excitation Backprop, IJCV 2018",
    )

    def __init__(self, relevance: str = "signed", weighted: bool = False) -> None:
        self.relevance = relevance
        self.weighted = weighted

    _fn = staticmethod(pointing_game)


class TopKIntersection(BaseMetric):
    info: ClassVar[MetricInfo] = _info(
        "top_k_intersection",
        "Share of the top-k attributed features that lie on the known evidence",
        "Theiner et al., Interpretable Semantic Photo Geolocalization, WACV 2022",
        hi=np.inf,  # with concept_influence; [0, 1] without
    )

    def __init__(
        self, k: int = 10, order: str = "signed", concept_influence: bool = False, seed: int = 0
    ) -> None:
        self.k = k
        self.order = order
        self.concept_influence = concept_influence
        self.seed = seed

    _fn = staticmethod(top_k_intersection)


class RelevanceRankAccuracy(BaseMetric):
    info: ClassVar[MetricInfo] = _info(
        "relevance_rank_accuracy",
        "Share of the |truth| top-attributed features that lie on the known evidence",
        ARRAS,
    )

    def __init__(self, order: str = "signed", seed: int = 0) -> None:
        self.order = order
        self.seed = seed

    _fn = staticmethod(relevance_rank_accuracy)


class RelevanceMassAccuracy(BaseMetric):
    info: ClassVar[MetricInfo] = _info(
        "relevance_mass_accuracy",
        "Share of the positive attribution mass that lies on the known evidence",
        ARRAS,
    )

    def __init__(self, relevance: str = "positive") -> None:
        self.relevance = relevance

    _fn = staticmethod(relevance_mass_accuracy)


class AttributionLocalisation(BaseMetric):
    info: ClassVar[MetricInfo] = _info(
        "attribution_localisation",
        "Share of the |attribution| mass that lies on the known evidence",
        "Kohlbrenner et al., Towards Best Practice in Explaining Neural Network Decisions "
        "with LRP, IJCNN 2020",
    )

    def __init__(self, relevance: str = "abs") -> None:
        self.relevance = relevance

    _fn = staticmethod(attribution_localisation)


class AUC(BaseMetric):
    info: ClassVar[MetricInfo] = _info(
        "auc",
        "ROC AUC of the attributions as a detector of the known evidence (0.5 = chance)",
        "Fawcett, An introduction to ROC analysis, Pattern Recognition Letters 2006",
    )

    def __init__(self, relevance: str = "signed") -> None:
        self.relevance = relevance

    _fn = staticmethod(auc)
