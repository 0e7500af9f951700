"""``check_metric``: the conformance checks every metric (built-in or plugin) must pass."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..metrics.base import MetricInfo, MetricResult
from ..task import Modality, Task
from .explainer_checks import NAME, ConformanceError, _Fail
from .explainer_checks import _expect as _expect_error


def check_metric(
    metric: Any, task: Task, explanation: Explanation | None = None, n: int = 4
) -> dict[str, str]:
    """Check that ``metric`` honours the metric contract on ``task``.

    Checks: a declared ``MetricInfo``; a clear ``IncompatibleError`` for a modality it
    does not declare; one score per sample, finite (or flagged) and inside the declared
    range; curves on a non-negative increasing grid; per-sample boolean flags; purity (inputs
    untouched, the same scores twice); ``InvalidInputError`` when the explanation does
    not match the inputs.

    Parameters
    ----------
    metric : Metric
    task : Task
    explanation : Explanation, optional
        Attributions of ``task.X[:n]``; by default the seeded ``random`` control's.
    n : int

    Returns
    -------
    dict
        Check name -> ``"passed"`` or ``"skipped: <reason>"``.

    Examples
    --------
    >>> from xai_bench.testing import check_metric
    >>> report = check_metric(xb.get_metric("deletion_auc"), xb.load_task("synthetic.linear"))
    >>> "purity" in report
    True
    """
    info = getattr(type(metric), "info", None)
    label = f"{getattr(info, 'name', type(metric).__name__)} on {task.name}"

    def fail(check: str, message: str) -> ConformanceError:
        return ConformanceError(f"check_metric({label}) failed [{check}]: {message}")

    if not isinstance(info, MetricInfo) or not NAME.match(info.name):
        raise fail("info", f"`info` is {info!r}; expected a MetricInfo with a lower-case name")
    lo, hi = info.range
    if not lo < hi or not info.modalities:
        raise fail("info", f"range {info.range} / modalities {info.modalities} are empty")
    X = np.asarray(task.X)[:n]
    if explanation is None and task.modality is Modality.COMPONENTS:
        from ..adapters.components import RandomComponents

        explanation = RandomComponents(seed=0).explain(task, X)
    elif explanation is None:
        from ..adapters.baselines import RandomExplainer

        explanation = RandomExplainer(seed=0).explain(task, X)
    if task.modality not in info.modalities:
        _expect(IncompatibleError, lambda: metric.score(task, X, explanation), "incompatible", fail)
        return {"info": "passed", "score": f"skipped: {task.modality.value} not declared"}

    X_copy, attr_copy = X.copy(), explanation.attributions.copy()
    try:
        result = metric.score(task, X, explanation)
    except IncompatibleError as exc:
        return {"info": "passed", "score": f"skipped: {exc}"}
    _check_result(result, info, len(X), fail)
    if not (np.array_equal(X, X_copy) and np.array_equal(explanation.attributions, attr_copy)):
        raise fail("purity", "score() modified its inputs")
    again = metric.score(task, X, explanation)
    if not np.array_equal(result.scores, again.scores, equal_nan=True):
        raise fail("purity", "two calls on the same inputs gave different scores")
    if len(X) > 1:
        short = explanation.subset(slice(0, len(X) - 1))
        _expect(InvalidInputError, lambda: metric.score(task, X, short), "mismatch", fail)
    return {"info": "passed", "result": "passed", "purity": "passed", "mismatch": "passed"}


def _check_result(result: Any, info: MetricInfo, n: int, fail: Any) -> None:
    if not isinstance(result, MetricResult):
        raise fail("result", f"score() returned {type(result).__name__}; expected MetricResult")
    if result.metric != info.name:
        raise fail("result", f"MetricResult.metric {result.metric!r} != {info.name!r}")
    scores = np.asarray(result.scores, dtype=np.float64)
    if scores.shape != (n,):
        raise fail("scores", f"scores of shape {scores.shape}; expected ({n},)")
    flags = {k: np.asarray(v) for k, v in result.flags.items()}
    for k, v in flags.items():
        if v.shape != (n,) or v.dtype != bool:
            raise fail(
                "flags", f"flag {k!r} has shape {v.shape} dtype {v.dtype}; expected ({n},) bool"
            )
    flagged = np.any(np.stack(list(flags.values())), axis=0) if flags else np.zeros(n, bool)
    if np.any(~np.isfinite(scores) & ~flagged):
        raise fail("scores", f"non-finite scores {scores.tolist()} without a flag")
    lo, hi = info.range
    finite = scores[np.isfinite(scores)]
    # a declared range holds for probabilities; on a regressor scores are in its units
    in_units = dict(result.params).get("space") == "prediction"
    if not in_units and (np.any(finite < lo - 1e-9) or np.any(finite > hi + 1e-9)):
        raise fail("range", f"scores {finite.tolist()} outside the declared range {info.range}")
    if result.curves is not None:
        x = np.asarray(result.x)
        # fractions removed for curve metrics, layer counts for model randomisation
        bad_x = not np.all(np.isfinite(x)) or x.min() < 0 or np.any(np.diff(x) <= 0)
        if result.curves.shape != (n, len(x)) or bad_x:
            raise fail(
                "curves",
                f"curves {result.curves.shape} on x {x.tolist()}: need (n, len(x)) "
                "and x a non-negative increasing grid",
            )
    if not isinstance(result.params, dict) and not hasattr(result.params, "items"):
        raise fail("params", "MetricResult.params must record the conventions used")


def _expect(kind: type[Exception], call: Any, check: str, fail: Any) -> None:
    try:
        _expect_error(kind, call, check)
    except _Fail as exc:
        raise fail(check, str(exc)) from None
