"""Component explainers (``xai_bench.components``) as the registry and the runner see them.

Declared here without torch, so listing the explainers imports nothing heavy: each
class holds the id, the capabilities (modality ``components``) and where the
implementation lives; calling it (or reading its signature) imports torch and returns
an instance of the implementation with ``explain(task, X=None)``.

How the runner calls them: an explain job calls ``explainer.explain(task, X)`` with ``X``
a chunk of rows of ``task.X``. For a :class:`~xai_bench.components.ComponentTask` those
rows are example indices, and the explainer explains ``task.select(X)``: one attribution
row per example of the chunk. ``explain(task)`` alone explains every example.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, ClassVar

from ..explainer import Capabilities
from ..task import Modality

__all__ = [
    "ActivationIG",
    "ActivationNorm",
    "ActivationPatching",
    "AttributionPatching",
    "ComponentExplainer",
    "EdgeAttributionPatching",
    "RandomComponents",
    "runnable",
]


@functools.cache
def runnable(declared: type) -> type:
    """The implementation of a declared component explainer, subclassed with its
    capabilities and ``explain(task, X)`` that explains the examples ``X``."""
    module, _, attr = declared.path.partition(":")  # type: ignore[attr-defined]
    cls = getattr(importlib.import_module(f"xai_bench.components.{module}"), attr)

    def explain(self: Any, task: Any, X: Any = None, *, targets: Any = None) -> Any:
        from ..components._common import check_task

        task = check_task(task)
        return cls.explain(self, task if X is None else task.select(X))

    attrs = {"__doc__": cls.__doc__, "explain": explain, "library": "torch"}
    return type(cls.__name__, (cls,), {**attrs, "capabilities": declared.capabilities})  # type: ignore[attr-defined]


class _Lazy(type):
    """Signature and instances come from the implementation, imported on first use."""

    @property
    def __signature__(cls) -> inspect.Signature:
        return inspect.signature(runnable(cls))

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return runnable(cls)(*args, **kwargs)


class ComponentExplainer(metaclass=_Lazy):
    """A component explainer's declaration: ``name``, ``path`` and ``capabilities``."""

    name: ClassVar[str]
    path: ClassVar[str]
    library: ClassVar[str] = "torch"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.COMPONENTS}), output_space="model"
    )


def declare(name: str, path: str, stochastic: bool = False) -> type:
    """One line per explainer: its id and "module:Class" in xai_bench.components."""
    caps = Capabilities(
        modalities=frozenset({Modality.COMPONENTS}), stochastic=stochastic, output_space="model"
    )
    attrs = {"name": name, "path": path, "capabilities": caps, "__module__": __name__}
    return _Lazy(path.partition(":")[2], (ComponentExplainer,), attrs)


ActivationPatching = declare("components.activation_patching", "patching:ActivationPatching")
AttributionPatching = declare("components.atp", "atp:AttributionPatching")
ActivationIG = declare("components.ig_activations", "ig:ActivationIG")
EdgeAttributionPatching = declare("components.eap", "eap:EdgeAttributionPatching")
ActivationNorm = declare("components.activation_norm", "norm:ActivationNorm")
RandomComponents = declare("components.random", "control:RandomComponents", stochastic=True)
