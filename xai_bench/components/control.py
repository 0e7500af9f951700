"""The seeded random control: a ranking with no information, the floor of every metric."""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..explanation import Explanation
from ._common import check_choice, check_task, component_explanation
from .edges import edge_space

__all__ = ["RandomComponents"]


class RandomComponents:
    """Standard normal attributions over the component space, seeded.

    Parameters
    ----------
    seed : int
    granularity : {"node", "edge"}
        Rank the components, or the edges ``writer->reader``.
    """

    name: ClassVar[str] = "components.random"

    def __init__(self, seed: int = 0, granularity: str = "node") -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise InvalidInputError(f"seed={seed!r}", "an integer", "Pass e.g. seed=0.")
        check_choice("granularity", granularity, ("node", "edge"))
        self.seed, self.granularity = int(seed), granularity

    def explain(self, task: object) -> Explanation:
        task = check_task(task)
        started = time.perf_counter()
        rng = np.random.default_rng(self.seed)
        space = edge_space(task) if self.granularity == "edge" else task.space
        attributions = rng.standard_normal((task.n_examples, len(space)))
        return component_explanation(
            task,
            attributions,
            self.name,
            {"seed": self.seed, "granularity": self.granularity},
            started,
            space,
            direction="none",
            ablation="none",
            seed=self.seed,
        )
