"""The component metrics' scores over a chunk of examples (their classes: metrics/components.py).

Each function scores the examples ``task.select(X)`` (the chunk the explanation explains;
``X=None`` = every example). ``curve_score`` gives MIB's dataset-level numbers over the
chunk (the behaviour averaged over its examples, then normalised): the score and the
curve f are stored on the chunk's first example and NaN on the others
(``params["level"]`` says so), so the statistics count chunks, the unit the score was
measured on. A ``chunk_size`` of at least ``n_samples`` gives MIB's number over all the
examples (one chunk: a value, no test). ``truth_score`` and ``patching_agreement``
score each example's ranking. A task without a planted circuit, or an explanation over a
space the truth is not given in, is a recorded skip (IncompatibleError).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..metrics.base import MetricResult
from ._common import check_choice, check_task
from .faithfulness import _area, faithfulness_curve
from .patching import ActivationPatching
from .task import ComponentTask
from .truth import auroc_truth, precision_at_truth

__all__ = [
    "chunk",
    "curve_score",
    "exact_patching",
    "granularity",
    "patching_agreement",
    "truth_score",
]

RESOLUTION = 1e-6  # as the statistics' ties (runner.stats.RESOLUTION)
TRUTH = {"precision_at_truth": precision_at_truth, "auroc_truth": auroc_truth}


def granularity(explanation: Explanation) -> str:
    """The space an explanation ranks: "node" unless its meta says otherwise."""
    meta = explanation.meta
    return str(meta.get("space") or meta.get("granularity") or "node")


def chunk(task: Any, X: Any, explanation: Explanation) -> ComponentTask:
    """The task on the explained examples, checked against the explanation's rows."""
    sub = check_task(task) if X is None else check_task(task).select(np.asarray(X))
    if explanation.n_samples != sub.n_examples:
        raise InvalidInputError(
            f"an explanation of {explanation.n_samples} examples for {sub.n_examples} rows of X",
            "one attribution row per example in X",
            "Score the explanation with the X it was computed on.",
        )
    return sub


def curve_score(
    task: Any,
    X: Any,
    explanation: Explanation,
    *,
    metric: str,
    order: str,
    remove: bool = False,
    absolute: bool = False,
    **params: Any,
) -> MetricResult:
    """cpr / cmd / necessity over the chunk: area under f (or |1 - f|) of its circuits."""
    sub = chunk(task, X, explanation)
    curve = faithfulness_curve(sub, explanation, order=order, remove=remove, **params)
    result = _area(metric, curve, absolute)
    n = sub.n_examples
    scores, curves = np.full(n, np.nan), np.full((n, curve[0].size), np.nan)
    scores[0], curves[0] = result.scores[0], curve[1]
    return MetricResult(
        metric=metric,
        scores=scores,
        curves=curves,
        x=result.x,
        flags={"chunk_level": np.isnan(scores)},  # the chunk's score is on its first example
        params={
            **result.params,
            "level": f"chunk of {n} examples (on its first)",
        },
    )


def truth_score(
    task: Any, X: Any, explanation: Explanation, *, metric: str, order: str = "abs"
) -> MetricResult:
    """precision_at_truth / auroc_truth per example, or a skip when there is no truth."""
    sub = chunk(task, X, explanation)
    if sub.ground_truth is None:
        raise IncompatibleError(
            f"metric {metric} needs a planted circuit; task {sub.name!r} has none"
        )
    space = granularity(explanation)
    if space != sub.space.granularity:
        raise IncompatibleError(
            f"metric {metric}: task {sub.name!r} gives its planted circuit over"
            f" {sub.space.granularity}s, not over the {space} space this explanation ranks"
        )
    return TRUTH[metric](sub, explanation, order=order)


# exact patching per (task, rows, space, ablation), computed once per process: the score
# jobs of every explainer on one chunk compare with the same reference
_EXACT: weakref.WeakKeyDictionary[ComponentTask, dict[tuple, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def exact_patching(task: ComponentTask, X: Any, space: str, ablation: str) -> np.ndarray:
    """Noising activation patching (B, F) of the examples ``X`` of ``task``, cached."""
    rows = task.X if X is None else np.asarray(X)
    key = (rows.tobytes(), str(rows.dtype), space, ablation)
    cache = _EXACT.setdefault(task, {})
    if key not in cache:
        patching = ActivationPatching(ablation=ablation, granularity=space)
        cache[key] = patching.explain(task.select(rows)).flat()
    return cache[key]


def _graded(x: np.ndarray) -> np.ndarray:
    """``x`` in steps of RESOLUTION times its largest |value|: float noise (an exact zero
    computed as 1e-17) becomes a tie instead of an arbitrary order."""
    top = float(np.max(np.abs(x)))
    return np.round(x / (RESOLUTION * top)) if top > 0 else x


def _rank_agreement(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """Per row, Spearman's rho or Kendall's tau-b of a and b (nan for a constant row)."""
    from scipy.stats import kendalltau, spearmanr

    fn = spearmanr if method == "spearman" else kendalltau
    out = np.full(len(a), np.nan)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        x, y = _graded(x), _graded(y)
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            out[i] = float(fn(x, y)[0])
    return out


def patching_agreement(
    task: Any,
    X: Any,
    explanation: Explanation,
    *,
    method: str = "spearman",
    ablation: str = "patching",
) -> MetricResult:
    """Per example, the rank agreement of the attributions with exact (noising) patching."""
    check_choice("method", method, ("spearman", "kendall"))
    chunk(task, X, explanation)
    space = granularity(explanation)
    if space not in ("node", "edge", "neuron"):
        raise IncompatibleError(
            f"metric patching_agreement: no exact patching over the {space} space"
        )
    # the task's own space (nodes, or one layer's neurons), or its edges
    exact = exact_patching(check_task(task), X, "edge" if space == "edge" else "node", ablation)
    mine = explanation.flat()
    if mine.shape != exact.shape:
        raise InvalidInputError(
            f"attributions of shape {mine.shape}",
            f"{exact.shape}: one per example and {space} of the task",
            "Explain this task with a component explainer.",
        )
    scores = _rank_agreement(mine, exact, method)
    return MetricResult(
        metric="patching_agreement",
        scores=scores,
        flags={"undefined": np.isnan(scores)},
        params={"method": method, "ablation": ablation, "space": space, "resolution": RESOLUTION},
    )
