"""The ablation masker: the behaviour of K circuits on every example, in batched passes.

A circuit is a keep-mask over the node space. A kept component writes its current
output; a dropped one writes its ablation value instead: its output on the
counterfactual input (``patching``), zero (``zero``), its mean output over the clean
examples and positions (``mean``) or over the clean examples per position
(``mean_positional``). The K circuits x B examples become K*B rows of one batch, cut
into chunks of at most ``chunk_rows`` rows to bound memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from .._torch import eval_mode
from ..errors import InvalidInputError
from .task import ComponentTask

__all__ = ["ABLATIONS", "AblationMasker", "gather", "record"]

ABLATIONS = ("patching", "zero", "mean", "mean_positional")


@contextlib.contextmanager
def _hooks(task: ComponentTask, make: Any) -> Iterator[None]:
    """Install ``make(site_index, site)`` as a forward hook on every site; remove them after."""
    handles = [s.hook.register_forward_hook(make(i, s)) for i, s in enumerate(task.space.sites)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def record(task: ComponentTask, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits of an unpatched run and every site's output (no gradients)."""
    outputs: list[torch.Tensor] = [torch.empty(0)] * len(task.space.sites)

    def make(i: int, _site: Any) -> Any:
        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            outputs[i] = output.detach()

        return hook

    with torch.no_grad(), eval_mode(task.model), _hooks(task, make):
        logits = task.model(tokens)
    return logits, outputs


def gather(values: list[torch.Tensor], rows: torch.Tensor, n_examples: int) -> list[torch.Tensor]:
    """Ablation values for examples ``rows``: per-example ones indexed, broadcast ones as is."""
    return [v[rows] if v.shape[0] == n_examples else v for v in values]


class AblationMasker:
    """Score circuits (keep-masks over a task's component space) by real ablation.

    Parameters
    ----------
    ablation : {"patching", "zero", "mean", "mean_positional"}
        What a dropped component writes instead of its output.
    chunk_rows : int
        Most rows (circuit x example pairs) per forward pass; on CPU, chunks of a few
        hundred rows ran faster than one large batch (bench/bench_components.py).
    """

    def __init__(self, ablation: str = "patching", chunk_rows: int = 512) -> None:
        if ablation not in ABLATIONS:
            raise InvalidInputError(
                f"ablation={ablation!r}", f"one of {ABLATIONS}", "Pick a listed ablation type."
            )
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise InvalidInputError(
                f"chunk_rows={chunk_rows!r}", "a positive integer", "Pass e.g. chunk_rows=512."
            )
        self.ablation, self.chunk_rows = ablation, chunk_rows

    def values(self, task: ComponentTask) -> list[torch.Tensor]:
        """Per site, what a dropped component writes: (B, ...) for patching, else broadcast."""
        if self.ablation == "patching":
            return record(task, task.counterfactual)[1]
        outputs = record(task, task.clean)[1]
        if self.ablation == "zero":
            return [torch.zeros_like(o[:1, :1]) for o in outputs]
        dims = (0, 1) if self.ablation == "mean" else (0,)
        return [o.mean(dim=dims, keepdim=True) for o in outputs]

    def space(self, task: ComponentTask) -> Any:
        """The space the keep-masks are over: the task's node space."""
        return task.space

    def keep_mask(self, task: ComponentTask, keep: Any) -> torch.Tensor:
        """``keep`` as a bool tensor (K, F), checked against the task's space."""
        array = np.asarray(keep)
        space = self.space(task)
        n = len(space)
        if array.ndim == 1:
            array = array[None]
        if array.ndim != 2 or array.shape[1] != n or array.dtype.kind not in "biu":
            raise InvalidInputError(
                f"a keep-mask of shape {array.shape} and dtype {array.dtype}",
                f"a boolean array (K, {n}) over the {space.granularity} space {space.names[:3]}...",
                f"Build it with one column per name of the task's {space.granularity} space.",
            )
        return torch.as_tensor(array.astype(bool))

    def forward(
        self,
        task: ComponentTask,
        rows: torch.Tensor,
        keep: torch.Tensor,
        values: list[torch.Tensor],
        capture: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits of examples ``rows`` (N,) under keep-masks ``keep`` (N, F).

        ``values`` are the per-site ablation values: one row per row of ``rows``, one row
        for all, or B rows repeated in blocks (``rows`` made of whole circuits). With
        ``capture`` (a list), each site's patched write is appended to it, keeping its
        gradient after a backward pass.
        """

        def make(i: int, site: Any) -> Any:
            kept = keep[:, list(site.features)]
            kept = kept[:, None, :, None] if site.per_head else kept[:, None, :]

            def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
                value = values[i].to(output.dtype)
                if value.shape[0] in (1, output.shape[0]):
                    patched = torch.where(kept, output, value)
                else:  # one block of B rows per circuit: broadcast, no K copies of the values
                    block = (-1, value.shape[0], *output.shape[1:])
                    patched = torch.where(
                        kept.reshape(-1, value.shape[0], *kept.shape[1:]),
                        output.reshape(block),
                        value,
                    ).reshape(output.shape)
                if capture is not None:
                    if patched.requires_grad:
                        patched.retain_grad()
                    else:  # frozen upstream weights: make the write a leaf of the graph
                        patched.requires_grad_()
                    capture.append(patched)
                return patched

            return hook

        with eval_mode(task.model), _hooks(task, make):
            return task.model(task.clean[rows])

    def evaluate(self, task: ComponentTask, keep: Any, score: Any = None) -> np.ndarray:
        """The behaviour (K, B) of each of the K circuits in ``keep`` on every example.

        ``score(logits, rows) -> (N,)`` replaces the task's behaviour (e.g. ACDC's KL).
        """
        score = task.score if score is None else score
        mask = self.keep_mask(task, keep)
        values = self.values(task)
        n_examples = task.n_examples
        total = mask.shape[0] * n_examples
        out = torch.empty(total, dtype=torch.float64)
        # chunks of whole circuits broadcast the B rows of values instead of copying them
        step = (self.chunk_rows // n_examples) * n_examples or self.chunk_rows
        with torch.no_grad():
            for start in range(0, total, step):
                index = torch.arange(start, min(start + step, total))
                rows = index % n_examples
                chunk = values if step % n_examples == 0 else gather(values, rows, n_examples)
                logits = self.forward(task, rows, mask[index // n_examples], chunk)
                out[index] = score(logits, rows).double()
        return out.reshape(mask.shape[0], n_examples).numpy()
