"""Agreement with a planted circuit: precision of the top |truth| components, and AUROC."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..explanation import Explanation
from ..metrics.base import MetricResult
from ._common import check_choice, check_task

__all__ = ["auroc_truth", "precision_at_truth"]


def _scored(task: Any, explanation: Explanation, order: str) -> tuple[np.ndarray, np.ndarray]:
    """The truth mask (F,) and the ranking scores (B, F), checked against each other."""
    task = check_task(task)
    check_choice("order", order, ("signed", "abs"))
    truth = task.truth_mask()
    scores = explanation.flat()
    if scores.shape[1] != truth.size:
        raise InvalidInputError(
            f"attributions over {scores.shape[1]} features",
            f"one per component of the task's node space ({truth.size})",
            "Explain this task with a node-level component explainer.",
        )
    return truth, np.abs(scores) if order == "abs" else scores


def precision_at_truth(task: Any, explanation: Explanation, order: str = "abs") -> MetricResult:
    """Per example: the share of the top-|truth| components that are planted.

    ``order="abs"`` ranks by |attribution|, ``"signed"`` by attribution; ties keep the
    space's order (a constant ranking gets the first components, not a free pass).
    """
    truth, scores = _scored(task, explanation, order)
    k = int(truth.sum())
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    precision = truth[top].mean(axis=1)
    return MetricResult(
        metric="precision_at_truth",
        scores=precision,
        params={"order": order, "k": k, "truth": list(task.ground_truth or ())},
    )


def auroc_truth(task: Any, explanation: Explanation, order: str = "abs") -> MetricResult:
    """Per example: the probability that a planted component outscores a non-planted one.

    Ties count one half (1 = planted all first, 0.5 = no information, 0 = all last).
    """
    truth, scores = _scored(task, explanation, order)
    planted, other = scores[:, truth][:, :, None], scores[:, ~truth][:, None, :]
    auroc = ((planted > other) + 0.5 * (planted == other)).mean(axis=(1, 2))
    return MetricResult(
        metric="auroc_truth",
        scores=auroc,
        params={"order": order, "truth": list(task.ground_truth or ())},
    )
