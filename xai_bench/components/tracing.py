"""Causal tracing (Meng et al. 2022): corrupt the subject's embeddings, restore clean states.

The corrupted run adds Gaussian noise (``noise`` x the standard deviation of the token
embeddings, seeded) to the embeddings at the subject positions: by default, per
example, the positions where the clean and the counterfactual inputs differ. A restored
run copies clean writes back in at chosen (position, component) pairs while everything
downstream recomputes. The tracing matrix restores one component group (``emb``, the
heads of a layer ``a{l}``, an MLP ``m{l}``) at one position; the attribution of a
component restores its write at every position.

Effects: ``recovery`` (default) = |m_clean - m_corrupted| - |m_clean - m_restored|,
how much of the damage the restoration undoes; it equals Meng's indirect effect
m_restored - m_corrupted whenever the corruption lowers the behaviour and the
restoration does not overshoot, and unlike it does not average to zero on a model
linear in the noise. ``indirect`` is Meng's signed effect.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch

from .._torch import eval_mode
from ..errors import InvalidInputError
from ..explanation import Explanation
from ._common import check_choice, check_task, component_explanation, count_passes
from .masker import gather, record
from .task import ComponentTask

__all__ = ["EFFECTS", "CausalTracing"]

EFFECTS = ("recovery", "indirect")


def _groups(task: ComponentTask) -> list[str]:
    """One label per site: ``emb``, ``a{layer}`` (all its heads) or ``m{layer}``."""
    names = task.space.names
    return [
        names[s.features[0]].split(".")[0] if s.per_head else names[s.features[0]]
        for s in task.space.sites
    ]


def _install(
    task: ComponentTask, noise: torch.Tensor, runs: torch.Tensor, writes: list[torch.Tensor]
) -> list[Any]:
    """Hooks for one pass: add ``noise`` to the embeddings, then restore clean ``writes``
    wherever ``runs`` (N, T, F) says so. Returns the handles to remove."""

    def corrupt(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        return output + noise.to(output.dtype)

    def make(i: int, site: Any) -> Any:
        keep = runs[:, :, list(site.features)]  # (N, T, n_features)
        keep = keep[..., None] if site.per_head else keep

        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
            return torch.where(keep, writes[i].to(output.dtype), output)

        return hook

    # the corruption is registered first: the emb site restores over the noisy write
    handles = [task.model.hook_emb.register_forward_hook(corrupt)]
    return handles + [
        s.hook.register_forward_hook(make(i, s)) for i, s in enumerate(task.space.sites)
    ]


class CausalTracing:
    """Restore clean writes into a noise-corrupted run, per component and per position.

    Parameters
    ----------
    noise : float
        Noise standard deviation in units of the token embeddings' standard deviation.
    seed : int
        Seed of the noise (one draw per example).
    subject : list of int, optional
        Positions to corrupt; default: per example, where clean and counterfactual differ.
    effect : {"recovery", "indirect"}
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
        chunk_rows: int = 512,
    ) -> None:
        if isinstance(noise, bool) or not isinstance(noise, int | float) or not noise > 0:
            raise InvalidInputError(f"noise={noise!r}", "a number > 0", "Pass e.g. noise=3.0.")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise InvalidInputError(f"seed={seed!r}", "an integer", "Pass e.g. seed=0.")
        check_choice("effect", effect, EFFECTS)
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise InvalidInputError(
                f"chunk_rows={chunk_rows!r}", "a positive integer", "Pass e.g. chunk_rows=512."
            )
        self.noise, self.seed, self.effect = float(noise), int(seed), effect
        self.subject = None if subject is None else [int(p) for p in subject]
        self.chunk_rows = chunk_rows

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
        generator = torch.Generator().manual_seed(self.seed)
        shape = (*task.clean.shape, task.model.W_E.shape[1])
        noise = torch.randn(shape, generator=generator) * (self.noise * std)
        return noise * self.subject_mask(task)[:, :, None]

    def evaluate(self, task: ComponentTask, restore: Any) -> np.ndarray:
        """The behaviour (K, B) of the corrupted run with clean writes restored.

        ``restore`` is bool (K, T, F): restore component ``f``'s clean write at position
        ``t``. All True gives the clean run; all False the corrupted one.
        """
        n, t = task.clean.shape
        mask = torch.as_tensor(np.asarray(restore, dtype=bool))
        if mask.ndim != 3 or mask.shape[1:] != (t, len(task.space)):
            raise InvalidInputError(
                f"a restore mask of shape {tuple(mask.shape)}",
                f"a boolean array (K, {t}, {len(task.space)}): positions x components",
                "Mark the (position, component) pairs to restore, one mask per run.",
            )
        clean = record(task, task.clean)[1]
        noise = self.corruption(task)
        total = mask.shape[0] * n
        out = torch.empty(total, dtype=torch.float64)
        for start in range(0, total, self.chunk_rows):
            index = torch.arange(start, min(start + self.chunk_rows, total))
            rows, runs = index % n, mask[index // n]
            handles = _install(task, noise[rows], runs, gather(clean, rows, n))
            try:
                with torch.no_grad(), eval_mode(task.model):
                    out[index] = task.score(task.model(task.clean[rows]), rows).double()
            finally:
                for h in handles:
                    h.remove()
        return out.reshape(mask.shape[0], n).numpy()

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        n_pos, n = task.clean.shape[1], len(task.space)
        groups = _groups(task)
        # runs: none restored, all restored, each group x position, each component everywhere
        none = np.zeros((1, n_pos, n), dtype=bool)
        cells = np.zeros((len(groups), n_pos, n_pos, n), dtype=bool)
        for g, site in enumerate(task.space.sites):
            for p in range(n_pos):
                cells[g, p, p, list(site.features)] = True
        nodes = np.zeros((n, n_pos, n), dtype=bool)
        nodes[np.arange(n), :, np.arange(n)] = True
        runs = np.concatenate([none, ~none, cells.reshape(-1, n_pos, n), nodes])
        with count_passes(task.model) as counts:
            m = self.evaluate(task, runs)
            clean = record(task, task.clean)[0]
        m_clean = task.score(clean, torch.arange(task.n_examples)).double().numpy()
        corrupted = m[0]
        if self.effect == "recovery":
            effect = np.abs(m_clean - corrupted) - np.abs(m_clean - m[2:])
        else:
            effect = m[2:] - corrupted
        matrix = effect[: len(groups) * n_pos].mean(axis=1).reshape(len(groups), n_pos)
        subject = self.subject_mask(task)
        return component_explanation(
            task,
            effect[len(groups) * n_pos :].T,
            self.name,
            {
                "noise": self.noise,
                "seed": self.seed,
                "subject": self.subject,
                "effect": self.effect,
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
                "layers": groups,
                "positions": [str(int(tok)) for tok in task.clean[0]],
                "corrupted": subject.double().mean(dim=0).tolist(),
                "effect": matrix.tolist(),
            },
            passes=counts["passes"],
            forward_rows=counts["rows"],
        )
