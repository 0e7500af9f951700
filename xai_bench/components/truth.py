"""Agreement with a planted circuit: precision of the top |truth| components."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..explanation import Explanation
from ..metrics.base import MetricResult
from ._common import check_choice, check_task

__all__ = ["precision_at_truth"]


def precision_at_truth(task: Any, explanation: Explanation, order: str = "abs") -> MetricResult:
    """Per example: the share of the top-|truth| components that are planted.

    ``order="abs"`` ranks by |attribution|, ``"signed"`` by attribution; ties keep the
    space's order (a constant ranking gets the first components, not a free pass).
    """
    task = check_task(task)
    check_choice("order", order, ("signed", "abs"))
    truth = task.truth_mask()
    scores = explanation.flat()
    if scores.shape[1] != truth.size:
        raise InvalidInputError(
            f"attributions over {scores.shape[1]} features",
            f"one per component of the task's space ({truth.size})",
            "Explain this task with a component explainer.",
        )
    if order == "abs":
        scores = np.abs(scores)
    k = int(truth.sum())
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    precision = truth[top].mean(axis=1)
    return MetricResult(
        metric="precision_at_truth",
        scores=precision,
        params={"order": order, "k": k, "truth": list(task.ground_truth or ())},
    )
