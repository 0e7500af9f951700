"""Ground-truth precision@k: the share of the top-k ranked features that carry the evidence."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._params import PARAMS, check_param
from .._rows import row_index
from ..errors import IncompatibleError
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import prepare, rank_positions

__all__ = ["PrecisionAtK", "precision_at_k"]


def _truth(task: Task, X: np.ndarray) -> np.ndarray:
    truth = np.asarray(task.ground_truth, dtype=bool)
    if truth.shape == task.feature_shape:
        return np.broadcast_to(truth, X.shape).reshape(len(X), -1)
    return truth[row_index(np.asarray(task.X), X)].reshape(len(X), -1)


def precision_at_k(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    k: int | None = None,
    order: str = "abs",
    seed: int = 0,
) -> MetricResult:
    """|top-k features ∩ ground truth| / k per sample; higher is better, in [0, 1].

    ``k=None`` uses the number of true features of each sample (then precision = recall).
    Samples without any true feature get NaN and the flag ``no_truth``.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    k : int, optional
    order : {"abs", "signed"}
    seed : int
        Tie-break seed.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1]; ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the task has no ground truth.
    """
    if task.ground_truth is None:  # a skip, checked before anything else
        raise IncompatibleError(f"task {task.name!r} has no ground truth (known evidence features)")
    k = None if k is None else check_param(PARAMS["k"], "k", k)
    Xa, explanation = prepare(task, X, explanation)
    truth = _truth(task, Xa) & explanation.flat_mask()
    positions, n_valid = rank_positions(explanation, order=order, seed=seed, X=Xa)
    kk = truth.sum(axis=1) if k is None else np.minimum(int(k), n_valid)
    hits = (truth & (positions < kk[:, None])).sum(axis=1)
    scores = np.divide(hits, kk, out=np.full(len(Xa), np.nan), where=kk > 0)
    return MetricResult(
        metric="precision_at_k",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "no_truth": truth.sum(axis=1) == 0},
        params={
            "k": "number of true features per sample" if k is None else int(k),
            "order": f"{order} attribution, descending; ties by a random permutation (seed {seed})",
            "truth": "task.ground_truth",
        },
    )


class PrecisionAtK(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="precision_at_k",
        higher_is_better=True,
        range=(0.0, 1.0),
        description="Share of the top-k attributed features that are known evidence features",
        reference="Ground-truth localisation, cf. Arras et al., CLEVR-XAI, Information Fusion 2022",
        family="localisation",
        formula=r"\mathrm{P@}k = \frac{|\operatorname{top}_k(\phi) \cap G|}{k}",
    )

    def __init__(self, k: int | None = None, order: str = "abs", seed: int = 0) -> None:
        self.k = k
        self.order = order
        self.seed = seed

    _fn = staticmethod(precision_at_k)
