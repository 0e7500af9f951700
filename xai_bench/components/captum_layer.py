"""Captum's layer methods as component explainers: each site (emb, a layer's heads, an MLP,
or one MLP's neurons) is a Captum layer, and its attribution is summed per component.

Captum explains a function of a float input, so the forward function takes the input
embeddings (a pre-hook puts them in place of ``emb``) and returns the behaviour; the
example rows travel as an additional argument, which Captum repeats with the batch.
The path or reference runs from the ablated embeddings (the counterfactual's under
``patching``) to the clean ones.

- ``LayerConductance``: the layer's share of the integrated gradients; per component the
  sum over positions and width.
- ``InternalInfluence``: the path-integrated gradient at the layer, times the component's
  clean-minus-ablated write (which makes it EAP-IG's ``inputs`` path at node level).
- ``LayerActivation``: per component the L2 norm of its clean-minus-ablated write (a
  correlational score: how much the counterfactual moves it, not what it does).
- ``LayerFeatureAblation``: one group per head (per neuron), the ablated writes as the
  layer baselines: exact activation patching, one group at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch

from .._torch import eval_mode
from ..errors import InvalidInputError
from ..explanation import Explanation
from ._common import check_direction, check_task, component_explanation, oriented
from ._passes import count_passes
from .masker import AblationMasker, record
from .space import Site, per_component
from .task import ComponentTask

__all__ = [
    "CaptumInternalInfluence",
    "CaptumLayerActivation",
    "CaptumLayerConductance",
    "CaptumLayerFeatureAblation",
]


def _forward(task: ComponentTask) -> Any:
    """f(embeddings, rows) -> the behaviour of rows ``rows`` run from those embeddings."""
    model = task.model

    def forward(embeddings: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        handle = model.hook_emb.register_forward_pre_hook(lambda _m, _a: (embeddings,))
        try:
            return task.score(model(task.clean[rows]), rows)
        finally:
            handle.remove()

    return forward


def _group_mask(site: Site, write: torch.Tensor) -> torch.Tensor:
    """Captum layer mask: one group per head or neuron, else the whole write as one."""
    shape = [1] * write.ndim
    if site.per_head:
        shape[2] = write.shape[2]
        return torch.arange(write.shape[2]).reshape(shape)
    if site.per_unit:
        shape[-1] = write.shape[-1]
        return torch.arange(write.shape[-1]).reshape(shape)
    return torch.zeros(shape, dtype=torch.long)


@dataclass(frozen=True)
class _Run:
    """Captum's inputs (clean embeddings) and baselines, every site's clean and ablated write."""

    inputs: torch.Tensor
    baselines: torch.Tensor
    clean: list[torch.Tensor]
    values: list[torch.Tensor]


class _CaptumLayer:
    """Shared plumbing: orientation, ablation values, Captum per site, the Explanation."""

    name: ClassVar[str]
    _params: ClassVar[tuple[str, ...]] = ("direction", "ablation")

    def __init__(self, direction: str = "noising", ablation: str = "patching") -> None:
        self.masker = AblationMasker(ablation)
        check_direction(direction, ablation)
        self.direction, self.ablation = direction, ablation

    def _site_scores(self, base: ComponentTask, run: _Run) -> torch.Tensor:
        raise NotImplementedError

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        with count_passes(task.model, task.n_examples) as counter, eval_mode(task.model):
            emb, clean = _embeddings(base)
            values = self.masker.values(base)
            emb_values = _emb_values(base, self.masker, values, emb)
            scores = self._site_scores(base, _Run(emb, emb_values, clean, values))
        return component_explanation(
            task,
            sign * scores.numpy(),
            self.name,
            {p: getattr(self, p) for p in self._params},
            started,
            direction=self.direction,
            ablation=self.ablation,
            library="captum",
            version=_captum_version(),
            passes=counter.passes,
        )


def _captum_version() -> str:
    import captum

    return str(captum.__version__)


def _embeddings(task: ComponentTask) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The clean input embeddings (B, T, D) and every node site's clean write (one pass)."""
    model = task.model
    seen: list[torch.Tensor] = []
    handle = model.hook_emb.register_forward_hook(lambda _m, _i, o: seen.append(o.detach()))
    try:
        clean = record(task, task.clean)[1]
    finally:
        handle.remove()
    return seen[0], clean


def _emb_values(
    task: ComponentTask, masker: AblationMasker, values: list[torch.Tensor], emb: torch.Tensor
) -> torch.Tensor:
    """The ablated input embeddings (B, T, D): the path's start, Captum's baseline."""
    if task.space.granularity != "node":  # a neuron task: ask the node space for emb's
        values = masker.values(replace(task, neuron_layer=None, ground_truth=None))
    return values[0].to(emb.dtype).expand_as(emb).contiguous()


