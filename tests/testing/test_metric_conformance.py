"""check_metric on every built-in metric x every built-in task."""

from __future__ import annotations

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.registry import BUILTIN_METRICS, BUILTIN_TASKS
from xai_bench.testing import ConformanceError, check_metric


@pytest.mark.parametrize("task_id", sorted(BUILTIN_TASKS))
@pytest.mark.parametrize("metric_id", sorted(BUILTIN_METRICS))
def test_builtin_metric_conformance(metric_id, task_id):
    report = check_metric(xb.get_metric(metric_id), xb.load_task(task_id), n=3)
    if "score" in report:
        pytest.skip(report["score"])
    assert report["purity"] == "passed"


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
