"""Deletion (MoRF), insertion and LeRF curves, their AUCs, ABPC and AOPC.

Conventions (recorded in every result's ``params``):

- target: ``explanation.targets``; y = probability of the target (``space="log_odds"``
  optional); on a regressor, y = the raw prediction (no normalisation; ``flat_tol``
  scaled to the prediction's spread);
- ranking: signed attribution descending (``order="abs"`` optional), seeded random
  tie-break, padding never removed;
- x = fraction of valid features removed (deletion) or inserted (insertion), K+1 points
  from 0 to 1; the number of features at x is ``round(x * n_valid)`` (half up);
- removal: the ``baseline`` masker (default ``task.removal_value()``);
- AUC: trapezoid rule over x in [0, 1] (comparable across feature counts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import PARAMS, check_param
from ..errors import InvalidInputError
from ..explanation import Explanation
from ..task import Task
from ._common import FLAT_TOL, TARGET, BaseMetric
from .base import MetricInfo, MetricResult
from .maskers import describe, resolve_masker
from .perturb import (
    grid_counts,
    masked_scores,
    prepare,
    rank_positions,
    scored_space,
    space_conventions,
    to_space,
)

__all__ = [
    "ABPC",
    "AOPC",
    "DeletionAUC",
    "InsertionAUC",
    "LeRFAUC",
    "abpc",
    "aopc",
    "curve",
    "deletion_auc",
    "insertion_auc",
    "lerf_auc",
]

KINDS = ("deletion", "insertion", "lerf")


def _auc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Trapezoid rule over x, per row of y."""
    return ((y[:, 1:] + y[:, :-1]) / 2 * np.diff(x)[None, :]).sum(axis=1)


def perturbation_setup(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    baseline: Any,
    order: str,
    seed: int,
    space: str = "probability",
) -> tuple[np.ndarray, Explanation, np.ndarray, np.ndarray, Any, dict[str, Any]]:
    """Inputs, explanation (with its padding mask), rank positions, valid counts, bound
    fill and the recorded conventions."""
    Xa, explanation = prepare(task, X, explanation)
    positions, n_valid = rank_positions(explanation, order=order, seed=seed, X=Xa)
    masker = resolve_masker(baseline)
    fill = masker.bind(task, Xa.reshape(len(Xa), -1))
    params = {
        "target": TARGET,
        "order": f"{order} attribution, descending; ties by a random permutation (seed {seed})",
        "baseline": describe(masker),
        "seed": seed,
        **space_conventions(task, space, FLAT_TOL),
    }
    return Xa, explanation, positions, n_valid, fill, params


def step_grid(steps: int | None, n_valid: np.ndarray) -> np.ndarray:
    """The K+1 fractions 0, 1/K, ..., 1; K = ``steps`` or the number of valid features."""
    K = check_param(PARAMS["steps"], "steps", steps) if steps is not None else int(n_valid.max())
    if K < 1:  # only when every sample has no valid feature
        raise InvalidInputError(
            f"samples without any valid feature (steps={steps!r})",
            "at least one feature per sample that can be removed",
            "Drop the rows that are only padding.",
        )
    return np.linspace(0.0, 1.0, K + 1)


def lerf_positions(positions: np.ndarray, n_valid: np.ndarray) -> np.ndarray:
    """Reverse the ranking of valid features (least relevant first); padding stays last."""
    F = positions.shape[1]
    rev = (n_valid[:, None] - 1 - positions).astype(np.int32)
    return np.where(positions < F, rev, positions)


def curve(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    kind: str = "deletion",
    steps: int | None = None,
    baseline: Any = "default",
    order: str = "signed",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """A perturbation curve per sample and its trapezoid AUC.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    kind : {"deletion", "insertion", "lerf"}
        Deletion removes the most relevant features first (MoRF); LeRF removes the
        least relevant first; insertion starts from the baseline and restores the most
        relevant first.
    steps : int, optional
        K, the number of steps; None = one feature per step (K = number of features).
    baseline : str, number, array or Masker
        What removal means; see :func:`xai_bench.metrics.maskers.resolve_masker`.
    order : {"signed", "abs"}
    space : {"probability", "log_odds"}
    seed : int
        Tie-break seed (and masker seed for random maskers).
    predict : callable, optional
        Scorer replacing ``task.predict`` (e.g. to count calls).

    Returns
    -------
    MetricResult
        ``scores`` (n,) AUCs, ``curves`` (n, K+1), ``x`` (K+1,), flags ``degenerate`` and
        ``flat_baseline``, ``extra`` with ``f_x`` and ``f_baseline`` (probabilities).

    Raises
    ------
    InvalidInputError
        If ``kind`` is unknown or a parameter is out of range.
    """
    if kind not in KINDS:
        raise InvalidInputError(f"kind={kind!r}", f"one of {KINDS}", "Use kind='deletion'.")
    space = scored_space(task, space)
    Xa, explanation, positions, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order=order, seed=seed, space=space
    )
    x = step_grid(steps, n_valid)
    counts = grid_counts(x, n_valid)
    if kind == "lerf":
        positions = lerf_positions(positions, n_valid)
    p = masked_scores(
        task,
        Xa,
        explanation.targets,
        positions,
        counts,
        fill,
        keep_top=kind == "insertion",
        predict=predict,
    )
    return curve_result(kind, x, p, explanation, params, space)


