"""AtP* (Kramar et al. 2024): attribution patching with the QK fix, and GradDrop.

QK fix: a write that reaches a head's queries or keys changes the head's output only
through its attention pattern, and AtP linearises that softmax, which a saturated
pattern (gradient ~0) turns into a false zero. AtP* recomputes the pattern with the
patched queries or keys exactly (a softmax per writer and head, no forward pass) and
linearises only from the pattern on: (A_patched - A) . dm/dA. The other reads stay
linear. Edges into ``.q`` / ``.k`` get it directly; a node gets it for its direct reads
of each later head (queries and keys patched together); paths through intermediate
components stay linear. Cost as AtP: the ablation values, one forward, one backward.

GradDrop: a node's effect can cancel across paths. For each layer l, AtP is recomputed
with the gradient dropped at layer l's writes (neither the layer's components nor the
paths through them receive any); the score is sum_l |AtP_l| / (L - 1), unsigned. A node
with one path and no layer in between scores |AtP|. Cost: L + 1 forward passes.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import torch

from ..explanation import Explanation
from ._common import (
    check_choice,
    check_direction,
    check_node_task,
    check_task,
    component_explanation,
    oriented,
)
from ._passes import count_passes
from .eap import GradientRun, edge_scores, gradient_run, node_differences
from .edges import edge_space
from .masker import AblationMasker
from .space import per_component
from .task import ComponentTask

__all__ = ["AttributionPatchingStar", "GradDrop", "qk_effects"]


def _pattern(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal softmax attention of queries and keys (..., T, e), as the model computes it."""
    t = q.shape[-2]
    future = torch.ones(t, t, dtype=torch.bool).triu(1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    return scores.masked_fill(future, float("-inf")).softmax(-1)


def qk_effects(
    task: ComponentTask, run: GradientRun, diff: torch.Tensor, layer: int
) -> dict[str, torch.Tensor]:
    """Per writer w and head h of ``layer``, -(A_patched - A) . dm/dA, as (B, W, H).

    The patch adds -diff_w (ablated minus clean) to the head's query input (``"q"``), key
    input (``"k"``) or both (``"qk"``); W counts the writers before ``layer``.
    """
    attn = task.model.block(layer).attn
    n_writers = task.space.index([f"a{layer}.h0"])[0]
    delta = -diff[:, :, :n_writers].double()  # (B, T, W, D)
    w_q, w_k = attn.W_Q.detach().double(), attn.W_K.detach().double()
    q = torch.einsum("bthd,hde->bhte", run.reads_q[layer].double(), w_q)[:, None]
    k = torch.einsum("bthd,hde->bhte", run.reads_k[layer].double(), w_k)[:, None]
    dq = torch.einsum("btwd,hde->bwhte", delta, w_q)
    dk = torch.einsum("btwd,hde->bwhte", delta, w_k)
    before = _pattern(q, k)
    grad = run.pattern_grads[layer].double()[:, None]
    return {
        key: -((_pattern(qq, kk) - before) * grad).sum(dim=(-1, -2))
        for key, (qq, kk) in {"q": (q + dq, k), "k": (q, k + dk), "qk": (q + dq, k + dk)}.items()
    }


class AttributionPatchingStar:
    """AtP with the QK fix, over nodes or edges.

    Parameters
    ----------
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
        Denoising needs ``patching``.
    granularity : {"node", "edge"}
    """

    name: ClassVar[str] = "components.atp_star"

    def __init__(
        self, direction: str = "noising", ablation: str = "patching", granularity: str = "node"
    ) -> None:
        check_choice("granularity", granularity, ("node", "edge"))
        self.masker = AblationMasker(ablation)
        check_direction(direction, ablation)
        self.direction, self.ablation, self.granularity = direction, ablation, granularity

    def explain(self, task: object) -> Explanation:
        task = check_node_task(check_task(task), "AtP*")
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        space = edge_space(base)
        with count_passes(task.model, task.n_examples) as counter:
            values = self.masker.values(base)
            run = gradient_run(base, space, attention=True)
        diff = node_differences(space.nodes.sites, run.writes, values)
        edges = edge_scores(space, diff, run.read_grads)
        qk = [qk_effects(base, run, diff, layer) for layer in range(base.model.n_layers)]
        attn = [base.model.block(layer).attn for layer in range(base.model.n_layers)]
        by_hook = {id(a.hook_q_in): (layer, "q") for layer, a in enumerate(attn)}
        by_hook.update({id(a.hook_k_in): (layer, "k") for layer, a in enumerate(attn)})
        n_examples = base.n_examples
        out_space: Any = space
        if self.granularity == "edge":
            for reader in space.readers:
                if id(reader.hook) in by_hook:
                    layer, part = by_hook[id(reader.hook)]
                    edges[:, reader.edges.reshape(-1)] = qk[layer][part].reshape(n_examples, -1)
            scores = edges
        else:
            scores = torch.zeros(n_examples, len(base.space), dtype=torch.float64)
            for reader in space.readers:  # the linear reads, summed per writer
                if id(reader.hook) not in by_hook:
                    part = edges[:, reader.edges.reshape(-1)].reshape(
                        n_examples, *reader.edges.shape
                    )
                    scores[:, : reader.n_writers] += part.sum(dim=-1)
            for effects in qk:  # each later head's queries and keys, patched together
                scores[:, : effects["qk"].shape[1]] += effects["qk"].sum(dim=-1)
            out_space = base.space
        return component_explanation(
            task,
            sign * scores.numpy(),
            self.name,
            {
                "direction": self.direction,
                "ablation": self.ablation,
                "granularity": self.granularity,
            },
            started,
            out_space,
            direction=self.direction,
            ablation=self.ablation,
            passes=counter.passes,
            backward_passes=1,
        )


class GradDrop:
    """AtP* GradDrop: sum over layers of |AtP with the gradient dropped at that layer|.

    Parameters
    ----------
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
        Denoising needs ``patching``.
    """

    name: ClassVar[str] = "components.atp_graddrop"

    def __init__(self, direction: str = "noising", ablation: str = "patching") -> None:
        self.masker = AblationMasker(ablation)
        check_direction(direction, ablation)
        self.direction, self.ablation = direction, ablation

    def explain(self, task: object) -> Explanation:
        task = check_node_task(check_task(task), "GradDrop")
        started = time.perf_counter()
        base, _ = oriented(task, self.direction)
        model = base.model
        layer_of = {}
        for layer in range(model.n_layers):
            layer_of[id(model.block(layer).attn.hook_out)] = layer
            layer_of[id(model.block(layer).hook_mlp)] = layer
        site_layer = [layer_of.get(id(s.hook), -1) for s in base.space.sites]  # emb: -1
        total = torch.zeros(base.n_examples, len(base.space), dtype=torch.float64)
        with count_passes(model, task.n_examples) as counter:
            values = self.masker.values(base)
            for layer in range(model.n_layers):

                def replace(i: int, output: torch.Tensor, layer: int = layer) -> Any:
                    return output.detach() if site_layer[i] == layer else None

                run = gradient_run(base, replace=replace)
                terms = [
                    (w - v) * g * float(site_layer[i] != layer)
                    for i, (w, v, g) in enumerate(
                        zip(run.writes, values, run.write_grads, strict=True)
                    )
                ]
                total += per_component(base.space, terms).abs()
        return component_explanation(
            task,
            (total / max(model.n_layers - 1, 1)).numpy(),
            self.name,
            {"direction": self.direction, "ablation": self.ablation},
            started,
            direction=self.direction,
            ablation=self.ablation,
            sign="unsigned: the size of the effect, cancellation across paths undone",
            passes=counter.passes,
            backward_passes=model.n_layers,
        )
