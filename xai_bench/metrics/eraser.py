"""ERASER comprehensiveness and sufficiency (DeYoung et al., ACL 2020), and the shared suite.

For each bin fraction k in ``fractions`` (default {1, 5, 10, 20, 50}%), with r_k the top
``round(k * n_valid)`` features (half up, the same rule as the curve grid):

- comprehensiveness_k = f(x) - f(x without r_k)   (r_k replaced by the baseline)
- sufficiency_k       = f(x) - f(r_k only)         (everything else replaced)

The per-sample score is the mean over the bins, exactly as the released ERASER scorer
(``rationale_benchmark/metrics.py``: ``np.average`` of ``beta_0 - beta_k`` over the
thresholds). Comprehensiveness at k removes the same features as the deletion curve at
x = k, and sufficiency at k keeps the same ones as the insertion curve at x = k, so
:func:`perturbation_suite` scores all four metrics with one masked batch per mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..explanation import Explanation
from ..task import Task
from ._common import FLAT_TOL, BaseMetric
from .base import MetricInfo, MetricResult
from .deletion import curve_result, perturbation_setup, step_grid
from .perturb import grid_counts, masked_scores, scored_space, to_space

__all__ = [
    "ERASER_FRACTIONS",
    "Comprehensiveness",
    "Sufficiency",
    "comprehensiveness",
    "perturbation_suite",
    "sufficiency",
]

ERASER_FRACTIONS = (0.01, 0.05, 0.1, 0.2, 0.5)
_AGG = "mean over the bins of f(x) - f(perturbed) (released ERASER scorer)"


def eraser_result(
    kind: str,
    fractions: tuple[float, ...],
    f_x: np.ndarray,
    p_bins: np.ndarray,
    f_base: np.ndarray,
    explanation: Explanation,
    params: dict[str, Any],
    space: str,
) -> MetricResult:
    """Comprehensiveness or sufficiency from f(x) (n,) and the bin probabilities (n, B)."""
    eps = params.get("log_odds_clip", 1e-7)
    deltas = to_space(f_x, space, eps)[:, None] - to_space(p_bins, space, eps)
    tol = params.get("flat_tol", FLAT_TOL)  # in the prediction's units on a regressor
    return MetricResult(
        metric=kind,
        scores=deltas.mean(axis=1),
        curves=deltas,
        x=np.asarray(fractions, dtype=np.float64),
        flags={
            "degenerate": explanation.degenerate(),
            "flat_baseline": np.abs(f_x - f_base) < tol,
        },
        params={
            **params,
            "space": space,
            "bins": list(fractions),
            "count": "round(k * n_valid), half up",
            "aggregate": _AGG,
            "flat_tol": tol,
        },
        extra={"f_x": f_x, "f_baseline": f_base},
    )


def perturbation_suite(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    steps: int | None = None,
    baseline: Any = "default",
    order: str = "signed",
    space: str = "probability",
    seed: int = 0,
    fractions: tuple[float, ...] = ERASER_FRACTIONS,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> dict[str, MetricResult]:
    """Deletion, insertion, comprehensiveness and sufficiency sharing their forward passes.

    The deletion grid and the ERASER bins are merged per sample; every distinct
    (sample, feature count) pair is scored once per mode (remove top / keep top).
    Results equal the separate functions with the same parameters.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    steps : int, optional
        Deletion/insertion grid steps; None = one feature per step.
    baseline : str, number, array or Masker
    order : {"signed", "abs"}
    space : {"probability", "log_odds"}
    seed : int
    fractions : tuple of float
        The ERASER bins.
    predict : callable, optional

    Returns
    -------
    dict of str to MetricResult
        Keys ``deletion_auc``, ``insertion_auc``, ``comprehensiveness``, ``sufficiency``.
    """
    space = scored_space(task, space)
    Xa, explanation, positions, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order=order, seed=seed, space=space
    )
    x = step_grid(steps, n_valid)
    bins = grid_counts(np.asarray(fractions), n_valid)
    counts = np.hstack([grid_counts(x, n_valid), bins])
    K1 = len(x)
    out: dict[str, MetricResult] = {}
    for kind, keep in (("deletion", False), ("insertion", True)):
        p = masked_scores(
            task, Xa, explanation.targets, positions, counts, fill, keep_top=keep, predict=predict
        )
        out[f"{kind}_auc"] = res = curve_result(kind, x, p[:, :K1], explanation, params, space)
        name = "sufficiency" if keep else "comprehensiveness"
        out[name] = eraser_result(
            name, tuple(fractions), res.extra["f_x"], p[:, K1:], res.extra["f_baseline"],
            explanation, params, space,
        )  # fmt: skip
    return out


def _eraser(
    kind: str,
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    fractions: tuple[float, ...] = ERASER_FRACTIONS,
    baseline: Any = "default",
    order: str = "signed",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    space = scored_space(task, space)
    Xa, explanation, positions, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order=order, seed=seed, space=space
    )
    fractions = tuple(fractions)
    ends = np.column_stack([np.zeros(len(Xa), np.int64), n_valid])
    counts = np.hstack([ends, grid_counts(np.asarray(fractions), n_valid)])
    keep = kind == "sufficiency"
    p = masked_scores(
        task, Xa, explanation.targets, positions, counts, fill, keep_top=keep, predict=predict
    )
    f_x, f_base = (p[:, 1], p[:, 0]) if keep else (p[:, 0], p[:, 1])
    return eraser_result(kind, fractions, f_x, p[:, 2:], f_base, explanation, params, space)


def comprehensiveness(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """ERASER comprehensiveness: mean over the bins of f(x) - f(x without the top k%).

    Higher is better. Keywords: ``fractions``, ``baseline``, ``order``, ``space``, ``seed``.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``fractions`` (the bins, default 1, 5, 10, 20, 50%), ``baseline``, ``order``,
        ``space``, ``seed``, ``predict``: as in :func:`perturbation_suite`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions.
    """
    return _eraser("comprehensiveness", task, X, explanation, **kw)


def sufficiency(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """ERASER sufficiency: mean over the bins of f(x) - f(top k% only). Lower is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``fractions`` (the bins, default 1, 5, 10, 20, 50%), ``baseline``, ``order``,
        ``space``, ``seed``, ``predict``: as in :func:`perturbation_suite`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions.
    """
    return _eraser("sufficiency", task, X, explanation, **kw)


class _EraserMetric(BaseMetric):
    def __init__(
        self,
        fractions: tuple[float, ...] = ERASER_FRACTIONS,
        baseline: Any = "default",
        order: str = "signed",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.fractions = fractions
        self.baseline = baseline
        self.order = order
        self.space = space
        self.seed = seed


_REF = "DeYoung et al., ERASER: A Benchmark to Evaluate Rationalized NLP Models, ACL 2020"


class Comprehensiveness(_EraserMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="comprehensiveness",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Drop of the target probability when the top-k% features are removed "
        "(mean over k in {1,5,10,20,50}%)",
        reference=_REF,
        family="faithfulness",
        formula=r"\mathrm{comp} = \frac{1}{|B|} \sum_{b \in B} \big(f(x) - f(x \setminus r_b)\big), \quad B = \{1, 5, 10, 20, 50\}\%",
    )
    _fn = staticmethod(comprehensiveness)


class Sufficiency(_EraserMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="sufficiency",
        higher_is_better=False,
        range=(-1.0, 1.0),
        description="Drop of the target probability when only the top-k% features are kept "
        "(mean over k in {1,5,10,20,50}%)",
        reference=_REF,
        family="faithfulness",
        formula=r"\mathrm{suff} = \frac{1}{|B|} \sum_{b \in B} \big(f(x) - f(r_b)\big), \quad B = \{1, 5, 10, 20, 50\}\%",
    )
    _fn = staticmethod(sufficiency)