def curve_result(
    kind: str,
    x: np.ndarray,
    p: np.ndarray,
    explanation: Explanation,
    params: dict[str, Any],
    space: str,
) -> MetricResult:
    """Build a curve MetricResult from target probabilities ``p`` (n, K+1) on grid ``x``."""
    K = len(x) - 1
    f_x, f_base = (p[:, -1], p[:, 0]) if kind == "insertion" else (p[:, 0], p[:, -1])
    y = to_space(p, space, params.get("log_odds_clip", 1e-7))
    tol = params.get("flat_tol", FLAT_TOL)  # in the prediction's units on a regressor
    return MetricResult(
        metric=f"{kind}_auc",
        scores=_auc(x, y),
        curves=y,
        x=x,
        flags={
            "degenerate": explanation.degenerate(),
            "flat_baseline": np.abs(f_x - f_base) < tol,
        },
        params={
            **params,
            "kind": kind,
            "steps": K,
            "space": space,
            "x": "fraction of valid features "
            + ("inserted" if kind == "insertion" else "removed")
            + f", {K + 1} points in [0, 1]; count = round(x * n_valid), half up",
            "auc": "trapezoid over x in [0, 1]",
            "flat_tol": tol,
        },
        extra={"f_x": f_x, "f_baseline": f_base},
    )


