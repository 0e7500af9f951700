"""Component explainers as the runner calls them: ``explain(task, X)`` on a chunk of examples.

The runner's explain job calls ``explainer.explain(task, X)`` with ``X`` a chunk of rows of
``task.X``; for a :class:`ComponentTask` those rows are example indices, and the
explainer explains ``task.select(X)``: one attribution row per example of the chunk.
``explain(task)`` alone explains every example. Each class here is the component
explainer of the same name with the runner's ``capabilities`` (modality
``components``); the registry lists them by their ``name`` (``components.<id>``).
"""

from __future__ import annotations

import inspect
from typing import Any

from ..explainer import Capabilities
from ..explanation import Explanation
from ..task import Modality
from ._common import check_task
from .atp import AttributionPatching as _AtP
from .control import RandomComponents as _Random
from .eap import EdgeAttributionPatching as _EAP
from .ig import ActivationIG as _IG
from .norm import ActivationNorm as _Norm
from .patching import ActivationPatching as _Patching

__all__ = [
    "ActivationIG",
    "ActivationNorm",
    "ActivationPatching",
    "AttributionPatching",
    "EdgeAttributionPatching",
    "RandomComponents",
    "runnable",
]


def runnable(cls: type) -> type:
    """``cls`` (a component explainer) with capabilities and ``explain(task, X=None)``."""
    stochastic = "seed" in inspect.signature(cls).parameters

    def explain(self: Any, task: object, X: Any = None, *, targets: Any = None) -> Explanation:
        task = check_task(task)
        return cls.explain(self, task if X is None else task.select(X))  # type: ignore[attr-defined]

    return type(
        cls.__name__,
        (cls,),
        {
            "__module__": __name__,
            "__qualname__": cls.__name__,
            "__doc__": cls.__doc__,
            "library": "torch",
            "capabilities": Capabilities(
                modalities=frozenset({Modality.COMPONENTS}),
                stochastic=stochastic,
                output_space="model",
            ),
            "explain": explain,
        },
    )


ActivationPatching = runnable(_Patching)
AttributionPatching = runnable(_AtP)
ActivationIG = runnable(_IG)
EdgeAttributionPatching = runnable(_EAP)
ActivationNorm = runnable(_Norm)
RandomComponents = runnable(_Random)
