"""Small pieces shared by the metric classes: parameter introspection and modality checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .._params import Parameterised
from ..errors import IncompatibleError
from ..explanation import Explanation
from ..task import Task
from .base import MetricInfo, MetricResult

#: |f(x) - f(baseline)| below this (probability) flags a sample "flat_baseline".
FLAT_TOL = 1e-2

TARGET = "explanation.targets (the predicted class unless the user gave targets)"


class BaseMetric(Parameterised):
    """Thin class around a pure metric function: hyperparameters in ``__init__`` only.

    Subclasses set ``info`` and ``_fn``, the pure function that ``score`` calls as
    ``_fn(task, X, explanation, **self.get_params())`` after checking the modality.
    """

    info: ClassVar[MetricInfo]
    _fn: ClassVar[Callable[..., MetricResult]]

    def score(self, task: Task, X: Any, explanation: Explanation) -> MetricResult:
        fn = getattr(type(self), "_fn", None)
        if fn is None:
            raise NotImplementedError(f"{type(self).__name__} sets no `_fn` and no `score`")
        check_modality(self.info, task)
        return fn(task, X, explanation, **self.get_params())


def check_modality(info: MetricInfo, task: Task) -> None:
    """Raise IncompatibleError (a recorded skip) when ``task``'s modality is not declared."""
    if task.modality not in info.modalities:
        mods = ", ".join(sorted(m.value for m in info.modalities))
        raise IncompatibleError(
            f"metric {info.name} supports {mods}, not {task.modality.value} (task {task.name!r})"
        )