class _Gradient(_CaptumLayer):
    _params = ("steps", "method", "direction", "ablation")
    _method: ClassVar[str] = "gausslegendre"

    def __init__(
        self,
        steps: int = 32,
        method: str | None = None,
        direction: str = "noising",
        ablation: str = "patching",
    ) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise InvalidInputError(
                f"steps={steps!r}", "an integer >= 2 (Captum's rules)", "Pass e.g. steps=32."
            )
        super().__init__(direction, ablation)
        self.steps, self.method = steps, self._method if method is None else method


class CaptumLayerConductance(_Gradient):
    """Captum ``LayerConductance`` per component.

    Parameters
    ----------
    steps : int
    method : str, optional
        Captum's approximation rule. Default ``riemann_trapezoid``, not Captum's
        ``gausslegendre``: conductance sums the layer's changes between consecutive
        points, which telescopes to the whole change only when the points include both
        ends (on the planted model: exact at 4 steps, against an error of 0.19 of 2).
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
    """

    name: ClassVar[str] = "components.layer_conductance"
    _method: ClassVar[str] = "riemann_trapezoid"

    def _site_scores(self, base: ComponentTask, run: _Run) -> torch.Tensor:
        from captum.attr import LayerConductance

        rows = torch.arange(base.n_examples)
        parts = [
            LayerConductance(_forward(base), site.hook).attribute(
                run.inputs, run.baselines, additional_forward_args=(rows,), n_steps=self.steps,
                method=self.method,
            ).detach()
            for site in base.space.sites
        ]  # fmt: skip
        return per_component(base.space, parts)


class CaptumInternalInfluence(_Gradient):
    """Captum ``InternalInfluence`` times each component's clean-minus-ablated write.

    Parameters as :class:`CaptumLayerConductance` (default rule ``gausslegendre``); with
    ``riemann_middle`` it is EAP-IG's ``inputs`` scores summed over each writer's edges.
    """

    name: ClassVar[str] = "components.internal_influence"

    def _site_scores(self, base: ComponentTask, run: _Run) -> torch.Tensor:
        from captum.attr import InternalInfluence

        rows = torch.arange(base.n_examples)
        parts = []
        for site, c, v in zip(base.space.sites, run.clean, run.values, strict=True):
            influence = InternalInfluence(_forward(base), site.hook).attribute(
                run.inputs, run.baselines, additional_forward_args=(rows,), n_steps=self.steps,
                method=self.method,
            )  # fmt: skip
            parts.append((c - v.to(c.dtype)) * influence.detach())
        return per_component(base.space, parts)


class CaptumLayerActivation(_CaptumLayer):
    """Captum ``LayerActivation``: the L2 norm of each component's clean-minus-ablated write."""

    name: ClassVar[str] = "components.layer_activation"

    def _site_scores(self, base: ComponentTask, run: _Run) -> torch.Tensor:
        from captum.attr import LayerActivation

        rows = torch.arange(base.n_examples)
        layers = [site.hook for site in base.space.sites]
        acts = LayerActivation(_forward(base), layers).attribute(
            run.inputs, additional_forward_args=(rows,)
        )
        squares = [(a.detach() - v.to(a.dtype)) ** 2 for a, v in zip(acts, run.values, strict=True)]
        return torch.sqrt(per_component(base.space, squares))


class CaptumLayerFeatureAblation(_CaptumLayer):
    """Captum ``LayerFeatureAblation``: each head (neuron, MLP) replaced by its ablated
    write, one group at a time (Parameters: direction, ablation)."""

    name: ClassVar[str] = "components.layer_feature_ablation"

    def _site_scores(self, base: ComponentTask, run: _Run) -> torch.Tensor:
        from captum.attr import LayerFeatureAblation

        rows = torch.arange(base.n_examples)
        out = torch.zeros(base.n_examples, len(base.space), dtype=torch.float64)
        for site, c, v in zip(base.space.sites, run.clean, run.values, strict=True):
            mask = _group_mask(site, c)
            attr = LayerFeatureAblation(_forward(base), site.hook).attribute(
                run.inputs, layer_baselines=v.to(c.dtype), additional_forward_args=(rows,),
                layer_mask=mask,
            ).detach()  # fmt: skip
            # every element of a group holds the group's effect: read one per group
            first = attr.reshape(attr.shape[0], -1)[:, _first_of_groups(mask, c)]
            out[:, list(site.features)] = first.double()
        return out


def _first_of_groups(mask: torch.Tensor, write: torch.Tensor) -> torch.Tensor:
    """Flat index (within one example) of the first element of each group, in group order."""
    flat = mask.expand_as(write[:1]).reshape(-1)
    return torch.stack([(flat == g).nonzero()[0, 0] for g in range(int(flat.max()) + 1)])
