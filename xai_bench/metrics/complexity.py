"""Complexity: how concentrated an attribution is, read from the attributions alone.

- **sparseness** (Chalasani et al., ICML 2020): the Gini index of |phi|; higher is sparser.
- **complexity** (Bhatt et al., IJCAI 2020): the entropy of the fractional contribution
  |phi_i| / sum_j |phi_j|; lower is simpler.
- **effective_complexity** (Nguyen & Martinez, 2020): the number of features whose
  |phi| / max |phi| exceeds a threshold ``eps``; lower is simpler.

Every score is over the sample's valid features (padding excluded) and per attribution
entry (per channel for images). A sample whose attributions are all zero has no
fractional contribution: it gets NaN and the flag ``undefined``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._params import Spec
from ..errors import InvalidInputError
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import prepare

__all__ = [
    "Complexity",
    "EffectiveComplexity",
    "Sparseness",
    "complexity",
    "effective_complexity",
    "magnitudes",
    "sparseness",
]

FEATURES = "every attribution entry (per channel for images), padding excluded"


def magnitudes(
    task: Task, X: Any, explanation: Explanation
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """|phi| (n, F) with padding set to 0, the valid mask, the per-sample max and the flags.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.

    Returns
    -------
    tuple
        |phi| (n, F), the valid mask (n, F), the per-sample max (n,) and the flags.
    """
    _, explanation = prepare(task, X, explanation)
    valid = explanation.flat_mask()
    a = np.where(valid, np.abs(explanation.flat()), 0.0)
    top = a.max(axis=1)
    flags = {"degenerate": explanation.degenerate(), "undefined": ~(top > 0)}
    return a, valid, top, flags


def check_threshold(name: str, value: float) -> None:
    """A finite number >= 0, else InvalidInputError (the classes check it when built)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < np.inf:
        raise InvalidInputError(
            f"{name}={value!r}", "a finite number >= 0", f"Leave {name} out to use its default."
        )


def _undefined(values: np.ndarray, flags: dict[str, np.ndarray]) -> np.ndarray:
    return np.where(flags["undefined"], np.nan, values)


def sparseness(task: Task, X: Any, explanation: Explanation, *, eps: float = 1e-7) -> MetricResult:
    """Gini index of |phi| / max|phi| + eps over the valid features; in [0, 1], higher sparser.

    ``sum_i (2i - m - 1) v_(i) / (m sum_i v_i)`` over the m valid values sorted ascending.
    ``eps`` is Quantus's guard against a zero sum (``eps=0``: the paper's exact Gini).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    eps : float
        Added to every normalised magnitude (Quantus's guard against a zero sum).

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    check_threshold("eps", eps)
    a, valid, top, flags = magnitudes(task, X, explanation)
    scale = np.where(top > 0, top, 1.0)[:, None]
    v = np.where(valid, a / scale + eps, np.inf)  # padding sorts last and gets weight 0
    v.sort(axis=1)
    m = valid.sum(axis=1)
    i = np.arange(1, v.shape[1] + 1)[None, :]
    weights = np.where(i <= m[:, None], 2 * i - m[:, None] - 1, 0)
    vals = np.where(np.isfinite(v), v, 0.0)
    total = vals.sum(axis=1)
    gini = np.divide((weights * vals).sum(axis=1), m * total, out=np.zeros(len(a)), where=total > 0)
    return MetricResult(
        metric="sparseness",
        scores=_undefined(gini, flags),
        flags=flags,
        params={"eps": eps, "values": "|phi| / max|phi| + eps", "features": FEATURES},
    )


def complexity(task: Task, X: Any, explanation: Explanation) -> MetricResult:
    """Entropy (nats) of |phi_i| / sum|phi| over the valid features; in [0, log m], lower simpler.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    a, valid, top, flags = magnitudes(task, X, explanation)
    total = a.sum(axis=1, keepdims=True)
    p = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
    logp = np.log(p, out=np.zeros_like(p), where=p > 0)  # 0 log 0 = 0
    return MetricResult(
        metric="complexity",
        scores=_undefined(-(p * logp).sum(axis=1), flags),
        flags=flags,
        params={"p": "|phi_i| / sum_j |phi_j|", "log": "natural", "features": FEATURES},
    )


def effective_complexity(
    task: Task, X: Any, explanation: Explanation, *, eps: float = 1e-5, normalise: bool = True
) -> MetricResult:
    """Number of valid features with |phi| / max|phi| > eps (``normalise=False``: |phi| > eps).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    eps : float
        Threshold on the (normalised) magnitude.
    normalise : bool
        Divide each magnitude by the sample's max |phi| first.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    check_threshold("eps", eps)
    a, valid, top, flags = magnitudes(task, X, explanation)
    v = a / np.where(top > 0, top, 1.0)[:, None] if normalise else a
    if not normalise:  # a count of |phi| > eps is defined for all-zero attributions too
        flags["undefined"] = np.zeros(len(a), dtype=bool)
    count = ((v > eps) & valid).sum(axis=1).astype(np.float64)
    return MetricResult(
        metric="effective_complexity",
        scores=_undefined(count, flags) if normalise else count,
        flags=flags,
        extra={"fraction": count / np.maximum(valid.sum(axis=1), 1)},
        params={
            "eps": eps,
            "threshold": "|phi| / max|phi| > eps" if normalise else "|phi| > eps",
            "features": FEATURES,
        },
    )


class Sparseness(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="sparseness",
        higher_is_better=True,
        range=(0.0, 1.0),
        description="Gini index of |attribution|: how few features hold the attribution",
        reference="Chalasani et al., Concise Explanations of Neural Networks using "
        "Adversarial Training, ICML 2020",
        family="complexity",
        formula=r"G = \frac{\sum_{i=1}^{d} (2i - d - 1)\, |\phi|_{(i)}}{d \sum_{i=1}^{d} |\phi|_{(i)}}, \quad |\phi|_{(1)} \le \dots \le |\phi|_{(d)}",
    )

    param_specs: ClassVar[dict[str, Spec]] = {"eps": Spec("float", low=0.0)}

    def __init__(self, eps: float = 1e-7) -> None:
        self.eps = eps

    _fn = staticmethod(sparseness)


class Complexity(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="complexity",
        higher_is_better=False,
        range=(0.0, np.inf),
        description="Entropy of the fractional contribution |phi_i| / sum |phi|",
        reference="Bhatt et al., Evaluating and Aggregating Feature-based Model "
        "Explanations, IJCAI 2020",
        family="complexity",
        formula=r"H = -\sum_{i=1}^{d} p_i \ln p_i, \quad p_i = \frac{|\phi_i|}{\sum_j |\phi_j|}",
    )

    def __init__(self) -> None:
        pass

    _fn = staticmethod(complexity)


class EffectiveComplexity(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="effective_complexity",
        higher_is_better=False,
        range=(0.0, np.inf),
        description="Number of features whose |phi| / max |phi| exceeds eps",
        reference="Nguyen & Martinez, On quantitative aspects of model interpretability, "
        "arXiv:2007.07584, 2020",
        family="complexity",
        formula=r"\mathrm{EC} = \Big|\Big\{ i : \frac{|\phi_i|}{\max_j |\phi_j|} > \varepsilon \Big\}\Big|",
    )

    param_specs: ClassVar[dict[str, Spec]] = {"eps": Spec("float", low=0.0)}

    def __init__(self, eps: float = 1e-5, normalise: bool = True) -> None:
        self.eps = eps
        self.normalise = normalise

    _fn = staticmethod(effective_complexity)
