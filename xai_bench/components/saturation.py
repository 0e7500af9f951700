"""The saturation diagnostic: where AtP's linear estimate and exact patching part ways.

Per component (node, edge or neuron), gap = AtP's estimate - the exact patching effect,
per example. It is zero on a model linear in the patched writes and large where a
saturated nonlinearity (a sharp softmax, a dead ReLU) stands between a component and
the behaviour. A property of the task, not of an explainer: it says where first-order
methods (AtP, EAP) cannot be trusted. ``estimate="atp_star"`` measures what is left
after the QK fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..metrics.base import MetricResult
from ._common import check_choice, check_task
from .atp import AttributionPatching
from .atp_star import AttributionPatchingStar
from .eap import EdgeAttributionPatching
from .patching import ActivationPatching

__all__ = ["Saturation", "saturation", "saturation_gap"]

ESTIMATES = ("atp", "atp_star")


@dataclass(frozen=True)
class Saturation:
    """Linear estimates and exact effects (B, F) over the components ``names``."""

    names: tuple[str, ...]
    granularity: str
    estimate: str
    linear: np.ndarray
    exact: np.ndarray

    @property
    def gap(self) -> np.ndarray:
        """(B, F): linear estimate minus exact effect."""
        return self.linear - self.exact

    def per_component(self) -> dict[str, float]:
        """Mean |gap| over the examples, per component."""
        return dict(zip(self.names, np.abs(self.gap).mean(axis=0).tolist(), strict=True))

    def to_meta(self) -> dict[str, Any]:
        """Plain lists for a report panel: per component the mean estimate, effect, |gap|."""
        return {
            "components": list(self.names),
            "granularity": self.granularity,
            "estimate": self.estimate,
            "linear": self.linear.mean(axis=0).tolist(),
            "exact": self.exact.mean(axis=0).tolist(),
            "gap": np.abs(self.gap).mean(axis=0).tolist(),
        }


def saturation(
    task: Any,
    direction: str = "noising",
    ablation: str = "patching",
    granularity: str = "node",
    estimate: str = "atp",
) -> Saturation:
    """AtP (or AtP*) against exact patching on every component of ``task``.

    Parameters
    ----------
    task : ComponentTask
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
    granularity : {"node", "edge"}
        ``node`` is the task's own space (its neurons, for a neuron task).
    estimate : {"atp", "atp_star"}
    """
    task = check_task(task)
    check_choice("granularity", granularity, ("node", "edge"))
    check_choice("estimate", estimate, ESTIMATES)
    exact = ActivationPatching(direction, ablation, granularity=granularity).explain(task)
    if estimate == "atp_star":
        linear = AttributionPatchingStar(direction, ablation, granularity).explain(task)
    elif granularity == "edge":
        linear = EdgeAttributionPatching(direction, ablation).explain(task)
    else:
        linear = AttributionPatching(direction, ablation).explain(task)
    return Saturation(
        names=tuple(exact.meta["components"]),
        granularity=str(exact.meta["granularity"]),
        estimate=estimate,
        linear=linear.attributions,
        exact=exact.attributions,
    )


def saturation_gap(task: Any, explanation: Any = None, **kwargs: Any) -> MetricResult:
    """Per example, the mean |AtP - exact| over the components (the explanation is unused).

    ``kwargs`` go to :func:`saturation`; ``params["per_component"]`` holds the mean |gap|
    of each component, ``params["relative"]`` the mean |gap| over the mean |exact|.
    """
    result = saturation(task, **kwargs)
    gap = np.abs(result.gap)
    scale = float(np.abs(result.exact).mean())
    return MetricResult(
        metric="saturation_gap",
        scores=gap.mean(axis=1),
        params={
            "direction": kwargs.get("direction", "noising"),
            "ablation": kwargs.get("ablation", "patching"),
            "granularity": result.granularity,
            "estimate": result.estimate,
            "per_component": result.per_component(),
            "relative": float(gap.mean() / scale) if scale > 0 else 0.0,
        },
    )
