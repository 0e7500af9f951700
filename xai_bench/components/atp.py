"""Attribution patching (AtP; Nanda 2023, Kramar et al. 2024): exact patching to first order.

Noising estimates m(clean) - m(clean with j ablated) as (clean_j - ablated_j) . dm/da_j
at the clean run; denoising estimates m(counterfactual with j restored) -
m(counterfactual) as (clean_j - counterfactual_j) . dm/da_j at the counterfactual run.
Cost: one forward pass for the ablation values, one forward and one backward pass.
"""

from __future__ import annotations

import time
from typing import ClassVar

from ..explanation import Explanation
from ._common import check_direction, check_task, component_explanation, oriented
from ._passes import count_passes
from .eap import gradient_run
from .masker import AblationMasker
from .space import per_component

__all__ = ["AttributionPatching"]


class AttributionPatching:
    """First-order estimate of activation patching, for every component from one gradient.

    Parameters
    ----------
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
        Denoising needs ``patching``.
    """

    name: ClassVar[str] = "components.atp"

    def __init__(self, direction: str = "noising", ablation: str = "patching") -> None:
        self.masker = AblationMasker(ablation)
        check_direction(direction, ablation)
        self.direction, self.ablation = direction, ablation

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        with count_passes(task.model, task.n_examples) as counter:
            values = self.masker.values(base)
            run = gradient_run(base)
        terms = [(w - v) * g for w, v, g in zip(run.writes, values, run.write_grads, strict=True)]
        return component_explanation(
            task,
            sign * per_component(base.space, terms).numpy(),
            self.name,
            {"direction": self.direction, "ablation": self.ablation},
            started,
            direction=self.direction,
            ablation=self.ablation,
            passes=counter.passes,
            backward_passes=1,
        )
