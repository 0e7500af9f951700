"""Causal tracing (Meng et al. 2022): corrupt the subject's embeddings, restore clean states.

The corrupted run adds Gaussian noise (``noise`` x the standard deviation of the token
embeddings, seeded) to the embeddings at the subject positions: by default, per
example, the positions where the clean and the counterfactual inputs differ. A restored
run copies clean writes back in at chosen (position, component) pairs while everything
downstream recomputes. The tracing matrix restores one component group (``emb``, the
heads of a layer ``a{l}``, an MLP ``m{l}``), or the residual stream after a layer, at
one position; the attribution of a component restores its write at every position.

Effects: ``recovery`` (default) = |m_clean - m_corrupted| - |m_clean - m_restored|,
how much of the damage the restoration undoes; it equals Meng's indirect effect
m_restored - m_corrupted whenever the corruption lowers the behaviour and the
restoration does not overshoot, and unlike it does not average to zero on a model
linear in the noise. ``indirect`` is Meng's signed effect.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from .._torch import eval_mode
from ..errors import InvalidInputError
from ..explanation import Explanation
from ._common import (
    check_choice,
    check_node_task,
    check_task,
    component_explanation,
)
from ._passes import count_passes
from .masker import gather, record
from .task import ComponentTask

__all__ = ["EFFECTS", "RESTORES", "CausalTracing", "units"]

EFFECTS = ("recovery", "indirect")
RESTORES = ("components", "residual")


@dataclass(frozen=True)
class Unit:
    """A restorable write: the module whose output it is, its mask columns, per head or not."""

    hook: Any
    features: tuple[int, ...]
    per_head: bool


def units(task: ComponentTask, restore: str) -> tuple[list[Unit], list[str]]:
    """The restorable units of one kind, and one row label per unit group.

    ``components``: the node space's sites (columns = components; labels ``emb``,
    ``a{layer}`` for all its heads, ``m{layer}``); ``residual``: the residual stream
    after the embeddings (``emb``) and after each layer (``resid{layer}``).
    """
    if restore == "components":
        names = task.space.names
        sites = task.space.sites
        labels = [names[s.features[0]].split(".")[0] if s.per_head else names[s.features[0]]
                  for s in sites]  # fmt: skip
        return [Unit(s.hook, s.features, s.per_head) for s in sites], labels
    model = task.model
    blocks = [Unit(model.block(layer), (layer + 1,), False) for layer in range(model.n_layers)]
    labels = ["emb"] + [f"resid{layer}" for layer in range(model.n_layers)]
    return [Unit(model.hook_emb, (0,), False), *blocks], labels


def _record(task: ComponentTask, parts: list[Unit]) -> list[torch.Tensor]:
    """Every unit's output in the clean run."""
    seen: list[torch.Tensor] = [torch.empty(0)] * len(parts)

    def make(i: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            seen[i] = output.detach()

        return hook

    handles = [u.hook.register_forward_hook(make(i)) for i, u in enumerate(parts)]
    try:
        with torch.no_grad(), eval_mode(task.model):
            task.model(task.clean)
    finally:
        for h in handles:
            h.remove()
    return seen


def _install(
    task: ComponentTask,
    noise: torch.Tensor,
    runs: torch.Tensor,
    writes: list[torch.Tensor],
    parts: list[Unit],
) -> list[Any]:
    """Hooks for one pass: add ``noise`` to the embeddings, then restore clean ``writes``
    wherever ``runs`` (N, T, columns) says so. Returns the handles to remove."""

    def corrupt(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        return output + noise.to(output.dtype)

    def make(i: int, unit: Unit) -> Any:
        keep = runs[:, :, list(unit.features)]  # (N, T, n_features)
        keep = keep[..., None] if unit.per_head else keep

        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
            return torch.where(keep, writes[i].to(output.dtype), output)

        return hook

    # the corruption is registered first: restoring emb replaces the noisy write
    handles = [task.model.hook_emb.register_forward_hook(corrupt)]
    return handles + [u.hook.register_forward_hook(make(i, u)) for i, u in enumerate(parts)]


class CausalTracing:
    """Restore clean writes into a noise-corrupted run, per component and per position.

    Parameters
    ----------
    noise : float
        Noise standard deviation in units of the token embeddings' standard deviation.
    seed : int
        Seed of the noise: one draw per example, keyed by the seed and the example's
        tokens, so an example gets the same noise in whatever batch it is explained.
    subject : list of int, optional
        Positions to corrupt; default: per example, where clean and counterfactual differ.
    effect : {"recovery", "indirect"}
    restore : {"components", "residual"}
        Rows of the tracing matrix: component groups (``emb``, ``a{l}``, ``m{l}``) or
        the residual stream (``emb``, then ``resid{l}`` after layer l, Meng's hidden states).
    chunk_rows : int
        Most rows per forward pass.
    """

    name: ClassVar[str] = "components.causal_tracing"

    def __init__(
        self,
        noise: float = 3.0,
        seed: int = 0,
        subject: list[int] | None = None,
        effect: str = "recovery",
        restore: str = "components",
        chunk_rows: int = 512,
    ) -> None:
        if isinstance(noise, bool) or not isinstance(noise, int | float) or not noise > 0:
            raise InvalidInputError(f"noise={noise!r}", "a number > 0", "Pass e.g. noise=3.0.")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise InvalidInputError(f"seed={seed!r}", "an integer", "Pass e.g. seed=0.")
        check_choice("effect", effect, EFFECTS)
        check_choice("restore", restore, RESTORES)
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise InvalidInputError(
                f"chunk_rows={chunk_rows!r}", "a positive integer", "Pass e.g. chunk_rows=512."
            )
        self.noise, self.seed, self.effect = float(noise), int(seed), effect
        self.subject = None if subject is None else [int(p) for p in subject]
        self.restore, self.chunk_rows = restore, chunk_rows

    def subject_mask(self, task: ComponentTask) -> torch.Tensor:
        """Bool (B, T): the corrupted positions of each example."""
        n, t = task.clean.shape
        if self.subject is None:
            mask = task.clean != task.counterfactual
            empty = np.flatnonzero(~mask.any(dim=1).numpy())
            if empty.size:
                raise InvalidInputError(
                    f"example {int(empty[0])} whose clean and counterfactual inputs are equal",
                    "a differing position to corrupt in every example",
                    "Pass subject=[positions] to corrupt the same positions everywhere.",
                )
            return mask
        if not self.subject or min(self.subject) < -t or max(self.subject) >= t:
            raise InvalidInputError(
                f"subject={self.subject}",
                f"a non-empty list of positions in [-{t}, {t})",
                "Name the subject's token positions.",
            )
        mask = torch.zeros(n, t, dtype=torch.bool)
        mask[:, self.subject] = True
        return mask

    def corruption(self, task: ComponentTask) -> torch.Tensor:
        """The noise (B, T, D) added to the embeddings: zero outside the subject."""
        std = float(task.model.W_E.detach().std())
        shape = (task.clean.shape[1], task.model.W_E.shape[1])
        draws = []
        for tokens in task.clean.numpy():  # keyed by (seed, tokens): the same in any batch
            key = zlib.crc32(np.array([self.seed, *tokens], dtype=np.int64).tobytes())
            draws.append(torch.randn(shape, generator=torch.Generator().manual_seed(key)))
        noise = torch.stack(draws) * (self.noise * std)
        return noise * self.subject_mask(task)[:, :, None]

    def evaluate(self, task: ComponentTask, restore: Any, kind: str = "components") -> np.ndarray:
        """The behaviour (K, B) of the corrupted run with clean writes restored.

        ``restore`` is bool (K, T, C): restore column ``c``'s clean write at position
        ``t``, the columns being the components (``kind="components"``) or the residual
        stream after the embeddings and after each layer (``kind="residual"``). All True
        gives the clean run; all False the corrupted one.
        """
        check_choice("restore", kind, RESTORES)
        parts = units(check_node_task(task, "causal tracing"), kind)[0]
        columns = max(f for u in parts for f in u.features) + 1
        n, t = task.clean.shape
        mask = torch.as_tensor(np.asarray(restore, dtype=bool))
        if mask.ndim != 3 or mask.shape[1:] != (t, columns):
            raise InvalidInputError(
                f"a restore mask of shape {tuple(mask.shape)}",
                f"a boolean array (K, {t}, {columns}): positions x {kind}",
                "Mark the (position, column) pairs to restore, one mask per run.",
            )
        clean = _record(task, parts)
        noise = self.corruption(task)
        total = mask.shape[0] * n
        out = torch.empty(total, dtype=torch.float64)
        for start in range(0, total, self.chunk_rows):
            index = torch.arange(start, min(start + self.chunk_rows, total))
            rows, runs = index % n, mask[index // n]
            handles = _install(task, noise[rows], runs, gather(clean, rows, n), parts)
            try:
                with torch.no_grad(), eval_mode(task.model):
                    out[index] = task.score(task.model(task.clean[rows]), rows).double()
            finally:
                for h in handles:
                    h.remove()
        return out.reshape(mask.shape[0], n).numpy()

    def explain(self, task: object) -> Explanation:
        task = check_node_task(check_task(task), "causal tracing")
        started = time.perf_counter()
        n_pos, n = task.clean.shape[1], len(task.space)
        # per component: none restored, all restored, each component at every position
        nodes = np.zeros((n + 2, n_pos, n), dtype=bool)
        nodes[1] = True
        nodes[np.arange(n) + 2, :, np.arange(n)] = True
        # the tracing matrix: each unit group x position
        parts, labels = units(task, self.restore)
        columns = max(f for u in parts for f in u.features) + 1
        cells = np.zeros((len(parts), n_pos, n_pos, columns), dtype=bool)
        for g, unit in enumerate(parts):
            for p in range(n_pos):
                cells[g, p, p, list(unit.features)] = True
        with count_passes(task.model, task.n_examples) as counts:
            m = self.evaluate(task, nodes)
            traced = self.evaluate(task, cells.reshape(-1, n_pos, columns), self.restore)
            clean = record(task, task.clean)[0]
        m_clean = task.score(clean, torch.arange(task.n_examples)).double().numpy()
        corrupted = m[0]
        if self.effect == "recovery":
            effect = np.abs(m_clean - corrupted) - np.abs(m_clean - np.vstack([m[2:], traced]))
        else:
            effect = np.vstack([m[2:], traced]) - corrupted
        matrix = effect[n:].mean(axis=1).reshape(len(parts), n_pos)
        subject = self.subject_mask(task)
        return component_explanation(
            task,
            effect[:n].T,
            self.name,
            {
                "noise": self.noise,
                "seed": self.seed,
                "subject": self.subject,
                "effect": self.effect,
                "restore": self.restore,
            },
            started,
            direction="denoising",
            ablation="gaussian_noise",
            effect=self.effect,
            noise_std=self.noise * float(task.model.W_E.detach().std()),
            clean=float(m_clean.mean()),
            corrupted=float(corrupted.mean()),
            restored_all=float(m[1].mean()),
            tracing={
                "layers": labels,
                "positions": [str(int(tok)) for tok in task.clean[0]],
                "corrupted": subject.double().mean(dim=0).tolist(),
                "effect": matrix.tolist(),
            },
            passes=counts.calls,
            forward_rows=counts.rows,
        )
