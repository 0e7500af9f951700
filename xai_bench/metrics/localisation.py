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
- **focus** (Arias-Duart et al. 2022): re-explains 2x2 mosaics; the share of positive
  relevance on the quadrants of the target class (needs no ground truth, but a model
  that accepts mosaics).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, choice
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .groundtruth import _truth, precision_at_k
from .perturb import prepare, tie_keys

__all__ = [
    "AUC",
    "AttributionLocalisation",
    "Focus",
    "PointingGame",
    "RelevanceMassAccuracy",
    "RelevanceRankAccuracy",
    "TopKIntersection",
    "attribution_localisation",
    "auc",
    "focus",
    "mosaics",
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

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    relevance : {"signed", "positive", "abs"}
        How attributions become relevance.
    weighted : bool
        A hit scores 1 - |truth| / m instead of 1.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
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

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    k : int
        Number of top-ranked valid features.
    order : {"signed", "abs"}
        Ranking by signed attribution or by its magnitude.
    concept_influence : bool
        Multiply by m / |truth| (Quantus's option).
    seed : int
        Seed of the tie-break (with each sample's content).

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
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
    """|top-K ∩ truth| / K with K = |truth| of the sample; in [0, 1], higher is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    order : {"signed", "abs"}
        Ranking by signed attribution or by its magnitude.
    seed : int
        Seed of the tie-break (with each sample's content).

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
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
    """Share of the relevance that falls on the truth; in [0, 1] unless ``relevance="signed"``.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    relevance : {"signed", "positive", "abs"}
        How attributions become relevance.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    return _mass("relevance_mass_accuracy", task, X, explanation, relevance)


def attribution_localisation(
    task: Task, X: Any, explanation: Explanation, *, relevance: str = "abs"
) -> MetricResult:
    """Inside-total relevance ratio; ``relevance_mass_accuracy`` with |phi| by default.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    relevance : {"signed", "positive", "abs"}
        How attributions become relevance.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    return _mass("attribution_localisation", task, X, explanation, relevance)


def auc(task: Task, X: Any, explanation: Explanation, *, relevance: str = "signed") -> MetricResult:
    """ROC AUC of the relevance as a detector of the true features; in [0, 1], 0.5 is chance.

    The Mann-Whitney form: P(r_true > r_false) + P(r_true = r_false) / 2, which equals
    ``sklearn.metrics.roc_auc_score(truth, r)`` (ties counted half).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    relevance : {"signed", "positive", "abs"}
        How attributions become relevance.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
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


def _info(
    name: str, description: str, reference: str, hi: float = 1.0, formula: str = ""
) -> MetricInfo:
    return MetricInfo(
        name=name,
        higher_is_better=True,
        range=(0.0, hi),
        description=description,
        reference=reference,
        family="localisation",
        formula=formula,
    )


ARRAS = "Arras et al., CLEVR-XAI: A benchmark dataset for the ground truth evaluation of neural network explanations, Information Fusion 2022"  # noqa: E501


class _ByRelevance(BaseMetric):
    """A metric with a ``relevance`` parameter (checked when the metric is built)."""

    param_specs: ClassVar[dict[str, Spec]] = {"relevance": choice(*RELEVANCES)}


class PointingGame(_ByRelevance):
    info: ClassVar[MetricInfo] = _info(
        "pointing_game",
        "Whether the top-attributed feature lies on the known evidence",
        "Zhang et al., Top-Down Neural Attention by Excitation Backprop, IJCV 2018",
        formula=r"\mathrm{PG} = \mathbb{1}\big[\arg\max_i \phi_i \in G\big]",
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
        formula=r"\mathrm{TKI} = \frac{|\operatorname{top}_k(\phi) \cap G|}{k}",
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
        formula=r"\mathrm{RRA} = \frac{|\operatorname{top}_{|G|}(\phi) \cap G|}{|G|}",
    )

    def __init__(self, order: str = "signed", seed: int = 0) -> None:
        self.order = order
        self.seed = seed

    _fn = staticmethod(relevance_rank_accuracy)


class RelevanceMassAccuracy(_ByRelevance):
    info: ClassVar[MetricInfo] = _info(
        "relevance_mass_accuracy",
        "Share of the positive attribution mass that lies on the known evidence",
        ARRAS,
        formula=r"\mathrm{RMA} = \frac{\sum_{i \in G} \phi_i^{+}}{\sum_{i} \phi_i^{+}}",
    )

    def __init__(self, relevance: str = "positive") -> None:
        self.relevance = relevance

    _fn = staticmethod(relevance_mass_accuracy)


class AttributionLocalisation(_ByRelevance):
    info: ClassVar[MetricInfo] = _info(
        "attribution_localisation",
        "Share of the |attribution| mass that lies on the known evidence",
        "Kohlbrenner et al., Towards Best Practice in Explaining Neural Network Decisions "
        "with LRP, IJCNN 2020",
        formula=r"\mathrm{AL} = \frac{\sum_{i \in G} |\phi_i|}{\sum_{i} |\phi_i|}",
    )

    def __init__(self, relevance: str = "abs") -> None:
        self.relevance = relevance

    _fn = staticmethod(attribution_localisation)


class AUC(_ByRelevance):
    info: ClassVar[MetricInfo] = _info(
        "auc",
        "ROC AUC of the attributions as a detector of the known evidence (0.5 = chance)",
        "Fawcett, An introduction to ROC analysis, Pattern Recognition Letters 2006",
        formula=r"\mathrm{AUC} = \Pr\big(\phi_i > \phi_j \mid i \in G,\, j \notin G\big) + \tfrac{1}{2}\Pr\big(\phi_i = \phi_j \mid i \in G,\, j \notin G\big)",
    )

    def __init__(self, relevance: str = "signed") -> None:
        self.relevance = relevance

    _fn = staticmethod(auc)


def mosaics(
    task: Task, X: np.ndarray, targets: np.ndarray, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """2x2 mosaics for Focus: each sample, one more input of its target class and two of other
    classes (classes as the model predicts them on ``task.X``), at random quadrants.

    The draw is seeded by (seed, the sample's content), so a sample gets the same mosaic in
    any batch. Returns mosaics (n, C, 2H, 2W) and the target quadrants (n, 4) in the order
    top-left, top-right, bottom-left, bottom-right; a row without a partner of its class or
    two inputs of other classes is all NaN / all False.

    Parameters
    ----------
    task : Task
        The task.
    X : ndarray
        The inputs.
    targets : ndarray (n,)
        The class explained for each sample.
    seed : int
        Seed of the mosaic draw (with each sample's content).

    Returns
    -------
    tuple
        Mosaics (n, C, 2H, 2W) and the target quadrants (n, 4).
    """
    pool = np.asarray(task.X, dtype=np.float64)
    pool_cls = task.predicted(pool)
    n, (c, h, w) = len(X), X.shape[1:]
    out = np.full((n, c, 2 * h, 2 * w), np.nan)
    quads = np.zeros((n, 4), dtype=bool)
    keys = tie_keys(np.asarray(X, dtype=np.float64).reshape(n, -1), 1, seed)[:, 0]
    for i in range(n):
        rng = np.random.default_rng(int(keys[i]))
        same = np.flatnonzero((pool_cls == targets[i]) & (pool != X[i]).any(axis=(1, 2, 3)))
        other = np.flatnonzero(pool_cls != targets[i])
        if len(same) < 1 or len(other) < 2:
            continue
        tiles = [X[i], pool[rng.choice(same)], *pool[rng.choice(other, 2, replace=False)]]
        order = rng.permutation(4)  # order[j]: the quadrant of tile j
        for tile, q in zip(tiles, order, strict=True):
            out[i, :, (q // 2) * h : (q // 2 + 1) * h, (q % 2) * w : (q % 2 + 1) * w] = tile
        quads[i, order[:2]] = True
    return out, quads


def _explain_mosaics(
    task: Task, built: np.ndarray, targets: np.ndarray, explanation: Explanation
) -> np.ndarray:
    """The explanation's explainer re-run on ``built`` mosaics, for the same targets."""
    from .robustness import _explainer, _reexplain

    def tile(a: Any) -> Any:
        return None if a is None else np.tile(np.asarray(a), (1, 1, 2, 2))

    mosaic_task = replace(
        task, name=f"{task.name}[mosaic]", X=built, background=tile(task.background),
        ground_truth=None, baseline=None,
    )  # fmt: skip
    try:
        mosaic_task.predict(built[:1])
    except Exception as exc:  # a model with a fixed input size
        raise IncompatibleError(
            f"focus needs a model that classifies 2x2 mosaics of the inputs of task "
            f"{task.name!r}, and its model cannot: {exc}"
        ) from exc
    phi = _reexplain(_explainer(explanation), mosaic_task, built, targets)
    return phi.reshape(built.shape)


def focus(task: Task, X: Any, explanation: Explanation, *, seed: int = 0) -> MetricResult:
    """Share of the positive relevance of a 2x2 mosaic that falls on the target-class quadrants.

    Re-explains mosaics (see :func:`mosaics`) with the explanation's explainer, for the
    same target; needs an image model that accepts inputs twice the task's size (e.g.
    global pooling). In [0, 1]; 0.5 is what a map blind to the class gets.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    seed : int
        Seed of the mosaic draw (with each sample's content).

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.

    Raises
    ------
    IncompatibleError
        If the task's inputs are not images.
    """
    if task.modality is not Modality.IMAGE or np.ndim(task.X) != 4:
        raise IncompatibleError("focus builds 2x2 mosaics of images (n, C, H, W)")
    Xa, explanation = prepare(task, X, explanation)
    Xa = Xa.astype(np.float64)
    built, quads = mosaics(task, Xa, explanation.targets, seed=seed)
    ok = quads.any(axis=1)
    scores = np.full(len(Xa), np.nan)
    if ok.any():
        pos = np.maximum(
            _explain_mosaics(task, built[ok], explanation.targets[ok], explanation), 0.0
        )
        h, w = Xa.shape[2:]
        quadrant = np.stack(  # (n_ok, 4): positive relevance per quadrant
            [pos[:, :, r * h : (r + 1) * h, c * w : (c + 1) * w].sum(axis=(1, 2, 3))
             for r in (0, 1) for c in (0, 1)], axis=1,
        )  # fmt: skip
        total = quadrant.sum(axis=1)
        inside = np.where(quads[ok], quadrant, 0.0).sum(axis=1)
        scores[ok] = np.divide(inside, total, out=np.full(len(total), np.nan), where=total > 0)
    return MetricResult(
        metric="focus",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "no_mosaic": np.logical_not(ok)},
        extra={"quadrants": quads},
        params={
            "mosaic": "2x2: the sample and one more input of its target class (the model's "
            "prediction on task.X), two of other classes, at random quadrants",
            "relevance": "max(phi, 0) of the re-explained mosaic",
            "seed": seed,
        },
    )


class Focus(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="focus",
        higher_is_better=True,
        range=(0.0, 1.0),
        modalities=frozenset({Modality.IMAGE}),
        description="Share of a 2x2 mosaic's positive relevance on the target-class quadrants",
        reference="Arias-Duart et al., Focus! Rating XAI Methods and Finding Biases, "
        "FUZZ-IEEE 2022",
        family="localisation",
        formula=r"\mathrm{Focus} = \frac{\sum_{i \in Q_c} \phi_i^{+}}{\sum_{i} \phi_i^{+}}, \quad Q_c = \text{mosaic quadrants of the target class}",
    )

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    _fn = staticmethod(focus)
