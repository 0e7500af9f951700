"""Inside the model: rank a transformer's components and score the ranking by ablation.

The same contract as the input level, one level down: a :class:`ComponentTask` holds a
model whose components (``emb``, heads ``a{layer}.h{head}``, MLPs ``m{layer}``) write
through hook points, clean and counterfactual inputs, and a behaviour (logit
difference of the answers). Explainers return an ``Explanation`` over the component
space; the :class:`AblationMasker` scores circuits (keep-masks) in batched passes; CPR,
CMD and precision@|truth| score the rankings. Needs torch (``xai-bench[torch]``).

Through the runner (``xai-bench run examples/components.yaml``): a ComponentTask's
``X`` holds example indices, and an explain job calls ``explainer.explain(task, X)`` on a
chunk of them; the registered explainers (``xai_bench.adapters.components``) explain
``task.select(X)``, so an explainer written here needs only ``explain(task)``. The
metrics' classes are in ``xai_bench.metrics.components``, their scores in ``.metrics``.
"""

from __future__ import annotations

from .._deps import require

require("torch", "torch")

from .acdc import ACDC  # noqa: E402
from .atp import AttributionPatching  # noqa: E402
from .atp_star import AttributionPatchingStar, GradDrop  # noqa: E402
from .attention import AttentionHeuristic  # noqa: E402
from .captum_layer import (  # noqa: E402
    CaptumInternalInfluence,
    CaptumLayerActivation,
    CaptumLayerConductance,
    CaptumLayerFeatureAblation,
)
from .control import RandomComponents  # noqa: E402
from .eap import EdgeAttributionPatching  # noqa: E402
from .eap_ig import EdgeAttributionPatchingIG  # noqa: E402
from .edges import EdgeMasker, EdgeSpace, edge_space  # noqa: E402
from .faithfulness import MIB_GRID, circuit_sizes, cmd, cpr, faithfulness_curve  # noqa: E402
from .ig import ActivationIG  # noqa: E402
from .masker import ABLATIONS, AblationMasker  # noqa: E402
from .model import TinyTransformer  # noqa: E402
from .norm import ActivationNorm  # noqa: E402
from .patching import ActivationPatching  # noqa: E402
from .planted import PLANTED_CIRCUIT, planted_model, planted_task  # noqa: E402
from .probes import LinearProbe, SparseProbe  # noqa: E402
from .saturation import Saturation, saturation, saturation_gap  # noqa: E402
from .space import ComponentSpace, neuron_space, node_space  # noqa: E402
from .task import ComponentTask  # noqa: E402
from .tracing import CausalTracing  # noqa: E402
from .truth import auroc_truth, precision_at_truth  # noqa: E402

__all__ = [
    "ACDC",
    "ABLATIONS",
    "MIB_GRID",
    "PLANTED_CIRCUIT",
    "AblationMasker",
    "ActivationIG",
    "ActivationNorm",
    "ActivationPatching",
    "AttentionHeuristic",
    "AttributionPatching",
    "AttributionPatchingStar",
    "CaptumInternalInfluence",
    "CaptumLayerActivation",
    "CaptumLayerConductance",
    "CaptumLayerFeatureAblation",
    "CausalTracing",
    "ComponentSpace",
    "ComponentTask",
    "EdgeAttributionPatching",
    "EdgeAttributionPatchingIG",
    "EdgeMasker",
    "EdgeSpace",
    "GradDrop",
    "LinearProbe",
    "RandomComponents",
    "Saturation",
    "SparseProbe",
    "TinyTransformer",
    "auroc_truth",
    "circuit_sizes",
    "cmd",
    "cpr",
    "edge_space",
    "faithfulness_curve",
    "neuron_space",
    "node_space",
    "planted_model",
    "planted_task",
    "precision_at_truth",
    "saturation",
    "saturation_gap",
]
