"""Axiomatic: properties an attribution should satisfy by construction.

- **completeness** (Sundararajan et al., ICML 2017): the attributions should sum to
  f(x) - f(baseline). Scored as the relative gap |sum phi - delta| / |delta| (lower is
  better, 0 = complete), not as Quantus's ``np.isclose(sum phi, delta)``: an exact float
  test is 0 for every sampled method (IG with finite steps, KernelSHAP) and for float32
  models, so it separates nothing; the gap says how far off each one is. Quantus's
  boolean is kept in ``extra["isclose"]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..explanation import Explanation
from ..task import Task
from ._common import FLAT_TOL, TARGET, BaseMetric
from .base import MetricInfo, MetricResult
from .maskers import describe, resolve_masker
from .perturb import log_odds_eps, prepare, score_rows, scored_space, to_space

__all__ = ["Completeness", "completeness"]


def completeness(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    baseline: Any = "default",
    space: str = "probability",
) -> MetricResult:
    """|sum_i phi_i - (f(x) - f(baseline))| / |f(x) - f(baseline)| per sample.

    f is the target output in ``space``; the baseline input replaces every valid feature
    through the masker ``baseline``. NaN (flag ``flat_baseline``) when f(x) = f(baseline).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    baseline : str, number, array or Masker
        What replaces every valid feature.
    space : {"probability", "log_odds"}
        Output space of f.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    Xa, explanation = prepare(task, X, explanation)
    space = scored_space(task, space)
    eps = log_odds_eps(task)
    masker = resolve_masker(baseline)
    valid = explanation.flat_mask()
    n = len(Xa)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    removed = np.concatenate([np.zeros_like(valid), valid])
    targets = np.asarray(explanation.targets, dtype=np.int64)
    fill = masker.bind(task, Xa.reshape(n, -1))
    p = to_space(score_rows(task, Xa, targets, rows, lambda sl: removed[sl], fill), space, eps)
    f_x, f_b = p[:n], p[n:]
    delta = f_x - f_b
    total = np.where(valid, explanation.flat(), 0.0).sum(axis=1)
    gap = np.divide(np.abs(total - delta), np.abs(delta), out=np.full(n, np.nan), where=delta != 0)
    return MetricResult(
        metric="completeness",
        scores=gap,
        flags={"degenerate": explanation.degenerate(), "flat_baseline": np.abs(delta) < FLAT_TOL},
        extra={"f_x": f_x, "f_baseline": f_b, "sum": total, "isclose": np.isclose(total, delta)},
        params={
            "score": "|sum phi - (f(x) - f(baseline))| / |f(x) - f(baseline)|",
            "baseline": describe(masker),
            "space": space,
            "target": TARGET,
        },
    )


class Completeness(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="completeness",
        higher_is_better=False,
        range=(0.0, np.inf),
        description="Relative gap between sum of attributions and f(x) - f(baseline)",
        formula=r"\mathrm{gap} = \frac{|\sum_i \phi_i - (f(x) - f(\bar{x}))|}{|f(x) - f(\bar{x})|}",
        reference="Sundararajan et al., Axiomatic Attribution for Deep Networks, ICML 2017",
        family="axiomatic",
    )

    def __init__(self, baseline: Any = "default", space: str = "probability") -> None:
        self.baseline = baseline
        self.space = space

    _fn = staticmethod(completeness)
