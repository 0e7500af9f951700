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

from .._params import Parameterised, check_param, param_specs
from ..errors import IncompatibleError
from ..explainer import Capabilities
from ..task import Modality

__all__ = [
    "ACDC",
    "ActivationIG",
    "ActivationNorm",
    "ActivationPatching",
    "AttributionPatching",
    "AttentionHeuristic",
    "AttributionPatchingStar",
    "CaptumInternalInfluence",
    "CaptumLayerActivation",
    "CaptumLayerConductance",
    "CaptumLayerFeatureAblation",
    "CausalTracing",
    "ComponentExplainer",
    "EdgeAttributionPatching",
    "EdgeAttributionPatchingIG",
    "GradDrop",
    "LinearProbe",
    "RandomComponents",
    "SparseProbe",
    "runnable",
]


@functools.cache
def runnable(declared: type) -> type:
    """The implementation of a declared component explainer, subclassed with its
    capabilities and ``explain(task, X)`` that explains the examples ``X``."""
    module, _, attr = declared.path.partition(":")  # type: ignore[attr-defined]
    cls = getattr(importlib.import_module(f"xai_bench.components.{module}"), attr)

    def explain(self: Any, task: Any, X: Any = None, *, targets: Any = None) -> Any:
        if getattr(task, "modality", None) is not Modality.COMPONENTS:  # a skip, not a failure
            raise IncompatibleError(
                f"{declared.name} explains component tasks, not {task!r}"  # type: ignore[attr-defined]
            )
        return cls.explain(self, task if X is None else task.select(X))

    @functools.wraps(cls.__init__)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = inspect.signature(cls).bind(*args, **kwargs)
        bound.apply_defaults()
        specs = param_specs(type(self))
        params = {  # checked against their specs first, as every adapter's are
            k: check_param(specs[k], k, v, declared.name) if k in specs else v  # type: ignore[attr-defined]
            for k, v in bound.arguments.items()
        }
        cls.__init__(self, **params)
        for name, value in params.items():  # get_params reads them back
            if not hasattr(self, name):
                setattr(self, name, value)

    attrs = {"__doc__": cls.__doc__, "__init__": __init__, "explain": explain, "library": "torch"}
    # Parameterised: get_params, and every parameter checked against its spec when built
    caps = declared.capabilities  # type: ignore[attr-defined]
    return type(cls.__name__, (cls, Parameterised), {**attrs, "capabilities": caps})


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


class _LazyInit:
    """A declaration's ``__init__`` as signature readers see it (``param_specs``): the
    implementation's, read when first asked for."""

    def __init__(self, declared: type) -> None:
        self.declared = declared

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(runnable(self.declared))

    def __call__(self, *args: Any, **kwargs: Any) -> None:  # never reached: _Lazy.__call__
        raise TypeError(f"{self.declared.__name__} is built by calling the class")


def declare(name: str, path: str, stochastic: bool = False) -> type:
    """One line per explainer: its id and "module:Class" in xai_bench.components."""
    caps = Capabilities(
        modalities=frozenset({Modality.COMPONENTS}), stochastic=stochastic, output_space="model"
    )
    attrs = {"name": name, "path": path, "capabilities": caps, "__module__": __name__}
    declared = _Lazy(path.partition(":")[2], (ComponentExplainer,), attrs)
    declared.__init__ = _LazyInit(declared)  # type: ignore[misc]
    return declared


ActivationPatching = declare("components.activation_patching", "patching:ActivationPatching")
AttributionPatching = declare("components.atp", "atp:AttributionPatching")
ActivationIG = declare("components.ig_activations", "ig:ActivationIG")
EdgeAttributionPatching = declare("components.eap", "eap:EdgeAttributionPatching")
ActivationNorm = declare("components.activation_norm", "norm:ActivationNorm")
RandomComponents = declare("components.random", "control:RandomComponents", stochastic=True)
AttributionPatchingStar = declare("components.atp_star", "atp_star:AttributionPatchingStar")
GradDrop = declare("components.atp_graddrop", "atp_star:GradDrop")
EdgeAttributionPatchingIG = declare("components.eap_ig", "eap_ig:EdgeAttributionPatchingIG")
CaptumLayerConductance = declare(
    "components.layer_conductance", "captum_layer:CaptumLayerConductance"
)
CaptumInternalInfluence = declare(
    "components.internal_influence", "captum_layer:CaptumInternalInfluence"
)
CaptumLayerActivation = declare("components.layer_activation", "captum_layer:CaptumLayerActivation")
CaptumLayerFeatureAblation = declare(
    "components.layer_feature_ablation", "captum_layer:CaptumLayerFeatureAblation"
)
ACDC = declare("components.acdc", "acdc:ACDC")
AttentionHeuristic = declare("components.attention_pattern", "attention:AttentionHeuristic")
CausalTracing = declare("components.causal_tracing", "tracing:CausalTracing", stochastic=True)
LinearProbe = declare("components.probe_linear", "probes:LinearProbe", stochastic=True)
SparseProbe = declare("components.probe_sparse", "probes:SparseProbe", stochastic=True)
