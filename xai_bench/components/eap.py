"""Edge attribution patching (EAP; Syed et al. 2023): AtP over the edge space.

The effect of edge w -> r is estimated as (clean_w - ablated_w) . dm/d(input_r), the
gradient taken at reader r's input in the clean run (``noising``) or the counterfactual
run (``denoising``). One forward pass for the ablation values, one forward and one
backward pass for every edge at once. :func:`gradient_run` and :func:`edge_scores` are
the pieces EAP-IG and AtP* reuse.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from .._torch import eval_mode
from ..explanation import Explanation
from ._common import check_direction, check_task, component_explanation, grad_of, oriented
from ._passes import count_passes
from .edges import EdgeSpace, edge_space
from .masker import AblationMasker
from .space import Site
from .task import ComponentTask

__all__ = [
    "EdgeAttributionPatching",
    "GradientRun",
    "edge_scores",
    "gradient_run",
    "node_differences",
]

Replace = Callable[[int, torch.Tensor], "torch.Tensor | None"]


def _tracked(t: torch.Tensor) -> torch.Tensor:
    """``t``, keeping its gradient after backward (a leaf when no gradient reaches it)."""
    if t.requires_grad:
        t.retain_grad()
    else:
        t.requires_grad_()
    return t


@dataclass
class GradientRun:
    """What one forward and backward pass of the behaviour left at the hooks.

    ``writes[i]`` is node site i's write and ``write_grads[i]`` dm/d(write);
    ``read_grads[r]`` is dm/d(input of reader r) as (N, T, R, D); per attention layer,
    ``reads_q``/``reads_k`` are the heads' q and k inputs (N, T, H, D), ``patterns`` the
    attention patterns (N, H, T, T) and ``pattern_grads`` dm/d(pattern).
    """

    writes: list[torch.Tensor]
    write_grads: list[torch.Tensor]
    read_grads: list[torch.Tensor]
    reads_q: list[torch.Tensor]
    reads_k: list[torch.Tensor]
    patterns: list[torch.Tensor]
    pattern_grads: list[torch.Tensor]


def gradient_run(
    task: ComponentTask,
    space: EdgeSpace | None = None,
    replace: Replace | None = None,
    attention: bool = False,
) -> GradientRun:
    """Run ``task.clean`` forward and the summed behaviour backward, reading the hooks.

    ``replace(i, output)`` may return a new write for node site i (None keeps it);
    ``space`` adds the reader inputs' gradients, ``attention`` the q/k inputs and patterns.
    """
    model = task.model
    sites: Sequence[Site] = task.space.sites
    writes: list[torch.Tensor] = []
    reads: list[torch.Tensor] = []
    qk: dict[str, list[torch.Tensor]] = {"q": [], "k": [], "pattern": []}

    def write_hook(i: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
            new = replace(i, output) if replace is not None else None
            writes.append(_tracked(output if new is None else new))
            return writes[-1]

        return hook

    def read_hook(reader: Any) -> Any:
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
            seen = (reader.widen(output) if reader.per_head else output[:, :, None]).clone()
            reads.append(_tracked(seen))
            return seen if reader.per_head else seen[:, :, 0]

        return hook

    def keep_hook(key: str, widen: bool) -> Any:  # the q/k inputs and patterns of every layer
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            if widen and output.ndim == 3:  # no reader hook widened it: one copy per head
                output = output[:, :, None].expand(-1, -1, model.n_heads, -1)
            seen = output
            qk[key].append(_tracked(seen) if key == "pattern" else seen.detach())

        return hook

    handles = [s.hook.register_forward_hook(write_hook(i)) for i, s in enumerate(sites)]
    if space is not None:
        handles += [r.hook.register_forward_hook(read_hook(r)) for r in space.readers]
    if attention:
        for layer in range(model.n_layers):
            attn = model.block(layer).attn
            # registered after the readers' hooks: they see the per-head inputs
            handles.append(attn.hook_q_in.register_forward_hook(keep_hook("q", True)))
            handles.append(attn.hook_k_in.register_forward_hook(keep_hook("k", True)))
            handles.append(attn.hook_pattern.register_forward_hook(keep_hook("pattern", False)))
    try:
        with torch.enable_grad(), eval_mode(model):
            logits = model(task.clean)
            task.score(logits, torch.arange(task.n_examples)).sum().backward()
    finally:
        for h in handles:
            h.remove()
        model.zero_grad(set_to_none=True)
    return GradientRun(
        writes=[w.detach() for w in writes],
        write_grads=[grad_of(w) for w in writes],
        read_grads=[grad_of(r) for r in reads],
        reads_q=qk["q"],
        reads_k=qk["k"],
        patterns=[p.detach() for p in qk["pattern"]],
        pattern_grads=[grad_of(p) for p in qk["pattern"]],
    )


def node_differences(
    sites: Sequence[Site], clean: list[torch.Tensor], ablated: list[torch.Tensor]
) -> torch.Tensor:
    """(B, T, F, D): every node's clean write minus its ablated one, one slot per node."""
    parts = []
    for site, c, v in zip(sites, clean, ablated, strict=True):
        d = c - v.to(c.dtype)
        parts.append(d if site.per_head else d[:, :, None, :])
    return torch.cat(parts, dim=2)


def edge_scores(space: EdgeSpace, diff: torch.Tensor, read_grads: list[torch.Tensor]) -> Any:
    """(B, E) float64: edge w -> r scored diff_w . grad_r, summed over positions and width."""
    n_examples = diff.shape[0]
    out = torch.zeros(n_examples, len(space), dtype=torch.float64)
    for reader, grad in zip(space.readers, read_grads, strict=True):
        part = torch.einsum(
            "btwd,btrd->bwr", diff[:, :, : reader.n_writers].double(), grad.double()
        )
        out[:, reader.edges.reshape(-1)] = part.reshape(n_examples, -1)
    return out


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
        with count_passes(task.model, task.n_examples) as counter:
            values = self.masker.values(base)
            run = gradient_run(base, space)
        diff = node_differences(space.nodes.sites, run.writes, values)
        return component_explanation(
            task,
            sign * edge_scores(space, diff, run.read_grads).numpy(),
            self.name,
            {"direction": self.direction, "ablation": self.ablation},
            started,
            space,
            direction=self.direction,
            ablation=self.ablation,
            passes=counter.passes,
            backward_passes=1,
        )
