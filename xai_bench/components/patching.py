"""Exact activation patching: the effect of ablating (or restoring) one component at a time."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from ..explanation import Explanation
from ._common import check_choice, check_direction, check_task, component_explanation, oriented
from .edges import EdgeMasker
from .masker import AblationMasker

__all__ = ["ActivationPatching"]


class ActivationPatching:
    """One ablation per component, all in batched forward passes.

    ``noising``: m(clean) - m(clean with j ablated). ``denoising`` (patching only):
    m(counterfactual with j's clean write restored) - m(counterfactual). Both are
    positive when j supports the clean behaviour; the other components recompute.

    Parameters
    ----------
    direction : {"noising", "denoising"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
    chunk_rows : int
        Most rows per forward pass.
    granularity : {"node", "edge"}
        Patch components, or edges ``writer->reader`` (MIB's edge semantics).
    """

    name: ClassVar[str] = "components.activation_patching"

    def __init__(
        self,
        direction: str = "noising",
        ablation: str = "patching",
        chunk_rows: int = 512,
        granularity: str = "node",
    ) -> None:
        check_choice("granularity", granularity, ("node", "edge"))
        masker = EdgeMasker if granularity == "edge" else AblationMasker
        self.masker = masker(ablation, chunk_rows)
        check_direction(direction, ablation)
        self.direction, self.ablation, self.chunk_rows = direction, ablation, chunk_rows
        self.granularity = granularity

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        base, sign = oriented(task, self.direction)
        space = self.masker.space(task)
        n = len(space)
        keep = np.vstack([np.ones((1, n), bool), ~np.eye(n, dtype=bool)])
        m = self.masker.evaluate(base, keep)
        return component_explanation(
            task,
            sign * (m[0] - m[1:]).T,
            self.name,
            {
                "direction": self.direction,
                "ablation": self.ablation,
                "chunk_rows": self.chunk_rows,
                "granularity": self.granularity,
            },
            started,
            space,
            direction=self.direction,
            ablation=self.ablation,
            forward_rows=(n + 2) * task.n_examples,
        )
