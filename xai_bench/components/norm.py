"""Activation norm: a component's importance read off the size of its clean write.

A correlational baseline, not a causal one: a loud write that nothing downstream reads
ranks high (the planted task's distractors are built to show it).
"""

from __future__ import annotations

import time
from typing import ClassVar

import torch

from ..explanation import Explanation
from ._common import check_task, component_explanation
from .masker import record
from .space import per_component

__all__ = ["ActivationNorm"]


class ActivationNorm:
    """Per example, the L2 norm of each component's write over positions and width."""

    name: ClassVar[str] = "components.activation_norm"

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        writes = record(task, task.clean)[1]
        squares = per_component(task.space, [w.double() ** 2 for w in writes])
        return component_explanation(
            task,
            torch.sqrt(squares).numpy(),
            self.name,
            {},
            started,
            direction="none",
            ablation="none",
            forward_passes=1,
        )