def deletion_auc(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """Deletion (MoRF) curve AUC: lower is better. See :func:`curve` for parameters.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``steps``, ``baseline``, ``order``, ``space``, ``seed``, ``predict``: see :func:`curve`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1], ``curves`` and ``x``; ``params`` records the conventions.
    """
    return curve(task, X, explanation, kind="deletion", **kw)


def insertion_auc(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """Insertion curve AUC: higher is better. See :func:`curve` for parameters.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``steps``, ``baseline``, ``order``, ``space``, ``seed``, ``predict``: see :func:`curve`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1], ``curves`` and ``x``; ``params`` records the conventions.
    """
    return curve(task, X, explanation, kind="insertion", **kw)


def lerf_auc(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """LeRF curve AUC (least relevant removed first): higher is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``steps``, ``baseline``, ``order``, ``space``, ``seed``, ``predict``: see :func:`curve`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1], ``curves`` and ``x``; ``params`` records the conventions.
    """
    return curve(task, X, explanation, kind="lerf", **kw)


def abpc(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """Area between the LeRF and MoRF curves: AUC(LeRF) - AUC(MoRF), higher is better.

    Both curves use the same grid, baseline and ranking; ``curves`` holds LeRF - MoRF.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``steps``, ``baseline``, ``order``, ``space``, ``seed``, ``predict``: see :func:`curve`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions.
    """
    morf = curve(task, X, explanation, kind="deletion", **kw)
    lerf = curve(task, X, explanation, kind="lerf", **kw)
    return MetricResult(
        metric="abpc",
        scores=lerf.scores - morf.scores,
        curves=np.asarray(lerf.curves) - np.asarray(morf.curves),
        x=morf.x,
        flags=morf.flags,
        params={**morf.params, "kind": "lerf - deletion", "auc": "AUC(LeRF) - AUC(MoRF)"},
        extra={"morf_auc": morf.scores, "lerf_auc": lerf.scores, **morf.extra},
    )


def aopc(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """AOPC (Samek et al., 2017): mean over the K+1 MoRF steps of f(x) - f(x with top k removed).

    ``AOPC = 1/(K+1) * sum_{k=0..K} (y_0 - y_k)`` on the deletion curve; higher is better.
    It equals ERASER's aggregation (the average of ``beta_0 - beta_k`` over thresholds) on
    the thresholds 0, 1/K, ..., 1; ERASER's own bins give
    :func:`xai_bench.metrics.eraser.comprehensiveness`.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        ``steps``, ``baseline``, ``order``, ``space``, ``seed``, ``predict``: see :func:`curve`.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions.
    """
    morf = curve(task, X, explanation, kind="deletion", **kw)
    y = np.asarray(morf.curves)
    return MetricResult(
        metric="aopc",
        scores=(y[:, :1] - y).mean(axis=1),
        curves=y,
        x=morf.x,
        flags=morf.flags,
        params={**morf.params, "auc": "mean over the K+1 steps of y_0 - y_k"},
        extra=morf.extra,
    )


class _CurveMetric(BaseMetric):
    """Parameters shared by every curve metric."""

    def __init__(
        self,
        steps: int | None = None,
        baseline: Any = "default",
        order: str = "signed",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.steps = steps
        self.baseline = baseline
        self.order = order
        self.space = space
        self.seed = seed


_REF_DEL = "Petsiuk et al., RISE (BMVC 2018); Samek et al., IEEE TNNLS 2017 (MoRF)"


class DeletionAUC(_CurveMetric):
    """Area under the deletion (MoRF) curve; lower is better."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="deletion_auc",
        higher_is_better=False,
        range=(0.0, 1.0),
        description="Area under the target probability as the most relevant features are removed",
        reference=_REF_DEL,
        family="faithfulness",
        formula=r"\mathrm{AUC} = \sum_{k=1}^{K} \frac{t_k - t_{k-1}}{2}\big(f(x^{\mathrm{MoRF}}_{k-1}) + f(x^{\mathrm{MoRF}}_{k})\big), \quad t_k = k/K",
    )
    _fn = staticmethod(deletion_auc)


class InsertionAUC(_CurveMetric):
    """Area under the insertion curve; higher is better."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="insertion_auc",
        higher_is_better=True,
        range=(0.0, 1.0),
        description="Area under the target probability as the most relevant features are "
        "restored onto the baseline",
        reference="Petsiuk et al., RISE (BMVC 2018)",
        family="faithfulness",
        formula=r"\mathrm{AUC} = \sum_{k=1}^{K} \frac{t_k - t_{k-1}}{2}\big(f(x^{\mathrm{ins}}_{k-1}) + f(x^{\mathrm{ins}}_{k})\big), \quad x^{\mathrm{ins}}_k = \text{baseline with the top } t_k \text{ of } x \text{ restored}",
    )
    _fn = staticmethod(insertion_auc)


class LeRFAUC(_CurveMetric):
    """Area under the LeRF curve (least relevant removed first); higher is better."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="lerf_auc",
        higher_is_better=True,
        range=(0.0, 1.0),
        description="Area under the target probability as the least relevant features are removed",
        reference="Samek et al., IEEE TNNLS 2017; Tomsett et al., AAAI 2020",
        family="faithfulness",
        formula=r"\mathrm{AUC} = \sum_{k=1}^{K} \frac{t_k - t_{k-1}}{2}\big(f(x^{\mathrm{LeRF}}_{k-1}) + f(x^{\mathrm{LeRF}}_{k})\big)",
    )
    _fn = staticmethod(lerf_auc)


class ABPC(_CurveMetric):
    """Area between the LeRF and MoRF curves; higher is better."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="abpc",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="AUC(LeRF) - AUC(MoRF): area between perturbation curves",
        reference="Schulz et al., ICLR 2020 (IBA); Blücher et al., 2024",
        family="faithfulness",
        formula=r"\mathrm{ABPC} = \mathrm{AUC}\big(f(x^{\mathrm{LeRF}}_k)\big) - \mathrm{AUC}\big(f(x^{\mathrm{MoRF}}_k)\big)",
    )
    _fn = staticmethod(abpc)


class AOPC(_CurveMetric):
    """Area over the MoRF perturbation curve; higher is better."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="aopc",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Mean drop of the target probability over the MoRF steps",
        reference="Samek et al., Evaluating the visualization of what a DNN has learned, "
        "IEEE TNNLS 2017",
        family="faithfulness",
        formula=r"\mathrm{AOPC} = \frac{1}{K+1} \sum_{k=0}^{K} \big(f(x) - f(x^{\mathrm{MoRF}}_k)\big)",
    )
    _fn = staticmethod(aopc)
