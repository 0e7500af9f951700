"""check_metric on every built-in metric x every built-in task."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.registry import BUILTIN_METRICS, BUILTIN_TASKS
from xai_bench.testing import ConformanceError, check_metric


def _same_level_pairs() -> list[tuple[str, str]]:
    """Every metric with every task of its level: input metrics with input tasks, component
    metrics with component tasks (the cross-level skip is tested once, below)."""
    pairs = []
    for metric_id in sorted(BUILTIN_METRICS):
        modalities = {m.value for m in xb.registry.metric_class(metric_id).info.modalities}
        for task_id in sorted(BUILTIN_TASKS):
            if task_id.startswith("components.") == ("components" in modalities):
                pairs.append((metric_id, task_id))
    return pairs


@pytest.mark.parametrize(("metric_id", "task_id"), _same_level_pairs())
def test_builtin_metric_conformance(metric_id, task_id):
    report = check_metric(xb.get_metric(metric_id), xb.load_task(task_id), n=3)
    if "score" in report:
        pytest.skip(report["score"])
    assert report["purity"] == "passed"


@pytest.mark.parametrize(
    ("metric_id", "task_id"),
    [("deletion_auc", "components.first_token"), ("cpr", "synthetic.linear")],
)
def test_a_metric_of_the_other_level_is_a_clean_skip(metric_id, task_id):
    report = check_metric(xb.get_metric(metric_id), xb.load_task(task_id), n=3)
    assert "not declared" in report["score"] or "support" in report["score"], report


def test_check_metric_catches_an_impure_metric():
    task = xb.load_task("synthetic.linear")

    class Drifting:
        info = xb.MetricInfo(name="broken_drift", higher_is_better=True, range=(0.0, 10.0))
        calls = 0

        def score(self, task, X, explanation):
            Drifting.calls += 1  # state kept between calls: forbidden
            if len(X) != explanation.n_samples:
                raise xb.InvalidInputError("n", "m", "fix")
            return xb.MetricResult("broken_drift", np.full(len(X), float(Drifting.calls)))

    with pytest.raises(ConformanceError, match="purity"):
        check_metric(Drifting(), task, n=2)

    class OutOfRange(Drifting):
        info = xb.MetricInfo(name="broken_range", higher_is_better=True, range=(0.0, 1.0))

        def score(self, task, X, explanation):
            return xb.MetricResult("broken_range", np.full(len(X), 2.0))

    with pytest.raises(ConformanceError, match="range"):
        check_metric(OutOfRange(), task, n=2)
