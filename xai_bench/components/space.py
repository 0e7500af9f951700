"""Component spaces: the named features of one granularity, and where each one is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from ..errors import InvalidInputError, UnknownNameError
from .hf import HFComponents
from .model import TinyTransformer

__all__ = ["ComponentSpace", "Site", "neuron_space", "node_space", "per_component"]


@dataclass(frozen=True, eq=False)
class Site:
    """One hook point and the features it writes.

    ``per_head`` sites write (B, T, H, D), feature ``features[h]`` being head ``h``;
    ``per_unit`` sites write (B, T, N), feature ``features[i]`` being unit ``i`` (a
    neuron); the others write (B, T, D) as the single feature ``features[0]``.
    """

    hook: nn.Module
    features: tuple[int, ...]
    per_head: bool
    per_unit: bool = False


@dataclass(frozen=True, eq=False)
class ComponentSpace:
    """The features of one granularity (``names[j]`` is feature ``j``) and their sites."""

    granularity: str
    names: tuple[str, ...]
    sites: tuple[Site, ...]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, names: object) -> list[int]:
        """Feature indices of component names (unknown names raise with the valid ones)."""
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list | tuple | set | frozenset):
            raise InvalidInputError(
                f"components of type {type(names).__name__}",
                "a list of component names such as ['a0.h0', 'm1']",
                "Pass the names as a list of strings.",
            )
        lookup = {n: i for i, n in enumerate(self.names)}
        for name in names:
            if name not in lookup:
                raise UnknownNameError("component", str(name), self.names)
        return [lookup[n] for n in names]


def node_space(model: nn.Module) -> ComponentSpace:
    """``emb``, every head ``a{layer}.h{head}`` and every MLP ``m{layer}``, in layer order."""
    model = _check_model(model)
    names, sites = ["emb"], [Site(model.hook_emb, (0,), per_head=False)]
    for layer in range(model.n_layers):
        block = model.block(layer)
        first = len(names)
        names += [f"a{layer}.h{h}" for h in range(model.n_heads)]
        sites.append(Site(block.attn.hook_out, tuple(range(first, len(names))), per_head=True))
        if block.has_mlp:
            sites.append(Site(block.hook_mlp, (len(names),), per_head=False))
            names.append(f"m{layer}")
    return ComponentSpace("node", tuple(names), tuple(sites))


def _check_model(model: nn.Module) -> TinyTransformer:
    if not isinstance(model, TinyTransformer | HFComponents):
        raise InvalidInputError(
            f"a model of type {type(model).__name__}",
            "a xai_bench.components.TinyTransformer (its writes are hook points)",
            "Build the model with TinyTransformer, wrap its weights in one, or load a "
            "Hugging Face causal LM with ComponentTask.from_transformers.",
        )
    return model  # type: ignore[return-value]  # HFComponents offers the same hook points


def neuron_space(model: nn.Module, layer: int) -> ComponentSpace:
    """The neurons ``m{layer}.n{i}`` of one MLP: its hidden activations after the ReLU.

    Patching a neuron replaces its activation (B, T) before the output projection, so all
    neurons patched together are the MLP patched (the output bias is shared).
    """
    model = _check_model(model)
    mlps = [lay for lay in range(model.n_layers) if model.block(lay).has_mlp]
    if isinstance(layer, bool) or not isinstance(layer, int) or layer not in mlps:
        raise InvalidInputError(
            f"neuron layer {layer!r}",
            f"the index of a layer with an MLP: one of {mlps}",
            "Pick an MLP layer (a model built with d_mlp=0 has no neurons).",
        )
    block = model.block(layer)
    activation = getattr(block, "hook_neurons", None)  # HFComponents: the neurons' hook point
    if activation is None:
        assert isinstance(block.mlp, nn.Sequential)  # has_mlp: Linear -> ReLU -> Linear
        activation = block.mlp[1]  # the ReLU: its output is the neurons' activations
    names = tuple(f"m{layer}.n{i}" for i in range(model.d_mlp))
    site = Site(activation, tuple(range(len(names))), per_head=False, per_unit=True)
    return ComponentSpace("neuron", names, (site,))


def per_component(space: ComponentSpace, tensors: list[Any]) -> Any:
    """(B, F): each site's tensor summed over positions and width, one column per feature."""
    import torch

    out = torch.zeros(tensors[0].shape[0], len(space), dtype=torch.float64)
    for site, tensor in zip(space.sites, tensors, strict=True):
        if site.per_unit:  # (B, T, N): one feature per unit
            out[:, list(site.features)] = tensor.double().sum(dim=1)
            continue
        summed = tensor.double().sum(dim=(1, -1))  # (B, H) for heads, (B,) otherwise
        out[:, list(site.features)] = summed if site.per_head else summed[:, None]
    return out
