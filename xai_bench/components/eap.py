"""Edge attribution patching (EAP; Syed et al. 2023): AtP over the edge space.

The effect of edge w -> r is estimated as (clean_w - ablated_w) . dm/d(input_r), the
gradient taken at reader r's input in the clean run (``noising``) or the counterfactual
run (``denoising``). One forward pass for the ablation values, one forward and one
backward pass for every edge at once.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import torch

from .._torch import eval_mode
from ..explanation import Explanation
from ._common import check_direction, check_task, component_explanation, grad_of, oriented
from .edges import edge_space
from .masker import AblationMasker, record

__all__ = ["EdgeAttributionPatching"]


class EdgeAttributionPatching:
    """First-order estimate of edge patching, for every edge from one gradient.

    Parameters
    ----------
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
        Denoising needs ``patching``.
    """

    name: ClassVar[str] = "components.eap"

    def __init__(self, direction: str = "noising", ablation: str = "patching") -> None:
        self.masker = AblationMasker(ablation)
        check_direction(direction, ablation)
        self.direction, self.ablation = direction, ablation

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        space = edge_space(base)
        values = self.masker.values(base)
        clean = record(base, base.clean)[1]
        sites = space.nodes.sites
        diff = torch.cat(
            [
                (c - v if s.per_head else (c - v)[:, :, None, :]).expand(c.shape[0], -1, -1, -1)
                for s, c, v in zip(sites, clean, values, strict=True)
            ],
            dim=2,
        )  # (B, T, F, D): clean minus ablated write of every node
        inputs: list[torch.Tensor] = []

        def make(reader: Any) -> Any:
            def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
                seen = (reader.widen(output) if reader.per_head else output[:, :, None]).clone()
                seen.retain_grad()
                inputs.append(seen)
                return seen if reader.per_head else seen[:, :, 0]

            return hook

        handles = [r.hook.register_forward_hook(make(r)) for r in space.readers]
        try:
            with torch.enable_grad(), eval_mode(base.model):
                logits = base.model(base.clean)
                base.score(logits, torch.arange(base.n_examples)).sum().backward()
        finally:
            for h in handles:
                h.remove()
        base.model.zero_grad(set_to_none=True)
        out = torch.zeros(base.n_examples, len(space), dtype=torch.float64)
        for reader, seen in zip(space.readers, inputs, strict=True):
            grad = grad_of(seen) if seen.ndim == 4 else grad_of(seen)[:, :, None, :]  # (B, T, R, D)
            part = torch.einsum(
                "btwd,btrd->bwr", diff[:, :, : reader.n_writers].double(), grad.double()
            )
            out[:, reader.edges.reshape(-1)] = part.reshape(base.n_examples, -1)
        return component_explanation(
            task,
            sign * out.numpy(),
            self.name,
            {"direction": self.direction, "ablation": self.ablation},
            started,
            space,
            direction=self.direction,
            ablation=self.ablation,
            forward_passes=3,
            backward_passes=1,
        )
