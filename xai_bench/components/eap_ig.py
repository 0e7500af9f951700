"""EAP with integrated gradients (EAP-IG; Hanna et al. 2024), in s + 2 forward passes.

Edge w -> r is scored (clean_w - ablated_w) . mean_k dm/d(input_r) at alpha_k =
(k + 1/2) / steps on a path from the ablated run to the clean one (a midpoint Riemann
sum; EAP is the one-point rule at the clean end). Two paths:

- ``inputs``: the input embeddings move from the counterfactual's to the clean ones and
  every component recomputes (Hanna et al.'s EAP-IG; needs ``patching``);
- ``activations``: every writer's write moves from its ablated value to its clean one at
  once, the gradient still flowing through each component at the interpolated point
  (Hanna et al. interpolate one layer at a time, s passes per layer; moving all writers
  together keeps the cost at s + 2 passes).

Along either path the scores add up (as ``steps`` grows) to m(clean) - m(ablated): over
the edges out of ``emb`` for ``inputs``, over the edges into ``logits`` for
``activations``. On a model linear in its writes up to the behaviour, an edge that
carries the whole change scores exactly its patching effect. Cost: the clean run, the
ablation values, then one forward and one backward pass per step.
"""

from __future__ import annotations

import time
from typing import ClassVar

import torch

from ..errors import InvalidInputError
from ..explanation import Explanation
from ._common import check_choice, check_direction, check_task, component_explanation, oriented
from ._passes import count_passes
from .eap import edge_scores, gradient_run, node_differences
from .edges import edge_space
from .masker import AblationMasker, record

__all__ = ["EdgeAttributionPatchingIG"]

VARIANTS = ("inputs", "activations")


class EdgeAttributionPatchingIG:
    """Integrated-gradients edge scores along one shared path, every edge at once.

    Parameters
    ----------
    steps : int
        Points on the path (forward and backward passes).
    variant : {"inputs", "activations"}
        Interpolate the input embeddings, or every writer's activation.
    direction : {"noising", "denoising"}
        With ``patching`` both give the same scores (the path is the same segment).
    ablation : {"patching", "zero", "mean", "mean_positional"}
        ``inputs`` needs ``patching`` (the counterfactual's embeddings).
    """

    name: ClassVar[str] = "components.eap_ig"

    def __init__(
        self,
        steps: int = 5,
        variant: str = "inputs",
        direction: str = "noising",
        ablation: str = "patching",
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise InvalidInputError(f"steps={steps!r}", "a positive integer", "Pass e.g. steps=5.")
        check_choice("variant", variant, VARIANTS)
        self.masker = AblationMasker(ablation)
        check_direction(direction, ablation)
        if variant == "inputs" and ablation != "patching":
            raise InvalidInputError(
                f"variant='inputs' with ablation={ablation!r}",
                "ablation='patching' (the path runs from the counterfactual's embeddings)",
                "Use variant='activations' for zero or mean ablation.",
            )
        self.steps, self.variant = steps, variant
        self.direction, self.ablation = direction, ablation

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        space = edge_space(base)
        with count_passes(task.model, task.n_examples) as counter:
            clean = record(base, base.clean)[1]
            values = self.masker.values(base)
            total: list[torch.Tensor] | None = None
            for k in range(self.steps):
                alpha = (k + 0.5) / self.steps
                path = [
                    v.to(c.dtype) + alpha * (c - v.to(c.dtype))
                    for c, v in zip(clean, values, strict=True)
                ]

                def replace(i: int, output: torch.Tensor, path=path) -> torch.Tensor | None:
                    if self.variant == "inputs":
                        return path[0] if i == 0 else None
                    # the interpolated value forward, the component's own gradient backward
                    return path[i] + (output - output.detach())

                grads = gradient_run(base, space, replace).read_grads
                total = (
                    grads if total is None else [t + g for t, g in zip(total, grads, strict=True)]
                )
        assert total is not None  # steps >= 1
        diff = node_differences(space.nodes.sites, clean, values)
        scores = edge_scores(space, diff, [t / self.steps for t in total])
        return component_explanation(
            task,
            sign * scores.numpy(),
            self.name,
            {
                "steps": self.steps,
                "variant": self.variant,
                "direction": self.direction,
                "ablation": self.ablation,
            },
            started,
            space,
            direction=self.direction,
            ablation=self.ablation,
            variant=self.variant,
            passes=counter.passes,
            backward_passes=self.steps,
        )
