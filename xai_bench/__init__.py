"""xai-bench: compare feature-attribution methods on faithfulness, side by side.

Examples
--------
>>> import xai_bench as xb
>>> task = xb.load_task("breast_cancer.mlp")
>>> expl = xb.get_explainer("shap.kernel", n_samples=200).explain(task, task.X[:32])
>>> res = xb.get_metric("deletion_auc", steps=20).score(task, task.X[:32], expl)
"""

from __future__ import annotations

from typing import Any

from .errors import (
    IncompatibleError,
    InvalidInputError,
    MissingDependencyError,
    UnknownNameError,
    XaiBenchError,
)
from .explainer import BaseExplainer, Capabilities, Explainer, Requirement
from .explanation import Explanation
from .metrics.base import Metric, MetricInfo, MetricResult
from .registry import (
    get_explainer,
    get_metric,
    list_explainers,
    list_metrics,
    list_tasks,
    load_task,
    register_explainer,
    register_metric,
)
from .task import Modality, Task

__version__ = "0.1.0"

__all__ = [
    "BaseExplainer",
    "Benchmark",
    "Capabilities",
    "Explainer",
    "Explanation",
    "IncompatibleError",
    "InvalidInputError",
    "Metric",
    "MetricInfo",
    "MetricResult",
    "MissingDependencyError",
    "Modality",
    "Requirement",
    "Results",
    "Task",
    "UnknownNameError",
    "XaiBenchError",
    "__version__",
    "get_explainer",
    "get_metric",
    "list_explainers",
    "list_metrics",
    "list_tasks",
    "load_task",
    "register_explainer",
    "register_metric",
]


def __getattr__(name: str) -> Any:
    # the runner pulls in pandas; import it only when asked for
    if name in ("Benchmark", "Results"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'xai_bench' has no attribute {name!r}")
