"""Sufficiency after Dasgupta, Frost & Moshkovitz (ICML 2022); not ERASER's ``sufficiency``.

An explanation is sufficient when the inputs it also applies to get the same prediction.
"Applies to" is a distance between explanations: with a(x) = |phi(x)| / max |phi(x)|
(Quantus 0.6's defaults ``abs=True`` and ``normalise_by_negative``), x' is a neighbour of
x when the standardised Euclidean distance between a(x) and a(x') divided by the largest
such distance within the reference set is at most ``threshold``. The score of x is the
share of its neighbours whose predicted class equals x's (0 without neighbours, as
Quantus). Higher is better.

Quantus compares the samples of one batch with each other, so a score there depends on
its batch. Here the neighbours come from a fixed reference set: the task's first
``n_reference`` inputs, re-explained with the same explainer (``n_reference`` extra
explained rows per call, recorded in ``params``), the standardised-distance variances
and the largest distance taken from that set. Scoring exactly the reference inputs with
their own explanations reproduces Quantus's number on that batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.spatial.distance import cdist

from .._params import Spec, count
from ..errors import IncompatibleError
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import prepare
from .robustness import _explainer, _reexplain

__all__ = ["SufficiencyDasgupta", "sufficiency_dasgupta"]


def _relevance(phi: np.ndarray, absolute: bool, normalise: bool) -> np.ndarray:
    """|phi| (or phi) divided by each row's largest |value| (rows of zeros stay zero)."""
    a = np.abs(phi) if absolute else phi.astype(np.float64)
    if not normalise:
        return a
    top = np.abs(a).max(axis=1, keepdims=True)
    return np.divide(a, top, out=np.zeros_like(a), where=top > 0)


def sufficiency_dasgupta(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    threshold: float = 0.6,
    n_reference: int = 64,
    absolute: bool = True,
    normalise: bool = True,
) -> MetricResult:
    """Share of the reference inputs with a close explanation that share x's predicted
    class. Higher is better, in [0, 1].

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    threshold : float
        Largest normalised distance of a neighbour (Quantus's 0.6).
    n_reference : int
        The task's first inputs used as the reference set (re-explained).
    absolute : bool
        Compare |phi| (Quantus's ``abs=True``).
    normalise : bool
        Divide each explanation by its largest |value| (Quantus's ``normalise=True``).

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1]; flag ``no_neighbours``; ``extra["neighbours"]``
        the number of neighbours per sample.

    Raises
    ------
    IncompatibleError
        On a regressor (no predicted class), or when the explainer cannot re-explain.
    """
    if task.is_regression:
        raise IncompatibleError("sufficiency_dasgupta compares predicted classes")
    Xa, explanation = prepare(task, X, explanation)
    R = np.asarray(task.X[:n_reference])
    ref_classes = task.predicted(R)
    ref = _reexplain(_explainer(explanation), task, R, ref_classes)
    a = _relevance(explanation.flat(), absolute, normalise)
    b = _relevance(ref, absolute, normalise)
    # scipy's default variances for cdist(b, b): ddof=1 over the stacked pair
    var = np.var(np.vstack([b, b]), axis=0, ddof=1)
    var = np.where(var > 0, var, 1.0)  # a feature constant over the references: unscaled
    scale = cdist(b, b, "seuclidean", V=var).max()
    dist = cdist(a, b, "seuclidean", V=var) / (scale if scale > 0 else 1.0)
    n = len(Xa)
    same_input = (
        Xa.reshape(n, 1, -1) == R.reshape(1, len(R), -1).astype(Xa.dtype, copy=False)
    ).all(axis=2)
    near = (dist <= threshold) & ~same_input  # x itself is never its own neighbour
    classes = task.predicted(np.ascontiguousarray(Xa))  # torch refuses negative strides
    count_near = near.sum(axis=1)
    agree = (near & (ref_classes[None, :] == classes[:, None])).sum(axis=1)
    scores = np.divide(agree, count_near, out=np.zeros(n), where=count_near > 0)
    return MetricResult(
        metric="sufficiency_dasgupta",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "no_neighbours": count_near == 0},
        params={
            "threshold": threshold,
            "n_reference": n_reference,
            "reference": f"the task's first {len(R)} inputs, re-explained by the same explainer "
            "(targets: their predicted classes)",
            "relevance": ("|phi|" if absolute else "phi")
            + (" / max |phi| per sample" if normalise else ""),
            "distance": "standardised Euclidean (variances: ddof=1 over the references "
            "stacked twice, scipy's cdist default; 1 where constant), divided by the largest "
            "distance between references",
            "classes": "model argmax of x and of each reference",
            "no_neighbours": "score 0 (Quantus)",
        },
        extra={"neighbours": count_near},
    )


class SufficiencyDasgupta(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="sufficiency_dasgupta",
        higher_is_better=True,
        range=(0.0, 1.0),
        description="Share of inputs with a similar explanation that get the same predicted "
        "class (not ERASER's sufficiency)",
        reference="Dasgupta, Frost and Moshkovitz, Framework for Evaluating Faithfulness of "
        "Local Explanations, ICML 2022",
        family="faithfulness",
        formula=r"\mathrm{SUF}(x) = \frac{\big|\{x' \in N(x) : \hat{y}(x') = \hat{y}(x)\}\big|}{|N(x)|}, \quad N(x) = \{x' \in R \setminus \{x\} : d(a(x), a(x')) \le \tau\}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "threshold": Spec("float", low=0.0),
        "n_reference": count(2),
    }

    def __init__(
        self,
        threshold: float = 0.6,
        n_reference: int = 64,
        absolute: bool = True,
        normalise: bool = True,
    ) -> None:
        self.threshold = threshold
        self.n_reference = n_reference
        self.absolute = absolute
        self.normalise = normalise

    _fn = staticmethod(sufficiency_dasgupta)
