"""The edge space and its masker: writer -> reader input, MIB's edge semantics in hooks.

An edge joins a writer (``emb``, a head, an MLP) to a later reader input: a head's q, k
or v (``a1.h3.q``), an MLP's input (``m1``) or the logits (``logits``). Because the
residual stream is the sum of the writes, a reader's input is the sum of its writers'
current values; a dropped edge adds (ablation value - current value) of its writer
there. All kept = the clean run; none kept = every reader sees the ablated residual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._torch import eval_mode
from ..errors import IncompatibleError
from .masker import AblationMasker
from .space import ComponentSpace, Site
from .task import ComponentTask

__all__ = ["EdgeMasker", "EdgeSpace", "edge_space"]


@dataclass(frozen=True, eq=False)
class Reader:
    """One reader hook: its writers are the first ``n_writers`` node features."""

    hook: Any
    n_writers: int
    edges: torch.Tensor  # (n_writers, R): edge index of writer w into reader slot r
    per_head: bool  # R heads read (B, T, D) through one hook: widen it to (B, T, R, D)

    def widen(self, output: torch.Tensor) -> torch.Tensor:
        """The hook's input as (B, T, R, D), one slot per reader."""
        return output[:, :, None, :].expand(-1, -1, self.edges.shape[1], -1)


@dataclass(frozen=True, eq=False)
class EdgeSpace:
    """Edges ``writer->reader`` (``names[e]`` is feature ``e``) and their reader hooks."""

    granularity: str
    names: tuple[str, ...]
    readers: tuple[Reader, ...]
    nodes: ComponentSpace

    def __len__(self) -> int:
        return len(self.names)


def edge_space(task: ComponentTask) -> EdgeSpace:
    """Every edge of the task's model, readers in forward order."""
    nodes, model = task.space, task.model
    if nodes.granularity != "node":
        raise IncompatibleError(  # a recorded skip in a run, not a failure
            f"edges join emb, heads and MLPs: they need a task over the node space, not "
            f"the {nodes.granularity} space; build the edges of the task itself, not of "
            "its neuron view"
        )
    names: list[str] = []
    readers: list[Reader] = []

    def add(hook: Any, n_writers: int, slots: list[str], per_head: bool = False) -> None:
        first = len(names)
        names.extend(f"{w}->{r}" for w in nodes.names[:n_writers] for r in slots)
        index = torch.arange(first, len(names)).reshape(n_writers, len(slots))
        readers.append(Reader(hook, n_writers, index, per_head))

    for layer in range(model.n_layers):
        block = model.block(layer)
        heads = nodes.index([f"a{layer}.h0"])[0]
        for part in ("q", "k", "v"):
            slots = [f"a{layer}.h{h}.{part}" for h in range(model.n_heads)]
            add(getattr(block.attn, f"hook_{part}_in"), heads, slots, per_head=True)
        if block.has_mlp:
            add(block.hook_mlp_in, nodes.index([f"m{layer}"])[0], [f"m{layer}"])
    add(model.hook_logits_in, len(nodes), ["logits"])
    return EdgeSpace("edge", tuple(names), tuple(readers), nodes)


def _per_feature(site: Site, write: torch.Tensor) -> torch.Tensor:
    """A site's write as (N, T, n_features, D)."""
    return write if site.per_head else write[:, :, None, :]


class EdgeMasker(AblationMasker):
    """Score circuits over the edge space (keep-masks (K, E)) by real ablation.

    Same parameters and ``evaluate`` as :class:`AblationMasker`; the ablation value of an
    edge is its writer's. ``forward`` does not capture writes (EAP hooks the readers).
    """

    def space(self, task: ComponentTask) -> EdgeSpace:
        return edge_space(task)

    def forward(
        self,
        task: ComponentTask,
        rows: torch.Tensor,
        keep: torch.Tensor,
        values: list[torch.Tensor],
        capture: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        space = edge_space(task)
        sites = space.nodes.sites
        current: list[torch.Tensor] = []
        ablated = [_per_feature(s, v) for s, v in zip(sites, values, strict=True)]
        dropped = ~keep

        def write_hook(site: Site) -> Any:
            def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
                current.append(_per_feature(site, output))

            return hook

        def read_hook(reader: Reader) -> Any:
            def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
                now = torch.cat(current, dim=2)[:, :, : reader.n_writers]
                before = torch.cat(ablated, dim=2)[:, :, : reader.n_writers].to(now.dtype)
                if before.shape[0] not in (1, now.shape[0]):  # B rows per circuit block
                    diff = (before - now.reshape(-1, *before.shape)).reshape(now.shape)
                else:
                    diff = before - now
                weights = dropped[:, reader.edges].to(diff.dtype)
                delta = torch.einsum("ntwd,nwr->ntrd", diff, weights)
                return reader.widen(output) + delta if reader.per_head else output + delta[:, :, 0]

            return hook

        handles = [s.hook.register_forward_hook(write_hook(s)) for s in sites]
        handles += [r.hook.register_forward_hook(read_hook(r)) for r in space.readers]
        try:
            with eval_mode(task.model):
                return task.model(task.clean[rows])
        finally:
            for h in handles:
                h.remove()
