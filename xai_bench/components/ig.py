"""Integrated gradients over activations, one path per component (EAP-IG-style, nodes).

Component j's write moves from its ablated value v_j to its clean value c_j while the
others recompute; its attribution is (c_j - v_j) . mean_k dm/da_j at the midpoints
alpha_k = (k + 1/2) / steps. This is a midpoint Riemann sum of the integral that equals
exact patching of j, so it converges to exact patching as ``steps`` grows (AtP is the
one-point rule at the clean end). Cost: F x steps x B rows, forward and backward, in
chunks of at most ``chunk_rows`` (``meta["passes"]`` = F x steps + 2 passes over B).
"""

from __future__ import annotations

import time
from typing import ClassVar

import torch

from ..errors import InvalidInputError
from ..explanation import Explanation
from ._common import check_direction, check_task, component_explanation, grad_of, oriented
from ._passes import count_passes
from .masker import AblationMasker, gather, record
from .space import per_component
from .task import ComponentTask

__all__ = ["ActivationIG"]


class ActivationIG:
    """Integrated gradients along each component's own ablated-to-clean path.

    Parameters
    ----------
    steps : int
        Midpoints per path.
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
        Denoising needs ``patching``.
    chunk_rows : int
        Most rows per forward and backward pass.
    """

    name: ClassVar[str] = "components.ig_activations"

    def __init__(
        self,
        steps: int = 16,
        direction: str = "noising",
        ablation: str = "patching",
        chunk_rows: int = 2048,
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise InvalidInputError(f"steps={steps!r}", "a positive integer", "Pass e.g. steps=16.")
        self.masker = AblationMasker(ablation, chunk_rows)
        check_direction(direction, ablation)
        self.steps, self.direction, self.ablation = steps, direction, ablation

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        with count_passes(task.model, task.n_examples) as counter:
            attributions = self._attributions(base)
        return component_explanation(
            task,
            sign * attributions.numpy(),
            self.name,
            {"steps": self.steps, "direction": self.direction, "ablation": self.ablation},
            started,
            direction=self.direction,
            ablation=self.ablation,
            passes=counter.passes,
            backward_passes=counter.passes - 2,
        )

    def _attributions(self, base: ComponentTask) -> torch.Tensor:
        """(B, F): per component, the midpoint sum along its own path."""
        values = self.masker.values(base)
        clean = record(base, base.clean)[1]
        n_examples, n = base.n_examples, len(base.space)
        # row r: example r % B, step (r // B) % steps, component r // (B * steps)
        total = n * self.steps * n_examples
        out = torch.zeros(total, dtype=torch.float64)
        for start in range(0, total, self.masker.chunk_rows):
            index = torch.arange(start, min(start + self.masker.chunk_rows, total))
            rows = index % n_examples
            alpha = ((index // n_examples) % self.steps + 0.5) / self.steps
            target = index // (n_examples * self.steps)
            keep = torch.ones(len(index), n, dtype=torch.bool)
            keep[torch.arange(len(index)), target] = False  # the target follows its path
            ablated = gather(values, rows, n_examples)
            delta = [c[rows] - v for c, v in zip(clean, ablated, strict=True)]
            path = [
                v + alpha.float().view(-1, *(1,) * (d.ndim - 1)) * d
                for v, d in zip(ablated, delta, strict=True)
            ]
            writes: list[torch.Tensor] = []
            with torch.enable_grad():
                logits = self.masker.forward(base, rows, keep, path, capture=writes)
                base.score(logits, rows).sum().backward()
            grads = [grad_of(w) for w in writes]
            terms = [d * g for d, g in zip(delta, grads, strict=True)]
            out[index] = per_component(base.space, terms)[torch.arange(len(index)), target]
        base.model.zero_grad(set_to_none=True)
        return out.reshape(n, self.steps, n_examples).mean(dim=1).T
