"""The Metric protocol and its declared metadata (MetricInfo) and result (MetricResult)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from ..explanation import Explanation
from ..task import INPUT_MODALITIES, Modality, Task

__all__ = ["FAMILIES", "Metric", "MetricInfo", "MetricResult"]

ALL_MODALITIES = INPUT_MODALITIES  # component tasks take only component metrics

#: The evaluation families (Quantus's six, OpenXAI's agreement with a known truth, and
#: the ablation of a model's components).
FAMILIES = (
    "faithfulness",
    "robustness",
    "localisation",
    "complexity",
    "randomisation",
    "axiomatic",
    "ground_truth",
    "components",
)


@dataclass(frozen=True)
class MetricInfo:
    """Declared facts about a metric: direction, range, modalities and conventions.

    Parameters
    ----------
    name : str
        Registry id, e.g. ``"deletion_auc"``.
    higher_is_better : bool
    range : (float, float)
        Bounds of a per-sample score (``inf`` when unbounded).
    modalities : frozenset of Modality
    description : str
        One line for reports.
    reference : str
        The publication defining the metric.
    family : str
        One of ``FAMILIES``: what property the metric scores (reports group by it).
    formula : str
        The per-sample score in LaTeX (without ``$``), shown on the metrics reference page.

    Raises
    ------
    InvalidInputError
        If ``family`` is not one of ``FAMILIES``.

    Examples
    --------
    >>> info = xb.get_metric("deletion_auc").info
    >>> info.higher_is_better, info.family
    (False, 'faithfulness')
    """

    name: str
    higher_is_better: bool
    range: tuple[float, float] = (-np.inf, np.inf)
    modalities: frozenset[Modality] = ALL_MODALITIES
    description: str = ""
    reference: str = ""
    family: str = "faithfulness"
    formula: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            from ..errors import InvalidInputError

            raise InvalidInputError(
                f"metric {self.name!r} declares family={self.family!r}",
                f"one of {', '.join(FAMILIES)}",
                "Set MetricInfo(family=...) to the property the metric scores.",
            )


@dataclass(frozen=True, eq=False)
class MetricResult:
    """Per-sample scores, optional curves, flags, and the conventions that produced them.

    ``curves`` has shape (n, k+1) over the grid ``x`` (k+1,). ``flags`` maps a name
    (``"degenerate"``, ``"flat_baseline"``...) to a bool array (n,). ``params`` holds every
    convention that changes the number (target, space, order, baseline, steps, AUC rule).

    Attributes
    ----------
    metric : str
        The metric id.
    scores : ndarray (n,)
        One score per sample.
    curves, x : ndarray, optional
        Curves (n, k+1) over the grid x (k+1,).
    flags : mapping of str to bool ndarray (n,)
    params : mapping
        The conventions that produced the scores.
    extra : mapping of str to ndarray
        Per-sample by-products (e.g. ``f_x``, ``f_baseline``).

    Examples
    --------
    >>> r = xb.MetricResult("demo", np.array([0.5, 1.0]))
    >>> r.scores.mean()
    np.float64(0.75)
    """

    metric: str
    scores: np.ndarray
    curves: np.ndarray | None = None
    x: np.ndarray | None = None
    flags: Mapping[str, np.ndarray] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    def __repr__(self) -> str:  # one line, never the arrays themselves
        from .._repr import describe_array, head, mean_text

        parts = [repr(self.metric), f"n={np.size(self.scores)}", f"mean={mean_text(self.scores)}"]
        if self.curves is not None:
            parts.append(f"curves={describe_array(np.asarray(self.curves))}")
        flagged = {k: int(np.sum(v)) for k, v in self.flags.items() if np.any(v)}
        if flagged:
            parts.append(f"flags={head(f'{k}:{n}' for k, n in flagged.items())}")
        return f"MetricResult({', '.join(parts)})"


@runtime_checkable
class Metric(Protocol):
    """A faithfulness metric: pure, no state kept between calls.

    Examples
    --------
    >>> isinstance(xb.get_metric("deletion_auc"), xb.Metric)
    True
    """

    info: ClassVar[MetricInfo]

    def score(self, task: Task, X: Any, explanation: Explanation) -> MetricResult: ...
